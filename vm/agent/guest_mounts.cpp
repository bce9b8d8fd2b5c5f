// The guest side of the spec's non-bind mounts (vm/wire/guest_mounts): each one planned and
// applied by berth's namespaces library as on the native path (namespaces/mount_plan,
// mount_apply) — destinations resolved inside the rootfs, the spec's options, a tmpfs's mode
// from what it covers — and, for a /dev of the spec's own, the default devices, linux.devices,
// /dev/ptmx and the /dev links. Read-only tmpfs mounts turn read-only last (finishFilesystems),
// after the binds made into them.
#include <sys/stat.h>

#include "common/fs.hpp"
#include "common/unique_fd.hpp"
#include "namespaces/mount.hpp"
#include "namespaces/mount_apply.hpp"
#include "namespaces/mount_plan.hpp"
#include "namespaces/rootfs_path.hpp"
#include "vm/agent/agent.hpp"

namespace berth::vm::agent {
namespace {

// What the guest adds to the spec's options: a devpts of the container's own whose ptmx the
// agent can open (the workload's pty comes from it).
std::vector<std::string> optionsFor(const wire::GuestFsMount& m) {
    std::vector<std::string> o = m.options;
    auto has = [&](const std::string& key) {
        for (const auto& x : o)
            if (x == key || x.rfind(key + "=", 0) == 0) return true;
        return false;
    };
    if (m.type == "devpts") {
        if (!has("newinstance")) o.push_back("newinstance");
        if (!has("ptmxmode")) o.push_back("ptmxmode=0666");
    }
    return o;
}

namespaces::RootfsConfig configFor(const wire::GuestProcess& p, const std::string& rootfs) {
    namespaces::RootfsConfig cfg;
    cfg.rootfs = rootfs;
    cfg.cgroups.unified = true;  // the guest's own cgroup2, never a bind of a host directory
    cfg.cgroups.cgroupNamespace = true;
    for (const auto& m : p.filesystems) cfg.mounts.push_back({m.destination, m.type, m.source, optionsFor(m), {}, {}});
    for (const auto& d : p.devices) {
        namespaces::DeviceEntry e;
        e.type = d.type.empty() ? 'c' : d.type[0];
        e.path = d.path;
        e.major = d.major;
        e.minor = d.minor;
        e.fileMode = d.fileMode.value_or(0666);
        e.uid = d.uid.value_or(0);
        e.gid = d.gid.value_or(0);
        cfg.devices.push_back(e);
    }
    return cfg;
}

// "mounts[3] /dev/mqueue (type mqueue, source mqueue)": the spec's index, as the native path says.
std::string describe(const wire::GuestFsMount& m) {
    return strCat("mounts[", m.index, "] ", m.destination, " (type ", m.type, ", source ", m.source, ")");
}

Status applySteps(const namespaces::RootDir& root, const std::vector<namespaces::MountStep>& steps,
                  const wire::GuestProcess& p) {
    namespaces::ApplyContext ctx{root};
    for (const auto& step : steps) {
        Status st = namespaces::applyStep(ctx, step);
        if (!st && step.entry >= 0 && static_cast<size_t>(step.entry) < p.filesystems.size())
            return std::move(st.error().context(describe(p.filesystems[static_cast<size_t>(step.entry)])));
        TRY(st);
    }
    return {};
}

}  // namespace

Status mountFilesystems(const wire::GuestProcess& p, const std::string& rootfs) {
    if (p.filesystems.empty()) return {};
    ASSIGN_OR_RETURN(namespaces::RootDir root, namespaces::RootDir::open(rootfs));
    namespaces::RootfsConfig cfg = configFor(p, rootfs);
    namespaces::PlanInputs in;
    in.procKcoreExists = fs::exists("/proc/kcore");
    std::vector<namespaces::MountStep> steps;
    for (size_t i = 0; i < cfg.mounts.size(); i++) {
        auto one = namespaces::planMountEntry(cfg, i, in);
        if (!one) return std::move(one.error().context(describe(p.filesystems[i])));
        for (auto& st : *one) steps.push_back(std::move(st));
    }
    // A /dev of the spec's own (a tmpfs, not the guest's devtmpfs) gets the container's devices
    // and links, as planRootfs gives them natively: its tail for a config without mounts.
    if (wire::hasFsMount(p.filesystems, "/dev")) {
        namespaces::RootfsConfig devOnly = cfg;
        devOnly.mounts.clear();
        ASSIGN_OR_RETURN(auto devSteps, namespaces::planRootfs(devOnly, in));
        for (auto& st : devSteps) steps.push_back(std::move(st));
    }
    mode_t saved = ::umask(0);  // devices get exactly the requested modes, as runc makes them
    Status st = applySteps(root, steps, p);
    ::umask(saved);
    return st;
}

Status finishFilesystems(const wire::GuestProcess& p, const std::string& rootfs) {
    if (p.filesystems.empty()) return {};
    ASSIGN_OR_RETURN(namespaces::RootDir root, namespaces::RootDir::open(rootfs));
    // planFinalize without masked/readonly paths or a read-only root: only the deferred
    // read-only remounts of tmpfs and /dev mounts.
    std::vector<namespaces::MountStep> steps = namespaces::planFinalize(configFor(p, rootfs), {});
    return applySteps(root, steps, p);
}

}  // namespace berth::vm::agent
