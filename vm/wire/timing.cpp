#include "vm/wire/timing.hpp"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>
#include <x86intrin.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <sstream>

namespace berth::vm::wire::timing {
namespace {

void appendLine(const std::string& line) {
    int fd = ::open(hostFile().c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) return;
    (void)!::write(fd, line.data(), line.size());
    ::close(fd);
}

uint64_t realtimeUs() {
    struct timespec ts;
    ::clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000 + static_cast<uint64_t>(ts.tv_nsec) / 1000;
}

// A point of the run on the host's clock (µs), if its marks allow it. "h:L" a host mark, "g:L"
// a guest mark, "vcpu" the VM's first instruction (guest TSC 0), "g0" the guest kernel's clock 0.
// Guest marks are placed by their TSC (TCG's guest TSC is the host's, counted from the VM's
// start: a steady clock from the first instruction on) when the host's TSC rate is known, else
// by their CLOCK_BOOTTIME, which early in a TCG boot runs neither from 0 nor at the host's rate.
class Clock {
public:
    Clock(const Run& r, double hostTicksPerUs) : r_(r), ticksPerUs_(hostTicksPerUs) {
        // Guest ↔ host pairs: the same event seen on both sides (transport latency ≪ 1 ms).
        for (auto [g, h] : {std::pair{"ready", "agent.ready"}, std::pair{"probe", "probe.seen"},
                            std::pair{"exit", "exit.frame"}}) {
            auto gi = r.guest.find(g);
            auto hi = r.host.find(h);
            if (gi != r.guest.end() && hi != r.host.end()) pairs_.push_back({gi->second, hi->second});
        }
        std::sort(pairs_.begin(), pairs_.end(), [](auto& a, auto& b) { return a.first.us < b.first.us; });
        if (pairs_.size() >= 2 && pairs_.back().first.us > pairs_.front().first.us)
            rate_ = double(int64_t(pairs_.back().second.us - pairs_.front().second.us)) /
                    double(pairs_.back().first.us - pairs_.front().first.us);
        const Mark* lo = nullptr;
        const Mark* hi = nullptr;
        for (auto& [label, m] : r.host) {
            if (!m.tsc) continue;
            if (!lo || m.us < lo->us) lo = &m;
            if (!hi || m.us > hi->us) hi = &m;
        }
        if (lo && hi && hi->us > lo->us + 10000 && hi->tsc > lo->tsc)
            ticksPerUs_ = double(hi->tsc - lo->tsc) / double(hi->us - lo->us);
        // Each pair says when the VM started, late by the time its frame took to reach the host:
        // the earliest estimate is the best.
        for (auto& [g, h] : pairs_) {
            if (ticksPerUs_ <= 0 || !g.tsc) continue;
            double start = double(h.us) - double(g.tsc) / ticksPerUs_;
            if (!byTsc_ || start < vcpu_) vcpu_ = start;
            byTsc_ = true;
        }
    }

