#include "cgroups/resources.hpp"

#include <algorithm>
#include <map>

namespace berth::cgroups {
namespace {
using nlohmann::json;

Result<int64_t> getInt(const json& obj, const char* key, const std::string& path) {
    const json& v = obj.at(key);
    if (!v.is_number_integer()) return Error::make(path, ".", key, ": must be an integer");
    return v.get<int64_t>();
}

Status memoryKnobs(const json& m, std::vector<KnobWrite>& out) {
    const std::string p = "linux.resources.memory";
    if (!m.is_object()) return Error::make(p, ": must be an object");
    // The limit must be raised before memsw can follow it, and memsw lowered before the limit;
    // writing limit first then memsw is what runc does for a fresh cgroup.
    if (m.contains("limit")) {
        ASSIGN_OR_RETURN(int64_t v, getInt(m, "limit", p));
        out.push_back({"memory", "memory.limit_in_bytes", std::to_string(v)});
    }
    if (m.contains("swap")) {
        ASSIGN_OR_RETURN(int64_t v, getInt(m, "swap", p));
        out.push_back({"memory", "memory.memsw.limit_in_bytes", std::to_string(v), true});
    }
    if (m.contains("reservation")) {
        ASSIGN_OR_RETURN(int64_t v, getInt(m, "reservation", p));
        out.push_back({"memory", "memory.soft_limit_in_bytes", std::to_string(v)});
    }
    if (m.contains("swappiness") && !m["swappiness"].is_null()) {
        ASSIGN_OR_RETURN(int64_t v, getInt(m, "swappiness", p));
        if (v < 0 || v > 100) return Error::make(p, ".swappiness: must be 0..100");
        out.push_back({"memory", "memory.swappiness", std::to_string(v)});
    }
    if (m.value("disableOOMKiller", false))
        out.push_back({"memory", "memory.oom_control", "1"});
    return {};
}

Status cpuKnobs(const json& c, std::vector<KnobWrite>& out) {
    const std::string p = "linux.resources.cpu";
    if (!c.is_object()) return Error::make(p, ": must be an object");
    if (c.contains("shares")) {
        ASSIGN_OR_RETURN(int64_t v, getInt(c, "shares", p));
        if (v != 0) out.push_back({"cpu", "cpu.shares", std::to_string(v)});
    }
    // period before quota: the kernel checks quota against the current period.
    if (c.contains("period")) {
        ASSIGN_OR_RETURN(int64_t v, getInt(c, "period", p));
        if (v != 0) out.push_back({"cpu", "cpu.cfs_period_us", std::to_string(v)});
    }
    if (c.contains("quota")) {
        ASSIGN_OR_RETURN(int64_t v, getInt(c, "quota", p));
        if (v != 0) out.push_back({"cpu", "cpu.cfs_quota_us", std::to_string(v)});
    }
    if (c.contains("realtimePeriod")) {
        ASSIGN_OR_RETURN(int64_t v, getInt(c, "realtimePeriod", p));
        if (v != 0) out.push_back({"cpu", "cpu.rt_period_us", std::to_string(v)});
    }
    if (c.contains("realtimeRuntime")) {
        ASSIGN_OR_RETURN(int64_t v, getInt(c, "realtimeRuntime", p));
        if (v != 0) out.push_back({"cpu", "cpu.rt_runtime_us", std::to_string(v)});
    }
    for (const char* key : {"cpus", "mems"}) {
        if (!c.contains(key)) continue;
        if (!c[key].is_string()) return Error::make(p, ".", key, ": must be a string");
        std::string v = c[key].get<std::string>();
        if (!v.empty()) out.push_back({"cpuset", std::string("cpuset.") + key, v});
    }
    return {};
}

Status deviceKnobs(const json& devs, std::vector<KnobWrite>& out) {
    const std::string p = "linux.resources.devices";
    if (!devs.is_array()) return Error::make(p, ": must be an array");
    for (size_t i = 0; i < devs.size(); i++) {
        std::string ip = p + "[" + std::to_string(i) + "]";
        ASSIGN_OR_RETURN(std::string rule, deviceRule(devs[i], ip));
        bool allow = devs[i].value("allow", false);
        out.push_back({"devices", allow ? "devices.allow" : "devices.deny", rule});
    }
    return {};
}
}  // namespace

Result<std::string> deviceRule(const json& rule, const std::string& path) {
    if (!rule.is_object()) return Error::make(path, ": must be an object");
    if (!rule.contains("allow") || !rule["allow"].is_boolean())
        return Error::make(path, ".allow: must be a boolean");
    std::string type = "a";
    if (rule.contains("type") && !rule["type"].is_null()) {
        if (!rule["type"].is_string()) return Error::make(path, ".type: must be a string");
        type = rule["type"].get<std::string>();
        if (type != "a" && type != "c" && type != "b")
            return Error::make(path, ".type: must be one of a, c, b");
    }
    auto num = [&](const char* key) -> Result<std::string> {
        if (!rule.contains(key) || rule[key].is_null()) return std::string("*");
        if (!rule[key].is_number_integer()) return Error::make(path, ".", key, ": must be an integer");
        int64_t v = rule[key].get<int64_t>();
        return v < 0 ? std::string("*") : std::to_string(v);
    };
    ASSIGN_OR_RETURN(std::string major, num("major"));
    ASSIGN_OR_RETURN(std::string minor, num("minor"));
    std::string access = "rwm";
    if (rule.contains("access") && !rule["access"].is_null()) {
        if (!rule["access"].is_string()) return Error::make(path, ".access: must be a string");
        access = rule["access"].get<std::string>();
        if (access.empty()) access = "rwm";
        if (access.find_first_not_of("rwm") != std::string::npos)
            return Error::make(path, ".access: must be letters of \"rwm\"");
    }
    if (type == "a") return std::string("a *:* ") + access;
    return type + " " + major + ":" + minor + " " + access;
}

Result<std::vector<KnobWrite>> v1Knobs(const json& r) {
    std::vector<KnobWrite> out;
    if (r.is_null()) return out;
    if (!r.is_object()) return Error::make("linux.resources: must be an object");
    if (r.contains("devices")) TRY(deviceKnobs(r["devices"], out));
    if (r.contains("memory")) TRY(memoryKnobs(r["memory"], out));
    if (r.contains("cpu")) TRY(cpuKnobs(r["cpu"], out));
    if (r.contains("pids")) {
        const json& pids = r["pids"];
        if (!pids.is_object() || !pids.contains("limit") || !pids["limit"].is_number_integer())
            return Error::make("linux.resources.pids.limit: must be an integer");
        int64_t v = pids["limit"].get<int64_t>();
        out.push_back({"pids", "pids.max", v > 0 ? std::to_string(v) : "max"});
    }
    if (r.contains("blockIO") && r["blockIO"].is_object() && r["blockIO"].contains("weight")) {
        const json& w = r["blockIO"]["weight"];
        if (!w.is_number_integer()) return Error::make("linux.resources.blockIO.weight: must be an integer");
        if (w.get<int64_t>() != 0)
            out.push_back({"blkio", "blkio.weight", std::to_string(w.get<int64_t>()), true});
    }
    return out;
}

}  // namespace berth::cgroups

