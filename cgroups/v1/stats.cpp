// v1 statistics, read the way runc reads them (libcontainer/cgroups/fs), so `events --stats`
// prints the same numbers for the same cgroup.
#include <unistd.h>

#include "cgroups/v1/manager.hpp"
#include "common/fs.hpp"

namespace berth::cgroups::v1 {
namespace {

uint64_t readNum(const std::string& file) {
    auto t = fs::readFile(file);
    return t ? parseKnobValue(*t) : 0;
}

std::vector<uint64_t> readNums(const std::string& file) {
    std::vector<uint64_t> out;
    auto t = fs::readFile(file);
    if (!t) return out;
    for (auto& f : fs::split(fs::trim(*t), ' '))
        if (!f.empty()) out.push_back(parseKnobValue(f));
    return out;
}

void readCpu(const std::string& acct, const std::string& cpu, CpuStats& s) {
    if (!acct.empty()) {
        s.usage.total = readNum(acct + "/cpuacct.usage");
        s.usage.percpu = readNums(acct + "/cpuacct.usage_percpu");
        s.usage.percpuKernel = readNums(acct + "/cpuacct.usage_percpu_sys");
        s.usage.percpuUser = readNums(acct + "/cpuacct.usage_percpu_user");
        // cpuacct.stat counts USER_HZ ticks.
        auto st = fs::readFile(acct + "/cpuacct.stat");
        if (st) {
            auto kv = parseFlatKeyed(*st);
            uint64_t ns = 1000000000ULL / static_cast<uint64_t>(::sysconf(_SC_CLK_TCK));
            s.usage.user = kv["user"] * ns;
            s.usage.kernel = kv["system"] * ns;
        }
    }
    if (!cpu.empty()) {
        auto st = fs::readFile(cpu + "/cpu.stat");
        if (st) {
            auto kv = parseFlatKeyed(*st);
            s.throttling.periods = kv["nr_periods"];
            s.throttling.throttledPeriods = kv["nr_throttled"];
            s.throttling.throttledTime = kv["throttled_time"];
        }
    }
}

void readCpuset(const std::string& dir, CpusetStats& s) {
    if (dir.empty()) return;
    s.present = true;
    for (auto [file, out] : {std::pair{"/cpuset.cpus", &s.cpus}, {"/cpuset.mems", &s.mems}}) {
        auto t = fs::readFile(dir + file);
        if (!t) continue;
        if (auto list = parseCpuList(*t)) *out = *list;
    }
    for (const char* f : {"cpu_exclusive", "mem_hardwall", "mem_exclusive", "memory_migrate",
                          "memory_spread_page", "memory_spread_slab", "memory_pressure",
                          "sched_load_balance", "sched_relax_domain_level"}) {
        auto t = fs::readFile(dir + "/cpuset." + f);
        if (!t) continue;
        try {
            s.flags[f] = std::stoll(fs::trim(*t));
        } catch (...) {
        }
    }
}

MemoryEntry memoryEntry(const std::string& dir, const std::string& prefix) {
    MemoryEntry e;
    e.usage = readNum(dir + "/" + prefix + ".usage_in_bytes");
    e.max = readNum(dir + "/" + prefix + ".max_usage_in_bytes");
    e.failcnt = readNum(dir + "/" + prefix + ".failcnt");
    e.limit = readNum(dir + "/" + prefix + ".limit_in_bytes");
    return e;
}

void readMemory(const std::string& dir, MemoryStats& s) {
    if (dir.empty()) return;
    if (auto t = fs::readFile(dir + "/memory.stat")) s.raw = parseFlatKeyed(*t);
    s.cache = s.raw.count("cache") ? s.raw["cache"] : 0;
    s.usage = memoryEntry(dir, "memory");
    s.swap = memoryEntry(dir, "memory.memsw");
    s.kernel = memoryEntry(dir, "memory.kmem");
    s.kernelTCP = memoryEntry(dir, "memory.kmem.tcp");
    if (auto t = fs::readFile(dir + "/memory.oom_control")) s.oomKills = parseFlatKeyed(*t)["oom_kill"];
}

void readBlkio(const std::string& dir, BlkioStats& s) {
    if (dir.empty()) return;
    auto read = [&](const char* name) {
        auto t = fs::readFile(dir + "/blkio." + name);
        return t ? parseBlkioV1(*t) : std::vector<BlkioEntry>{};
    };
    // CFQ's files first; with another scheduler (BFQ, or none) the throttle layer's and BFQ's
    // counters are what the kernel keeps, as runc falls back.
    s.ioServiceBytesRecursive = read("io_service_bytes_recursive");
    s.ioServicedRecursive = read("io_serviced_recursive");
    s.ioQueuedRecursive = read("io_queued_recursive");
    s.ioServiceTimeRecursive = read("io_service_time_recursive");
    s.ioWaitTimeRecursive = read("io_wait_time_recursive");
    s.ioMergedRecursive = read("io_merged_recursive");
    s.ioTimeRecursive = read("time_recursive");
    s.sectorsRecursive = read("sectors_recursive");
    if (s.ioServiceBytesRecursive.empty()) s.ioServiceBytesRecursive = read("bfq.io_service_bytes_recursive");
    if (s.ioServicedRecursive.empty()) s.ioServicedRecursive = read("bfq.io_serviced_recursive");
    if (s.ioServiceBytesRecursive.empty())
        s.ioServiceBytesRecursive = read("throttle.io_service_bytes_recursive");
    if (s.ioServicedRecursive.empty()) s.ioServicedRecursive = read("throttle.io_serviced_recursive");
}

// hugetlb.<size>.{usage_in_bytes,max_usage_in_bytes,failcnt} (v1) or .current/.events (v2).
void readHugetlb(const std::string& v1dir, const std::string& v2dir, std::map<std::string, HugetlbStats>& out) {
    auto sizes = fs::listDir("/sys/kernel/mm/hugepages");
    if (!sizes) return;
    for (auto& name : *sizes) {  // hugepages-2048kB
        if (name.rfind("hugepages-", 0) != 0) continue;
        uint64_t kb = parseKnobValue(name.substr(10, name.size() - 12));
        std::string size = hugePageSizeName(kb * 1024);
        HugetlbStats h;
        std::string p = "/hugetlb." + size;
        if (!v1dir.empty()) {
            h.usage = readNum(v1dir + p + ".usage_in_bytes");
            h.max = readNum(v1dir + p + ".max_usage_in_bytes");
            h.failcnt = readNum(v1dir + p + ".failcnt");
        } else if (!v2dir.empty() && fs::exists(v2dir + p + ".current")) {
            h.usage = readNum(v2dir + p + ".current");
            if (auto t = fs::readFile(v2dir + p + ".events")) h.failcnt = parseFlatKeyed(*t)["max"];
        } else {
            continue;
        }
        out[size] = h;
    }
}

}  // namespace

Result<Stats> readStats(const std::function<std::string(const std::string&)>& dirFor,
                        const std::string& unifiedDir) {
    Stats s;
    readCpu(dirFor("cpuacct"), dirFor("cpu"), s.cpu);
    readCpuset(dirFor("cpuset"), s.cpuset);
    readMemory(dirFor("memory"), s.memory);
    if (std::string d = dirFor("pids"); !d.empty()) {
        s.pids.current = readNum(d + "/pids.current");
        uint64_t max = readNum(d + "/pids.max");
        s.pids.limit = max == UINT64_MAX ? 0 : max;
    }
    readBlkio(dirFor("blkio"), s.blkio);
    readHugetlb(dirFor("hugetlb"), unifiedDir, s.hugetlb);
    return s;
}

}  // namespace berth::cgroups::v1