    std::optional<double> at(const std::string& point) const {
        if (point.rfind("h:", 0) == 0) {
            auto it = r_.host.find(point.substr(2));
            if (it == r_.host.end()) return std::nullopt;
            return double(it->second.us);
        }
        if (pairs_.empty()) return std::nullopt;
        if (point == "vcpu") return byTsc_ ? std::optional<double>(vcpu_) : std::nullopt;
        if (point == "g0") return kernelClockZero();
        auto it = r_.guest.find(point.substr(2));
        if (point.rfind("g:", 0) != 0 || it == r_.guest.end()) return std::nullopt;
        if (byTsc_ && it->second.tsc) return vcpu_ + double(it->second.tsc) / ticksPerUs_;
        return byBoottime(double(it->second.us));
    }

private:
    double byBoottime(double g) const {
        return double(pairs_.front().second.us) + (g - double(pairs_.front().first.us)) * rate_;
    }
    // Where the kernel's clock would have started had it run at its later rate all along: the
    // /init mark's host time less its CLOCK_BOOTTIME scaled by that rate (two TSC'd guest marks).
    std::optional<double> kernelClockZero() const {
        if (!byTsc_) return byBoottime(0);
        auto init = r_.guest.find("init");
        const Mark* last = nullptr;
        for (auto& [label, m] : r_.guest)
            if (m.tsc && (!last || m.tsc > last->tsc)) last = &m;
        if (init == r_.guest.end() || !init->second.tsc || !last || last->us <= init->second.us) return std::nullopt;
        double scale = double(last->tsc - init->second.tsc) / ticksPerUs_ / double(last->us - init->second.us);
        return vcpu_ + double(init->second.tsc) / ticksPerUs_ - double(init->second.us) * scale;
    }
    const Run& r_;
    std::vector<std::pair<Mark, Mark>> pairs_;  // guest, host
    double rate_ = 1;
    double ticksPerUs_ = 0;
    bool byTsc_ = false;
    double vcpu_ = 0;
};

struct PhaseDef {
    const char* name;
    const char* from;
    const char* to;
};
// In boot order. Host marks: bench/vm.sh (run.begin, first.output, run.end, and for QEMU run
// directly qemu.exec, probe.seen), berth (vm.*), the shim (qemu.exec, agent.*, start.sent,
// stdout.first, exit.frame, qemu.gone). Guest marks: the agent (vm/agent/timing.cpp).
constexpr PhaseDef kPhases[] = {
    {"berth start -> vm handler (cli, spec, state)", "h:run.begin", "h:vm.launch"},
    {"config checks (rootfs size, seccomp, shares)", "h:vm.launch", "h:vm.checked"},
    {"boot artifacts (cache check)", "h:vm.checked", "h:vm.artifacts"},
    {"accelerator (KVM probe cache read)", "h:vm.artifacts", "h:vm.accel"},
    {"rootfs staging (cpio or ext4)", "h:vm.accel", "h:vm.rootfs"},
    {"network wiring", "h:vm.rootfs", "h:vm.network"},
    {"shim fork -> QEMU fork/exec", "h:vm.network", "h:qemu.exec"},
    {"QEMU exec -> first guest instruction", "h:qemu.exec", "vcpu"},
    {"first instruction -> /init (kernel boot)", "vcpu", "g:init"},
    {"  before the kernel clock (unpack, early setup)", "vcpu", "g0"},
    {"  kernel clock 0 -> /init", "g0", "g:init"},
    {"/init: mounts + modules", "g:init", "g:modules"},
    {"modules -> probe line (floor)", "g:modules", "g:probe"},
    {"modules -> agent port + rootfs", "g:modules", "g:port"},
    {"agent port -> Ready sent", "g:port", "g:ready"},
    {"Ready -> Config received", "g:ready", "g:config"},
    {"Config -> Prepared", "g:config", "g:prepared"},
    {"  JSON config -> GuestProcess", "g:config", "g:cfg.parsed"},
    {"  lo up (and the NICs)", "g:cfg.parsed", "g:cfg.lo"},
    {"  proc, sysfs, devtmpfs defaults", "g:cfg.lo", "g:cfg.proc_sys_dev"},
    {"  the spec's mounts and /dev", "g:cfg.proc_sys_dev", "g:cfg.spec_mounts"},
    {"  sysctls, hostname, shares, ro root", "g:cfg.spec_mounts", "g:cfg.rootfs"},
    {"  guest cgroup2: mount, dirs, controllers, limits", "g:cfg.rootfs", "g:prepared"},
    {"Prepared -> Start sent (create returns, start)", "g:prepared", "h:start.sent"},
    {"Start sent -> first output (shim)", "h:start.sent", "h:stdout.first"},
    {"  Start sent -> pipes made (guest)", "h:start.sent", "g:wl.pipes"},
    {"  clone3 (new PID ns, into the cgroup) -> child runs", "g:wl.pipes", "g:wl.child"},
    {"  child: stdio, signals, cgroup", "g:wl.child", "g:wl.cgroup"},
    {"  child: mount ns, private /, /proc", "g:wl.cgroup", "g:wl.ns"},
    {"  child: cgroup ns + mount, oom_score_adj, keyring", "g:wl.ns", "g:wl.cgmount"},
    {"  child: chroot, masked and read-only paths", "g:wl.cgmount", "g:wl.masked"},
    {"  child: rlimits, executable lookup, seccomp", "g:wl.masked", "g:wl.lookup"},
    {"  child: environment (HOME from /etc/passwd)", "g:wl.lookup", "g:wl.env"},
    {"  child: fds, signals, caps, user, no_new_privs", "g:wl.env", "g:wl.identity"},
    {"  child: execve until its CLOEXEC pipe closes", "g:wl.identity", "g:wl.exec"},
    {"  workload runs until its first output (guest)", "g:wl.exec", "g:wl.output"},
    {"  guest output -> shim", "g:wl.output", "h:stdout.first"},
    {"first output -> Exit frame", "h:stdout.first", "h:exit.frame"},
    {"  workload's exit reaped (guest)", "g:wl.output", "g:wl.reaped"},
    {"Exit frame -> QEMU gone", "h:exit.frame", "h:qemu.gone"},
    {"QEMU gone -> berth exits (delete)", "h:qemu.gone", "h:run.end"},
    {"probe line -> QEMU exits (floor)", "h:probe.seen", "h:run.end"},
    {"total: first output", "h:run.begin", "h:first.output"},
    {"total: exit", "h:run.begin", "h:run.end"},
};

}  // namespace

const std::string& hostFile() {
    static const std::string f = [] {
        const char* v = std::getenv("BERTH_VM_TIMING");
        return std::string(v && *v ? v : "");
    }();
    return f;
}

uint64_t readTsc() { return __rdtsc(); }

double measureTicksPerUs(int ms) {
    uint64_t t0 = realtimeUs(), c0 = readTsc();
    ::usleep(static_cast<useconds_t>(ms) * 1000);
    uint64_t t1 = realtimeUs(), c1 = readTsc();
    return t1 > t0 ? double(c1 - c0) / double(t1 - t0) : 0;
}

void mark(const char* label) {
    if (!enabled()) return;
    char line[160];
    int n = std::snprintf(line, sizeof line, "H %s %llu %llu\n", label, static_cast<unsigned long long>(realtimeUs()),
                          static_cast<unsigned long long>(readTsc()));
    if (n > 0) appendLine(std::string(line, static_cast<size_t>(std::min<int>(n, sizeof line - 1))));
}

void copyGuestMarks(const std::string& consoleText) {
    if (!enabled()) return;
    std::string out;
    std::istringstream in(consoleText);
    for (std::string line; std::getline(in, line);) {
        auto at = line.find(kGuestPrefix);
        if (at == std::string::npos) continue;
        std::string rest = line.substr(at + std::string(kGuestPrefix).size());
        if (!rest.empty() && rest.back() == '\r') rest.pop_back();  // the serial console's CRLF
        out += "G " + rest + "\n";
    }
    appendLine(out);
}

Run parse(const std::string& text) {
    Run r;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        std::istringstream ls(line);
        std::string kind, label;
        Mark m;
        if (!(ls >> kind >> label >> m.us) || (kind != "H" && kind != "G")) continue;
        if (!(ls >> m.tsc)) m.tsc = 0;
        auto& into = kind == "H" ? r.host : r.guest;
        into.emplace(label, m);  // the first one counts
    }
    return r;
}

std::vector<Phase> breakdown(const Run& r, double hostTicksPerUs) {
    Clock clock(r, hostTicksPerUs);
    std::vector<Phase> out;
    for (const auto& p : kPhases) {
        auto a = clock.at(p.from);
        auto b = clock.at(p.to);
        if (a && b) out.push_back({p.name, (*b - *a) / 1000.0});
    }
    return out;
}

std::string table(const std::vector<std::vector<Phase>>& runs) {
    std::vector<std::string> order;
    std::map<std::string, std::vector<double>> values;
    for (auto& run : runs)
        for (auto& p : run) {
            if (!values.count(p.name)) order.push_back(p.name);
            values[p.name].push_back(p.ms);
        }
    std::string out;
    char line[200];
    std::snprintf(line, sizeof line, "%-48s %9s %9s %9s %4s\n", "phase", "median", "min", "max", "n");
    out += line;
    for (auto& name : order) {
        auto v = values[name];
        std::sort(v.begin(), v.end());
        double med = v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
        std::snprintf(line, sizeof line, "%-48s %9.1f %9.1f %9.1f %4zu\n", name.c_str(), med, v.front(), v.back(), v.size());
        out += line;
    }
    return out;
}

}  // namespace berth::vm::wire::timing
