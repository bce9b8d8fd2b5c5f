// linux.resources → systemd unit properties, following runc's libcontainer/cgroups/systemd
// (genV1ResourcesProperties, genV2ResourcesProperties, addCpuQuota, RangeToBits, device rules).
#include "cgroups/systemd/properties.hpp"

#include <algorithm>
#include <charconv>

#include "cgroups/json_fields.hpp"
#include "cgroups/resources.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"

namespace berth::cgroups::systemd {
namespace {
using nlohmann::json;
using fields::optInt;

// The kernel's default CFS period, assumed by runc when only a quota is given.
constexpr uint64_t kDefaultCpuPeriod = 100000;

bool atLeast(const MappingOptions& o, int version) {
    return o.systemdVersion == 0 || o.systemdVersion >= version;
}

// OCI's -1 ("unlimited") is systemd's infinity; other negative values have no meaning.
Result<uint64_t> limitValue(int64_t v, const std::string& path) {
    if (v == -1) return kInfinity;
    if (v < 0) return Error::make(path, ": must be -1 or positive, got ", v);
    return uint64_t(v);
}

// runc's ConvertMemorySwapToCgroupV2Value: OCI swap is memory+swap, cgroup2 wants swap alone.
Result<int64_t> swapForV2(int64_t swap, int64_t memory) {
    if (memory == -1 && swap == 0) return int64_t(-1);
    if (swap == -1 || swap == 0) return swap;
    if (memory == 0 || memory == -1)
        return Error::make("linux.resources.memory.swap: cannot be set without a memory limit");
    if (swap < memory)
        return Error::make("linux.resources.memory.swap: must be >= memory.limit (memory+swap)");
    return swap - memory;
}

Status memoryProperties(const json& m, const MappingOptions& o, std::vector<Property>& out) {
    const std::string p = "linux.resources.memory";
    TRY(fields::requireObject(m, p));
    ASSIGN_OR_RETURN(auto limit, optInt(m, "limit", p));
    if (limit && *limit != 0) {
        ASSIGN_OR_RETURN(uint64_t v, limitValue(*limit, p + ".limit"));
        out.push_back({o.unified ? "MemoryMax" : "MemoryLimit", v});
    }
    if (!o.unified) return {};  // reservation and swap: cgroupfs only on v1, as runc
    ASSIGN_OR_RETURN(auto reservation, optInt(m, "reservation", p));
    if (reservation && *reservation != 0) {
        ASSIGN_OR_RETURN(uint64_t v, limitValue(*reservation, p + ".reservation"));
        out.push_back({"MemoryLow", v});
    }
    ASSIGN_OR_RETURN(auto swap, optInt(m, "swap", p));
    ASSIGN_OR_RETURN(int64_t v2swap, swapForV2(swap.value_or(0), limit.value_or(0)));
    if (v2swap != 0) out.push_back({"MemorySwapMax", v2swap == -1 ? kInfinity : uint64_t(v2swap)});
    return {};
}

void addCpuQuota(int64_t quota, uint64_t period, const MappingOptions& o, std::vector<Property>& out) {
    // CPUQuotaPeriodUSec exists since systemd 242; older ones get the period through cgroupfs.
    if (period != 0 && atLeast(o, 242)) out.push_back({"CPUQuotaPeriodUSec", period});
    if (quota != 0 || period != 0) out.push_back({"CPUQuotaPerSecUSec", cpuQuotaPerSecUSec(quota, period)});
}

Status addCpuset(const std::string& cpus, const std::string& mems, const MappingOptions& o,
                 std::vector<Property>& out) {
    if (!atLeast(o, 244)) return {};  // AllowedCPUs/AllowedMemoryNodes exist since 244
    const std::pair<const std::string*, const char*> kinds[] = {{&cpus, "AllowedCPUs"},
                                                                {&mems, "AllowedMemoryNodes"}};
    for (auto [list, name] : kinds) {
        if (list->empty()) continue;
        auto bits = rangeToBits(*list);
        if (!bits) return std::move(bits.error().context("linux.resources.cpu: ", name));
        out.push_back({name, std::move(*bits)});
    }
    return {};
}

Status cpuProperties(const json& c, const MappingOptions& o, std::vector<Property>& out) {
    const std::string p = "linux.resources.cpu";
    TRY(fields::requireObject(c, p));
    ASSIGN_OR_RETURN(auto shares, optInt(c, "shares", p));
    if (shares && *shares != 0) {
        if (*shares < 0) return Error::make(p, ".shares: must not be negative, got ", *shares);
        if (o.unified)
            out.push_back({"CPUWeight", cpuSharesToWeight(uint64_t(*shares))});
        else
            out.push_back({"CPUShares", uint64_t(*shares)});
    }
    ASSIGN_OR_RETURN(auto quota, optInt(c, "quota", p));
    ASSIGN_OR_RETURN(auto period, optInt(c, "period", p));
    if (period && *period < 0) return Error::make(p, ".period: must not be negative, got ", *period);
    addCpuQuota(quota.value_or(0), uint64_t(period.value_or(0)), o, out);
    ASSIGN_OR_RETURN(auto cpus, fields::optString(c, "cpus", p));
    ASSIGN_OR_RETURN(auto mems, fields::optString(c, "mems", p));
    return addCpuset(cpus.value_or(""), mems.value_or(""), o, out);
}

Result<uint64_t> parseMax(const std::string& key, const std::string& v) {
    if (v == "max") return kInfinity;
    uint64_t n = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc() || end != v.data() + v.size())
        return Error::make("linux.resources.unified.", key, ": \"", v, "\" is not a number");
    return n;
}

// runc's unifiedResToSystemdProps: the unified keys systemd knows; the rest is cgroupfs-only.
Status unifiedProperties(const json& u, const MappingOptions& o, std::vector<Property>& out) {
    TRY(fields::requireObject(u, "linux.resources.unified"));
    static const std::pair<const char*, const char*> kMemory[] = {
        {"memory.high", "MemoryHigh"}, {"memory.low", "MemoryLow"}, {"memory.min", "MemoryMin"},
        {"memory.max", "MemoryMax"},   {"memory.swap.max", "MemorySwapMax"}, {"pids.max", "TasksMax"}};
    for (auto& [key, value] : u.items()) {
        if (!value.is_string()) return Error::make("linux.resources.unified.", key, ": must be a string");
        std::string v = fs::trim(value.get<std::string>());
        auto mem = std::find_if(std::begin(kMemory), std::end(kMemory),
                                [&](auto& kv) { return key == kv.first; });
        if (mem != std::end(kMemory)) {
            ASSIGN_OR_RETURN(uint64_t n, parseMax(key, v));
            out.push_back({mem->second, n});
        } else if (key == "cpu.weight") {
            ASSIGN_OR_RETURN(uint64_t n, parseMax(key, v));
            out.push_back({"CPUWeight", n});
        } else if (key == "cpu.max") {
            auto f = fs::split(v, ' ');
            if (f.empty() || f.size() > 2) return Error::make("linux.resources.unified.cpu.max: \"", v, "\"");
            ASSIGN_OR_RETURN(uint64_t quota, parseMax(key, f[0]));
            uint64_t period = kDefaultCpuPeriod;
            if (f.size() == 2) {
                ASSIGN_OR_RETURN(period, parseMax(key, f[1]));
            }
            addCpuQuota(quota == kInfinity ? 0 : int64_t(quota), period, o, out);
        } else if (key == "cpuset.cpus" || key == "cpuset.mems") {
            TRY(addCpuset(key == "cpuset.cpus" ? v : "", key == "cpuset.mems" ? v : "", o, out));
        } else {
            log::debug("systemd: no unit property for unified ", key, "; written through cgroupfs");
        }
    }
    return {};
}

// One allowed device rule as systemd spells it, or "" when systemd cannot express it.
std::string devicePath(const DeviceRule& r, const MappingOptions& o) {
    std::string kind = r.type == 'b' ? "block" : "char";
    if (r.major < 0) return r.minor < 0 ? kind + "-*" : "";  // "*:n" has no systemd form
    if (r.minor < 0) {
        std::string group = o.deviceGroup ? o.deviceGroup(r.type, r.major) : "";
        return group.empty() ? "" : kind + "-" + group;
    }
    return strCat("/dev/", kind, "/", r.major, ":", r.minor);
}

}  // namespace

