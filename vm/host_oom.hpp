// vm/host_oom: a guest OOM kill made visible where containerd's runc shim and conmon look — the
// cgroup v1 OOM notification (eventfds on memory.oom_control) of the VM shim's own memory cgroup,
// raised without killing anything on the host. The parsing and the restore guard are pure
// enough for unit tests (they take the cgroup's directory).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>

#include "cgroups/manager.hpp"
#include "common/error.hpp"
#include "common/unique_fd.hpp"

namespace berth::vm::hostoom {

// memory.oom_control: "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n".
struct OomControl {
    bool killDisable = false;
    bool underOom = false;
    uint64_t oomKill = 0;
};
Result<OomControl> parseOomControl(const std::string& text);

// The caller's memory cgroup directory on a v1 memory hierarchy (mount point + the path
// /proc/self/cgroup gives); an error saying why there is none (cgroup2 only, the root cgroup).
Result<std::string> v1MemoryDir(const cgroups::HostLayout& layout, const std::map<std::string, std::string>& procCgroup);

// The limit that makes the next charges of a toucher fail: usage + a margin (room for the
// pipe page that wakes the toucher), page aligned; never above the limit the cgroup has.
uint64_t tightLimit(uint64_t usage, uint64_t current);

// memory.limit_in_bytes and memory.oom_control of one cgroup, opened up front (an open in the
// limited window would itself be a charge that can fail), and put back as they were when the
// guard goes: the limit first (what wakes the sleeping toucher and any stalled VMM thread),
// then oom_kill_disable. Every write in the window is a pwrite of a string made before it.
class KnobGuard {
public:
    static Result<KnobGuard> open(const std::string& dir);
    KnobGuard(KnobGuard&& o) noexcept;
    KnobGuard& operator=(KnobGuard&&) = delete;
    ~KnobGuard() { restore(); }
    uint64_t originalLimit() const { return limit_; }
    bool originalKillDisable() const { return killDisable_; }
    Status disableKiller();
    // Sets `bytes`; EBUSY (usage grew past it) is the caller's to retry.
    Status setLimit(uint64_t bytes);
    // Put both back now (idempotent); false when a write failed.
    bool restore();

private:
    KnobGuard() = default;
    UniqueFd limitFd_, controlFd_;
    bool regular_ = false;  // a unit test's plain files: truncated before each write
    uint64_t limit_ = 0;
    bool killDisable_ = false;
    std::string limitText_;
    bool limitChanged_ = false, killerChanged_ = false;
};

struct RaiseReport {
    bool fired = false;    // our own eventfd on memory.oom_control fired
    long limitedUs = 0;    // how long the cgroup had the tight limit (a VMM in it may stall)
};

// Raise the v1 OOM notification of memory cgroup `dir` (the caller must be in it): killer
// disabled, limit just above usage, a child of ours touching pages until the kernel declares the
// cgroup under OOM and notifies every eventfd on memory.oom_control (the child sleeps, nobody is
// killed); then the child is killed and the knobs restored. Bounded by timeoutMs; the child
// dies by itself (alarm, parent death) if we cannot kill it.
Result<RaiseReport> raiseOomNotification(const std::string& dir, int timeoutMs);

// For the shim: its own memory cgroup's directory, where guest OOM kills are raised — found once,
// while the shim can still read /proc (vm/proc_view.hpp puts a FUSE /proc over it).
Result<std::string> guestOomTarget();
// For the shim: raise it for `target` (guestOomTarget) after `kills` guest OOM kills; a host where
// that cannot be done (cgroup2, not writable) gets one warning line in berth's log, once.
void raiseForGuestOom(uint32_t kills, const Result<std::string>& target);

// When to raise: at once for the first OOM kill, then at most once per kMinGapMs while the
// container runs (a workload whose children OOM in a loop must not keep a VMM sharing the cgroup
// stalled: each raise limits it for a few ms); what was held back is raised when the gap is over,
// or before the exit is handled, so the watchers always hear of it while the cgroup is alive.
// Pure: the caller's clock.
class OomCoalescer {
public:
    static constexpr long kMinGapMs = 1000;
    // An Oom frame at nowMs: the kills to raise now (0: held back).
    uint32_t onOom(uint32_t kills, long nowMs);
    // The Exit frame: the kills held back (0: none).
    uint32_t beforeExit();
    // While the container runs: how long to wait before `due` has kills to raise (-1: none held),
    // and the held kills once the gap since the last raise is over.
    int waitMs(long nowMs) const;
    uint32_t due(long nowMs);

private:
    long lastMs_ = -kMinGapMs;
    bool raised_ = false;
    uint32_t held_ = 0;
};

}  // namespace berth::vm::hostoom
