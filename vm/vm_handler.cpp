#include "vm/vm_handler.hpp"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <optional>
#include <set>
#include <utility>
#include <thread>

#include "common/crash_point.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"
#include "runtime/container_cgroup.hpp"
#include "runtime/hooks/hooks.hpp"
#include "runtime/security/security.hpp"
#include "vm/artifacts.hpp"
#include "vm/balloon.hpp"
#include "vm/exec_proxy.hpp"
#include "vm/guest_ops.hpp"
#include "vm/host_tsc.hpp"
#include "vm/wire/guest_config.hpp"
#include "vm/wire/guest_ops.hpp"
#include "vm/wire/timing.hpp"
#include "vm/network.hpp"
#include "vm/pod.hpp"
#include "vm/shim.hpp"
#include "vm/vmm.hpp"

namespace berth::vm {
namespace {

std::string cacheRoot() {
    const char* c = std::getenv("BERTH_VM_CACHE");
    return c && *c ? c : "/var/cache/berth/vm";
}

// What the guest needs of a process (the workload's or an exec'd one's): the process as the
// runtime built it and the container's seccomp profile. No LSM profile is loaded in the guest,
// so apparmorProfile and selinuxLabel are dropped there (as runc does on a host without the LSM).
wire::GuestProcess guestProcessOf(const runtime::spec::Process& p, const nlohmann::json& seccomp) {
    wire::GuestProcess g;
    g.process = p;
    g.process.apparmorProfile.clear();
    g.process.selinuxLabel.clear();
    g.process.warnings.clear();
    g.seccomp = seccomp;
    return g;
}

// keyring: the container's id (its own session keyring in the guest), empty with --no-new-keyring.
wire::GuestProcess guestProcessFor(const runtime::spec::Spec& s, const std::string& keyring) {
    wire::GuestProcess g = guestProcessOf(*s.process, s.linux->seccomp);
    g.keyring = keyring;
    g.hostname = s.hostname;
    g.maskedPaths = s.linux->maskedPaths;
    g.readonlyPaths = s.linux->readonlyPaths;
    g.readonlyRoot = s.root.readonly;
    g.sysctl = s.linux->sysctl;
    g.devices = s.linux->devices;
    return g;
}

// The profile must compile here (the guest compiles the same JSON for the same architecture);
// a notify listener would have to be reached from the guest, which the VM path cannot do.
// linux.resources for the guest's cgroup: what wire::guestResources keeps, and the spec's device
// rules as written; the agent adds runc's defaults for the nodes it makes (agent::
// withGuestDeviceRules) and its cgroup2 enforces them with an eBPF program. Without them a
// workload with CAP_MKNOD could open any device of the guest: the disk of the rootfs, or in a
// pod the other members' disks.
nlohmann::json guestResourcesFor(const runtime::spec::Spec& s) {
    nlohmann::json out = wire::guestResources(s.linux->resources, false);
    const nlohmann::json& r = s.linux->resources;
    if (r.is_object() && r.contains("devices")) out["devices"] = r["devices"];  // none: the defaults alone
    return out;
}

Status checkSeccompForGuest(const nlohmann::json& seccomp) {
    ASSIGN_OR_RETURN(auto filter, runtime::security::SeccompFilter::compile(seccomp));
    if (filter.notifies())
        return Error(ENOTSUP, "linux.seccomp: SCMP_ACT_NOTIFY is not supported by the \"vm\" handler").hideErrno();
    return {};
}

// The bytes of the regular files under dir — each inode once (the cpio stores hard links once
// too), symlinks not followed — counting stops past `limit`. A tree that cannot be walked to
// the end counts as over the limit: a guess that is too small could pick a form that cannot boot.
uint64_t treeBytesUpTo(const std::string& dir, uint64_t limit) {
    namespace stdfs = std::filesystem;
    uint64_t total = 0;
    std::set<std::pair<dev_t, ino_t>> linked;
    std::error_code ec;
    stdfs::recursive_directory_iterator it(dir, stdfs::directory_options::skip_permission_denied, ec), end;
    for (; !ec && it != end && total <= limit; it.increment(ec)) {
        struct stat sb;
        if (::lstat(it->path().c_str(), &sb) < 0 || !S_ISREG(sb.st_mode)) continue;
        if (sb.st_nlink > 1 && !linked.insert({sb.st_dev, sb.st_ino}).second) continue;
        total += static_cast<uint64_t>(sb.st_size);
    }
    if (ec && total <= limit) {
        log::debug("vm: walking ", dir, ": ", ec.message(), ": sized as over ", limit, " bytes");
        return limit == UINT64_MAX ? total : limit + 1;
    }
    return total;
}

// The annotation's choice; "auto" (or none) is decided by the rootfs's size: measured for the
// initramfs (tmpfs-like, it stays in guest RAM) against one image write plus lazy reads for the
// disk — the initramfs wins for small trees (bench/vm.sh), the disk for the rest.
Result<wire::RootfsMode> rootfsModeFor(const runtime::spec::Spec& s, const std::string& rootfs, uint64_t& bytes, bool& forced) {
    auto it = s.annotations.find(kRootfsAnnotation);
    std::string v = it == s.annotations.end() ? "auto" : it->second;
    forced = v != "auto";
    if (v == "block") return wire::RootfsMode::Block;
    uint64_t limit = kInitramfsMaxMiB << 20;
    if (v == "initramfs") limit = UINT64_MAX;
    else if (v != "auto")
        return Error(EINVAL, strCat("annotation ", kRootfsAnnotation, "=\"", v, "\": expected auto, block or initramfs")).hideErrno();
    bytes = treeBytesUpTo(rootfs, limit);
    return bytes <= limit ? wire::RootfsMode::Initramfs : wire::RootfsMode::Block;
}

// The rootfs copy for the guest in `mode`. An initramfs QEMU would refuse ("initrd is too
// large") is never booted: "auto" takes the disk instead, a forced initramfs fails here.
Result<wire::RootfsMode> stageRootfs(wire::RootfsMode mode, bool forced, const std::string& rootfs, uint64_t rootfsBytes,
                               const BootArtifacts& art, const std::string& stateDir, wire::GuestProcess& guest,
                               wire::QemuConfig& q) {
    if (mode == wire::RootfsMode::Initramfs) {
        // The unpacked tree lives in guest RAM: on top of the limit, not taken from it.
        q.res.memMiB += (rootfsBytes + (1 << 20) - 1) >> 20;
        q.initrd = stateDir + "/initrd.cpio";
        TRY_CTX(makeRootfsInitrd(art.initramfs, rootfs, q.initrd), "vm: rootfs initramfs");
        struct stat sb = {};
        (void)::stat(q.initrd.c_str(), &sb);
        auto size = static_cast<uint64_t>(sb.st_size);
        if (wire::initrdFits(size, q.res.memMiB)) return mode;
        ::unlink(q.initrd.c_str());
        q.res.memMiB -= (rootfsBytes + (1 << 20) - 1) >> 20;
        if (forced)
            return Error(EFBIG, strCat("vm: ", kRootfsAnnotation, "=initramfs: the initramfs (", size >> 20,
                                       " MiB) is over QEMU's initrd limit for ", q.res.memMiB, " MiB of guest RAM")).hideErrno();
        log::debug("vm: the initramfs (", size, " bytes) would not boot: the rootfs goes on a disk image");
    }
    q.initrd = art.initramfs;
    q.rootfsImage = stateDir + "/rootfs.ext4";
    guest.dropLostFound = !fs::exists(rootfs + "/lost+found");
    TRY_CTX(makeRootfsImage(rootfs, q.rootfsImage), "vm: rootfs image");
    return wire::RootfsMode::Block;
}

// What the guest will make of the spec's mounts and sysctls, checked on the host before anything
// is made (a lone VM and a pod member alike): the 9p shares of its binds and its other
// filesystems, as the native mount plan would make them.
struct GuestSetUp {
    wire::SharePlan shares;
    std::vector<wire::GuestFsMount> filesystems;
};
Result<GuestSetUp> planGuestSetUp(const runtime::spec::Spec& s, const std::string& bundle, const std::string& rootfs) {
    TRY(checkSeccompForGuest(s.linux->seccomp));
    GuestSetUp g;
    ASSIGN_OR_RETURN(g.shares, wire::planShares(s.mounts, bundle));
    TRY(wire::checkBindDestinations(s.mounts, bundle, rootfs));
    ASSIGN_OR_RETURN(g.filesystems, wire::planGuestFsMounts(s.mounts, bundle));
    for (const auto& [key, value] : s.linux->sysctl) TRY_CTX(wire::sysctlPath(key), "linux.sysctl");
    return g;
}

// The shim's view of the request: its state dir, the exec fifo, the terminal.
ShimConfig shimConfigFor(const runtime::HandlerRequest& req) {
    const runtime::spec::Spec& s = *req.spec;
    ShimConfig c;
    c.id = req.record->id;
    c.stateDir = req.stateDir;
    c.fifoPath = req.fifoPath;
    c.terminal = s.process->terminal;
    c.consoleSocket = req.options->consoleSocket;
    c.consoleFd = req.consoleFd;
    c.consoleSize = s.process->consoleSize;
    c.keepMounts.push_back(s.root.path[0] == '/' ? s.root.path : fs::joinPath(req.record->bundle, s.root.path));
    return c;
}

struct VmmPid {
    pid_t pid;
    uint64_t startTime;
};

// The VMM's pid and start time, as launch recorded them in the state dir.
std::optional<VmmPid> readVmmPid(const std::string& stateDir) {
    auto text = fs::readFile(stateDir + "/vmm.pid");
    if (!text) return std::nullopt;
    auto parts = fs::split(fs::trim(*text), ' ');
    if (parts.size() != 2) return std::nullopt;
    pid_t pid = static_cast<pid_t>(std::atol(parts[0].c_str()));
    if (pid <= 0) return std::nullopt;
    return VmmPid{pid, std::strtoull(parts[1].c_str(), nullptr, 10)};
}

// Wait (up to 2 s) until the process that had startTime is gone.
void waitGone(pid_t pid, uint64_t startTime) {
    for (int i = 0; i < 400 && runtime::state::processAlive(pid, startTime); i++)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
}

// The NICs for the guest to configure and for QEMU (the taps stay open in `net` until the
// shim has its copies).
void addNics(const NetWiring& net, wire::GuestProcess& guest, wire::QemuConfig& q) {
    guest.nics = net.nics;
    for (size_t i = 0; i < net.nics.size(); i++) q.nics.push_back({net.taps[i].get(), net.nics[i].mac});
}

class VmHandler : public runtime::Handler {
public:
    const char* name() const override { return kHandlerName; }

