// cgroups/v1: the cgroupfs manager for v1 and hybrid hosts — one directory per mounted
// hierarchy, plus one in the cgroup2 mount of a hybrid host (as runc), for what lives there.
#pragma once

#include <functional>
#include <memory>

#include "cgroups/manager.hpp"

namespace berth::cgroups::v1 {

std::unique_ptr<Manager> newManager(HostLayout layout, std::map<std::string, std::string> paths,
                                    std::vector<std::string> madeParents = {});

// Read every v1 statistic; dirFor(controller) is the container's directory in the hierarchy
// holding that controller ("" if not mounted), unifiedDir its cgroup2 directory on a hybrid host.
Result<Stats> readStats(const std::function<std::string(const std::string&)>& dirFor,
                        const std::string& unifiedDir);

}  // namespace berth::cgroups::v1
