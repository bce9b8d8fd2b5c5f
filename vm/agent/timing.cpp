#include "vm/agent/timing.hpp"

#include <time.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "vm/agent/agent.hpp"
#include "vm/wire/timing.hpp"

namespace berth::vm::agent::timing {
namespace {

struct Entry {
    const char* label;
    uint64_t us, tsc;
};
Entry gMarks[32];
unsigned gCount = 0;

}  // namespace

void mark(const char* label) {
    if (gCount >= sizeof gMarks / sizeof gMarks[0]) return;
    struct timespec ts;
    ::clock_gettime(CLOCK_BOOTTIME, &ts);
    gMarks[gCount++] = {label, static_cast<uint64_t>(ts.tv_sec) * 1000000 + static_cast<uint64_t>(ts.tv_nsec) / 1000,
                        wire::timing::readTsc()};
}

void flush() {
    if (gCount == 0 || kernelParam("berth.timing") != "1") return;
    std::string out;
    char line[128];
    for (unsigned i = 0; i < gCount; i++) {
        int n = std::snprintf(line, sizeof line, "%s%s %llu %llu\n", wire::timing::kGuestPrefix, gMarks[i].label,
                              static_cast<unsigned long long>(gMarks[i].us), static_cast<unsigned long long>(gMarks[i].tsc));
        if (n > 0 && n < static_cast<int>(sizeof line)) out.append(line, static_cast<size_t>(n));
    }
    (void)!::write(STDERR_FILENO, out.data(), out.size());
    gCount = 0;
}

}  // namespace berth::vm::agent::timing
