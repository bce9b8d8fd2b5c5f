// cgroups/teardown: what every cgroupfs manager does at delete — kill what is left of the
// container (frozen first, so nothing forks meanwhile) and remove its directory tree.
#pragma once

#include <string>
#include <vector>

#include "cgroups/manager.hpp"

namespace berth::cgroups {

// SIGKILL every pid of m until its cgroup is empty (up to ~1 s); with canFreeze the cgroup is
// frozen for the first round, then thawed so the signals are delivered.
void killUntilEmpty(Manager& m, bool canFreeze);

// dir and every directory below it, deepest first, dir last.
std::vector<std::string> cgroupTree(const std::string& dir);

// Remove dir and the cgroups a container made below it (systemd as its init, say), deepest
// first — rmdir refuses a cgroup with children — retrying EBUSY for up to 2 s (exiting tasks
// leave late). Every directory is tried; the first error is returned.
Status removeCgroupTree(const std::string& dir);

}  // namespace berth::cgroups
