// namespaces/mount_plan: what the rootfs setup will do, as data — every config.json mount, the
// cgroup view, /dev and the finalize pass become an ordered list of steps, unit-tested here.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "common/error.hpp"
#include "namespaces/mount.hpp"

namespace berth::namespaces {

// mount(2) a new filesystem on a directory inside the rootfs (created when missing).
struct FsMount {
    std::string destination;
    std::string fsType;
    std::string source;
    unsigned long flags = 0;
    std::string data;
    bool keepMode = false;    // tmpfs: start from the covered directory's mode (mode= in data wins)
    bool copyUp = false;      // tmpcopyup: copy the covered directory's contents in
    bool noSymlinks = false;  // proc, sysfs: no symlink anywhere on the mountpoint path
};

// Bind a host path; the mountpoint is created like the source (directory or empty file).
// With `detached` >= 0 the parent already made the bind as a detached mount (the entry of that
// index in planDetachedSources) and the child only moves it into place.
struct BindMount {
    std::string destination;
    std::string source;
    bool recursive = false;
    int detached = -1;
};

// MS_BIND|MS_REMOUNT|flags; when refused, retried with the mount's locked flags kept.
struct Remount {
    std::string destination;
    unsigned long flags = 0;
    unsigned long clearFlags = 0;
};

struct SetPropagation {
    std::string destination;
    unsigned long flags = 0;
};

// mount_setattr(2) with AT_RECURSIVE.
struct SetRecursiveAttr {
    std::string destination;
    uint64_t set = 0;
    uint64_t clr = 0;
};

struct MakeSymlink {
    std::string linkPath;  // inside the container
    std::string target;    // stored verbatim
    bool replace = false;  // remove what is there first (/dev/ptmx)
};

// mknod (mode, owner as given), or bind the host's node onto an empty file.
struct MakeDevice {
    DeviceEntry device;
    bool bindFromHost = false;
};

// Bind onto itself, then remount ro,nosuid,nodev,noexec; a missing path is skipped.
struct ReadonlyPath {
    std::string path;
};

// A directory gets a read-only tmpfs (with `tmpfsData`), anything else a bind of /dev/null;
// a missing path is skipped.
struct MaskPath {
    std::string path;
    std::string tmpfsData;
};

using MountOp = std::variant<FsMount, BindMount, Remount, SetPropagation, SetRecursiveAttr,
                             MakeSymlink, MakeDevice, ReadonlyPath, MaskPath>;

struct MountStep {
    MountOp op;
    int entry = -1;  // index into RootfsConfig::mounts it came from, for error context
};

// Facts about the host the plan depends on, gathered by the caller.
struct PlanInputs {
    bool procKcoreExists = true;  // /dev/core -> /proc/kcore only when the kernel has it
    bool selinuxEnabled = false;  // mountLabel becomes a context= option only then
};

// A bind source the parent opens as a detached mount (open_tree OPEN_TREE_CLONE) with host
// root's rights, for the child to move into the rootfs: every bind of a container with a user
// namespace (its root may not be able to reach the source) and every idmapped bind.
struct DetachedSource {
    size_t entry = 0;  // index into RootfsConfig::mounts
    std::string what;  // describeEntry() of it, for errors
    std::string source;
    bool recursive = false;  // rbind: the source's submounts come along
    // Applied to the whole detached tree: what a bind made inside the container would have
    // had (MS_SLAVE of the host's mount, or MS_PRIVATE under a private rootfsPropagation).
    unsigned long propagation = 0;
    std::vector<IdMap> uidMappings, gidMappings;  // idmapped when not empty
    bool recursiveIdmap = false;                  // idmap every mount of the tree (ridmap)
};

// Whether config mount `m` is made from a detached mount (see DetachedSource).
bool bindFromDetached(const RootfsConfig& cfg, const MountEntry& m);
// The detached sources for cfg, in mount order; validates their idmaps. The index of an entry
// here is the BindMount::detached of its step.
Result<std::vector<DetachedSource>> planDetachedSources(const RootfsConfig& cfg);

// Steps for prepareRootfsInChild after "/" propagation and the rootfs self-bind: every mount in
// order, then (unless a bind covers /dev) devices, /dev/ptmx and the /dev links.
Result<std::vector<MountStep>> planRootfs(const RootfsConfig& cfg, const PlanInputs& in);
// Steps for one config mount (index `entry`).
Result<std::vector<MountStep>> planMountEntry(const RootfsConfig& cfg, size_t entry,
                                              const PlanInputs& in);
// Steps for finalizeRootfsInChild, run inside the new root.
std::vector<MountStep> planFinalize(const RootfsConfig& cfg, const PlanInputs& in);

// False when a bind mount covers /dev: then runc creates no devices and no links.
bool needsDevSetup(const RootfsConfig& cfg);
// runc's default devices (null, zero, full, random, urandom, tty) overridden by linux.devices
// with the same path, without /dev/ptmx (always the pts/ptmx symlink).
std::vector<DeviceEntry> containerDevices(const RootfsConfig& cfg);
bool isBindMount(const MountEntry& m);

// Mounts under /proc are refused except onto /proc itself (proc only) and the files lxcfs
// emulates; `dest` is clean and resolved inside the rootfs.
enum class ProcDestination { Outside, ProcRoot, Allowed, Forbidden };
ProcDestination classifyProcDestination(const std::string& dest);

// One line per step, for debug logs and test failure messages.
std::string describe(const MountStep& step);
// How errors name config mount `entry`: "mounts[2] /dev/pts (type devpts, source devpts)".
std::string describeEntry(const RootfsConfig& cfg, size_t entry);

}  // namespace berth::namespaces
