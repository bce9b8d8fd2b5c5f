// tests/fuzz/fuzz_process: the `exec --process FILE` JSON through spec::parseProcess.
#include <cstddef>
#include <cstdint>

#include "runtime/spec/spec.hpp"
#include "tests/fuzz/check.hpp"

using namespace berth;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    auto p = spec::parseProcess(fuzz::bytes(data, size), "process.json");
    if (!p) fuzz::checkOneLine(p.error());
    return 0;
}
