// cgroups/tree: a container's cgroupfs directory tree, as every cgroupfs manager handles it —
// its processes, killing what is left at delete (frozen first) and removing the tree.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "cgroups/manager.hpp"

namespace berth::cgroups {

// SIGKILL every pid of m until its cgroup is empty (up to ~1 s); with canFreeze the cgroup is
// frozen for the first round, then thawed so the signals are delivered.
void killUntilEmpty(Manager& m, bool canFreeze);

// The pids in dir/cgroup.procs; none if the directory is gone.
Result<std::vector<pid_t>> readProcs(const std::string& dir);

// dir and every directory below it, deepest first, dir last.
std::vector<std::string> cgroupTree(const std::string& dir);

// Remove dir and the cgroups a container made below it (systemd as its init, say), deepest
// first — rmdir refuses a cgroup with children — retrying EBUSY for up to 2 s (exiting tasks
// leave late). Every directory is tried; the first error is returned.
Status removeCgroupTree(const std::string& dir);

// mkdir -p dir: adds to *made each ancestor of dir this call created (not dir itself), so that
// delete removes what berth made and nothing else (e.g. the system.slice of --systemd-cgroup
// on a host without systemd). A parent another create removes meanwhile is made again.
Status makeCgroupDir(const std::string& dir, std::vector<std::string>* made);

// rmdir each of dirs that is empty, deepest first; one still in use (another container's
// cgroup below it, processes) stays.
void removeMadeParents(const std::vector<std::string>& dirs);

// Refuses a cgroup a process must not be placed in because it is frozen: dir, or when dir does
// not exist yet its nearest existing ancestor below mount (a new cgroup inherits the freeze).
// A process put there stops in D state before it can exec, and `run` would wait forever.
// v1: the freezer hierarchy's freezer.state (FROZEN, or FREEZING for longer than ~1 s).
Status refuseFrozenV1(const std::string& mount, const std::string& dir);
// cgroup2: cgroup.freeze (set on the cgroup itself) or "frozen 1" in cgroup.events (inherited).
Status refuseFrozenV2(const std::string& mount, const std::string& dir);

}  // namespace berth::cgroups