    Status check(const runtime::spec::Spec& sp) override {
        // createContainer and startContainer run in the container's namespaces — inside the
        // guest here, where the hook's program (a path in the runtime's namespace) does not exist.
        for (auto [hooks, phase] : {std::pair{&sp.hooks.createContainer, "createContainer"},
                                    std::pair{&sp.hooks.startContainer, "startContainer"}})
            if (!hooks->empty())
                return Error(ENOTSUP, strCat("config.json: hooks.", phase, ": not supported by the \"", kHandlerName,
                                             "\" handler (they would run inside its isolation)")).hideErrno();
        return {};
    }

    Result<runtime::HandlerLaunched> launch(const runtime::HandlerRequest& req) override {
        // The host cgroup the spec names holds the shim and QEMU, for accounting only: the
        // spec's limits are the guest's (applied there); the VMM's RAM and QEMU's own ~230 MiB
        // would be OOM-killed under a container-sized limit. Kata's sandbox_cgroup_only puts the
        // VMM in the pod cgroup the kubelet sizes with the pod overhead; the same holds here.
        ASSIGN_OR_RETURN(runtime::ContainerCgroup cgroup, runtime::makeContainerCgroup(req));
        crashPoint("create:cgroup-made");
        ASSIGN_OR_RETURN(pid_t shim, boot(req, [cg = cgroup.manager.get()](pid_t pid) -> Status {
            TRY_CTX(cg->addProcess(pid), "vm: put the shim into the container's cgroup");
            return {};
        }));
        runtime::state::ContainerState& st = *req.record;
        st.noNewKeyring = req.options->noNewKeyring;
        st.pid = shim;
        st.pidStartTime = runtime::state::processStartTime(shim);
        st.cgroup = cgroup.manager->saved();  // the systemd driver knows its unit's once joined
        ScopeGuard undo([&] { stopVm({st, req.stateDir, runtime::state::ContainerStatus::Creating}); });
        // prestart and createRuntime run in the runtime's namespace once the VM exists and
        // before create returns, as for a native container; a failing one fails the create.
        const runtime::spec::Hooks& h = req.spec->hooks;
        TRY(berth::runtime::hooks::run(h.prestart, req.stateJson(shim, "creating"), "prestart"));
        TRY(berth::runtime::hooks::run(h.createRuntime, req.stateJson(shim, "creating"), "createRuntime"));
        undo.dismiss();
        cgroup.removeOnFailure.dismiss();
        return runtime::HandlerLaunched{shim};
    }

