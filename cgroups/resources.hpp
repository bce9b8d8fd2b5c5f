// cgroups/resources: the only place OCI linux.resources values become cgroup knob values
// (v1/resources.cpp for v1 hierarchies, v2/resources.cpp for cgroup2). Pure functions from JSON
// to (controller, file, value) writes, so they are unit-tested; docs/cgroups.md has the formulas.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"

namespace berth::cgroups {

struct KnobWrite {
    std::string controller;  // "memory", "cpu", ...; "" = the cgroup itself (v2 cgroup.* files)
    std::string file;        // "memory.limit_in_bytes"
    std::string value;
    bool optional = false;   // skip silently when the knob file does not exist (e.g. memsw)
    std::string fallback;    // written instead when `file` does not exist (blkio.bfq.weight)
    std::string jsonPath;    // the linux.resources member it comes from, for error messages
    // The value for `fallback` when it differs from `value` (cgroup2's io.weight takes a
    // converted io.bfq.weight); "" = write `value`.
    std::string fallbackValue;
};

// v1 knob writes for a linux.resources object, in the order they must be applied.
// Refuses values v1 cannot express (with the JSON path in the message).
// Where the v1 and v2 translations collect their writes.
struct KnobList {
    std::vector<KnobWrite>& w;
    KnobWrite& add(const char* ctrl, std::string file, std::string value, std::string path, bool optional = false,
                   std::string fallback = "") {
        w.push_back({ctrl, std::move(file), std::move(value), optional, std::move(fallback), std::move(path)});
        return w.back();
    }
};

Result<std::vector<KnobWrite>> v1Knobs(const nlohmann::json& resources);
// cgroup2 knob writes (runc/crun's conversions of v1-style values, then `unified`).
Result<std::vector<KnobWrite>> v2Knobs(const nlohmann::json& resources);

// linux.resources.hugepageLimits, validated: page size ("2MB") and limit, with the JSON path.
struct HugePageLimit {
    std::string pageSize;
    int64_t limit = 0;
    std::string jsonPath;
};
Result<std::vector<HugePageLimit>> parseHugepageLimits(const nlohmann::json& list);

// linux.resources.rdma → rdma.max lines (v1 and v2 share the format).
Status rdmaKnobs(const nlohmann::json& rdma, std::vector<KnobWrite>& out);

// v1's cpu.cfs_period_us and cpu.cfs_quota_us are two writes, each checked by the kernel against
// the other's current value: a cgroup's quota/period ratio may not exceed its parent's on v1
// (tg_cfs_schedulable_down; cgroup2 clamps instead, and cpu.max is one write anyway). Going from
// 50000/100000 to 5000/10000 under a parent limited to 2 CPUs, period first passes through
// 50000/10000 = 5 CPUs: EINVAL, though both ends are valid. The order to use: true when the
// quota should be written first, i.e. when its intermediate (current period, new quota) has the
// smaller ratio than (new period, current quota). -1 (or less) is an unlimited quota, which the
// check never refuses. The manager still retries the other order on EINVAL, as runc does.
bool cpuQuotaFirst(int64_t curPeriod, int64_t curQuota, int64_t newPeriod, int64_t newQuota);

// runc/crun's v1 → v2 conversions (see docs/cgroups.md).
uint64_t cpuSharesToWeight(uint64_t shares);      // [2, 262144] → [1, 10000]
uint64_t blkioWeightToIoWeight(uint64_t weight);  // [10, 1000] → [1, 10000]

// JSON paths of linux.resources members this build does not know, for a warning.
std::vector<std::string> unappliedResources(const nlohmann::json& resources);

// One linux.resources.devices entry, validated.
struct DeviceRule {
    bool allow = false;
    char type = 'a';             // 'a', 'c' or 'b'
    int64_t major = -1, minor = -1;  // -1 = any
    std::string access = "rwm";
};
Result<DeviceRule> parseDeviceRule(const nlohmann::json& rule, const std::string& path);
Result<std::vector<DeviceRule>> parseDeviceRules(const nlohmann::json& devices);
// The v1 devices cgroup text ("c 1:3 rwm", "a *:* rwm") for a linux.resources.devices entry.
Result<std::string> deviceRule(const nlohmann::json& rule, const std::string& path);
// The same text for a rule parsed already.
std::string deviceRuleText(const DeviceRule& r);

// linux.resources with the device rules every container gets: a deny-all first, then the
// spec's rules, then runc 1.1's default allow-list (mknod of any, null, random, full, tty, zero,
// urandom, pts/*, ptmx, tun) minus the defaults whose path is in linux.devices (specDevicePaths),
// as runc does. linux.devices entries themselves get no rule.
nlohmann::json withDefaultDeviceRules(const nlohmann::json& resources,
                                      const std::vector<std::string>& specDevicePaths);

}  // namespace berth::cgroups
