// namespaces/mount: the container's filesystem view — rootfs propagation, the mounts of
// config.json (resolved inside the rootfs), /dev, pivot_root, masked and readonly paths.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "namespaces/namespaces.hpp"

namespace berth::namespaces {

struct MountEntry {
    std::string destination;  // absolute path inside the container
    std::string type;         // "bind", "proc", "tmpfs", "cgroup", ... ("" with bind option = bind)
    std::string source;
    std::vector<std::string> options;
    // An idmapped bind: file owners on the source are shown through these maps, read as a
    // user namespace's ("containerID hostID size": source id containerID+i appears as hostID+i).
    std::vector<IdMap> uidMappings, gidMappings;
};

struct DeviceEntry {
    char type = 'c';   // c, b, u, p
    std::string path;  // absolute path inside the container
    int64_t major = 0, minor = 0;
    uint32_t fileMode = 0666;
    uint32_t uid = 0, gid = 0;
};

// How to present cgroups to a "cgroup" mount, computed by the runtime from the cgroups
// manager: a v1 entry per hierarchy mount point, or the v2 directory.
struct CgroupHierarchy {
    std::string name;      // mount dir under /sys/fs/cgroup, e.g. "memory" or "cpu,cpuacct"
    std::string hostPath;  // the container's cgroup dir on the host, e.g. /sys/fs/cgroup/memory/x
    std::string options;   // v1 mount options naming the controllers ("memory", "name=systemd")
};
struct CgroupView {
    bool unified = false;
    std::string v2HostPath;           // when unified
    std::vector<CgroupHierarchy> v1;  // when not unified
    // {link name, target} created in the cgroup tmpfs, e.g. {"cpu", "cpu,cpuacct"}.
    std::vector<std::pair<std::string, std::string>> symlinks;
    bool cgroupNamespace = false;  // mount cgroupfs instead of bind-mounting host dirs
};

struct RootfsConfig {
    std::string rootfs;             // absolute host path of the rootfs
    bool readonly = false;          // root.readonly
    std::string rootfsPropagation;  // "", "shared", "slave", "private", "unbindable", r*...
    std::vector<MountEntry> mounts;
    std::vector<DeviceEntry> devices;  // linux.devices (added to the default devices)
    bool userNamespace = false;        // devices are bind-mounted from the host, not mknod'ed
    bool netNamespace = true;          // without one, /sys is a bind of the host's /sys (as runc)
    // Rootless: the runtime has no privilege on the host, so binds in a user namespace are made
    // by the init itself (with what the user may reach), not from sources the parent opened.
    bool unprivileged = false;
    // false: the container shares the runtime's mount namespace. Nothing is mounted or created
    // (the spec validation refuses mounts, devices, masked/readonly paths, root.readonly and
    // rootfsPropagation then): the init only chroots into the rootfs, so the host's mount table
    // is the same before, during and after the container.
    bool mountNamespace = true;
    std::vector<std::string> maskedPaths;
    std::vector<std::string> readonlyPaths;
    bool noPivot = false;
    std::string mountLabel;
    CgroupView cgroups;
};

// A mount's options split into what mount(2) and mount_setattr(2) take.
struct MountOptions {
    unsigned long flags = 0;       // MS_* to set (never MS_BIND/MS_REC: see bind, recursiveBind)
    unsigned long clearFlags = 0;  // MS_* explicitly cleared ("rw", "suid", "dev", ...)
    // The last of MS_SHARED|MS_SLAVE|MS_PRIVATE|MS_UNBINDABLE (+MS_REC) given.
    unsigned long propagation = 0;
    bool bind = false;
    bool recursiveBind = false;  // rbind
    uint64_t recAttrSet = 0;     // MOUNT_ATTR_* for rro, rnosuid, ... (recursive)
    uint64_t recAttrClr = 0;
    std::string data;  // everything else, comma-joined, for the fs (e.g. "size=65536k")
    // Every propagation option in the order given; runc applies each with its own mount(2)
    // call, so "rslave,shared" yields a mount that is both a slave and shared.
    std::vector<unsigned long> propagationSteps;
    bool tmpCopyUp = false;  // "tmpcopyup": fill a tmpfs with what it covers
    bool idmap = false;           // "idmap" or "ridmap": an idmapped bind mount
    bool recursiveIdmap = false;  // "ridmap": every mount of an rbind is idmapped, not only the top
};

// Parse OCI/runc mount options (ro, rw, nosuid, bind, rbind, rprivate, rro, tmpcopyup ...).
// Unknown options that are not key=value filesystem data are passed through as data, as runc.
// A later option overrides an earlier contrary one ("ro,rw" is rw). "defaults" is a no-op.
MountOptions parseMountOptions(const std::vector<std::string>& options);

// Propagation option name ("rslave", "private", ...) to MS_* flags; 0 when not one.
unsigned long propagationFlags(const std::string& name);

// Child side, inside the new mount namespace (without one — mountNamespace false — 1 and 3 do
// nothing and 2 is a chroot), in this order (the runtime runs the
// createContainer hooks between prepare and pivot, and sysctls after pivot):
//  1. make "/" rslave/rprivate per rootfsPropagation, bind the rootfs onto itself,
//     mount every entry (destinations resolved inside the rootfs, never following a symlink
//     out of it), create the default devices or linux.devices and the /dev links.
//     Mount sources of bind mounts must be absolute host paths. The umask is 0 only while
//     devices are created and is restored afterwards; cwd is not changed.
//     `detachedFds` are the detached mounts the parent opened for planDetachedSources(cfg),
//     in that order (detached_mount.hpp); the binds they stand for are moved, not mounted.
Status prepareRootfsInChild(const RootfsConfig& cfg, const std::vector<int>& detachedFds = {});
//  2. pivot_root into the rootfs and detach the old root (or MS_MOVE + chroot with noPivot).
//     Leaves cwd at the new "/"; stdio fds that were the host's /dev/null are re-opened on
//     the container's /dev/null (as runc). Needs the host's /proc still mounted (it is,
//     until this call).
Status pivotRootInChild(const RootfsConfig& cfg);
//  3. readonly paths, masked paths, deferred read-only remounts (tmpfs and /dev mounts are
//     mounted writable so devices and modes can be set up first), the final readonly
//     remount of / (root.readonly); also applies rootfsPropagation to the new root.
Status finalizeRootfsInChild(const RootfsConfig& cfg);

}  // namespace berth::namespaces