    // The boot artifacts, the rootfs for the guest, the shim and its VMM; the shim's pid.
    Result<pid_t> boot(const runtime::HandlerRequest& req, const std::function<Status(pid_t)>& placeShim) {
        const runtime::spec::Spec& s = *req.spec;
        wire::timing::mark("vm.launch");
        std::string rootfs = s.root.path[0] == '/' ? s.root.path : fs::joinPath(req.record->bundle, s.root.path);
        ASSIGN_OR_RETURN(PodInfo pod, podRoleOfSpec(s));
        if (pod.role == PodRole::Member) return bootMember(req, pod.sandboxId, rootfs, placeShim);
        // What the config asks that the VM path cannot do fails before anything is made.
        uint64_t rootfsBytes = 0;
        bool forcedMode = false;
        ASSIGN_OR_RETURN(wire::RootfsMode mode, rootfsModeFor(s, rootfs, rootfsBytes, forcedMode));
        TRY(checkNetwork(s));
        TRY(checkMemoryMax(s.annotations));  // the balloon's ceiling (vm/balloon.hpp)
        // A pod's VM is sized for the pod when the CRI says how big it is (its members share it).
        nlohmann::json sizing = s.linux->resources;
        if (pod.role == PodRole::Sandbox) {
            ASSIGN_OR_RETURN(sizing, podVmSizing(s.annotations, s.linux->resources));
        }
        ASSIGN_OR_RETURN(GuestSetUp setUp, planGuestSetUp(s, req.record->bundle, rootfs));
        wire::SharePlan& shares = setUp.shares;
        // A pod sandbox exports its pod directory, where its members' rootfs will appear.
        bool sandbox = pod.role == PodRole::Sandbox;
        if (sandbox && ::mkdir(podDir(req.stateDir).c_str(), 0700) < 0) return Error::fromErrno("vm: make ", podDir(req.stateDir));
        if (sandbox) shares.shares.push_back(podShare(req.stateDir));
        wire::timing::mark("vm.checked");
        ASSIGN_OR_RETURN(BootArtifacts art, ensureBootArtifacts(cacheRoot(), !shares.shares.empty()));
        wire::timing::mark("vm.artifacts");
        AccelChoice accel = chooseAccel(art);
        wire::timing::mark("vm.accel");
        if (accel.accel == wire::Accel::Tcg)
            log::warn("vm: running under TCG, which is emulation, not hardware isolation (", accel.reason, ")");

        ShimConfig c = shimConfigFor(req);
        c.placeShim = placeShim;
        wire::GuestProcess guest = guestProcessFor(s, req.options->noNewKeyring ? "" : req.record->id);
        guest.mounts = shares.mounts;
        guest.filesystems = std::move(setUp.filesystems);
        wire::QemuConfig& q = c.qemu;
        q.accel = accel.accel;
        q.kernel = art.kernel.image;
        q.shares = shares.shares;
        for (const auto& sh : shares.shares) c.keepMounts.push_back(sh.hostDir);
        ASSIGN_OR_RETURN(q.res, wire::resourcesFor(sizing, std::max(1L, ::sysconf(_SC_NPROCESSORS_ONLN))));
        q.consoleLog = req.stateDir + "/console.log";
        uint64_t limitMiB = q.res.memMiB;
        ASSIGN_OR_RETURN(mode, stageRootfs(mode, forcedMode, rootfs, rootfsBytes, art, req.stateDir, guest, q));
        // The RAM ceiling and the balloon's target; not for a pod's VM, whose RAM its members share.
        auto limit = wire::memoryLimitOf(s.linux->resources);
        if (!sandbox && art.balloon) TRY(planVmBalloon(s.annotations, limit && *limit > 0, q.res.memMiB - limitMiB, c));
        wire::timing::mark("vm.rootfs");
        ASSIGN_OR_RETURN(NetWiring net, wireNetwork(s, req.stateDir));
        wire::timing::mark("vm.network");
        ScopeGuard unwire([&] { unwireNetwork(req.stateDir); });
        if (!net.warning.empty()) log::warn(net.warning);
        addNics(net, guest, q);
        guest.resources = guestResourcesFor(s);  // cpus/mems: where they fit (the agent)
        q.cmdline = wire::kernelCmdline({mode, false, log::debugEnabled(), !shares.shares.empty(), wire::timing::enabled(),
                                         !q.nics.empty(), hostTscKhz(cacheRoot()).khz, c.balloon.ceilingMiB > 0});
        c.guestConfigJson = wire::toJson(guest);
        log::debug("vm: ", q.res.memMiB, " MiB, ", q.res.vcpus, " vCPU, ", accelName(q.accel), ", rootfs ",
                   rootfsModeName(mode), " (", rootfsBytes, " bytes), kernel ", q.kernel, ", boot initramfs ", art.initramfs,
                   ", command line ", q.cmdline);
        ASSIGN_OR_RETURN(ShimStarted started, startShim(c));
        unwire.dismiss();  // the VM owns the taps now; delete removes the filters
        // The container's pid is the shim: it is the VMM's host side (QEMU is its child, killed
        // with it by PDEATHSIG) and exits with the workload's status — killed-by-signal as
        // 128+sig — so conmon and containerd's shim, which reap the pid-file pid as subreapers,
        // see the workload's exit, not QEMU's 0 after a poweroff. The VMM's own pid is kept
        // for delete and for faults.
        (void)fs::writeFileAtomic(req.stateDir + "/vmm.pid",
                                  strCat(started.vmm, " ", runtime::state::processStartTime(started.vmm), "\n"), 0600);
        wire::timing::mark("vm.created");
        return started.shim;
    }

