// cgroups/rootless: rootless mode (runc's --rootless) — a container gets its cgroup only where
// the user may make and fill it (a delegated subtree it owns); else no cgroup at all.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "cgroups/manager.hpp"

namespace berth::cgroups {

inline constexpr const char* kNoCgroupDriver = "none";

// Whether this process may create (or use) each of these cgroup directories and move
// processes into them: the directory, or its nearest existing ancestor, is writable by us.
bool mayUseCgroupDirs(const std::map<std::string, std::string>& paths);

// The manager of a container without a cgroup: nothing to make, join or remove; no limits,
// stats or freezing (those fail naming the reason).
std::unique_ptr<Manager> noCgroupManager(HostLayout layout);

// The linux.resources keys that set a limit (devices aside: a user namespace cannot make device
// nodes anyway), for the warning that a container without a cgroup does not get them.
std::vector<std::string> limitsSet(const nlohmann::json& resources);

}  // namespace berth::cgroups
