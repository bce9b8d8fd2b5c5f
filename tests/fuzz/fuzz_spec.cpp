// tests/fuzz/fuzz_spec: config.json text through runtime::spec::parse (parse + validate), the path of
// create/run; exec without --process re-parses the stored config from its dump.
#include <cstddef>
#include <algorithm>
#include <cstdint>
#include <string>

#include "common/json.hpp"
#include "runtime/spec/spec.hpp"
#include "tests/fuzz/check.hpp"

using namespace berth;

namespace {

// Arrays and objects nested in a parsed value: what common/json's bracket scan must have seen.
size_t depthOf(const nlohmann::json& j) {
    if (!j.is_structured()) return 0;
    size_t deepest = 0;
    for (const auto& v : j) deepest = std::max(deepest, depthOf(v));
    return deepest + 1;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string text = fuzz::bytes(data, size);
    auto s = runtime::spec::parse(text, "config.json");
    if (!s) {
        fuzz::checkOneLine(s.error());
        return 0;
    }
    // The nesting cap's bracket scan (strings, escapes) never sees less nesting than the parser
    // built (it may see more: a duplicate key drops the earlier value).
    if (depthOf(s->document) > jsonNestingDepth(text))
        fuzz::broken("jsonNestingDepth covers the parsed document", std::to_string(jsonNestingDepth(text)));
    // The state store keeps the config as JSON and exec parses its dump: what was accepted
    // once must be accepted again in that form.
    auto again = runtime::spec::parse(s->document.dump(), "container config");
    if (!again) fuzz::broken("a dumped accepted config parses", again.error().what());
    // The hooks a config carries survive the state store's round trip.
    auto hooks = runtime::spec::parseHooks(runtime::spec::hooksToJson(s->hooks), "state");
    if (!hooks) fuzz::broken("hooksToJson output parses", hooks.error().what());
    return 0;
}