const char* signatureOf(const PropertyValue& v) {
    static const char* kSigs[] = {"s", "b", "t", "au", "ay", "a(ss)"};
    return kSigs[v.index()];
}

uint64_t cpuQuotaPerSecUSec(int64_t quota, uint64_t period) {
    if (quota <= 0) return kInfinity;
    if (period == 0) period = kDefaultCpuPeriod;
    // systemd stores the quota as a percentage of one CPU: round up to the next 10 ms so the
    // scope's cfs_quota_us is never below what the container asked for.
    uint64_t v = uint64_t(quota) * 1000000 / period;
    if (v % 10000 != 0) v = (v / 10000 + 1) * 10000;
    return v;
}

Result<std::vector<uint8_t>> rangeToBits(const std::string& list) {
    std::vector<uint8_t> bits;
    auto number = [&](const std::string& s) -> Result<unsigned> {
        unsigned n = 0;
        auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
        if (s.empty() || ec != std::errc() || end != s.data() + s.size() || n > 65535)
            return Error::make("\"", list, "\": \"", s, "\" is not a CPU or node number");
        return n;
    };
    for (auto& raw : fs::split(list, ',')) {
        std::string part = fs::trim(raw);
        if (part.empty()) continue;
        auto dash = part.find('-');
        ASSIGN_OR_RETURN(unsigned lo, number(part.substr(0, dash)));
        unsigned hi = lo;
        if (dash != std::string::npos) {
            ASSIGN_OR_RETURN(hi, number(part.substr(dash + 1)));
        }
        if (hi < lo) return Error::make("\"", list, "\": range ", part, " is reversed");
        if (bits.size() < hi / 8 + 1) bits.resize(hi / 8 + 1, 0);
        for (unsigned i = lo; i <= hi; i++) bits[i / 8] |= uint8_t(1u << (i % 8));
    }
    if (bits.empty()) return Error::make("\"", list, "\": empty list");
    return bits;
}