    // A pod member: no VM of its own. Its rootfs and bind sources are bind-mounted under the
    // sandbox's pod directory (QEMU's 9p export sees them with no hotplug) and its shim relays
    // through the sandbox's shim to the agent, which runs it beside the sandbox.
    Result<pid_t> bootMember(const runtime::HandlerRequest& req, const std::string& sandboxId, const std::string& rootfs,
                             const std::function<Status(pid_t)>& placeShim) {
        const runtime::spec::Spec& s = *req.spec;
        ASSIGN_OR_RETURN(std::string sandboxDir, sandboxStateDirFor(req.stateDir, req.record->id, sandboxId, kHandlerName));
        ASSIGN_OR_RETURN(GuestSetUp setUp, planGuestSetUp(s, req.record->bundle, rootfs));
        const wire::SharePlan& shares = setUp.shares;
        TRY(stageMember(sandboxDir, req.record->id, rootfs, shares.shares));
        ScopeGuard unstage([&] { unstageMember(sandboxDir, req.record->id); });
        ShimConfig c = shimConfigFor(req);
        c.placeShim = placeShim;
        c.sandboxStateDir = sandboxDir;
        for (const auto& sh : shares.shares) c.keepMounts.push_back(sh.hostDir);
        wire::GuestProcess guest = guestProcessFor(s, req.options->noNewKeyring ? "" : req.record->id);
        guest.mounts = shares.mounts;
        guest.filesystems = std::move(setUp.filesystems);
        guest.member = req.record->id;
        for (const auto& ns : s.linux->namespaces)
            if (ns.type == "pid" && !ns.path.empty()) guest.sandboxPidNs = true;
        guest.hostname.clear();  // the UTS namespace is the sandbox's (CRI gives both one name)
        guest.resources = guestResourcesFor(s);  // its own cgroup in the guest
        c.guestConfigJson = wire::toJson(guest);
        ASSIGN_OR_RETURN(ShimStarted started, startShim(c));
        unstage.dismiss();
        return started.shim;
    }

