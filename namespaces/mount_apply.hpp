// namespaces/mount_apply: the thin loop under the mount plan — each step becomes its syscalls
// on an fd resolved inside the rootfs, and each failure names the syscall and the path.
#pragma once

#include <vector>

#include "common/error.hpp"
#include "namespaces/mount_plan.hpp"
#include "namespaces/rootfs_path.hpp"

namespace berth::namespaces {

// The parent directory the last device node or symlink went into (/dev, mostly), kept open
// for the next such step: a run of them resolves /dev once. applyAll drops it at any other
// step (a mount may cover the directory).
struct ParentDirCache {
    std::string path;  // as cleanPath writes it, inside the root
    UniqueFd fd;
};

struct ApplyContext {
    const RootDir& root;
    // Refuse mounts under /proc except runc's allowed list (config mounts, before pivot).
    bool checkProc = true;
    // Point mount(2) at /proc/self/fd/N. Without a procfs (a container with no /proc, after
    // pivot_root) the path itself is used: inside the new root it cannot lead out of it.
    bool procFdUsable = true;
    // The detached mounts a BindMount with `detached` >= 0 moves (indexed by it); not owned.
    const std::vector<int>* detachedFds = nullptr;
    ParentDirCache* parents = nullptr;  // optional (applyAll's)
};

Status applyStep(const ApplyContext& ctx, const MountStep& step);

}  // namespace berth::namespaces
