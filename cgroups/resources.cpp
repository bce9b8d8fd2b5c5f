// What both translations share: device rules, the default device allow-list and the list of
// linux.resources members berth knows.
#include "cgroups/resources.hpp"

#include <algorithm>
#include <map>
#include <regex>

#include "cgroups/json_fields.hpp"

namespace berth::cgroups {

Result<DeviceRule> parseDeviceRule(const nlohmann::json& rule, const std::string& path) {
    TRY(fields::requireObject(rule, path));
    DeviceRule r;
    ASSIGN_OR_RETURN(auto allow, fields::optBool(rule, "allow", path));
    if (!allow) return Error::make(path, ".allow: must be a boolean");
    r.allow = *allow;
    ASSIGN_OR_RETURN(auto type, fields::optString(rule, "type", path));
    if (type) {
        if (*type != "a" && *type != "c" && *type != "b")
            return Error::make(path, ".type: must be one of a, c, b");
        r.type = (*type)[0];
    }
    ASSIGN_OR_RETURN(auto major, fields::optInt(rule, "major", path));
    ASSIGN_OR_RETURN(auto minor, fields::optInt(rule, "minor", path));
    r.major = major && *major >= 0 ? *major : -1;
    r.minor = minor && *minor >= 0 ? *minor : -1;
    ASSIGN_OR_RETURN(auto access, fields::optString(rule, "access", path));
    if (access && !access->empty()) {
        if (access->find_first_not_of("rwm") != std::string::npos)
            return Error::make(path, ".access: must be letters of \"rwm\"");
        r.access = *access;
    }
    return r;
}

Result<std::vector<DeviceRule>> parseDeviceRules(const nlohmann::json& devices) {
    std::vector<DeviceRule> out;
    if (devices.is_null()) return out;
    TRY(fields::requireArray(devices, "linux.resources.devices"));
    for (size_t i = 0; i < devices.size(); i++) {
        ASSIGN_OR_RETURN(DeviceRule r,
                         parseDeviceRule(devices[i], "linux.resources.devices[" + std::to_string(i) + "]"));
        out.push_back(r);
    }
    return out;
}

Result<std::vector<HugePageLimit>> parseHugepageLimits(const nlohmann::json& list) {
    const std::string p = "linux.resources.hugepageLimits";
    TRY(fields::requireArray(list, p));
    static const std::regex kSize("^[0-9]+[KMG]B$");
    std::vector<HugePageLimit> out;
    for (size_t i = 0; i < list.size(); i++) {
        std::string ip = p + "[" + std::to_string(i) + "]";
        TRY(fields::requireObject(list[i], ip));
        ASSIGN_OR_RETURN(auto size, fields::optString(list[i], "pageSize", ip));
        if (!size || !std::regex_match(*size, kSize))
            return Error::make(ip, ".pageSize: must be like \"2MB\" or \"1GB\"");
        ASSIGN_OR_RETURN(auto limit, fields::optInt(list[i], "limit", ip));
        if (!limit || *limit < 0) return Error::make(ip, ".limit: must be a non-negative integer");
        out.push_back({*size, *limit, ip});
    }
    return out;
}

std::string deviceRuleText(const DeviceRule& r) {
    if (r.type == 'a') return std::string("a *:* ") + r.access;
    auto num = [](int64_t v) { return v < 0 ? std::string("*") : std::to_string(v); };
    return std::string(1, r.type) + " " + num(r.major) + ":" + num(r.minor) + " " + r.access;
}

Result<std::string> deviceRule(const nlohmann::json& rule, const std::string& path) {
    ASSIGN_OR_RETURN(DeviceRule r, parseDeviceRule(rule, path));
    return deviceRuleText(r);
}

namespace {

// One device rule as the spec spells it. Members emplaced into the object directly: a
// brace-initialised json copies each member out of its initializer_list (the 12 rules of a
// create cost ~170 k instructions that way).
nlohmann::json deviceRuleJson(bool allow, const char* type, int64_t major, int64_t minor, const char* access) {
    nlohmann::json j(nlohmann::json::value_t::object);
    auto& o = j.get_ref<nlohmann::json::object_t&>();
    o.emplace("access", access);
    o.emplace("allow", allow);
    if (type) {
        o.emplace("major", major);
        o.emplace("minor", minor);
        o.emplace("type", type);
    }
    return j;
}

}  // namespace

nlohmann::json withDefaultDeviceRules(const nlohmann::json& resources,
                                      const std::vector<std::string>& specDevicePaths) {
    nlohmann::json r = resources.is_object() ? resources : nlohmann::json::object();
    nlohmann::json d(nlohmann::json::value_t::array);
    auto& rules = d.get_ref<nlohmann::json::array_t&>();
    // Start from an empty allow-list whatever the spec says (as runc): without a deny-all the
    // cgroup would keep its parent's "a *:* rwm".
    rules.reserve(12);
    rules.push_back(deviceRuleJson(false, nullptr, 0, 0, "rwm"));
    if (auto it = r.find("devices"); it != r.end() && it->is_array()) {
        rules.reserve(it->size() + 12);
        for (auto& x : *it) rules.push_back(std::move(x));
    }
    // runc 1.1's AllowedDevices (specconv), appended after the spec's rules. A default that is
    // a node (/dev/null ...) is allowed only when the runtime makes that node itself: a
    // linux.devices entry with the same path replaces it, rule included. linux.devices entries
    // get no rule of their own: what a container may open is linux.resources.devices' call
    // (runc adds none either; an allow per node would punch holes in an explicit deny).
    struct Default {
        const char* path;
        const char* type;
        int64_t major, minor;
        const char* access;
    };
    static const Default kDefaults[] = {
        {nullptr, "c", -1, -1, "m"},     {nullptr, "b", -1, -1, "m"},
        {"/dev/null", "c", 1, 3, "rwm"}, {"/dev/random", "c", 1, 8, "rwm"},
        {"/dev/full", "c", 1, 7, "rwm"}, {"/dev/tty", "c", 5, 0, "rwm"},
        {"/dev/zero", "c", 1, 5, "rwm"}, {"/dev/urandom", "c", 1, 9, "rwm"},
        {nullptr, "c", 136, -1, "rwm"},  // /dev/pts/*
        {nullptr, "c", 5, 2, "rwm"},     // /dev/ptmx
        {nullptr, "c", 10, 200, "rwm"},  // /dev/net/tun
    };
    for (auto& def : kDefaults) {
        if (def.path && std::find(specDevicePaths.begin(), specDevicePaths.end(), def.path) !=
                            specDevicePaths.end())
            continue;
        rules.push_back(deviceRuleJson(true, def.type, def.major, def.minor, def.access));
    }
    r["devices"] = std::move(d);
    return r;
}

std::vector<std::string> unappliedResources(const nlohmann::json& r) {
    std::vector<std::string> out;
    if (!r.is_object()) return out;
    // Objects whose members are all known list nothing; an empty list means "any member".
    static const std::map<std::string, std::vector<std::string>> kKnown = {
        {"devices", {}},
        {"memory",
         {"limit", "reservation", "swap", "kernel", "kernelTCP", "swappiness", "disableOOMKiller",
          "useHierarchy", "checkBeforeUpdate"}},
        {"cpu",
         {"shares", "quota", "burst", "period", "realtimeRuntime", "realtimePeriod", "cpus", "mems",
          "idle"}},
        {"pids", {"limit"}},
        {"blockIO",
         {"weight", "leafWeight", "weightDevice", "throttleReadBpsDevice", "throttleWriteBpsDevice",
          "throttleReadIOPSDevice", "throttleWriteIOPSDevice"}},
        {"hugepageLimits", {}},
        {"network", {"classID", "priorities"}},
        {"rdma", {}},
        {"unified", {}},
    };
    for (auto& [key, value] : r.items()) {
        auto it = kKnown.find(key);
        if (it == kKnown.end()) {
            if (!value.is_null()) out.push_back("linux.resources." + key);
            continue;
        }
        if (!value.is_object() || it->second.empty()) continue;
        for (auto& [sub, v] : value.items()) {
            if (v.is_null()) continue;
            if (std::find(it->second.begin(), it->second.end(), sub) == it->second.end())
                out.push_back("linux.resources." + key + "." + sub);
        }
    }
    return out;
}

}  // namespace berth::cgroups
