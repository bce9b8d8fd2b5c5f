#include "vps/limits.hpp"

#include <unistd.h>


#include "common/fs.hpp"

namespace berth::vps {

using json = nlohmann::json;

namespace {

bool anyExists(const std::string& root, std::initializer_list<const char*> rel) {
    for (const char* r : rel)
        if (fs::exists(root + "/" + r)) return true;
    return false;
}

// Ranges "a-b" and singles "a" of a cpu list, in order.
std::vector<std::pair<int, int>> cpuRanges(const std::string& list) {
    std::vector<std::pair<int, int>> out;
    for (const auto& part : fs::split(fs::trim(list), ',')) {
        if (part.empty()) continue;
        size_t dash = part.find('-');
        try {
            int a = std::stoi(part.substr(0, dash));
            int b = dash == std::string::npos ? a : std::stoi(part.substr(dash + 1));
            if (b >= a) out.emplace_back(a, b);
        } catch (...) {
        }
    }
    return out;
}

}  // namespace

HostCaps detectHostCaps(const std::string& cgroupRoot, const std::string& onlineFile) {
    HostCaps c;
    auto online = fs::readFile(onlineFile);
    if (online) c.onlineCpus = fs::trim(*online);
    c.swapAccounting = anyExists(cgroupRoot, {"memory/memory.memsw.limit_in_bytes"}) ||
                       (!fs::exists(cgroupRoot + "/memory") && anyExists(cgroupRoot, {"memory.swap.max", "init.scope/memory.swap.max"}));
    c.ioWeight = anyExists(cgroupRoot, {"blkio/blkio.weight", "blkio/blkio.bfq.weight"}) ||
                 (!fs::exists(cgroupRoot + "/blkio") && anyExists(cgroupRoot, {"io.weight", "io.bfq.weight", "init.scope/io.weight", "init.scope/io.bfq.weight"}));
    return c;
}

uint64_t cpuunitsToShares(int units) {
    // round() half away from zero, in integers: libm's round was berth's only use of libm, which
    // every berth start then loaded (~340 KiB of resident pages).
    int64_t s = units <= 0 ? 0 : (static_cast<int64_t>(units) * 1024 + 500) / 1000;
    if (s < 2) s = 2;
    if (s > 262144) s = 262144;
    return static_cast<uint64_t>(s);
}

int64_t cpulimitToQuota(int percent) { return static_cast<int64_t>(percent) * kCpuPeriodUs / 100; }

int countCpus(const std::string& cpuList) {
    int n = 0;
    for (auto [a, b] : cpuRanges(cpuList)) n += b - a + 1;
    return n;
}

Result<std::string> firstCpus(const std::string& cpuList, int n) {
    int have = countCpus(cpuList);
    if (n > have) return Error::make("--cpus ", n, ": this host has ", have, " CPU", have == 1 ? "" : "s");
    std::string out;
    for (auto [a, b] : cpuRanges(cpuList)) {
        if (n <= 0) break;
        int end = std::min(b, a + n - 1);
        if (!out.empty()) out += ",";
        out += end == a ? std::to_string(a) : strCat(a, "-", end);
        n -= end - a + 1;
    }
    return out;
}

Status checkHostSupports(const Limits& l, const HostCaps& caps) {
    if (l.swap && *l.swap > 0 && !caps.swapAccounting)
        return Error::make("--swap: this host's memory cgroup has no swap accounting (memory.memsw); "
                           "boot with swapaccount=1 or leave --swap unset");
    if (l.ioweight && !caps.ioWeight)
        return Error::make("--ioweight: this host's block I/O controller has no weight "
                           "(no BFQ scheduler: blkio.weight / io.weight missing)");
    if (l.cpus) TRY(firstCpus(caps.onlineCpus, *l.cpus));
    return {};
}

Result<json> resourcesFor(const Limits& l, const HostCaps& caps) {
    TRY(checkHostSupports(l, caps));
    json r = json::object();
    if (l.ram) {
        r["memory"]["limit"] = *l.ram;
        // vzctl: --swap is swap on top of ram; the kernel's memsw knob counts both.
        if (l.swap) r["memory"]["swap"] = *l.ram + *l.swap;
    }
    json cpu = json::object();
    if (l.cpuunits) cpu["shares"] = cpuunitsToShares(*l.cpuunits);
    if (l.cpulimit) {
        cpu["quota"] = cpulimitToQuota(*l.cpulimit);
        cpu["period"] = kCpuPeriodUs;
    }
    if (l.cpus) {
        ASSIGN_OR_RETURN(cpu["cpus"], firstCpus(caps.onlineCpus, *l.cpus));
    }
    if (!cpu.empty()) r["cpu"] = cpu;
    if (l.pids) r["pids"]["limit"] = *l.pids;
    if (l.ioweight) r["blockIO"]["weight"] = *l.ioweight;
    return r;
}

Result<runtime::UpdateOptions> updateFor(const std::string& id, const Limits& before, const Limits& after,
                                         const HostCaps& caps) {
    TRY(checkHostSupports(after, caps));
    runtime::UpdateOptions u;
    u.id = id;
    if (after.ram != before.ram || after.swap != before.swap) {
        u.memory = after.ram.value_or(-1);
        if (caps.swapAccounting) u.memorySwap = after.ram && after.swap ? *after.ram + *after.swap : -1;
    }
    if (after.cpuunits != before.cpuunits) u.cpuShares = cpuunitsToShares(after.cpuunits.value_or(1000));
    if (after.cpulimit != before.cpulimit) {
        u.cpuPeriod = kCpuPeriodUs;
        u.cpuQuota = after.cpulimit ? cpulimitToQuota(*after.cpulimit) : -1;
    }
    if (after.cpus != before.cpus) {
        if (after.cpus) {
            ASSIGN_OR_RETURN(u.cpusetCpus, firstCpus(caps.onlineCpus, *after.cpus));
        } else {
            u.cpusetCpus = caps.onlineCpus;
        }
    }
    if (after.pids != before.pids) u.pidsLimit = after.pids.value_or(-1);
    if (after.ioweight != before.ioweight && after.ioweight) u.blkioWeight = *after.ioweight;
    return u;
}

}  // namespace berth::vps