Result<std::vector<Property>> deviceProperties(const nlohmann::json& devices, const MappingOptions& o) {
    ASSIGN_OR_RETURN(std::vector<DeviceRule> rules, parseDeviceRules(devices));
    // Replay the rules as the devices cgroup would: a whitelist after "deny a", a blacklist after
    // "allow a" (systemd's strict policy starts as an empty whitelist).
    bool allowAll = false, denyAfterAllowAll = false;
    std::vector<DeviceRule> allowed;
    for (auto& r : rules) {
        if (r.type == 'a') {
            allowAll = r.allow;
            denyAfterAllowAll = false;
            allowed.clear();
        } else if (allowAll) {
            denyAfterAllowAll |= !r.allow;
        } else if (r.allow) {
            allowed.push_back(r);
        } else {
            for (auto& a : allowed)
                if (a.type == r.type && a.major == r.major && a.minor == r.minor)
                    std::erase_if(a.access, [&](char c) { return r.access.find(c) != std::string::npos; });
            std::erase_if(allowed, [](const DeviceRule& a) { return a.access.empty(); });
        }
    }
    if (allowAll && !denyAfterAllowAll)
        return std::vector<Property>{{"DevicePolicy", std::string("auto")}, {"DeviceAllow", DeviceAllowList{}}};
    DeviceAllowList list;
    for (auto& r : allowed) {
        std::string path = devicePath(r, o);
        if (path.empty()) {
            log::debug("systemd: no DeviceAllow form for ", r.type, " ", r.major, ":", r.minor,
                       "; left to cgroupfs");
            continue;
        }
        list.emplace_back(path, r.access);
    }
    if (allowAll) log::debug("systemd: deny rules after allow-all have no systemd form; cgroupfs writes them");
    // An empty DeviceAllow first: SetUnitProperties appends to the list otherwise.
    return std::vector<Property>{{"DevicePolicy", std::string("strict")},
                                 {"DeviceAllow", DeviceAllowList{}},
                                 {"DeviceAllow", std::move(list)}};
}

