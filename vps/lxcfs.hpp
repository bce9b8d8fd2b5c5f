// vps/lxcfs: the /proc views of VPSes — one shared lxcfs for the host (reused where one already
// runs, else started by berth at its own mountpoint), who uses it, and the binds a VPS's spec gets.
#pragma once

#include <string>
#include <vector>

#include "common/error.hpp"

namespace berth::vps {

struct LxcfsConfig {
    std::string mountPoint = "/var/lib/berth/lxcfs";  // where berth mounts the lxcfs it starts
    std::string stateDir = "/run/berth/lxcfs";        // lxcfs.pid, users/<vps>, lock
    std::string binary = "lxcfs";
};

// One OCI mount: {"destination": ..., "type": "bind", "source": ..., "options": [...]}.
struct LxcfsMount {
    std::string source;
    std::string destination;
    std::vector<std::string> options;
};

// The lxcfs mount to use: an lxcfs already mounted on the host (any fuse.lxcfs mount, e.g.
// Debian's service at /var/lib/lxcfs), else one berth starts at config.mountPoint (detached, in
// its own session, pid file in stateDir). Returns the lxcfs mount's directory.
Result<std::string> ensureLxcfs(const LxcfsConfig& config);
// ensureLxcfs, and record `vpsName` as a user (stateDir/users/<name>), under a lock.
Result<std::string> acquireLxcfs(const LxcfsConfig& config, const std::string& vpsName);
// Forget `vpsName` as a user; when none is left, stop the lxcfs berth started (never another's).
Status releaseLxcfs(const LxcfsConfig& config, const std::string& vpsName);
// Stop the lxcfs berth started, whoever uses it (SIGTERM, then SIGKILL; the mount is removed).
// Nothing to do when berth started none.
Status stopLxcfs(const LxcfsConfig& config);

// The binds a VPS's spec gets from the lxcfs at `lxcfsDir`: its proc/{cpuinfo, diskstats,
// loadavg, meminfo, stat, swaps, uptime} over /proc/..., and sys/devices/system/cpu/online
// when this lxcfs offers it. Files the lxcfs does not have are left out.
std::vector<LxcfsMount> lxcfsMounts(const std::string& lxcfsDir);
// The same as an OCI "mounts" JSON array (for tools and tests).
std::string lxcfsMountsJson(const std::vector<LxcfsMount>& mounts);

}  // namespace berth::vps
