// parseJsonFast against nlohmann's parser: wherever the quick reader answers, nlohmann accepts
// the same text and builds the same tree, value type included (number_unsigned vs
// number_integer); on the fuzz corpus and thousands of mutations of it.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "common/json.hpp"

using namespace berth;
using json = nlohmann::json;

namespace {

bool sameTree(const json& a, const json& b) {
    if (a.type() != b.type()) return false;
    switch (a.type()) {
        case json::value_t::object: {
            if (a.size() != b.size()) return false;
            for (auto ia = a.begin(), ib = b.begin(); ia != a.end(); ++ia, ++ib)
                if (ia.key() != ib.key() || !sameTree(*ia, *ib)) return false;
            return true;
        }
        case json::value_t::array:
            if (a.size() != b.size()) return false;
            for (size_t i = 0; i < a.size(); i++)
                if (!sameTree(a[i], b[i])) return false;
            return true;
        default:
            return a == b;
    }
}

struct Outcome {
    bool fast = false, nlohmann = false;
};

Outcome compare(const std::string& text) {
    Outcome o;
    auto fast = parseJsonFast(text);
    json theirs;
    try {
        theirs = json::parse(text);
        o.nlohmann = true;
    } catch (const json::exception&) {
    }
    if (fast) {
        o.fast = true;
        EXPECT_TRUE(o.nlohmann) << "accepted what nlohmann refuses: " << text;
        if (o.nlohmann) {
            EXPECT_TRUE(sameTree(*fast, theirs)) << text << "\nfast: " << fast->dump() << "\nnlohmann: " << theirs.dump();
        }
    }
    return o;
}

std::vector<std::string> corpus() {
    std::vector<std::string> docs;
    for (const char* dir : {"fuzz_spec", "fuzz_state", "fuzz_process"}) {
        std::filesystem::path d = std::filesystem::path(BERTH_SOURCE_DIR) / "tests/fuzz/corpus" / dir;
        for (auto& e : std::filesystem::directory_iterator(d)) {
            std::ifstream in(e.path(), std::ios::binary);
            std::stringstream ss;
            ss << in.rdbuf();
            docs.push_back(ss.str());
        }
    }
    return docs;
}

}  // namespace

TEST(JsonFast, TricksAgreeWithNlohmann) {
    for (const char* t : {"{}", "[]", " [ ] ", "0", "-0", "1", "-1", "18446744073709551615", "18446744073709551616",
                          "-9223372036854775808", "-9223372036854775809", "01", "1.5", "1e3", "-", "+1", "\"\"",
                          "\"a\\u0000b\"", "\"\\ud83d\\ude00\"", "\"\\ud83d\"", "\"\\ude00\"", "\"\\uD83D\\uDE00x\"",
                          "\"\\u00e9\\u20AC\"", "\"\\/\\b\\f\\n\\r\\t\\\"\\\\\"", "\"\\x\"", "\"\t\"", "\"\x7f\"",
                          "\"\xC3\xA9\"", "\"\xC3\"", "\"\xED\xA0\x80\"", "\"\xF4\x90\x80\x80\"", "\xEF\xBB\xBF{}",
                          "{\"a\":1,\"a\":2}", "{\"b\":1,\"a\":[true,false,null]}", "{\"a\":1,}", "[1,]", "[1 2]",
                          "{\"a\" 1}", "{1:2}", "truex", "nul", "[] []", "", "  ", "{\"a\":{\"b\":{\"c\":[[[]]]}}}"}) {
        compare(t);
    }
    EXPECT_TRUE(compare("{\"a\":1,\"a\":2}").fast);
    EXPECT_TRUE(compare("\"\\ud83d\\ude00\"").fast);
    EXPECT_TRUE(compare("18446744073709551615").fast);
}

TEST(JsonFast, DepthCapIsLeftToTheCaller) {
    std::string deep(10, '[');
    deep += std::string(10, ']');
    EXPECT_TRUE(parseJsonFast(deep, 10).has_value());
    EXPECT_FALSE(parseJsonFast(deep, 9).has_value());
    // parseJson still gives its own error for a document past the cap.
    auto r = parseJson(std::string(600, '[') + std::string(600, ']'), "x.json");
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message().find("nested deeper than 512"), std::string::npos) << r.error().message();
}

TEST(JsonFast, CorpusAndMutationsAgreeWithNlohmann) {
    auto docs = corpus();
    ASSERT_GT(docs.size(), 20u);
    std::mt19937 rng(17);
    const std::string bits[] = {"\"", "\\", "\\u", "\\ud800", "{", "}", "[", "]", ",", ":", "-", "0", "1e",
                                ".", "\xC3", "\xFF", "\x01", " ", "null", "tru", "\\n", "99999999999999999999"};
    int fastAccepted = 0, both = 0;
    for (auto& doc : docs) {
        auto whole = compare(doc);
        if (whole.nlohmann && doc.find_first_of(".eE") == std::string::npos) both++;
        fastAccepted += whole.fast;
        for (int n = 0; n < 150; n++) {
            std::string m = doc;
            if (m.empty()) break;
            size_t at = rng() % m.size();
            switch (rng() % 4) {
                case 0: m.erase(at, 1 + rng() % 3); break;
                case 1: m.insert(at, bits[rng() % std::size(bits)]); break;
                case 2: m[at] = static_cast<char>(rng() % 256); break;
                default: m.resize(at); break;
            }
            compare(m);
        }
    }
    EXPECT_GT(fastAccepted, 0);
    EXPECT_GE(fastAccepted, both / 2);  // most valid documents take the quick path
}
