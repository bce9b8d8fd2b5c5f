// tests/fuzz/fuzz_process: the `exec --process FILE` JSON through runtime::spec::parseProcess.
#include <cstddef>
#include <cstdint>

#include "runtime/spec/spec.hpp"
#include "tests/fuzz/check.hpp"

using namespace berth;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    auto p = runtime::spec::parseProcess(fuzz::bytes(data, size), "process.json");
    if (!p) fuzz::checkOneLine(p.error());
    return 0;
}
