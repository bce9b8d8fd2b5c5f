#include "vm/agent/timing.hpp"

#include <time.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
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
// In a shared mapping, so that the workload's child, forked from PID 1, marks its set-up steps
// (before its execve) into the same list; the agent waits for that exec, so they take turns.
struct Marks {
    Entry entries[64];
    unsigned count;
};
Marks* marks() {
    static Marks* m = [] {
        void* p = ::mmap(nullptr, sizeof(Marks), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        return p == MAP_FAILED ? nullptr : static_cast<Marks*>(p);
    }();
    return m;
}

}  // namespace

void mark(const char* label) {
    Marks* m = marks();
    if (!m) return;
    unsigned i = __atomic_fetch_add(&m->count, 1, __ATOMIC_RELAXED);
    if (i >= sizeof m->entries / sizeof m->entries[0]) return;
    struct timespec ts;
    ::clock_gettime(CLOCK_BOOTTIME, &ts);
    m->entries[i] = {label, static_cast<uint64_t>(ts.tv_sec) * 1000000 + static_cast<uint64_t>(ts.tv_nsec) / 1000,
                     wire::timing::readTsc()};
}

void flush() {
    Marks* m = marks();
    if (!m || m->count == 0 || kernelParam("berth.timing") != "1") return;
    std::string out;
    char line[128];
    unsigned count = std::min<unsigned>(m->count, sizeof m->entries / sizeof m->entries[0]);
    for (unsigned i = 0; i < count; i++) {
        int n = std::snprintf(line, sizeof line, "%s%s %llu %llu\n", wire::timing::kGuestPrefix, m->entries[i].label,
                              static_cast<unsigned long long>(m->entries[i].us), static_cast<unsigned long long>(m->entries[i].tsc));
        if (n > 0 && n < static_cast<int>(sizeof line)) out.append(line, static_cast<size_t>(n));
    }
    (void)!::write(STDERR_FILENO, out.data(), out.size());
    m->count = 0;
}

}  // namespace berth::vm::agent::timing
