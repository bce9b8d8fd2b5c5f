// How the notification is raised, checked against mm/memcontrol-v1.c: with oom_kill_disable
// set, a user page fault that cannot be charged under the limit (after reclaim found nothing
// more to free) records the memcg (memcg1_oom_prepare), and at the end of the fault
// mem_cgroup_oom_synchronize marks it under OOM, calls mem_cgroup_oom_notify — every eventfd
// registered on memory.oom_control of that memcg and its descendants is signalled — and sleeps
// TASK_KILLABLE until memcg1_oom_recover (a limit raised, oom_kill_disable cleared, an
// uncharge) or a fatal signal wakes it. Nothing is killed. containerd's v1 epoller then
// publishes TaskOOM unless the cgroup is gone; conmon writes its oom file.
#include "vm/host_oom.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <utility>

#include "cgroups/manager.hpp"
#include "cgroups/stats.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"

namespace berth::vm::hostoom {
namespace {

constexpr uint64_t kPage = 4096;
constexpr uint64_t kMargin = 256 * kPage;       // 1 MiB: the go pipe's page, then the toucher's
constexpr size_t kTouchMax = size_t{1} << 30;    // the toucher's reach (reclaim may free page cache first)
constexpr unsigned kToucherLifeSec = 5;          // it dies by itself even if we are stuck
constexpr int kLimitRetries = 20;                // EBUSY: usage grew past the limit we picked
// Above this a v1 limit means "none" (PAGE_COUNTER_MAX pages, page aligned): written back as -1.
constexpr uint64_t kUnlimited = uint64_t{1} << 62;

long nowUs() {
    struct timespec ts;
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000L + ts.tv_nsec / 1000;
}

// One write of pre-made text at offset 0 (no allocation: this runs while the cgroup is limited).
bool put(int fd, bool regular, const char* text, size_t n) {
    if (regular && ::ftruncate(fd, 0) < 0) return false;
    return ::pwrite(fd, text, n, 0) == static_cast<ssize_t>(n);
}

// The toucher: in our cgroup (inherited), waits for "go", then touches anonymous pages until
// the charge sleeps in the memcg OOM wait; SIGKILL (ours, or SIGALRM made fatal, or our death)
// wakes it and it exits.
[[noreturn]] void toucher(int goFd) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);  // the shim blocks everything (signalfd)
    ::signal(SIGALRM, SIG_DFL);
    ::alarm(kToucherLifeSec);
    void* m = ::mmap(nullptr, kTouchMax, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    char go = 0;
    if (m == MAP_FAILED || ::read(goFd, &go, 1) != 1) ::_exit(1);
    auto* p = static_cast<volatile char*>(m);
    for (size_t off = 0; off < kTouchMax; off += kPage) p[off] = 1;
    for (;;) ::pause();  // reclaim kept finding room: the parent times out and kills us
}

Result<uint64_t> readNumber(const std::string& file) {
    ASSIGN_OR_RETURN(std::string t, fs::readFile(file));
    return cgroups::parseFlatKeyed("v " + t)["v"];
}

// The limited window: go, wait for the notification, kill the toucher, restore the limit.
RaiseReport limitedWindow(KnobGuard& knobs, int goFd, int efd, pid_t child, int timeoutMs, long limitedAt) {
    RaiseReport r;
    (void)!::write(goFd, "g", 1);
    struct pollfd p = {efd, POLLIN, 0};
    long deadline = nowUs() + timeoutMs * 1000L;
    for (;;) {
        long left = (deadline - nowUs()) / 1000;
        if (left <= 0) break;
        int n = ::poll(&p, 1, static_cast<int>(left));
        if (n > 0) {
            r.fired = true;
            break;
        }
        if (n < 0 && errno != EINTR) break;
    }
    ::kill(child, SIGKILL);  // wakes it from the OOM wait; it touches nothing more
    knobs.restore();
    r.limitedUs = nowUs() - limitedAt;
    return r;
}

}  // namespace