Result<std::vector<Property>> resourceProperties(const nlohmann::json& r, const MappingOptions& o) {
    std::vector<Property> out;
    if (r.is_null()) return out;
    TRY(fields::requireObject(r, "linux.resources"));
    auto has = [&](const char* k) { return r.contains(k) && !r[k].is_null(); };
    if (has("devices")) {
        ASSIGN_OR_RETURN(auto dev, deviceProperties(r["devices"], o));
        out.insert(out.end(), dev.begin(), dev.end());
    }
    if (has("memory")) TRY(memoryProperties(r["memory"], o, out));
    if (has("cpu")) TRY(cpuProperties(r["cpu"], o, out));
    if (has("blockIO")) {
        TRY(fields::requireObject(r["blockIO"], "linux.resources.blockIO"));
        ASSIGN_OR_RETURN(auto weight, optInt(r["blockIO"], "weight", "linux.resources.blockIO"));
        if (weight && *weight > 0) {
            if (o.unified)
                out.push_back({"IOWeight", blkioWeightToIoWeight(uint64_t(*weight))});
            else
                out.push_back({"BlockIOWeight", uint64_t(*weight)});
        }
    }
    if (has("pids")) {
        TRY(fields::requireObject(r["pids"], "linux.resources.pids"));
        ASSIGN_OR_RETURN(auto limit, optInt(r["pids"], "limit", "linux.resources.pids"));
        // runc: a positive limit or -1 (infinity); 0 and other negatives leave TasksMax alone.
        if (limit && (*limit > 0 || *limit == -1))
            out.push_back({"TasksMax", *limit == -1 ? kInfinity : uint64_t(*limit)});
    }
    if (o.unified && has("unified")) TRY(unifiedProperties(r["unified"], o, out));
    return out;
}

std::vector<Property> scopeProperties(const std::string& id, const std::string& slice, pid_t pid,
                                      bool unified) {
    // Accounting on for every controller: the same cgroups as the cgroupfs driver, and the
    // kernel handles joining the memory cgroup later badly (runc's reasoning).
    return {
        {"Description", "berth container " + id},
        {"Slice", slice},
        {"Delegate", true},
        {"PIDs", std::vector<uint32_t>{uint32_t(pid)}},
        {"MemoryAccounting", true},
        {"CPUAccounting", true},
        {unified ? "IOAccounting" : "BlockIOAccounting", true},
        {"TasksAccounting", true},
        {"DefaultDependencies", false},
    };
}

std::string describe(const std::vector<Property>& props) {
    std::string out;
    for (auto& p : props) {
        out += (out.empty() ? "" : " ") + p.name + "=";
        std::visit(
            [&](const auto& v) {
                using T = std::decay_t<decltype(v)>;
                if constexpr (std::is_same_v<T, std::string>) out += v;
                else if constexpr (std::is_same_v<T, bool>) out += v ? "yes" : "no";
                else if constexpr (std::is_same_v<T, uint64_t>)
                    out += v == kInfinity ? std::string("infinity") : std::to_string(v);
                else if constexpr (std::is_same_v<T, std::vector<uint32_t>>)
                    for (size_t i = 0; i < v.size(); i++) out += (i ? "," : "") + std::to_string(v[i]);
                else if constexpr (std::is_same_v<T, std::vector<uint8_t>>)
                    for (size_t i = 0; i < v.size(); i++) out += strCat(i ? "," : "", "0x", std::hex, int(v[i]));
                else
                    for (size_t i = 0; i < v.size(); i++) out += (i ? "," : "") + v[i].first + ":" + v[i].second;
            },
            p.value);
    }
    return out;
}

}  // namespace berth::cgroups::systemd
