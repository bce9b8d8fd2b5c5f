// tests/fuzz/fuzz_spec: config.json text through spec::parse (parse + validate), the path of
// create/run; exec without --process re-parses the stored config from its dump.
#include <cstddef>
#include <cstdint>

#include <nlohmann/json.hpp>

#include "runtime/spec/spec.hpp"
#include "tests/fuzz/check.hpp"

using namespace berth;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string text = fuzz::bytes(data, size);
    auto s = spec::parse(text, "config.json");
    if (!s) {
        fuzz::checkOneLine(s.error());
        return 0;
    }
    // The state store keeps the config as JSON and exec parses its dump: what was accepted
    // once must be accepted again in that form.
    auto again = spec::parse(nlohmann::json::parse(text).dump(), "container config");
    if (!again) fuzz::broken("a dumped accepted config parses", again.error().what());
    // The hooks a config carries survive the state store's round trip.
    auto hooks = spec::parseHooks(spec::hooksToJson(s->hooks), "state");
    if (!hooks) fuzz::broken("hooksToJson output parses", hooks.error().what());
    return 0;
}
