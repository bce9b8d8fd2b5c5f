// linux.resources → cgroup v1 knobs. Zero means "not set" for the numeric limits, as with runc;
// -1 means unlimited where the kernel takes it.

#include "cgroups/json_fields.hpp"
#include "cgroups/resources.hpp"

namespace berth::cgroups {
namespace {
using nlohmann::json;
using fields::optInt;

using Out = KnobList;

Status memoryKnobs(const json& m, Out out) {
    const std::string p = "linux.resources.memory";
    TRY(fields::requireObject(m, p));
    ASSIGN_OR_RETURN(auto limit, optInt(m, "limit", p));
    ASSIGN_OR_RETURN(auto swap, optInt(m, "swap", p));
    // The manager reorders limit and memsw when the kernel needs memsw raised first.
    if (limit && *limit != 0) out.add("memory", "memory.limit_in_bytes", std::to_string(*limit), p + ".limit");
    if (swap && *swap != 0) {
        out.add("memory", "memory.memsw.limit_in_bytes", std::to_string(*swap), p + ".swap");
    } else if (limit && *limit == -1) {
        // An unlimited memory limit frees swap too (runc), where swap accounting exists.
        out.add("memory", "memory.memsw.limit_in_bytes", "-1", p + ".swap", true);
    }
    ASSIGN_OR_RETURN(auto reservation, optInt(m, "reservation", p));
    if (reservation && *reservation != 0)
        out.add("memory", "memory.soft_limit_in_bytes", std::to_string(*reservation), p + ".reservation");
    // Kernel memory limits are deprecated upstream and gone from newer kernels: best effort.
    ASSIGN_OR_RETURN(auto kernel, optInt(m, "kernel", p));
    if (kernel && *kernel != 0)
        out.add("memory", "memory.kmem.limit_in_bytes", std::to_string(*kernel), p + ".kernel", true);
    ASSIGN_OR_RETURN(auto tcp, optInt(m, "kernelTCP", p));
    if (tcp && *tcp != 0)
        out.add("memory", "memory.kmem.tcp.limit_in_bytes", std::to_string(*tcp), p + ".kernelTCP", true);
    ASSIGN_OR_RETURN(auto swappiness, optInt(m, "swappiness", p));
    if (swappiness) {
        // runc treats the Go default (uint64 max, i.e. -1 as int64) as "not set".
        if (*swappiness != -1) {
            if (*swappiness < 0 || *swappiness > 100)
                return Error::make(p, ".swappiness: must be 0..100, got ", *swappiness);
            out.add("memory", "memory.swappiness", std::to_string(*swappiness), p + ".swappiness");
        }
    }
    ASSIGN_OR_RETURN(auto noOom, fields::optBool(m, "disableOOMKiller", p));
    if (noOom && *noOom) out.add("memory", "memory.oom_control", "1", p + ".disableOOMKiller");
    ASSIGN_OR_RETURN(auto hier, fields::optBool(m, "useHierarchy", p));
    if (hier) out.add("memory", "memory.use_hierarchy", *hier ? "1" : "0", p + ".useHierarchy");
    ASSIGN_OR_RETURN(auto check, fields::optBool(m, "checkBeforeUpdate", p));
    (void)check;  // the manager reads it: it needs the live usage
    return {};
}

Status cpuKnobs(const json& c, Out out) {  // period, quota and burst: see cpuQuotaFirst
    const std::string p = "linux.resources.cpu";
    TRY(fields::requireObject(c, p));
    auto num = [&](const char* key, const char* file, bool allowMinusOne) -> Status {
        ASSIGN_OR_RETURN(auto v, optInt(c, key, p));
        if (!v || *v == 0) return {};
        if (*v < 0 && !(allowMinusOne && *v == -1))
            return Error::make(p, ".", key, ": must not be negative, got ", *v);
        out.add("cpu", file, std::to_string(*v), p + "." + key);
        return {};
    };
    TRY(num("shares", "cpu.shares", false));
    // period before quota (the manager may swap them: cpuQuotaFirst); burst after the quota,
    // which it must not exceed.
    TRY(num("period", "cpu.cfs_period_us", false));
    TRY(num("quota", "cpu.cfs_quota_us", true));
    TRY(num("burst", "cpu.cfs_burst_us", false));
    TRY(num("realtimePeriod", "cpu.rt_period_us", false));
    TRY(num("realtimeRuntime", "cpu.rt_runtime_us", true));
    ASSIGN_OR_RETURN(auto idle, optInt(c, "idle", p));
    if (idle) {
        if (*idle != 0 && *idle != 1) return Error::make(p, ".idle: must be 0 or 1, got ", *idle);
        out.add("cpu", "cpu.idle", std::to_string(*idle), p + ".idle");
    }
    for (const char* key : {"cpus", "mems"}) {
        ASSIGN_OR_RETURN(auto v, fields::optString(c, key, p));
        if (v && !v->empty()) out.add("cpuset", std::string("cpuset.") + key, *v, p + "." + key);
    }
    return {};
}

// [{major, minor, <valueKey>}] → "maj:min value" lines, one write each (the kernel takes one
// device per write).
Status perDevice(const json& list, const std::string& p, const char* valueKey, const char* file,
                 Out out) {
    TRY(fields::requireArray(list, p));
    for (size_t i = 0; i < list.size(); i++) {
        std::string ip = p + "[" + std::to_string(i) + "]";
        TRY(fields::requireObject(list[i], ip));
        ASSIGN_OR_RETURN(auto major, optInt(list[i], "major", ip));
        ASSIGN_OR_RETURN(auto minor, optInt(list[i], "minor", ip));
        if (!major || !minor || *major < 0 || *minor < 0)
            return Error::make(ip, ": needs non-negative major and minor numbers");
        ASSIGN_OR_RETURN(auto v, optInt(list[i], valueKey, ip));
        if (!v) continue;  // weightDevice entries may set only one of weight / leafWeight
        if (*v < 0) return Error::make(ip, ".", valueKey, ": must not be negative");
        std::string line = std::to_string(*major) + ":" + std::to_string(*minor) + " " + std::to_string(*v);
        std::string fallback = std::string(file) == "blkio.weight_device" ? "blkio.bfq.weight_device" : "";
        out.add("blkio", file, line, ip, false, fallback);
    }
    return {};
}

Status blkioKnobs(const json& b, Out out) {
    const std::string p = "linux.resources.blockIO";
    TRY(fields::requireObject(b, p));
    ASSIGN_OR_RETURN(auto weight, optInt(b, "weight", p));
    if (weight && *weight != 0) {
        if (*weight < 10 || *weight > 1000) return Error::make(p, ".weight: must be 10..1000, got ", *weight);
        // CFQ's blkio.weight is gone from current kernels; BFQ's file takes the same range.
        out.add("blkio", "blkio.weight", std::to_string(*weight), p + ".weight", false, "blkio.bfq.weight");
    }
    ASSIGN_OR_RETURN(auto leaf, optInt(b, "leafWeight", p));
    if (leaf && *leaf != 0) {
        if (*leaf < 10 || *leaf > 1000) return Error::make(p, ".leafWeight: must be 10..1000, got ", *leaf);
        out.add("blkio", "blkio.leaf_weight", std::to_string(*leaf), p + ".leafWeight");
    }
    if (b.contains("weightDevice") && !b["weightDevice"].is_null()) {
        TRY(perDevice(b["weightDevice"], p + ".weightDevice", "weight", "blkio.weight_device", out));
        TRY(perDevice(b["weightDevice"], p + ".weightDevice", "leafWeight", "blkio.leaf_weight_device", out));
    }
    static const std::pair<const char*, const char*> kThrottle[] = {
        {"throttleReadBpsDevice", "blkio.throttle.read_bps_device"},
        {"throttleWriteBpsDevice", "blkio.throttle.write_bps_device"},
        {"throttleReadIOPSDevice", "blkio.throttle.read_iops_device"},
        {"throttleWriteIOPSDevice", "blkio.throttle.write_iops_device"},
    };
    for (auto [key, file] : kThrottle)
        if (b.contains(key) && !b[key].is_null()) TRY(perDevice(b[key], p + "." + key, "rate", file, out));
    return {};
}

Status hugetlbKnobs(const json& list, Out out) {
    ASSIGN_OR_RETURN(auto limits, parseHugepageLimits(list));
    for (auto& l : limits)
        out.add("hugetlb", "hugetlb." + l.pageSize + ".limit_in_bytes", std::to_string(l.limit), l.jsonPath);
    return {};
}

Status networkKnobs(const json& n, Out out) {
    const std::string p = "linux.resources.network";
    TRY(fields::requireObject(n, p));
    ASSIGN_OR_RETURN(auto classId, optInt(n, "classID", p));
    if (classId) {
        if (*classId < 0 || *classId > 0xffffffffLL) return Error::make(p, ".classID: must be a uint32");
        out.add("net_cls", "net_cls.classid", std::to_string(*classId), p + ".classID");
    }
    if (n.contains("priorities") && !n["priorities"].is_null()) {
        const json& prios = n["priorities"];
        TRY(fields::requireArray(prios, p + ".priorities"));
        for (size_t i = 0; i < prios.size(); i++) {
            std::string ip = p + ".priorities[" + std::to_string(i) + "]";
            TRY(fields::requireObject(prios[i], ip));
            ASSIGN_OR_RETURN(auto name, fields::optString(prios[i], "name", ip));
            ASSIGN_OR_RETURN(auto prio, optInt(prios[i], "priority", ip));
            if (!name || name->empty() || name->find_first_of(" \n") != std::string::npos)
                return Error::make(ip, ".name: must be an interface name");
            if (!prio || *prio < 0) return Error::make(ip, ".priority: must be a non-negative integer");
            out.add("net_prio", "net_prio.ifpriomap", *name + " " + std::to_string(*prio), ip);
        }
    }
    return {};
}

}  // namespace

// "mlx5_0 hca_handle=2 hca_object=2000" per device (v1 and v2 share the rdma.max format).
Status rdmaKnobs(const json& r, std::vector<KnobWrite>& w) {
    const std::string p = "linux.resources.rdma";
    TRY(fields::requireObject(r, p));
    for (auto& [dev, lim] : r.items()) {
        std::string ip = p + "." + dev;
        if (dev.empty() || dev.find_first_of(" \n=") != std::string::npos)
            return Error::make(ip, ": bad device name");
        TRY(fields::requireObject(lim, ip));
        ASSIGN_OR_RETURN(auto handles, optInt(lim, "hcaHandles", ip));
        ASSIGN_OR_RETURN(auto objects, optInt(lim, "hcaObjects", ip));
        if ((handles && *handles < 0) || (objects && *objects < 0))
            return Error::make(ip, ": limits must not be negative");
        std::string line = dev + " hca_handle=" + (handles ? std::to_string(*handles) : "max") +
                           " hca_object=" + (objects ? std::to_string(*objects) : "max");
        w.push_back({"rdma", "rdma.max", line, false, "", ip});
    }
    return {};
}

Status deviceKnobs(const json& devs, std::vector<KnobWrite>& w) {
    ASSIGN_OR_RETURN(auto rules, parseDeviceRules(devs));
    // Each rule is parsed (and checked) once, above; its text comes from the typed rule.
    w.reserve(w.size() + rules.size());
    for (size_t i = 0; i < rules.size(); i++) {
        const char* file = rules[i].allow ? "devices.allow" : "devices.deny";
        std::string text = deviceRuleText(rules[i]);
        // The same rule twice in a row changes nothing the second time: the deny-all put first
        // (withDefaultDeviceRules) and a spec's own deny-all, as runc's and podman's specs have.
        if (i > 0 && w.back().controller == "devices" && w.back().file == file && w.back().value == text) continue;
        w.push_back({"devices", file, std::move(text), false, "", strCat("linux.resources.devices[", i, "]")});
    }
    return {};
}

Result<std::vector<KnobWrite>> v1Knobs(const json& r) {
    std::vector<KnobWrite> w;
    if (r.is_null()) return w;
    TRY(fields::requireObject(r, "linux.resources"));
    Out out{w};
    auto has = [&](const char* k) { return r.contains(k) && !r[k].is_null(); };
    if (has("devices")) TRY(deviceKnobs(r["devices"], w));
    if (has("memory")) TRY(memoryKnobs(r["memory"], out));
    if (has("cpu")) TRY(cpuKnobs(r["cpu"], out));
    if (has("pids")) {
        const std::string p = "linux.resources.pids";
        TRY(fields::requireObject(r["pids"], p));
        ASSIGN_OR_RETURN(auto limit, optInt(r["pids"], "limit", p));
        if (!limit) return Error::make(p, ".limit: must be an integer");
        // 0 leaves the knob alone and a negative limit means unlimited (runc).
        if (*limit != 0) out.add("pids", "pids.max", *limit > 0 ? std::to_string(*limit) : "max", p + ".limit");
    }
    if (has("blockIO")) TRY(blkioKnobs(r["blockIO"], out));
    if (has("hugepageLimits")) TRY(hugetlbKnobs(r["hugepageLimits"], out));
    if (has("network")) TRY(networkKnobs(r["network"], out));
    if (has("rdma")) TRY(rdmaKnobs(r["rdma"], w));
    if (has("unified") && !r["unified"].empty())
        return Error::make("invalid configuration: linux.resources.unified: needs cgroup v2, and this host's controllers are on "
                           "cgroup v1");
    return w;
}

bool cpuQuotaFirst(int64_t curPeriod, int64_t curQuota, int64_t newPeriod, int64_t newQuota) {
    // The intermediate ratios quota/period, compared without division:
    //   quota first:  newQuota / curPeriod      period first:  curQuota / newPeriod
    if (newQuota < 0) return curQuota >= 0;  // quota first passes through "unlimited"
    if (curQuota < 0 || curPeriod <= 0 || newPeriod <= 0) return false;
    using Wide = unsigned __int128;
    return Wide(uint64_t(newQuota)) * uint64_t(newPeriod) <
           Wide(uint64_t(curQuota)) * uint64_t(curPeriod);
}

}  // namespace berth::cgroups
