// linux.resources → cgroup2 knobs, as runc 1.1 (libcontainer/cgroups/fs2) converts the v1-style
// values: zero means "not set", -1 means "max". Values cgroup2 has no knob for are either ignored
// with a debug line (where runc ignores them) or refused (real-time CPU limits).
// docs/cgroups.md ("cgroup v2") has the table and the formulas.
#include <algorithm>

#include "cgroups/json_fields.hpp"
#include "cgroups/resources.hpp"
#include "common/log.hpp"

namespace berth::cgroups {
namespace {
using nlohmann::json;
using fields::optInt;

using Out = KnobList;

bool has(const json& obj, const char* key) { return obj.contains(key) && !obj[key].is_null(); }

void ignored(const std::string& path, const char* why) {
    log::debug("cgroup v2: ", path, " ignored (", why, ")");
}

// runc's numToStr: 0 = leave the knob alone, -1 = "max".
std::string numToStr(int64_t v) {
    if (v == 0) return "";
    if (v == -1) return "max";
    return std::to_string(v);
}

// runc's ConvertMemorySwapToCgroupV2Value: v1's memory+swap becomes v2's swap alone.
Result<int64_t> swapToV2(int64_t swap, int64_t limit, const std::string& p) {
    if (limit == -1 && swap == 0) return int64_t(-1);  // unlimited memory frees swap too
    if (swap == -1 || swap == 0) return swap;
    if (limit == 0 || limit == -1)
        return Error::make(p, ".swap: cannot set a swap limit without a memory limit");
    if (limit < 0) return Error::make(p, ".limit: invalid value ", limit);
    if (swap < limit)
        return Error::make(p, ".swap: memory+swap limit (", swap, ") must be >= the memory limit (",
                           limit, ")");
    return swap - limit;
}

Status memoryKnobs(const json& m, Out out) {
    const std::string p = "linux.resources.memory";
    TRY(fields::requireObject(m, p));
    ASSIGN_OR_RETURN(auto limit, optInt(m, "limit", p));
    ASSIGN_OR_RETURN(auto swap, optInt(m, "swap", p));
    ASSIGN_OR_RETURN(auto reservation, optInt(m, "reservation", p));
    int64_t l = limit.value_or(0), s = swap.value_or(0);
    if (l < -1) return Error::make(p, ".limit: invalid value ", l);
    ASSIGN_OR_RETURN(int64_t v2swap, swapToV2(s, l, p));
    std::string swapStr = numToStr(v2swap);
    if (swapStr.empty() && v2swap == 0 && s > 0) swapStr = "0";  // swap == limit: no swap at all
    // Without swap accounting the file is missing; "max" and "0" then already hold (runc 1.1.x).
    if (!swapStr.empty())
        out.add("memory", "memory.swap.max", swapStr, p + ".swap", swapStr == "max" || swapStr == "0");
    if (auto v = numToStr(l); !v.empty()) out.add("memory", "memory.max", v, p + ".limit");
    if (reservation && *reservation < -1) return Error::make(p, ".reservation: invalid value ", *reservation);
    if (auto v = numToStr(reservation.value_or(0)); !v.empty())
        out.add("memory", "memory.low", v, p + ".reservation");
    for (const char* key : {"kernel", "kernelTCP", "swappiness"}) {
        ASSIGN_OR_RETURN(auto x, optInt(m, key, p));
        if (x && *x != 0) ignored(p + "." + key, "no cgroup2 knob; runc ignores it too");
    }
    for (const char* key : {"disableOOMKiller", "useHierarchy", "checkBeforeUpdate"}) {
        ASSIGN_OR_RETURN(auto x, fields::optBool(m, key, p));
        // checkBeforeUpdate is read by the manager, which needs the live usage.
        if (x && *x && std::string(key) != "checkBeforeUpdate")
            ignored(p + "." + key, "no cgroup2 knob; runc ignores it too");
    }
    return {};
}

Status cpuKnobs(const json& c, Out out) {
    const std::string p = "linux.resources.cpu";
    TRY(fields::requireObject(c, p));
    for (const char* key : {"realtimeRuntime", "realtimePeriod"}) {
        ASSIGN_OR_RETURN(auto v, optInt(c, key, p));
        if (v && *v != 0)
            return Error::make(p, ".", key, ": real-time CPU limits need cgroup v1; cgroup v2 has no "
                               "cpu.rt_* knobs");
    }
    ASSIGN_OR_RETURN(auto idle, optInt(c, "idle", p));
    if (idle) {
        if (*idle != 0 && *idle != 1) return Error::make(p, ".idle: must be 0 or 1, got ", *idle);
        out.add("cpu", "cpu.idle", std::to_string(*idle), p + ".idle");
    }
    ASSIGN_OR_RETURN(auto shares, optInt(c, "shares", p));
    if (shares && *shares != 0) {
        if (*shares < 0) return Error::make(p, ".shares: must not be negative, got ", *shares);
        out.add("cpu", "cpu.weight", std::to_string(cpuSharesToWeight(uint64_t(*shares))), p + ".shares");
    }
    ASSIGN_OR_RETURN(auto quota, optInt(c, "quota", p));
    ASSIGN_OR_RETURN(auto period, optInt(c, "period", p));
    if (period && *period < 0) return Error::make(p, ".period: must not be negative, got ", *period);
    if (quota.value_or(0) != 0 || period.value_or(0) != 0) {
        std::string v = quota.value_or(0) > 0 ? std::to_string(*quota) : "max";
        // The kernel's default period; runc writes it rather than keep whatever was there.
        v += " " + std::to_string(period.value_or(0) != 0 ? *period : 100000);
        out.add("cpu", "cpu.max", v, p + (quota.value_or(0) != 0 ? ".quota" : ".period"));
    }
    // After cpu.max: the kernel checks the burst against the quota (the manager retries the
    // other order when shrinking the quota below the old burst).
    ASSIGN_OR_RETURN(auto burst, optInt(c, "burst", p));
    if (burst) {
        if (*burst < 0) return Error::make(p, ".burst: must not be negative, got ", *burst);
        out.add("cpu", "cpu.max.burst", std::to_string(*burst), p + ".burst");
    }
    return {};
}

Status cpusetKnobs(const json& c, Out out) {
    const std::string p = "linux.resources.cpu";
    for (const char* key : {"cpus", "mems"}) {
        ASSIGN_OR_RETURN(auto v, fields::optString(c, key, p));
        if (v && !v->empty()) out.add("cpuset", std::string("cpuset.") + key, *v, p + "." + key);
    }
    return {};
}

struct DeviceNum {
    int64_t major = 0, minor = 0;
    std::string dev() const { return std::to_string(major) + ":" + std::to_string(minor); }
};

Result<DeviceNum> deviceOf(const json& entry, const std::string& ip) {
    TRY(fields::requireObject(entry, ip));
    ASSIGN_OR_RETURN(auto major, optInt(entry, "major", ip));
    ASSIGN_OR_RETURN(auto minor, optInt(entry, "minor", ip));
    if (!major || !minor || *major < 0 || *minor < 0)
        return Error::make(ip, ": needs non-negative major and minor numbers");
    return DeviceNum{*major, *minor};
}

Status weightKnobs(const json& b, const std::string& p, Out out) {
    ASSIGN_OR_RETURN(auto weight, optInt(b, "weight", p));
    auto add = [&](const std::string& prefix, int64_t w, const std::string& path) -> Status {
        if (w < 10 || w > 1000) return Error::make(path, ".weight: must be 10..1000, got ", w);
        // BFQ takes the v1 range as is; the generic io.weight (1..10000) gets it converted.
        auto& k = out.add("io", "io.bfq.weight", prefix + std::to_string(w), path);
        k.fallback = "io.weight";
        k.fallbackValue = prefix + std::to_string(blkioWeightToIoWeight(uint64_t(w)));
        return {};
    };
    if (weight && *weight != 0) TRY(add("", *weight, p));
    ASSIGN_OR_RETURN(auto leaf, optInt(b, "leafWeight", p));
    if (leaf && *leaf != 0) ignored(p + ".leafWeight", "cgroup2 has no leaf weights");
    if (!has(b, "weightDevice")) return {};
    TRY(fields::requireArray(b["weightDevice"], p + ".weightDevice"));
    for (size_t i = 0; i < b["weightDevice"].size(); i++) {
        std::string ip = p + ".weightDevice[" + std::to_string(i) + "]";
        const json& e = b["weightDevice"][i];
        ASSIGN_OR_RETURN(DeviceNum d, deviceOf(e, ip));
        ASSIGN_OR_RETURN(auto w, optInt(e, "weight", ip));
        if (w) TRY(add(d.dev() + " ", *w, ip));
        if (has(e, "leafWeight")) ignored(ip + ".leafWeight", "cgroup2 has no leaf weights");
    }
    return {};
}

// The four v1 throttle lists become one io.max line per device ("8:0 rbps=1 wiops=2"); keys
// not given keep their value. A v1 rate of 0 removed the limit: on v2 that is "max" (io.max
// refuses 0).
Status throttleKnobs(const json& b, const std::string& p, Out out) {
    static const std::pair<const char*, const char*> kLists[] = {
        {"throttleReadBpsDevice", "rbps"},
        {"throttleWriteBpsDevice", "wbps"},
        {"throttleReadIOPSDevice", "riops"},
        {"throttleWriteIOPSDevice", "wiops"},
    };
    std::vector<std::pair<std::string, std::string>> lines;  // device -> keys, first-seen order
    std::vector<std::string> paths;
    for (auto [key, name] : kLists) {
        if (!has(b, key)) continue;
        const json& list = b[key];
        TRY(fields::requireArray(list, p + "." + key));
        for (size_t i = 0; i < list.size(); i++) {
            std::string ip = p + "." + key + "[" + std::to_string(i) + "]";
            ASSIGN_OR_RETURN(DeviceNum d, deviceOf(list[i], ip));
            ASSIGN_OR_RETURN(auto rate, optInt(list[i], "rate", ip));
            if (!rate || *rate < 0) return Error::make(ip, ".rate: must be a non-negative integer");
            std::string kv = std::string(name) + "=" + (*rate == 0 ? "max" : std::to_string(*rate));
            auto it = std::find_if(lines.begin(), lines.end(), [&](auto& l) { return l.first == d.dev(); });
            if (it == lines.end()) {
                lines.push_back({d.dev(), kv});
                paths.push_back(ip);
            } else {
                it->second += " " + kv;
            }
        }
    }
    for (size_t i = 0; i < lines.size(); i++)
        out.add("io", "io.max", lines[i].first + " " + lines[i].second, paths[i]);
    return {};
}

Status hugetlbKnobs(const json& list, Out out) {
    ASSIGN_OR_RETURN(auto limits, parseHugepageLimits(list));
    for (auto& l : limits) {
        std::string v = std::to_string(l.limit);
        out.add("hugetlb", "hugetlb." + l.pageSize + ".max", v, l.jsonPath);
        // Reservations are charged separately since 5.7; limit them alike where the file
        // exists, or a mapping could reserve what it may not fault in (runc 1.2, crun).
        out.add("hugetlb", "hugetlb." + l.pageSize + ".rsvd.max", v, l.jsonPath, true);
    }
    return {};
}

// A linux.resources.unified key is a knob file name: "<controller>.<knob>" or "cgroup.<knob>",
// never a path, never a file that moves processes or changes the cgroup's shape or state.
Status checkUnifiedKey(const std::string& key) {
    const std::string ip = "linux.resources.unified[\"" + key + "\"]";
    if (key.empty() || key.find('/') != std::string::npos || key.find("..") != std::string::npos ||
        key.find('\0') != std::string::npos)
        return Error::make(ip, ": must be a file name in the container's cgroup");
    auto dot = key.find('.');
    if (dot == std::string::npos || dot == 0 || dot + 1 == key.size())
        return Error::make(ip, ": must be of the form <controller>.<knob>");
    static const char* kRefused[] = {"cgroup.procs", "cgroup.threads", "cgroup.subtree_control",
                                     "cgroup.type", "cgroup.kill", "cgroup.freeze"};
    for (const char* r : kRefused)
        if (key == r) return Error::make(ip, ": ", r, " is managed by berth and cannot be set here");
    return {};
}

}  // namespace

Result<std::vector<KnobWrite>> v2Knobs(const json& r) {
    std::vector<KnobWrite> w;
    if (r.is_null()) return w;
    TRY(fields::requireObject(r, "linux.resources"));
    Out out{w};
    // runc's fs2 order: pids, memory, io, cpu, (devices: an eBPF program, see the manager),
    // cpuset, hugetlb, rdma, then unified last so it overrides anything above.
    if (has(r, "pids")) {
        const std::string p = "linux.resources.pids";
        TRY(fields::requireObject(r["pids"], p));
        ASSIGN_OR_RETURN(auto limit, optInt(r["pids"], "limit", p));
        if (!limit) return Error::make(p, ".limit: must be an integer");
        // 0 leaves the knob alone; any negative limit means unlimited (as on v1).
        if (*limit != 0) out.add("pids", "pids.max", *limit > 0 ? std::to_string(*limit) : "max", p + ".limit");
    }
    if (has(r, "memory")) TRY(memoryKnobs(r["memory"], out));
    if (has(r, "blockIO")) {
        const std::string p = "linux.resources.blockIO";
        TRY(fields::requireObject(r["blockIO"], p));
        TRY(weightKnobs(r["blockIO"], p, out));
        TRY(throttleKnobs(r["blockIO"], p, out));
    }
    if (has(r, "cpu")) TRY(cpuKnobs(r["cpu"], out));
    if (has(r, "cpu")) TRY(cpusetKnobs(r["cpu"], out));
    if (has(r, "hugepageLimits")) TRY(hugetlbKnobs(r["hugepageLimits"], out));
    if (has(r, "rdma")) TRY(rdmaKnobs(r["rdma"], w));
    if (has(r, "network")) {
        TRY(fields::requireObject(r["network"], "linux.resources.network"));
        if (!r["network"].empty())
            ignored("linux.resources.network", "net_cls/net_prio are v1-only; runc ignores them on v2");
    }
    if (has(r, "unified")) {
        const std::string p = "linux.resources.unified";
        TRY(fields::requireObject(r["unified"], p));
        for (auto& [key, value] : r["unified"].items()) {
            TRY(checkUnifiedKey(key));
            if (!value.is_string()) return Error::make(p, "[\"", key, "\"]: must be a string");
            std::string ctrl = key.substr(0, key.find('.'));
            out.add(ctrl == "cgroup" ? "" : ctrl.c_str(), key, value.get<std::string>(),
                    p + "[\"" + key + "\"]");
        }
    }
    return w;
}

// runc's ConvertCPUSharesToCgroupV2Value, the linear map of [2, 262144] onto [1, 10000]. The
// input is clamped to v1's range first (the kernel clamped v1 shares the same way), where runc
// would wrap around below 2.
uint64_t cpuSharesToWeight(uint64_t shares) {
    if (shares == 0) return 0;
    shares = std::clamp<uint64_t>(shares, 2, 262144);
    return 1 + ((shares - 2) * 9999) / 262142;
}

// runc's ConvertBlkIOToIOWeightValue: [10, 1000] onto [1, 10000].
uint64_t blkioWeightToIoWeight(uint64_t weight) {
    if (weight == 0) return 0;
    weight = std::clamp<uint64_t>(weight, 10, 1000);
    return 1 + (weight - 10) * 9999 / 990;
}

}  // namespace berth::cgroups
