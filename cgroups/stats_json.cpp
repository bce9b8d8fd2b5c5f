// The inverse of toJson for what a cgroup elsewhere reports in runc's shape (a VM's guest agent
// sends its container's cgroup stats as toJson made them).
#include "cgroups/stats.hpp"

#include <algorithm>

namespace berth::cgroups {
namespace {
using nlohmann::json;

uint64_t num(const json& j, const char* key) {
    if (!j.is_object() || !j.contains(key) || !j[key].is_number()) return 0;
    return j[key].is_number_unsigned() ? j[key].get<uint64_t>() : static_cast<uint64_t>(std::max<int64_t>(0, j[key].get<int64_t>()));
}

std::vector<uint64_t> nums(const json& j, const char* key) {
    std::vector<uint64_t> out;
    if (j.is_object() && j.contains(key) && j[key].is_array())
        for (auto& v : j[key])
            if (v.is_number_unsigned()) out.push_back(v.get<uint64_t>());
    return out;
}

MemoryEntry entryFrom(const json& j) {
    return {num(j, "limit"), num(j, "usage"), num(j, "max"), num(j, "failcnt")};
}

const json& member(const json& j, const char* key) {
    static const json empty = json::object();
    return j.is_object() && j.contains(key) && j[key].is_object() ? j[key] : empty;
}

}  // namespace

Result<Stats> statsFromJson(const json& d) {
    if (!d.is_object()) return Error(EPROTO, "stats: not a JSON object");
    Stats s;
    const json& usage = member(member(d, "cpu"), "usage");
    s.cpu.usage = {num(usage, "total"), num(usage, "kernel"), num(usage, "user"), nums(usage, "percpu"),
                   nums(usage, "percpu_kernel"), nums(usage, "percpu_user")};
    const json& thr = member(member(d, "cpu"), "throttling");
    s.cpu.throttling = {num(thr, "periods"), num(thr, "throttledPeriods"), num(thr, "throttledTime")};
    if (d.contains("cpuset") && d["cpuset"].is_object()) {
        s.cpuset.present = true;
        for (auto [key, out] : {std::pair{"cpus", &s.cpuset.cpus}, {"mems", &s.cpuset.mems}})
            for (uint64_t v : nums(d["cpuset"], key)) out->push_back(static_cast<uint16_t>(v));
    }
    const json& mem = member(d, "memory");
    s.memory.cache = num(mem, "cache");
    s.memory.usage = entryFrom(member(mem, "usage"));
    s.memory.swap = entryFrom(member(mem, "swap"));
    s.memory.kernel = entryFrom(member(mem, "kernel"));
    s.memory.kernelTCP = entryFrom(member(mem, "kernelTCP"));
    for (auto& [k, v] : member(mem, "raw").items())
        if (v.is_number_unsigned()) s.memory.raw[k] = v.get<uint64_t>();
    s.pids = {num(member(d, "pids"), "current"), num(member(d, "pids"), "limit")};
    return s;
}

}  // namespace berth::cgroups