Result<OomControl> parseOomControl(const std::string& text) {
    auto kv = cgroups::parseFlatKeyed(text);
    if (!kv.count("oom_kill_disable") || !kv.count("under_oom"))
        return Error(EINVAL, "memory.oom_control: no oom_kill_disable/under_oom line in \"" + text + "\"").hideErrno();
    return OomControl{kv["oom_kill_disable"] != 0, kv["under_oom"] != 0, kv.count("oom_kill") ? kv["oom_kill"] : 0};
}

Result<std::string> v1MemoryDir(const cgroups::HostLayout& layout, const std::map<std::string, std::string>& procCgroup) {
    auto path = procCgroup.find("memory");
    for (const auto& h : layout.hierarchies) {
        if (h.v2) continue;
        for (const auto& c : h.controllers) {
            if (c != "memory") continue;
            if (path == procCgroup.end()) break;
            if (path->second == "/" || path->second.empty())
                return Error(EINVAL, "this process is in the root memory cgroup, which has no limit to lower").hideErrno();
            return h.mountPoint + path->second;
        }
    }
    return Error(ENOTSUP, "no cgroup v1 memory hierarchy holds this process (cgroup2 has no memory.oom_control)").hideErrno();
}

uint64_t tightLimit(uint64_t usage, uint64_t current) {
    uint64_t want = (usage + kMargin + kPage - 1) / kPage * kPage;
    return want < current ? want : current;
}

Result<KnobGuard> KnobGuard::open(const std::string& dir) {
    KnobGuard g;
    std::string limitFile = dir + "/memory.limit_in_bytes", controlFile = dir + "/memory.oom_control";
    ASSIGN_OR_RETURN(g.limit_, readNumber(limitFile));
    ASSIGN_OR_RETURN(std::string ctl, fs::readFile(controlFile));
    ASSIGN_OR_RETURN(OomControl oc, parseOomControl(ctl));
    g.killDisable_ = oc.killDisable;
    g.limitText_ = g.limit_ >= kUnlimited ? "-1" : std::to_string(g.limit_);
    g.limitFd_.reset(::open(limitFile.c_str(), O_WRONLY | O_CLOEXEC));
    if (!g.limitFd_) return Error::fromErrno("open ", limitFile, " for writing");
    g.controlFd_.reset(::open(controlFile.c_str(), O_WRONLY | O_CLOEXEC));
    if (!g.controlFd_) return Error::fromErrno("open ", controlFile, " for writing");
    struct stat st;
    g.regular_ = ::fstat(g.limitFd_.get(), &st) == 0 && S_ISREG(st.st_mode);
    return g;
}

KnobGuard::KnobGuard(KnobGuard&& o) noexcept
    : limitFd_(std::move(o.limitFd_)), controlFd_(std::move(o.controlFd_)), regular_(o.regular_), limit_(o.limit_),
      killDisable_(o.killDisable_), limitText_(std::move(o.limitText_)), limitChanged_(o.limitChanged_),
      killerChanged_(o.killerChanged_) {
    o.limitChanged_ = o.killerChanged_ = false;
}

Status KnobGuard::disableKiller() {
    if (killDisable_) return {};
    killerChanged_ = true;  // before the write: a write that half-happened is undone too
    if (!put(controlFd_.get(), regular_, "1", 1)) return Error::fromErrno("set memory.oom_control to 1");
    return {};
}

Status KnobGuard::setLimit(uint64_t bytes) {
    char buf[32];
    int n = ::snprintf(buf, sizeof buf, "%llu", static_cast<unsigned long long>(bytes));
    limitChanged_ = true;
    if (!put(limitFd_.get(), regular_, buf, static_cast<size_t>(n))) return Error::fromErrno("set memory.limit_in_bytes to ", bytes);
    return {};
}

