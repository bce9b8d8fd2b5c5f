// cgroups/sub_cgroup: runc's `exec --cgroup [CTRL[,CTRL...]:]PATH` — an exec'd process placed in
// an existing sub-cgroup of its container's cgroup, for every hierarchy or for named controllers.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "cgroups/manager.hpp"

namespace berth::cgroups {

// The --cgroup arguments as controller -> relative path ("" = every hierarchy). One argument
// without a controller, or any number with controllers, as runc; a path may not leave the
// container's cgroup ("..") or be empty.
Result<std::map<std::string, std::string>> parseSubCgroupArgs(const std::vector<std::string>& args);

// The container's saved cgroup with those sub-paths applied (driver "cgroupfs": the process only
// joins directories). Each target directory must exist: exec never creates cgroups.
Result<Saved> withSubCgroups(const Saved& container, const std::map<std::string, std::string>& sub,
                             const HostLayout& layout);

}  // namespace berth::cgroups