    Status kill(const runtime::HandledContainer& c, int sig, bool) override {
        if (c.live == runtime::state::ContainerStatus::Stopped) return {};  // nothing outlives the VM
        // The workload is inside the guest: only the shim can reach it. SIGKILL still works
        // when the shim does not answer: on the shim, whose VMM dies with it (the workload
        // with its machine).
        Status s = signalViaShim(c.stateDir, sig);
        if (s || sig != SIGKILL) return s;
        if (::kill(c.st.pid, SIGKILL) < 0) return Error::fromErrno("kill the vm shim ", c.st.pid);
        return {};
    }

    Status destroy(const runtime::HandledContainer& c) override {
        stopVm(c);
        // Last: the cgroup is empty once the shim and VMM are gone (destroy kills what is left).
        ASSIGN_OR_RETURN(auto cg, runtime::recordedCgroup(c.st));
        if (cg) TRY(cg->destroy());
        crashPoint("delete:cgroup-removed");
        return {};
    }

    void stopVm(const runtime::HandledContainer& c) {
        // The shim first: its VMM gets SIGKILL by PDEATHSIG. Then make sure of the VMM itself
        // (a crash between fork and the record can leave only it) before the state dir goes.
        const runtime::state::ContainerState& st = c.st;
        std::optional<VmmPid> vmm = readVmmPid(c.stateDir);
        if (st.pid > 0 && runtime::state::processAlive(st.pid, st.pidStartTime)) {
            ::kill(st.pid, SIGKILL);
            waitGone(st.pid, st.pidStartTime);
        }
        if (vmm) {
            waitGone(vmm->pid, vmm->startTime);
            if (runtime::state::processAlive(vmm->pid, vmm->startTime)) {
                ::kill(vmm->pid, SIGKILL);
                waitGone(vmm->pid, vmm->startTime);
            }
        }
        unwireNetwork(c.stateDir);
        // A sandbox's members stopped with its VM (their shims exit 137); a member's own mounts
        // go with it. Both before the state dir is removed.
        // A sandbox is known by its pod directory (podman's infra container has no annotation).
        if (fs::exists(podDir(c.stateDir))) unstagePod(c.stateDir);
        else if (auto pod = podRoleOf(c.st.annotations); pod && pod->role == PodRole::Member)
            unstageMember(std::filesystem::path(c.stateDir).parent_path().string() + "/" + pod->sandboxId, c.st.id);
    }