bool KnobGuard::restore() {
    bool ok = true;
    if (limitChanged_) {
        ok = put(limitFd_.get(), regular_, limitText_.data(), limitText_.size()) && ok;
        limitChanged_ = false;
    }
    if (killerChanged_) {
        const char* v = killDisable_ ? "1" : "0";
        ok = put(controlFd_.get(), regular_, v, 1) && ok;
        killerChanged_ = false;
    }
    return ok;
}

Result<RaiseReport> raiseOomNotification(const std::string& dir, int timeoutMs) {
    ASSIGN_OR_RETURN(KnobGuard knobs, KnobGuard::open(dir));
    ASSIGN_OR_RETURN(UniqueFd efd, cgroups::registerV1OomEventfd(dir));
    int go[2];
    if (::pipe2(go, O_CLOEXEC) < 0) return Error::fromErrno("pipe");
    UniqueFd goRd(go[0]), goWr(go[1]);
    // Forked before the limit: a fork under it could fail (its kernel memory is charged too).
    pid_t child = ::fork();
    if (child < 0) return Error::fromErrno("fork the page toucher");
    if (child == 0) {
        goWr.reset();
        toucher(goRd.get());
    }
    goRd.reset();
    ScopeGuard reap([&] {
        ::kill(child, SIGKILL);
        knobs.restore();
        while (::waitpid(child, nullptr, 0) < 0 && errno == EINTR) {}
    });
    TRY(knobs.disableKiller());
    long limitedAt = 0;
    for (int i = 0;; i++) {
        ASSIGN_OR_RETURN(uint64_t usage, readNumber(dir + "/memory.usage_in_bytes"));
        limitedAt = nowUs();
        Status st = knobs.setLimit(tightLimit(usage, knobs.originalLimit()));
        if (st) break;
        if (st.error().err() != EBUSY || i == kLimitRetries) return std::move(st).error();
    }
    return limitedWindow(knobs, goWr.get(), efd.get(), child, timeoutMs, limitedAt);
}

uint32_t OomCoalescer::onOom(uint32_t kills, long nowMs) {
    held_ += kills;
    if (raised_ && nowMs - lastMs_ < kMinGapMs) return 0;
    raised_ = true;
    lastMs_ = nowMs;
    return std::exchange(held_, 0);
}

uint32_t OomCoalescer::beforeExit() { return std::exchange(held_, 0); }

int OomCoalescer::waitMs(long nowMs) const {
    if (!held_) return -1;
    long left = lastMs_ + kMinGapMs - nowMs;
    return left > 0 ? static_cast<int>(left) : 0;
}

uint32_t OomCoalescer::due(long nowMs) { return held_ && waitMs(nowMs) == 0 ? onOom(0, nowMs) : 0; }

Result<std::string> guestOomTarget() {
    ASSIGN_OR_RETURN(auto layout, cgroups::detectLayout());
    ASSIGN_OR_RETURN(std::string self, fs::readFile("/proc/self/cgroup"));
    return v1MemoryDir(layout, cgroups::parseProcCgroup(self));
}

void raiseForGuestOom(uint32_t kills, const Result<std::string>& dir) {
    static bool warned = false;
    auto warnOnce = [](const std::string& why) {
        if (!warned) log::warn("vm: a guest OOM kill is not visible to the host cgroup's OOM watchers (containerd, conmon): ", why);
        warned = true;
    };
    if (!dir) return warnOnce(dir.error().what());
    auto r = raiseOomNotification(*dir, 2000);
    if (!r) return warnOnce(strCat(*dir, ": ", r.error().what()));
    if (!r->fired) return warnOnce(strCat(*dir, ": the cgroup did not reach OOM in 2 s"));
    log::debug("vm: ", kills, " guest OOM kill(s) raised as an OOM notification of ", *dir, " (limited for ", r->limitedUs, " us)");
}

}  // namespace berth::vm::hostoom