namespace berth::cgroups {

nlohmann::json withDefaultDeviceRules(const nlohmann::json& resources,
                                      const std::vector<DeviceNode>& devices) {
    nlohmann::json r = resources.is_object() ? resources : nlohmann::json::object();
    if (!r.contains("devices") || !r["devices"].is_array()) r["devices"] = nlohmann::json::array();
    auto rule = [](const char* type, int64_t major, int64_t minor, const char* access) {
        return nlohmann::json{{"allow", true}, {"type", type}, {"major", major}, {"minor", minor},
                              {"access", access}};
    };
    // Start from an empty allow-list whatever the spec says (as runc): without a deny-all the
    // cgroup would keep its parent's "a *:* rwm".
    nlohmann::json d = nlohmann::json::array({{{"allow", false}, {"access", "rwm"}}});
    for (auto& x : r["devices"]) d.push_back(x);
    d.push_back(rule("c", -1, -1, "m"));
    d.push_back(rule("b", -1, -1, "m"));
    for (auto [maj, min] : {std::pair{1, 3}, {1, 5}, {1, 7}, {1, 8}, {1, 9}, {5, 0}, {5, 1}, {5, 2},
                            {136, -1}, {10, 200}})
        d.push_back(rule("c", maj, min, "rwm"));
    for (auto& dev : devices) {
        if (dev.type != 'c' && dev.type != 'b' && dev.type != 'u') continue;  // fifos need no rule
        d.push_back(rule(dev.type == 'b' ? "b" : "c", dev.major, dev.minor, "rwm"));
    }
    r["devices"] = d;
    return r;
}

}  // namespace berth::cgroups

namespace berth::cgroups {

std::vector<std::string> unappliedResources(const nlohmann::json& r) {
    std::vector<std::string> out;
    if (!r.is_object()) return out;
    static const std::map<std::string, std::vector<std::string>> kApplied = {
        {"devices", {}},
        {"memory", {"limit", "reservation", "swap", "swappiness", "disableOOMKiller"}},
        {"cpu", {"shares", "quota", "period", "realtimeRuntime", "realtimePeriod", "cpus", "mems"}},
        {"pids", {"limit"}},
        {"blockIO", {"weight"}},
    };
    for (auto& [key, value] : r.items()) {
        auto it = kApplied.find(key);
        if (it == kApplied.end()) {
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