    // The whole machine stops: SIGSTOP halts every vCPU thread of the VMM (the guest's clock
    // catches up on SIGCONT). Signals, exec requests and output wait in the channel meanwhile.
    Status freeze(const runtime::HandledContainer& c, bool frozen) override {
        if (auto pod = podRoleOf(c.st.annotations); pod && pod->role == PodRole::Member)
            return Error(ENOTSUP, strCat("vm: cannot ", frozen ? "pause" : "resume", " container \"", c.st.id,
                                         "\": a pod member shares its sandbox's VM (pause the sandbox)")).hideErrno();
        std::optional<VmmPid> vmm = readVmmPid(c.stateDir);
        if (!vmm || !runtime::state::processAlive(vmm->pid, vmm->startTime)) return Error::make("vm: the VMM is not running");
        if (::kill(vmm->pid, frozen ? SIGSTOP : SIGCONT) < 0)
            return Error::fromErrno(frozen ? "stop" : "continue", " the VMM ", vmm->pid);
        return {};
    }

    // Without a terminal or --detach the guest process gets berth's own stdio; otherwise a host
    // process stands for it (vm/exec_proxy).
    Result<int> exec(const runtime::HandledContainer& c, const runtime::ExecRequest& r) override {
        const runtime::state::ContainerState& st = c.st;
        if (!r.options->subCgroups.empty())
            return Error(ENOTSUP, "exec --cgroup: not supported by the vm handler (the guest's cgroups are not the host's)");
        nlohmann::json seccomp;
        if (st.config.contains("linux") && st.config["linux"].contains("seccomp")) seccomp = st.config["linux"]["seccomp"];
        wire::GuestProcess g = guestProcessOf(*r.process, seccomp);
        if (!st.noNewKeyring) g.keyring = st.id;  // the container's, as runc's exec joins it
        // Signals we get go to the guest process, as runc's exec forwards them; with a terminal
        // (in the proxy, its stdin the pty) the guest's pty starts at its size, then follows it.
        auto runInGuest = [&]() -> Result<int> {
            ASSIGN_OR_RETURN(ExecSignals sigs, forwardExecSignals(r.process->terminal));
            if (sigs.size) g.process.consoleSize = sigs.size;
            return execViaShim(c.stateDir, wire::toJson(g), sigs);
        };
        if (!r.process->terminal && !r.options->detach) return runInGuest();
        return execThroughProxy(r, runInGuest);
    }

