// cgroups/placement: where a container's cgroup directory goes in each hierarchy — relative to
// the caller's own cgroup or absolute, the systemd "slice:prefix:name" form, never outside.
#pragma once

#include <map>
#include <string>

#include "cgroups/manager.hpp"

namespace berth::cgroups {

struct Placement {
    std::string path;       // cleaned, starts with "/"
    bool relative = false;  // nested under the caller's own cgroup in each hierarchy
};

// "machine-foo.slice" -> "/machine.slice/machine-foo.slice" (systemd's slice nesting).
std::string expandSlice(const std::string& slice);
// The systemd unit for "slice:prefix:name" ("prefix-name.scope", or name itself if a slice)
// and its parent slice; empty cgroupsPath gives "system.slice" / "berth-<id>.scope".
struct SystemdUnit {
    std::string slice;
    std::string unit;
};
Result<SystemdUnit> systemdUnitFor(const std::string& cgroupsPath, const std::string& id);

Result<Placement> placementFor(const Config& cfg);
// The container's directory in hierarchy `h`; `own` is parseProcCgroup of the caller.
Result<std::string> directoryIn(const Hierarchy& h, const std::map<std::string, std::string>& own,
                                const Placement& p, const std::string& cgroupsPath);

}  // namespace berth::cgroups
