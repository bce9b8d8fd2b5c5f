// namespaces/devices: device nodes inside the container's /dev — mknod with the requested
// mode and owner, or, where mknod is not allowed (user namespace), a bind of the host's node.
#pragma once

#include "common/error.hpp"
#include "namespaces/mount_plan.hpp"
#include "namespaces/rootfs_path.hpp"

namespace berth::namespaces {

// Create d.device at its path inside `root` (parents created). An existing node is kept, as
// runc does; mknod refused with EPERM falls back to the bind. Call with umask 0.
Status makeDevice(const RootDir& root, const MakeDevice& d);
// The same in `parentFd`, the directory of d.device.path already resolved inside `root`, where
// the node is `name`.
Status makeDeviceIn(const RootDir& root, int parentFd, const std::string& name, const MakeDevice& d);

}  // namespace berth::namespaces
