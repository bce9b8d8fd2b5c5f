// log::jsonEscape: what the JSON log lines and hand-written JSON carry.
#include "common/log.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using namespace berth;

TEST(LogJsonEscape, EscapesAsTheJsonWriterDoes) {
    EXPECT_EQ(log::jsonEscape("a\"b\\c\nd\te\r"), "a\\\"b\\\\c\\nd\\te\\r");
    EXPECT_EQ(log::jsonEscape(std::string("\b\f\x01\x1f", 4)), "\\b\\f\\u0001\\u001f");
    EXPECT_EQ(log::jsonEscape("h\xc3\xa9llo"), "h\xc3\xa9llo");  // UTF-8 stays as it is
    EXPECT_EQ(log::jsonEscape(""), "");
}

// Bytes that are not UTF-8 (a path from a spec) become U+FFFD: the line still parses.
TEST(LogJsonEscape, InvalidUtf8BecomesReplacementCharacters) {
    std::string bad = "/tmp/\xff\xfe" "dir\xc3";
    std::string esc = log::jsonEscape(bad);
    EXPECT_EQ(esc, "/tmp/\xEF\xBF\xBD\xEF\xBF\xBD" "dir\xEF\xBF\xBD");
    auto parsed = nlohmann::json::parse("\"" + esc + "\"");
    EXPECT_EQ(parsed.get<std::string>(), esc);
}
