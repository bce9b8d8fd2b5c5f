// vm/wire/timing: the start-time breakdown of a VM container (issue 15 part 5) — timestamps
// written only when asked for ($BERTH_VM_TIMING=FILE on the host, berth.timing=1 in the guest),
// and the pure parser that turns one run's marks into phases (bench/vm.sh --breakdown).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace berth::vm::wire::timing {

// A timing file holds one line per mark:
//   H <label> <CLOCK_REALTIME µs> <host TSC or 0>       host marks (berth, the shim, bench/vm.sh)
//   G <label> <guest CLOCK_BOOTTIME µs> <guest TSC>     guest marks (the agent; copied from the
//                                                       console by the shim)
// The guest prints its marks on the console as "berth-timing: <label> <µs> <tsc>".
constexpr const char* kGuestPrefix = "berth-timing: ";

// Host side: the file named by $BERTH_VM_TIMING, or "" (then mark() does nothing).
const std::string& hostFile();
inline bool enabled() { return !hostFile().empty(); }
// Appends "H label now tsc" to hostFile() (one write, O_APPEND: berth and the shim share it).
void mark(const char* label);
// The guest's console text → its marks as G lines, appended to hostFile().
void copyGuestMarks(const std::string& consoleText);
uint64_t readTsc();

struct Mark {
    uint64_t us = 0;   // host: realtime µs; guest: boottime µs
    uint64_t tsc = 0;  // 0: unknown
};
struct Run {
    std::map<std::string, Mark> host, guest;  // first occurrence of each label
};
// Lines of a timing file (unknown or malformed lines are skipped).
Run parse(const std::string& text);

struct Phase {
    std::string name;
    double ms = 0;
};
// The phases that the run's marks allow, in boot order. Guest times are mapped onto the host's
// clock through marks seen on both sides (the agent's Ready, its Exit, or the probe line) and the
// guest's TSC, which under TCG is the host's counted from the VM's start; the host's TSC rate
// comes from two host marks, else from hostTicksPerUs (0: unknown, guest times by boottime).
std::vector<Phase> breakdown(const Run& r, double hostTicksPerUs = 0);
// The host TSC's ticks per µs, measured over `ms`.
double measureTicksPerUs(int ms = 50);
// Per phase name (in first-seen order) the median over runs, as a text table.
std::string table(const std::vector<std::vector<Phase>>& runs);

}  // namespace berth::vm::wire::timing
