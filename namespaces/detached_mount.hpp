// namespaces/detached_mount: mounts made by the runtime's parent as detached trees
// (open_tree OPEN_TREE_CLONE), optionally idmapped, for the container's init to move_mount.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/unique_fd.hpp"
#include "namespaces/mount_plan.hpp"

namespace berth::namespaces {

// A detached copy of the mount at `path` (relative to `dirfd`, or absolute); with `recursive`
// its submounts come along (AT_RECURSIVE), as with rbind.
Result<UniqueFd> cloneMountTree(int dirfd, const std::string& path, bool recursive);
// mount_setattr(2) on a detached tree: MOUNT_ATTR_IDMAP through `usernsFd` (see userns_fd.hpp)
// on its top mount or, with `recursive`, on all of them. The filesystems must support idmapped
// mounts, and the tree must not have been attached yet.
Status idmapMountTree(int treeFd, int usernsFd, bool recursive);
// Propagation (MS_SLAVE, MS_PRIVATE, ...) of every mount of a tree.
Status setMountTreePropagation(int treeFd, unsigned long propagation);
// Attach a detached tree at `targetFd` (an O_PATH fd of the mountpoint).
Status moveMountTree(int treeFd, int targetFd, const std::string& what);

// Parent side: one detached mount per `plan` entry, in order. Sources resolve in the mount
// namespace of process `child` (0: ours) with our rights; the init's new mount namespace
// holds the host's mounts with the flags a user namespace locks, and a copy keeps those locks.
// Each distinct id mapping gets one helper user namespace.
Result<std::vector<UniqueFd>> openDetachedSourcesFromParent(const std::vector<DetachedSource>& plan,
                                                            pid_t child);

}  // namespace berth::namespaces
