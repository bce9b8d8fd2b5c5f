// cgroups/v2: the cgroupfs manager for unified (cgroup2-only) hosts — one directory, controllers
// enabled through cgroup.subtree_control, devices through an eBPF program.
#pragma once

#include <memory>
#include <string>

#include "cgroups/manager.hpp"

namespace berth::cgroups::v2 {

// `root` is the cgroup2 mount point (or a fake tree in tests), `dir` the container's directory.
// madeParents: the ancestors of dir its create made (Saved::madeParents), removed at destroy.
Result<std::unique_ptr<Manager>> newManager(const std::string& root, const std::string& dir,
                                            std::vector<std::string> madeParents = {});

// exec when the container's cgroup delegates controllers to cgroups below it, and so may hold
// no process itself (EBUSY): put `pid` in the cgroup of `existing` (the container's init)
// instead, as runc does. That cgroup must be the container's or one below it.
Status addProcessBeside(const Manager& m, pid_t existing, pid_t pid);

// Every statistic of the cgroup directory `dir`, read as runc's fs2 reads them.
Result<Stats> readStats(const std::string& dir);

}  // namespace berth::cgroups::v2
