// cgroup2 statistics in runc's (v1-shaped) form, read as libcontainer/cgroups/fs2 reads them, so
// `events --stats` prints the same numbers as runc for the same cgroup.
#include <optional>
#include <sstream>

#include "cgroups/v2/manager.hpp"
#include "common/fs.hpp"

namespace berth::cgroups::v2 {
namespace {

// A missing file reads as nothing: the controller is not enabled for the cgroup.
std::optional<std::string> readOpt(const std::string& file) {
    auto t = fs::readFile(file);
    if (!t) return std::nullopt;
    return std::move(*t);
}

uint64_t readNum(const std::string& file) {
    auto t = readOpt(file);
    return t ? parseKnobValue(*t) : 0;
}

void readCpu(const std::string& dir, CpuStats& s) {
    // cpu.stat exists even without the cpu controller (usage only).
    auto t = readOpt(dir + "/cpu.stat");
    if (!t) return;
    auto kv = parseFlatKeyed(*t);
    s.usage.total = kv["usage_usec"] * 1000;
    s.usage.user = kv["user_usec"] * 1000;
    s.usage.kernel = kv["system_usec"] * 1000;
    s.throttling.periods = kv["nr_periods"];
    s.throttling.throttledPeriods = kv["nr_throttled"];
    s.throttling.throttledTime = kv["throttled_usec"] * 1000;
}

void readCpuset(const std::string& dir, CpusetStats& s) {
    for (auto [file, out] : {std::pair{"/cpuset.cpus.effective", &s.cpus}, {"/cpuset.mems.effective", &s.mems}}) {
        auto t = readOpt(dir + file);
        if (!t) continue;
        s.present = true;
        if (auto list = parseCpuList(*t)) *out = *list;
    }
}

void readMemory(const std::string& dir, MemoryStats& s) {
    auto stat = readOpt(dir + "/memory.stat");
    if (!stat) return;
    s.raw = parseFlatKeyed(*stat);
    s.cache = s.raw.count("file") ? s.raw["file"] : 0;
    s.usage.usage = readNum(dir + "/memory.current");
    s.usage.limit = readNum(dir + "/memory.max");
    s.usage.max = readNum(dir + "/memory.peak");  // 5.19+; 0 (left out) before
    // v1 reported memory+swap; runc keeps that shape on v2 by adding memory to swap.
    if (auto cur = readOpt(dir + "/memory.swap.current")) {
        s.swap.usage = parseKnobValue(*cur) + s.usage.usage;
        uint64_t lim = readNum(dir + "/memory.swap.max");
        s.swap.limit = lim == UINT64_MAX || s.usage.limit == UINT64_MAX ? UINT64_MAX : lim + s.usage.limit;
    }
    if (auto ev = readOpt(dir + "/memory.events")) s.oomKills = parseFlatKeyed(*ev)["oom_kill"];
}

void readPids(const std::string& dir, PidsStats& s) {
    if (auto cur = readOpt(dir + "/pids.current")) {
        s.current = parseKnobValue(*cur);
        uint64_t max = readNum(dir + "/pids.max");
        s.limit = max == UINT64_MAX ? 0 : max;
        return;
    }
    // Without the pids controller, count cgroup.procs (as runc).
    if (auto procs = readOpt(dir + "/cgroup.procs")) {
        std::istringstream in(*procs);
        pid_t p;
        while (in >> p) s.current++;
    }
}

// hugetlb.<size>.current / .events for every size the directory has files for.
void readHugetlb(const std::string& dir, std::map<std::string, HugetlbStats>& out) {
    auto names = fs::listDir(dir);
    if (!names) return;
    const std::string prefix = "hugetlb.", suffix = ".current";
    for (auto& n : *names) {
        if (n.size() <= prefix.size() + suffix.size() || n.compare(0, prefix.size(), prefix) != 0 ||
            n.compare(n.size() - suffix.size(), suffix.size(), suffix) != 0)
            continue;
        std::string size = n.substr(prefix.size(), n.size() - prefix.size() - suffix.size());
        if (size.find('.') != std::string::npos) continue;  // hugetlb.2MB.rsvd.current
        HugetlbStats h;
        h.usage = readNum(dir + "/" + n);
        if (auto ev = readOpt(dir + "/hugetlb." + size + ".events")) h.failcnt = parseFlatKeyed(*ev)["max"];
        out[size] = h;
    }
}

}  // namespace

Result<Stats> readStats(const std::string& dir) {
    if (!fs::exists(dir + "/cgroup.procs")) return Error(ENOENT, "cgroup: " + dir + " does not exist");
    Stats s;
    readCpu(dir, s.cpu);
    readCpuset(dir, s.cpuset);
    readMemory(dir, s.memory);
    readPids(dir, s.pids);
    if (auto io = readOpt(dir + "/io.stat")) parseIoStatV2(*io, s.blkio);
    readHugetlb(dir, s.hugetlb);
    return s;
}

}  // namespace berth::cgroups::v2
