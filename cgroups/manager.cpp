// Choosing the manager: systemd when asked for and running, else cgroupfs v1 (v1 and hybrid
// hosts) or v2 (unified hosts), each placed by placement.cpp.
#include "cgroups/manager.hpp"

#include <algorithm>

#include "cgroups/placement.hpp"
#include "cgroups/rootless.hpp"
#include "cgroups/systemd/manager.hpp"
#include "cgroups/v1/manager.hpp"
#include "cgroups/v2/manager.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"

namespace berth::cgroups {
namespace {

// A fake or alternative root (unit tests): a cgroup2 tree if it has cgroup.controllers, else
// one subdirectory per v1 hierarchy named by its controller, "unified" for a hybrid's v2 mount.
HostLayout layoutFromRoot(const std::string& root) {
    HostLayout l;
    if (fs::exists(root + "/cgroup.controllers")) {
        l.layout = Layout::Unified;
        l.hierarchies.push_back({root, {}, true});
        return l;
    }
    for (const char* name : {"cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio",
                             "pids", "hugetlb", "net_cls", "net_prio", "rdma", "unified"}) {
        std::string p = root + "/" + name;
        if (!fs::exists(p)) continue;
        Hierarchy h;
        h.mountPoint = p;
        h.v2 = std::string(name) == "unified";
        if (!h.v2) h.controllers = {name};
        l.hierarchies.push_back(h);
    }
    bool v2 = std::any_of(l.hierarchies.begin(), l.hierarchies.end(), [](auto& h) { return h.v2; });
    l.layout = v2 ? Layout::Hybrid : Layout::V1;
    return l;
}

std::string v2Root(const HostLayout& l) {
    for (auto& h : l.hierarchies)
        if (h.v2) return h.mountPoint;
    return "";
}

}  // namespace

Result<std::unique_ptr<Manager>> newManager(const Config& cfg) {
    HostLayout layout;
    std::map<std::string, std::string> own;
    if (cfg.rootDir.empty()) {
        ASSIGN_OR_RETURN(layout, detectLayout());
        ASSIGN_OR_RETURN(std::string self, fs::readFile("/proc/self/cgroup"));
        own = parseProcCgroup(self);
    } else {
        layout = layoutFromRoot(cfg.rootDir);
        own = parseProcCgroup(cfg.selfCgroup);
        if (layout.hierarchies.empty()) return Error::make("cgroup: no hierarchy under ", cfg.rootDir);
    }
    // Rootless: the user's systemd instance is not driven (yet); cgroupfs rules below apply.
    if (cfg.systemd && cfg.rootDir.empty() && !cfg.rootless && systemd::isRunning())
        return systemd::newManager(cfg, std::move(layout));
    // runc silently falls back; a user who asked for systemd should know no unit is made.
    if (cfg.systemd)
        log::warn("--systemd-cgroup: systemd is not running; placing the unit's cgroup on cgroupfs (no unit is made)");
    ASSIGN_OR_RETURN(Placement placement, placementFor(cfg));
    std::map<std::string, std::string> paths;
    for (auto& h : layout.hierarchies) {
        ASSIGN_OR_RETURN(std::string dir, directoryIn(h, own, placement, cfg.cgroupsPath));
        paths[h.mountPoint] = dir;
    }
    if (cfg.rootless && !mayUseCgroupDirs(paths)) {
        log::debug("cgroup: rootless, and this user may not create the container's cgroup: none");
        return noCgroupManager(std::move(layout));
    }
    if (layout.layout == Layout::Unified)
        return v2::newManager(v2Root(layout), paths.begin()->second);
    return v1::newManager(std::move(layout), std::move(paths));
}

Result<std::unique_ptr<Manager>> loadManager(const Saved& saved) {
    if (saved.driver == "systemd") return systemd::loadManager(saved);
    ASSIGN_OR_RETURN(HostLayout layout, detectLayout());
    if (saved.driver == kNoCgroupDriver) return noCgroupManager(std::move(layout));
    if (layout.layout == Layout::Unified) {
        std::string root = v2Root(layout);
        auto it = saved.paths.find(root);
        if (it == saved.paths.end()) return Error::make("cgroup: the saved state has no ", root, " path");
        return v2::newManager(root, it->second, saved.madeParents);
    }
    return v1::newManager(std::move(layout), saved.paths, saved.madeParents);
}

}  // namespace berth::cgroups
