// tests/fuzz/fuzz_state: a state.json under --root through runtime::state::parseState (what Store::load
// does after reading it), then what the lifecycle verbs do with a loaded record: the hooks of the
// saved config (start, delete), the JSON `state` prints, the record written back (save).
#include <cstddef>
#include <cstdint>

#include "runtime/spec/spec.hpp"
#include "runtime/state/state.hpp"
#include "tests/fuzz/check.hpp"

using namespace berth;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    auto st = runtime::state::parseState(fuzz::bytes(data, size));
    if (!st) {
        fuzz::checkOneLine(st.error());
        return 0;
    }
    auto hooks = runtime::spec::hooksOfConfig(st->config, "state");
    if (!hooks) fuzz::checkOneLine(hooks.error());
    (void)runtime::state::publicJson(*st, st->saved).dump();
    // What save writes, load reads back.
    auto again = runtime::state::parseState(runtime::state::toJson(*st).dump());
    if (!again) fuzz::broken("a saved record loads", again.error().what());
    return 0;
}
