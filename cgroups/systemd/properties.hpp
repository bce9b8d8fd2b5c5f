// cgroups/systemd/properties: the typed unit properties of a container's transient scope, and
// the pure mapping of linux.resources onto them (runc's conversions), unit-tested without a bus.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"

namespace berth::cgroups::systemd {

// systemd's USEC_INFINITY / CGROUP_LIMIT_MAX: "no limit" for every uint64 property used here.
constexpr uint64_t kInfinity = UINT64_MAX;

using DeviceAllowList = std::vector<std::pair<std::string, std::string>>;  // a(ss): path, "rwm"
// D-Bus signatures s, b, t, au, ay, a(ss) in that order.
using PropertyValue = std::variant<std::string, bool, uint64_t, std::vector<uint32_t>,
                                   std::vector<uint8_t>, DeviceAllowList>;

struct Property {
    std::string name;
    PropertyValue value;
    bool operator==(const Property&) const = default;
};

// The D-Bus signature of a value ("s", "b", "t", "au", "ay", "a(ss)").
const char* signatureOf(const PropertyValue& v);

struct MappingOptions {
    bool unified = false;     // cgroup2 names (MemoryMax, CPUWeight, IOWeight) instead of v1 ones
    int systemdVersion = 0;   // 0 = unknown: assume a current systemd (>= 244)
    // The /proc/devices group of a major number ("pts" for 'c', 136), for "n:*" device rules;
    // "" when unknown (the rule is then left to the cgroupfs manager, as runc does).
    std::function<std::string(char type, int64_t major)> deviceGroup;
};

// linux.resources → unit properties, as runc's genV1/genV2ResourcesProperties. Values systemd
// cannot express are left out: the cgroupfs manager writes every knob after the unit starts.
Result<std::vector<Property>> resourceProperties(const nlohmann::json& resources,
                                                 const MappingOptions& opts);

// linux.resources.devices → DevicePolicy=strict + DeviceAllow (runc's mapping): "c *:* m" →
// "char-*", "c 136:* rwm" → "char-pts", "c 1:3 rw" → "/dev/char/1:3". An allow-all list gives
// DevicePolicy=auto; a deny list after allow-all (systemd has no deny lists) gives an empty
// strict list, and the cgroupfs manager writes the real rules right after.
Result<std::vector<Property>> deviceProperties(const nlohmann::json& devices,
                                               const MappingOptions& opts);

// What every scope starts with: Description, Slice, Delegate, DefaultDependencies, PIDs and
// the accounting switches (BlockIOAccounting on v1, IOAccounting on cgroup2).
std::vector<Property> scopeProperties(const std::string& id, const std::string& slice, pid_t pid,
                                      bool unified);

// CPUQuotaPerSecUSec for an OCI quota/period, rounded up to whole 10 ms as runc does (systemd
// keeps it as a percentage); kInfinity for quota <= 0.
uint64_t cpuQuotaPerSecUSec(int64_t quota, uint64_t period);

// "0-1,3" → the little-endian bitmask bytes systemd's AllowedCPUs takes ({0x0b}).
Result<std::vector<uint8_t>> rangeToBits(const std::string& list);

// For logs and error messages: "MemoryLimit=67108864 TasksMax=infinity ...".
std::string describe(const std::vector<Property>& props);

}  // namespace berth::cgroups::systemd