    Result<std::vector<pid_t>> processes(const runtime::HandledContainer& c) override {
        const runtime::state::ContainerState& st = c.st;
        const std::string& stateDir = c.stateDir;
        // The workload's processes live in the guest kernel; on the host the container is the
        // shim and its VMM.
        std::vector<pid_t> out;
        if (st.pid > 0 && runtime::state::processAlive(st.pid, st.pidStartTime)) out.push_back(st.pid);
        if (auto vmm = readVmmPid(stateDir); vmm && runtime::state::processAlive(vmm->pid, vmm->startTime))
            out.push_back(vmm->pid);
        return out;
    }

    // ps, update and events ask the guest agent (vm/guest_ops.cpp).
    Result<std::optional<runtime::OwnProcessTable>> ownProcessTable(const runtime::HandledContainer& c,
                                                                    const std::vector<std::string>& psArgs) override {
        return guestProcessTable(c, psArgs);
    }
    Status update(const runtime::HandledContainer& c, const nlohmann::json& resources) override {
        return updateGuest(c, resources);
    }
    Result<std::unique_ptr<runtime::Monitor>> monitor(const runtime::HandledContainer& c) override {
        return guestMonitor(c);
    }
};

}  // namespace

std::shared_ptr<runtime::Handler> makeHandler() { return std::make_shared<VmHandler>(); }

}  // namespace berth::vm
