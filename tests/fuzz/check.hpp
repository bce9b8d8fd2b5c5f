// tests/fuzz/check: what every fuzz target asserts besides "no crash": a refusal is one Error
// line (the CLI prints it as is), and a broken property aborts so libFuzzer keeps the input.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

#include "common/error.hpp"

namespace berth::fuzz {

// Abort with the reason: libFuzzer reports it as a crash and writes the reproducer.
[[noreturn]] inline void broken(const char* property, const std::string& detail) {
    std::fprintf(stderr, "fuzz property broken: %s: %s\n", property, detail.c_str());
    std::abort();
}

// Every parse error reaches the user as one line.
inline void checkOneLine(const Error& e) {
    std::string line = e.what();
    if (line.empty() || line.find('\n') != std::string::npos)
        broken("an error is one non-empty line", line);
}

inline std::string bytes(const uint8_t* data, size_t size) {
    return std::string(reinterpret_cast<const char*>(data), size);
}

}  // namespace berth::fuzz
