// vps/rootfs: a VPS's root filesystem on the host — an overlay of the template's shared layer
// snapshots, each presented with the VPS's ids through an idmapped mount (no chown-copy), and
// the VPS's own upper dir owned by its root uid; plus finding the template's init.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/unique_fd.hpp"
#include "vps/config.hpp"

namespace berth::vps {

// The per-VPS data dir: DIR/upper, DIR/work (persistent), DIR/rootfs (mount point while it
// runs), DIR/lower/N (transient mount points of the idmapped layers), DIR/bundle/config.json.
// With a disk quota (onQuota), upper and work live on the VPS's own ext4 image, loop-mounted on
// DIR/disk while it runs (vps/quota; the image is DIR/disk.img).
struct DataLayout {
    std::string dir;
    bool onQuota = false;
    std::string upper() const { return onQuota ? diskMount() + "/upper" : dir + "/upper"; }
    std::string work() const { return onQuota ? diskMount() + "/work" : dir + "/work"; }
    std::string plainUpper() const { return dir + "/upper"; }
    std::string diskImage() const { return dir + "/disk.img"; }
    std::string diskMount() const { return dir + "/disk"; }
    std::string rootfs() const { return dir + "/rootfs"; }
    std::string lowerRoot() const { return dir + "/lower"; }
    std::string bundle() const { return dir + "/bundle"; }
    std::string consoleLog() const { return dir + "/console.log"; }
    std::string initPid() const { return dir + "/init.pid"; }  // the pid of this boot's init
};

// Make DIR, DIR/upper and DIR/work; upper and work owned by the VPS's root (ids.base).
Status prepareDataDir(const DataLayout& d, const IdRange& ids);

// The VPS's root (an unprivileged host uid) must reach DATA/NAME/rootfs: every dir above it
// needs o+x. berth's own dirs get it (the data dir, and the store's dirs when the data dir is
// inside the store, as by default); any other dir without it is one clear error.
Status ensureReachable(const std::string& dataDir, const std::string& storeRoot);

// Mount the overlay on d.rootfs(): every lower (topmost first) idmapped to `ids`, then the
// overlay over them with d.upper(). The idmapped lower mounts are detached once the overlay
// holds them, so a running VPS has exactly one mount on the host. Nothing is left on failure.
Status mountRootfs(const DataLayout& d, const std::vector<std::string>& lowers, const IdRange& ids);
// Unmount d.rootfs() (and any lower mount a crash left); no error when nothing is mounted.
Status unmountRootfs(const DataLayout& d);
bool isMountPoint(const std::string& path);

// The template's init, resolved through the layers (topmost first) as the merged view would:
// its path, kind (busybox, systemd, sysvinit) and the signal it takes as "power off" —
// busybox init: SIGUSR2 (SIGTERM reboots!); systemd: SIGRTMIN+4 (poweroff.target; LXC and
// Incus send SIGRTMIN+3, halt, which stops the same way); others: SIGPWR (sysvinit, LXC's default).
Result<InitInfo> detectInit(const std::vector<std::string>& lowers, const std::string& initPath = "/sbin/init");
// The kind and stop signal for an init binary path (the resolved target of /sbin/init).
InitInfo initFor(const std::string& path, const std::string& resolved);

}  // namespace berth::vps
