// namespaces/mount_apply: the thin loop under the mount plan — each step becomes its syscalls
// on an fd resolved inside the rootfs, and each failure names the syscall and the path.
#pragma once

#include <vector>

#include "common/error.hpp"
#include "namespaces/mount_plan.hpp"
#include "namespaces/rootfs_path.hpp"

namespace berth::namespaces {

struct ApplyContext {
    const RootDir& root;
    // Refuse mounts under /proc except runc's allowed list (config mounts, before pivot).
    bool checkProc = true;
    // Point mount(2) at /proc/self/fd/N. Without a procfs (a container with no /proc, after
    // pivot_root) the path itself is used: inside the new root it cannot lead out of it.
    bool procFdUsable = true;
    // The detached mounts a BindMount with `detached` >= 0 moves (indexed by it); not owned.
    const std::vector<int>* detachedFds = nullptr;
};

Status applyStep(const ApplyContext& ctx, const MountStep& step);

}  // namespace berth::namespaces
