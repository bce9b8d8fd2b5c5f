// cgroups/resources: the only place OCI linux.resources values become cgroup knob values.
// Pure functions from JSON to (controller, file, value) writes, so they are unit-tested.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"

namespace berth::cgroups {

struct KnobWrite {
    std::string controller;  // "memory", "cpu", ...
    std::string file;        // "memory.limit_in_bytes"
    std::string value;
    bool optional = false;   // skip silently when the knob file does not exist (e.g. memsw)
};

// v1 knob writes for a linux.resources object, in the order they must be applied.
// Refuses values v1 cannot express (with the JSON path in the message).
Result<std::vector<KnobWrite>> v1Knobs(const nlohmann::json& resources);

// JSON paths of linux.resources values this build does not apply yet (e.g.
// "linux.resources.blockIO.throttleReadBpsDevice"), for a warning instead of silence.
std::vector<std::string> unappliedResources(const nlohmann::json& resources);

// One devices cgroup rule ("c 1:3 rwm", "a *:* rwm") from a linux.resources.devices entry.
Result<std::string> deviceRule(const nlohmann::json& rule, const std::string& path);

}  // namespace berth::cgroups

namespace berth::cgroups {

struct DeviceNode {
    char type = 'c';
    int64_t major = 0, minor = 0;
};

// linux.resources with the device rules every container gets (runc's default allow list:
// null, zero, full, tty, random, urandom, console, ptmx, pts, tun, mknod of any) and an allow
// rule for each linux.devices entry appended, as runc does.
nlohmann::json withDefaultDeviceRules(const nlohmann::json& resources,
                                      const std::vector<DeviceNode>& devices);

}  // namespace berth::cgroups
