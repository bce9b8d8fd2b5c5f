// vps/host_setup: the host-side steps around a VPS's container, in order — each prepares
// something before the container is created (and may edit its spec), may act once its init
// runs, and undoes itself when the VPS stops or is destroyed: vps/quota (the upper dir on a
// loop-mounted ext4 image), the rootfs, vps/lxcfs (the /proc views bind-mounted into the spec) and
// vps/network (bridge + veth, addresses, anti-spoofing, the guest's network files).
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "vps/config.hpp"
#include "vps/rootfs.hpp"

namespace berth::vps {

struct StepContext {
    const Config& config;
    DataLayout data;
    std::vector<std::string> lowers;  // the template's layer dirs, topmost first
};

class HostStep {
public:
    virtual ~HostStep() = default;
    virtual const char* name() const = 0;
    // Before the container is created; may add to the spec (mounts, namespace paths).
    virtual Status prepare(const StepContext& c, nlohmann::json& spec) = 0;
    // Once the init runs (e.g. moving a veth into /proc/PID/ns/net).
    virtual Status started(const StepContext&, pid_t /*initPid*/) { return {}; }
    // After the container is gone (also after a failed start, and with no prepare in this
    // process: a crash or another berth may have done it). Must tolerate "nothing to undo".
    virtual Status stopped(const StepContext& c) = 0;
    // Persistent host state the VPS owned (a quota image, a bridge port's records).
    virtual Status destroyed(const StepContext&) { return {}; }
};

// The steps for a VPS, in start order (stop and destroy run them in reverse).
//   1. quota    the upper dir's own filesystem (--diskspace), before the rootfs
//   2. rootfs   idmapped layers + overlay on DIR/rootfs
//   3. lxcfs    /proc/{meminfo,cpuinfo,stat,uptime,loadavg,swaps} binds into the spec
//   4. network  guest files into the rootfs; veth into the bridge, addresses and routes once the
//               init runs (--ip)
//   5. console  the init's stdio and /dev/console a pty whose master a holder process keeps
std::vector<std::unique_ptr<HostStep>> hostSteps(const Config& c);

// The VPS's disk image (--diskspace, --diskinodes) when it has a quota and no image yet.
Status ensureQuotaImage(const Config& c, const DataLayout& d);

}  // namespace berth::vps
