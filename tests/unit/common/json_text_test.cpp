// appendJsonString against nlohmann's dump(): the same bytes for every string dump() accepts,
// and a refusal (nothing appended) for every string dump() throws on (invalid UTF-8).
#include <gtest/gtest.h>

#include <random>

#include "common/json.hpp"

using namespace berth;

namespace {

// Compares one string; returns whether nlohmann accepted it.
bool sameAsNlohmann(const std::string& s) {
    std::string ours = "prefix";
    auto bad = appendJsonString(ours, s);
    std::string theirs;
    try {
        theirs = nlohmann::json(s).dump();
    } catch (const nlohmann::json::type_error&) {
        EXPECT_TRUE(bad.has_value()) << "nlohmann refused, we accepted: " << nlohmann::json(s).dump(-1, ' ', true, nlohmann::json::error_handler_t::replace);
        EXPECT_EQ(ours, "prefix");
        return false;
    }
    EXPECT_FALSE(bad.has_value()) << "at " << *bad;
    EXPECT_EQ(ours, "prefix" + theirs);
    return true;
}

}  // namespace

TEST(JsonText, EveryAsciiByteIsEscapedAsNlohmannDoes) {
    for (int c = 0; c < 0x80; c++) {
        std::string s = "a";
        s += static_cast<char>(c);
        s += "b";
        EXPECT_TRUE(sameAsNlohmann(s)) << c;
        EXPECT_TRUE(sameAsNlohmann(std::string(1, static_cast<char>(c)))) << c;
    }
    EXPECT_TRUE(sameAsNlohmann(""));
    EXPECT_TRUE(sameAsNlohmann("\"\\\"\\\\\n\x01\x1f\x7f"));
}

TEST(JsonText, ValidUtf8IsCopied) {
    for (const char* s : {"é", "€", "😀", "\xC2\x80", "\xDF\xBF", "\xE0\xA0\x80", "\xED\x9F\xBF",
                          "\xEE\x80\x80", "\xEF\xBF\xBF", "\xF0\x90\x80\x80", "\xF4\x8F\xBF\xBF",
                          "naïve \"quoted\" ☃\t"})
        EXPECT_TRUE(sameAsNlohmann(s)) << s;
}

TEST(JsonText, InvalidUtf8IsRefusedWhereNlohmannThrows) {
    for (const char* s : {"\x80", "a\xBF", "\xC0\x80", "\xC1\xBF", "\xE0\x80\x80", "\xE0\x9F\xBF",
                          "\xED\xA0\x80", "\xED\xBF\xBF", "\xF0\x80\x80\x80", "\xF0\x8F\xBF\xBF",
                          "\xF4\x90\x80\x80", "\xF5\x80\x80\x80", "\xFF", "\xFE", "\xE2\x82",
                          "x\xF0\x9F\x98", "\xC3", "\xC3(", "\xE2(\xA1"})
        EXPECT_FALSE(sameAsNlohmann(s)) << s;
    std::string out;
    EXPECT_EQ(appendJsonString(out, "ok\xFF"), 2u);
}

// Random strings, weighted toward bytes that matter (controls, quotes, backslashes, lead and
// continuation bytes): both sides agree on each one, accepted or not.
TEST(JsonText, RandomStringsMatchNlohmann) {
    std::mt19937 rng(17);
    const unsigned char interesting[] = {0, 1, 8, 9, 10, 12, 13, 0x1f, '"', '\\', 'a', 0x7f, 0x80, 0xbf,
                                         0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff, 0xa0, 0x90};
    int accepted = 0;
    for (int n = 0; n < 5000; n++) {
        std::string s;
        size_t len = rng() % 12;
        for (size_t i = 0; i < len; i++)
            s += static_cast<char>(rng() % 3 ? interesting[rng() % sizeof interesting] : rng() % 256);
        accepted += sameAsNlohmann(s);
    }
    EXPECT_GT(accepted, 100);
    EXPECT_LT(accepted, 4900);
}
