#include "vps/host_setup.hpp"

#include <unistd.h>

#include <cstdlib>

#include "common/fs.hpp"
#include "common/log.hpp"
#include "vps/console.hpp"
#include "common/command.hpp"
#include "vps/lxcfs.hpp"
#include "vps/net_setup.hpp"
#include "vps/quota.hpp"

namespace berth::vps {

namespace {

DataLayout layoutFor(const StepContext& c) {
    DataLayout d = c.data;
    d.onQuota = c.config.limits.diskspace.has_value();
    return d;
}

// --diskspace: the upper and work dirs on the VPS's own ext4 image (DIR/disk.img), loop-mounted
// on DIR/disk before the overlay and unmounted after it. Always in the list: a VPS whose quota
// was set and whose config is gone or broken still has its image unmounted and removed.
class QuotaStep : public HostStep {
public:
    const char* name() const override { return "disk quota"; }
    Status prepare(const StepContext& c, nlohmann::json&) override {
        if (!c.config.limits.diskspace) return {};
        DataLayout d = layoutFor(c);
        bool fresh = !fs::exists(d.diskImage());
        if (fresh) TRY(ensureQuotaImage(c.config, d));
        auto uid = static_cast<uid_t>(c.config.ids.base);
        TRY(mountQuotaImage(d.diskImage(), d.diskMount(), uid, static_cast<gid_t>(uid)));
        if (fresh) TRY(moveOldUpper(d));
        return {};
    }
    Status stopped(const StepContext& c) override { return unmountQuotaImage(c.data.diskMount()); }
    Status destroyed(const StepContext& c) override {
        return destroyQuota(c.data.diskImage(), c.data.diskMount());
    }

private:
    // Files the VPS wrote before it had a quota move onto the image, once.
    static Status moveOldUpper(const DataLayout& d) {
        auto entries = fs::listDir(d.plainUpper());
        if (!entries || entries->empty()) return {};
        auto r = runCommand({"cp", "-a", d.plainUpper() + "/.", d.upper() + "/"});
        if (!r) return std::move(r.error()).context("move the VPS's files onto its disk image");
        TRY(fs::removeAll(d.plainUpper()));
        return fs::removeAll(d.dir + "/work");
    }
};

// Where the shared lxcfs lives: the defaults, or $BERTH_VPS_LXCFS=DIR (DIR/mnt, DIR/state), so
// tests run an lxcfs of their own.
LxcfsConfig lxcfsConfig() {
    LxcfsConfig lc;
    if (const char* dir = std::getenv("BERTH_VPS_LXCFS"); dir && *dir) {
        lc.mountPoint = fs::joinPath(dir, "mnt");
        lc.stateDir = fs::joinPath(dir, "state");
    }
    return lc;
}

bool inPath(const std::string& binary) {
    const char* path = std::getenv("PATH");
    for (const auto& d : fs::split(path ? path : "/usr/sbin:/usr/bin:/sbin:/bin", ':'))
        if (!d.empty() && ::access(fs::joinPath(d, binary).c_str(), X_OK) == 0) return true;
    return false;
}

// The VPS's /proc views (meminfo, cpuinfo, stat, uptime, loadavg, swaps, diskstats) from the
// host's shared lxcfs: acquired at start, released at stop (the lxcfs berth started stops with
// its last user). A host without lxcfs runs the VPS with the host's /proc files (one warning).
class LxcfsStep : public HostStep {
public:
    const char* name() const override { return "lxcfs"; }
    Status prepare(const StepContext& c, nlohmann::json& spec) override {
        LxcfsConfig lc = lxcfsConfig();
        if (!inPath(lc.binary) && !ensureLxcfs(lc)) {
            log::warn("vps ", c.config.name, ": no lxcfs on this host; /proc shows the host's memory and CPUs");
            return {};
        }
        ASSIGN_OR_RETURN(std::string dir, acquireLxcfs(lc, c.config.name));
        for (const auto& m : lxcfsMounts(dir))
            spec["mounts"].push_back({{"destination", m.destination}, {"type", "bind"},
                                      {"source", m.source}, {"options", m.options}});
        return {};
    }
    Status stopped(const StepContext& c) override { return releaseLxcfs(lxcfsConfig(), c.config.name); }
};

// The VPS's root: idmapped template layers under its own upper dir, mounted on DIR/rootfs.
class RootfsStep : public HostStep {
public:
    const char* name() const override { return "rootfs"; }
    Status prepare(const StepContext& c, nlohmann::json&) override {
        DataLayout d = layoutFor(c);
        TRY(prepareDataDir(d, c.config.ids));
        return mountRootfs(d, c.lowers, c.config.ids);
    }
    Status stopped(const StepContext& c) override { return unmountRootfs(c.data); }
};

}  // namespace

Status ensureQuotaImage(const Config& c, const DataLayout& d) {
    if (!c.limits.diskspace || fs::exists(d.diskImage())) return {};
    QuotaSpec q;
    q.sizeBytes = static_cast<uint64_t>(*c.limits.diskspace);
    q.inodes = c.limits.diskinodes ? static_cast<uint64_t>(*c.limits.diskinodes) : 0;
    q.ownerUid = static_cast<uid_t>(c.ids.base);
    q.ownerGid = static_cast<gid_t>(c.ids.base);
    TRY(fs::mkdirAll(d.dir, 0711));
    return createQuotaImage(d.diskImage(), q);
}

std::vector<std::unique_ptr<HostStep>> hostSteps(const Config&) {
    std::vector<std::unique_ptr<HostStep>> steps;
    steps.push_back(std::make_unique<QuotaStep>());  // holds the upper dir: before the overlay
    steps.push_back(std::make_unique<RootfsStep>());
    steps.push_back(std::make_unique<LxcfsStep>());
    steps.push_back(makeNetworkStep());  // vps/net_setup
    steps.push_back(makeConsoleStep());  // the init's /dev/console pty and its holder (vps/console)
    return steps;
}

}  // namespace berth::vps
