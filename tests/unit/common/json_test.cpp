#include "common/json.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>

using namespace berth;

namespace {

std::string nested(size_t depth, char open = '[', char close = ']') {
    return std::string(depth, open) + std::string(depth, close);
}

// {"a":{"a":...{}}} with `depth` objects.
std::string nestedObjects(size_t depth) {
    std::string s;
    for (size_t i = 1; i < depth; i++) s += "{\"a\":";
    return s + "{}" + std::string(depth - 1, '}');
}

}  // namespace

TEST(Json, NestingDepthCountsBracketsOutsideStrings) {
    EXPECT_EQ(jsonNestingDepth(""), 0u);
    EXPECT_EQ(jsonNestingDepth("5"), 0u);
    EXPECT_EQ(jsonNestingDepth("[]"), 1u);
    EXPECT_EQ(jsonNestingDepth(R"({"a": [1, {"b": []}], "c": {}})"), 4u);
    EXPECT_EQ(jsonNestingDepth(R"(["[[[{{{"])"), 1u);
    EXPECT_EQ(jsonNestingDepth(R"({"k[": "v{"})"), 1u);
    // An escaped quote does not end the string; an escaped backslash before a quote does.
    EXPECT_EQ(jsonNestingDepth(R"(["\"[[", []])"), 2u);
    EXPECT_EQ(jsonNestingDepth(R"(["\\", [[]]])"), 3u);
    EXPECT_EQ(jsonNestingDepth(R"(["\\\"[[[", []])"), 2u);
    EXPECT_EQ(jsonNestingDepth(R"(["\u005b\u007b", {}])"), 2u);
    EXPECT_EQ(jsonNestingDepth("[\"\xc3\xa9[\", []]"), 2u) << "UTF-8 bytes are never quotes";
    EXPECT_EQ(jsonNestingDepth("[[][][]]"), 2u) << "siblings do not add up";
    EXPECT_EQ(jsonNestingDepth(nested(100000)), kMaxJsonDepth + 1)
        << "the scan stops past the limit";
    EXPECT_EQ(jsonNestingDepth(nested(100000), 200000), 100000u);
}

TEST(Json, DepthUpToTheLimitParses) {
    auto arrays = parseJson(nested(kMaxJsonDepth), "doc");
    ASSERT_TRUE(arrays.ok()) << arrays.error().what();
    auto objects = parseJson(nestedObjects(kMaxJsonDepth), "doc");
    ASSERT_TRUE(objects.ok()) << objects.error().what();
    EXPECT_TRUE(parseOrderedJson(nested(kMaxJsonDepth), "doc").ok());
    // Brackets in strings do not count, however many.
    auto strings = parseJson("[\"" + nested(100000) + "\"]", "doc");
    ASSERT_TRUE(strings.ok()) << strings.error().what();
    EXPECT_EQ((*strings)[0].get<std::string>().size(), 200000u);
}

TEST(Json, DeeperThanTheLimitIsOneLineNamingTheDocument) {
    for (const std::string& text :
         {nested(kMaxJsonDepth + 1), nestedObjects(kMaxJsonDepth + 1), nested(100000),
          "{\"x\": " + nested(100000, '{', '}') + "}", std::string(100000, '[')}) {
        auto r = parseJson(text, "config.json");
        ASSERT_FALSE(r.ok());
        EXPECT_EQ(r.error().what(), "config.json: JSON nested deeper than 512 levels");
        auto o = parseOrderedJson(text, "image config");
        ASSERT_FALSE(o.ok());
        EXPECT_EQ(o.error().what(), "image config: JSON nested deeper than 512 levels");
    }
}

TEST(Json, InvalidJsonIsOneShortLine) {
    auto r = parseJson("{\"a\": 1,\n}", "process.json");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().what(),
              "process.json: invalid JSON: syntax error while parsing object key - unexpected '}'; "
              "expected string literal (line 2, column 1)");
    auto empty = parseJson("", "state.json");
    ASSERT_FALSE(empty.ok());
    EXPECT_EQ(empty.error().what().rfind("state.json: invalid JSON: ", 0), 0u)
        << empty.error().what();
    EXPECT_EQ(empty.error().what().find('\n'), std::string::npos);
}

// The cap holds only if nothing else parses: every nlohmann entry point that turns text (or
// bytes) into a value must go through common/json.cpp. Scans the product's sources.
TEST(Json, NoOtherParserCallsInTheTree) {
    namespace fs = std::filesystem;
    const fs::path root = BERTH_SOURCE_DIR;
    const std::regex call(
        R"((\w*json\w*|basic_json\s*<[^;]*>)\s*::\s*(parse|accept|sax_parse|from_cbor|from_msgpack|)"
        R"(from_ubjson|from_bjdata|from_bson)\s*\(|"_json(_pointer)?\b|operator\s*>>)",
        std::regex::icase);
    std::vector<std::string> offenders;
    size_t scanned = 0;
    for (const char* dir : {"cli", "common", "runtime", "namespaces", "cgroups", "images",
                            "vm", "vps", "tests/fuzz"}) {
        if (!fs::exists(root / dir)) continue;
        for (const auto& e : fs::recursive_directory_iterator(root / dir)) {
            auto ext = e.path().extension();
            if (!e.is_regular_file() ||
                (ext != ".cpp" && ext != ".hpp" && ext != ".h" && ext != ".c"))
                continue;
            if (e.path() == root / "common/json.cpp") continue;
            scanned++;
            std::ifstream in(e.path());
            std::string line;
            for (int n = 1; std::getline(in, line); n++) {
                std::string code = line.substr(0, line.find("//"));
                if (std::regex_search(code, call))
                    offenders.push_back(
                        strCat(fs::relative(e.path(), root).string(), ":", n, ": ", line));
            }
        }
    }
    EXPECT_GT(scanned, 50u) << "the source tree was not found at " << root;
    std::ostringstream list;
    for (const auto& o : offenders) list << "\n  " << o;
    EXPECT_TRUE(offenders.empty())
        << "parse JSON with berth::parseJson (common/json.hpp), not nlohmann directly:"
        << list.str();
}

// state and list read state.json without its config.json copy (bench/README.md: most of the
// cost of `list`): the skipped member is still checked, and nothing else changes.
TEST(Json, SkippingLeavesOutOneTopLevelMemberOnly) {
    const std::string doc =
        R"({"a":1,"config":{"x":[1,{"y":"z"}],"config":2},"b":{"config":3},"c":[{"config":4}],"z":"config"})";
    auto full = parseJson(doc, "t");
    ASSERT_TRUE(full.ok());
    auto r = parseJsonSkipping(doc, "t", "config");
    ASSERT_TRUE(r.ok()) << r.error().what();
    nlohmann::json expected = *full;
    expected.erase("config");
    EXPECT_EQ(*r, expected);
    // Last member, and a scalar value.
    auto last = parseJsonSkipping(R"({"a":[1],"config":{"k":[{}]}})", "t", "config");
    ASSERT_TRUE(last.ok());
    EXPECT_EQ(last->dump(), R"({"a":[1]})");
    auto scalar = parseJsonSkipping(R"({"config":"s","a":2})", "t", "config");
    ASSERT_TRUE(scalar.ok());
    EXPECT_EQ(scalar->dump(), R"({"a":2})");
    // Inside the skipped member only brackets, strings and depth are checked: unmatched
    // brackets or an open string fail as parseJson does, and so does bad JSON outside it.
    for (const char* bad : {R"({"config":{"x":[1},"a":1})", R"({"config":{"x":"1},"a":1})",
                            R"({"config":{"x":1}},"a":1})", R"({"config":{"x":1},"a":})",
                            R"({"config" {"x":1}})", R"({"config":{"x":1})"}) {
        auto r2 = parseJsonSkipping(bad, "t", "config");
        ASSERT_FALSE(r2.ok()) << bad;
        EXPECT_NE(r2.error().what().find("t: invalid JSON"), std::string::npos) << r2.error().what();
    }
    // A key with escapes, spaces around the colon, a string value "config": all as parseJson.
    auto esc = parseJsonSkipping(R"({"con\u0066ig" : [1,2] , "a":"config","b" : {"config" :1}})", "t", "config");
    ASSERT_TRUE(esc.ok()) << esc.error().what();
    EXPECT_EQ(esc->dump(), R"({"a":"config","b":{"config":1}})");
    auto deep = parseJsonSkipping("{\"config\":" + nested(600) + "}", "t", "config");
    ASSERT_FALSE(deep.ok());
    EXPECT_NE(deep.error().what().find("deeper than"), std::string::npos) << deep.error().what();
}

// The values of the named top-level members come back empty, in one pass; anything else (a
// nested member of that name, a scalar value, a string equal to the name) is parsed as is.
TEST(Json, EmptyingCutsTheNamedObjectAndArrayValues) {
    auto r = parseJsonEmptying(R"({"a":{"x":[1,"]"]},"b":[{"c":1}],"k":"a","n":{"a":[1]},"s":2,"z":3})", "t",
                               {"a", "b", "s"});
    ASSERT_TRUE(r.ok()) << r.error().what();
    EXPECT_EQ(*r, nlohmann::json::parse(R"({"a":{},"b":[],"k":"a","n":{"a":[1]},"s":2,"z":3})"));
    auto none = parseJsonEmptying(R"({"z":[1]})", "t", {"a"});
    ASSERT_TRUE(none.ok());
    EXPECT_EQ(*none, nlohmann::json::parse(R"({"z":[1]})"));
    for (std::string bad : {R"({"a":{"x":1})", R"({"a":{"x":"1}})", "{\"a\":[1]", R"({"a":{}}x)"}) {
        auto e = parseJsonEmptying(bad, "t", {"a"});
        ASSERT_FALSE(e.ok()) << bad;
        EXPECT_EQ(e.error().what().find("t: "), 0u) << e.error().what();
    }
    auto deep = parseJsonEmptying("{\"a\":" + std::string(600, '[') + std::string(600, ']') + "}", "t", {"a"});
    ASSERT_FALSE(deep.ok());
    EXPECT_EQ(deep.error().what(), "t: JSON nested deeper than 512 levels");
}
