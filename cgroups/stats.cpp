#include "cgroups/stats.hpp"

#include <sstream>

#include "common/fs.hpp"

namespace berth::cgroups {
namespace {
using nlohmann::json;

json entryJson(const MemoryEntry& e, bool withUsage = true) {
    json j{{"limit", e.limit}, {"failcnt", e.failcnt}};
    if (withUsage && e.usage) j["usage"] = e.usage;
    if (withUsage && e.max) j["max"] = e.max;
    return j;
}

json blkioJson(const std::vector<BlkioEntry>& v) {
    json a = json::array();
    for (auto& e : v) a.push_back({{"major", e.major}, {"minor", e.minor}, {"op", e.op}, {"value", e.value}});
    return a;
}
}  // namespace

json toJson(const Stats& s) {
    json d;
    json usage{{"total", s.cpu.usage.total}, {"kernel", s.cpu.usage.kernel}, {"user", s.cpu.usage.user}};
    if (!s.cpu.usage.percpu.empty()) usage["percpu"] = s.cpu.usage.percpu;
    if (!s.cpu.usage.percpuKernel.empty()) usage["percpu_kernel"] = s.cpu.usage.percpuKernel;
    if (!s.cpu.usage.percpuUser.empty()) usage["percpu_user"] = s.cpu.usage.percpuUser;
    json thr = json::object();
    if (s.cpu.throttling.periods) thr["periods"] = s.cpu.throttling.periods;
    if (s.cpu.throttling.throttledPeriods) thr["throttledPeriods"] = s.cpu.throttling.throttledPeriods;
    if (s.cpu.throttling.throttledTime) thr["throttledTime"] = s.cpu.throttling.throttledTime;
    d["cpu"] = {{"usage", usage}, {"throttling", thr}};
    if (s.cpuset.present) {
        json cs{{"cpus", s.cpuset.cpus}, {"mems", s.cpuset.mems}};
        for (auto& [k, v] : s.cpuset.flags) cs[k] = v;
        d["cpuset"] = cs;
    }
    json mem{{"usage", entryJson(s.memory.usage)}, {"swap", entryJson(s.memory.swap)},
             {"kernel", entryJson(s.memory.kernel)}, {"kernelTCP", entryJson(s.memory.kernelTCP, false)},
             {"raw", s.memory.raw}};
    if (s.memory.cache) mem["cache"] = s.memory.cache;
    d["memory"] = mem;
    d["pids"] = {{"current", s.pids.current}};
    if (s.pids.limit) d["pids"]["limit"] = s.pids.limit;
    json b = json::object();
    auto put = [&](const char* key, const std::vector<BlkioEntry>& v) {
        if (!v.empty()) b[key] = blkioJson(v);
    };
    put("ioServiceBytesRecursive", s.blkio.ioServiceBytesRecursive);
    put("ioServicedRecursive", s.blkio.ioServicedRecursive);
    put("ioQueueRecursive", s.blkio.ioQueuedRecursive);
    put("ioServiceTimeRecursive", s.blkio.ioServiceTimeRecursive);
    put("ioWaitTimeRecursive", s.blkio.ioWaitTimeRecursive);
    put("ioMergedRecursive", s.blkio.ioMergedRecursive);
    put("ioTimeRecursive", s.blkio.ioTimeRecursive);
    put("sectorsRecursive", s.blkio.sectorsRecursive);
    d["blkio"] = b;
    json h = json::object();
    for (auto& [size, e] : s.hugetlb) {
        json x{{"failcnt", e.failcnt}};
        if (e.usage) x["usage"] = e.usage;
        if (e.max) x["max"] = e.max;
        h[size] = x;
    }
    d["hugetlb"] = h;
    d["intel_rdt"] = json::object();
    d["network_interfaces"] = nullptr;
    return d;
}

std::map<std::string, uint64_t> parseFlatKeyed(const std::string& text) {
    std::map<std::string, uint64_t> out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream ls(line);
        std::string key, value;
        if (!(ls >> key >> value)) continue;
        out[key] = parseKnobValue(value);
    }
    return out;
}

Result<std::vector<uint16_t>> parseCpuList(const std::string& text) {
    std::vector<uint16_t> out;
    std::string t = fs::trim(text);
    if (t.empty()) return out;
    for (auto& part : fs::split(t, ',')) {
        unsigned lo = 0, hi = 0;
        char dash = 0;
        int n = std::sscanf(part.c_str(), "%u%c%u", &lo, &dash, &hi);
        if (n == 1) hi = lo;
        else if (n != 3 || dash != '-' || hi < lo || hi > 65535)
            return Error::make("bad cpu list \"", t, "\"");
        if (hi > 65535) return Error::make("bad cpu list \"", t, "\"");
        for (unsigned c = lo; c <= hi; c++) out.push_back(static_cast<uint16_t>(c));
    }
    return out;
}

std::vector<BlkioEntry> parseBlkioV1(const std::string& text) {
    std::vector<BlkioEntry> out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream ls(line);
        std::string dev, a, b;
        if (!(ls >> dev >> a)) continue;
        unsigned maj = 0, min = 0;
        if (std::sscanf(dev.c_str(), "%u:%u", &maj, &min) != 2) continue;  // "Total N"
        BlkioEntry e{maj, min, "", 0};
        if (ls >> b) {
            e.op = a;
            e.value = parseKnobValue(b);
        } else {
            e.value = parseKnobValue(a);  // blkio.sectors / blkio.time: no op column
        }
        out.push_back(e);
    }
    return out;
}

void parseIoStatV2(const std::string& text, BlkioStats& out) {
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream ls(line);
        std::string dev, kv;
        if (!(ls >> dev)) continue;
        unsigned maj = 0, min = 0;
        if (std::sscanf(dev.c_str(), "%u:%u", &maj, &min) != 2) continue;
        while (ls >> kv) {
            auto eq = kv.find('=');
            if (eq == std::string::npos) continue;
            std::string k = kv.substr(0, eq);
            uint64_t v = parseKnobValue(kv.substr(eq + 1));
            // The same mapping runc uses for v2 (fs2/io.go).
            if (k == "rbytes") out.ioServiceBytesRecursive.push_back({maj, min, "Read", v});
            else if (k == "wbytes") out.ioServiceBytesRecursive.push_back({maj, min, "Write", v});
            else if (k == "rios") out.ioServicedRecursive.push_back({maj, min, "Read", v});
            else if (k == "wios") out.ioServicedRecursive.push_back({maj, min, "Write", v});
        }
    }
}

uint64_t parseKnobValue(const std::string& text) {
    std::string t = fs::trim(text);
    if (t == "max") return UINT64_MAX;
    try {
        size_t used = 0;
        uint64_t v = std::stoull(t, &used);
        return used == t.size() ? v : 0;
    } catch (...) {
        return 0;
    }
}

std::string hugePageSizeName(uint64_t bytes) {
    static const char* kUnits[] = {"B", "KB", "MB", "GB", "TB", "PB"};
    int u = 0;
    while (bytes >= 1024 && bytes % 1024 == 0 && u < 5) {
        bytes /= 1024;
        u++;
    }
    return std::to_string(bytes) + kUnits[u];
}

}  // namespace berth::cgroups
