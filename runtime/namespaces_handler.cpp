// The built-in Handler: a container is an init cloned into namespaces on this kernel, held in
// a cgroup. Everything an operation does that is about namespaces or cgroups is here; the
// operations themselves (create.cpp, kill.cpp, ...) are handler-agnostic.
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <thread>

#include "cgroups/resources.hpp"
#include "cgroups/rootless.hpp"
#include "cgroups/sub_cgroup.hpp"
#include "common/crash_point.hpp"
#include "common/log.hpp"
#include "common/unique_fd.hpp"
#include "runtime/container.hpp"
#include "runtime/container_cgroup.hpp"
#include "runtime/handler.hpp"
#include "runtime/launch/join.hpp"
#include "runtime/security/security.hpp"

namespace berth::runtime {
namespace {

using CS = state::ContainerStatus;

// Every process of the container's cgroup. A stopped container's cgroup may already be gone,
// which leaves nothing to signal.
Status signalCgroup(const state::ContainerState& st, int sig, CS live) {
    ASSIGN_OR_RETURN(auto cg, cgroups::loadManager(st.cgroup));
    auto pids = cg->pids();
    if (!pids) {
        int err = pids.error().err();
        if (live == CS::Stopped && (err == ENOENT || err == ENODEV)) return {};
        return std::move(pids).error();
    }
    // A frozen process does not die of SIGKILL until thawed.
    if (live == CS::Paused && sig == SIGKILL) (void)cg->freeze(false);
    for (pid_t p : *pids) ::kill(p, sig);
    return {};
}

// Pin the process with a pidfd, then check it is still the container's init: a signal can
// never reach a process that took over a recycled pid.
Status signalInit(const state::ContainerState& st, int sig) {
    UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, st.pid, 0)));
    if (!pidfd || !state::processAlive(st.pid, st.pidStartTime)) return killNotRunning(st.id);
    if (::syscall(SYS_pidfd_send_signal, pidfd.get(), sig, nullptr, 0) < 0)
        return Error::fromErrno("signal container init ", st.pid);
    return {};
}

// The init vanished during set-up. When its memory limit is why (runc would have named the
// limit and the usage: it sets limits after the join, where the kernel refuses one below usage;
// berth sets them before, and the kernel OOM-kills the init), say so instead.
Error explainSetUpDeath(Error e, const cgroups::Manager& cg) {
    if (e.message().find("exited during set-up") == std::string::npos &&
        e.message().find("during its set-up") == std::string::npos)
        return e;
    auto s = cg.stats();
    if (!s || (s->memory.oomKills == 0 && s->memory.usage.failcnt == 0)) return e;
    const cgroups::MemoryEntry& m = s->memory.usage;
    return Error(e.err(), strCat("the container process was killed during set-up: its memory limit (", m.limit,
                                 " bytes) is below what it uses (usage ", m.usage, ", peak usage ", m.max,
                                 " bytes, OOM kills ", s->memory.oomKills, ")"));
}

class CgroupMonitor : public Monitor {
public:
    explicit CgroupMonitor(std::unique_ptr<cgroups::Manager> cg) : cg_(std::move(cg)) {}
    Result<cgroups::Stats> stats() const override { return cg_->stats(); }
    std::unique_ptr<cgroups::OomNotifier> oomNotifier() const override {
        auto n = cg_->oomNotifier();
        return n ? std::move(*n) : nullptr;
    }

private:
    std::unique_ptr<cgroups::Manager> cg_;
};

class NamespacesHandler : public Handler {
public:
    const char* name() const override { return ""; }

    Status check(const spec::Spec& sp) override {
        // Ignored input the user should hear about (e.g. capabilities this kernel does not know).
        for (auto& w : sp.warnings) log::warn(w);
        for (auto& path : cgroups::unappliedResources(sp.linux->resources))
            log::warn("config.json: ", path, ": not applied (unknown to this version of berth)");
        return {};
    }

    Result<HandlerLaunched> launch(const HandlerRequest& req) override {
        const spec::Spec& sp = *req.spec;
        state::ContainerState& st = *req.record;
        st.noPivot = req.options->noPivot;
        st.noNewKeyring = req.options->noNewKeyring;
        ASSIGN_OR_RETURN(ContainerCgroup made, makeContainerCgroup(req));
        cgroups::Manager* cg = made.manager.get();
        if (cg->saved().driver == cgroups::kNoCgroupDriver) {
            std::string limits;
            for (auto& l : cgroups::limitsSet(sp.linux->resources)) limits += (limits.empty() ? "" : ", ") + l;
            if (!limits.empty())
                log::warn("rootless: no cgroup (this user may not create one), so linux.resources ", limits,
                          " not applied");
        }
        std::vector<std::string> devicePaths;
        for (auto& d : sp.linux->devices) devicePaths.push_back(d.path);
        TRY(cg->apply(cgroups::withDefaultDeviceRules(sp.linux->resources, devicePaths)));
        crashPoint("create:cgroup-made");

        launch::LaunchConfig lc;
        lc.spec = &sp;
        lc.rootfs = rootfsConfigFor(sp, req.bundle, cg, req.options->noPivot);
        lc.fifoPath = req.fifoPath;
        if (!req.options->noNewKeyring) lc.keyringId = st.id;
        lc.consoleSocket = req.options->consoleSocket;
        lc.consoleFd = req.consoleFd;
        lc.preserveFds = req.options->preserveFds;
        lc.cgroup = cg;
        lc.stateJson = req.stateJson;  // prestart/createRuntime run between clone and pivot_root
        lc.onCloned = [&](pid_t pid) {
            st.pid = pid;
            st.pidStartTime = state::processStartTime(pid);  // the child waits for Go: still alive
            Status saved = req.save();
            crashPoint("create:cloned");
            return saved;
        };
        auto launched = launch::launchInit(lc);
        if (!launched) return explainSetUpDeath(std::move(launched).error(), *cg);
        launch::Launched init = std::move(*launched);
        // The systemd driver knows its unit's cgroups only once the init joined it.
        st.cgroup = cg->saved();
        made.removeOnFailure.dismiss();
        return HandlerLaunched{init.pid};
    }

    Status kill(const HandledContainer& c, int sig, bool all) override {
        if (all) return signalCgroup(c.st, sig, c.live);
        return signalInit(c.st, sig);
    }

    Status destroy(const HandledContainer& c) override {
        const state::ContainerState& s = c.st;
        Status first;
        std::unique_ptr<cgroups::Manager> cg;
        if (auto loaded = recordedCgroup(s)) cg = std::move(*loaded);
        else first = std::move(loaded).error();
        // A frozen process does not die of SIGKILL until thawed.
        if (cg && s.saved == CS::Paused) (void)cg->freeze(false);
        if (state::processAlive(s.pid, s.pidStartTime)) {
            ::kill(s.pid, SIGKILL);
            // A killed init in a pid namespace takes the namespace's processes with it.
            for (int i = 0; i < 2000 && state::processAlive(s.pid, s.pidStartTime); i++)
                std::this_thread::sleep_for(std::chrono::microseconds(500));
        }
        crashPoint("delete:killed");
        if (cg) {
            Status removed = cg->destroy();
            if (!removed && first.ok()) first = std::move(removed);
        }
        crashPoint("delete:cgroup-removed");
        return first;
    }

    Result<std::vector<pid_t>> processes(const HandledContainer& c) override {
        ASSIGN_OR_RETURN(auto cg, cgroups::loadManager(c.st.cgroup));
        return cg->pids();
    }

    Status freeze(const HandledContainer& c, bool frozen) override {
        ASSIGN_OR_RETURN(auto cg, cgroups::loadManager(c.st.cgroup));
        return cg->freeze(frozen);
    }

    Result<int> exec(const HandledContainer& c, const ExecRequest& r) override;

    Status update(const HandledContainer& c, const nlohmann::json& resources) override {
        ASSIGN_OR_RETURN(auto cg, cgroups::loadManager(c.st.cgroup));
        return cg->apply(resources);
    }

    Result<std::unique_ptr<Monitor>> monitor(const HandledContainer& c) override {
        ASSIGN_OR_RETURN(auto cg, cgroups::loadManager(c.st.cgroup));
        return std::unique_ptr<Monitor>(std::make_unique<CgroupMonitor>(std::move(cg)));
    }
};

// A process that joins the init's namespaces, cgroup and root (runtime/launch/join.cpp).
Result<int> NamespacesHandler::exec(const HandledContainer& c, const ExecRequest& r) {
    const state::ContainerState& st = c.st;
    // exec --cgroup: the process joins existing sub-cgroups of the container's.
    cgroups::Saved joined = st.cgroup;
    ASSIGN_OR_RETURN(auto subCgroups, cgroups::parseSubCgroupArgs(r.options->subCgroups));
    if (!subCgroups.empty()) {
        ASSIGN_OR_RETURN(auto layout, cgroups::detectLayout());
        ASSIGN_OR_RETURN(joined, cgroups::withSubCgroups(st.cgroup, subCgroups, layout));
    }
    ASSIGN_OR_RETURN(auto cg, cgroups::loadManager(joined));
    nlohmann::json seccomp;
    if (st.config.contains("linux") && st.config["linux"].contains("seccomp"))
        seccomp = st.config["linux"]["seccomp"];

    sigset_t all, old;
    sigfillset(&all);
    ::sigprocmask(SIG_BLOCK, &all, &old);
    ScopeGuard restoreMask([&] { ::sigprocmask(SIG_SETMASK, &old, nullptr); });
    launch::JoinConfig jc;
    jc.consoleFd = r.relay ? r.relay->theirs.get() : -1;
    jc.containerPid = st.pid;
    jc.process = r.process;
    jc.seccomp = &seccomp;
    jc.consoleSocket = r.options->consoleSocket;
    jc.preserveFds = r.options->preserveFds;
    jc.cgroup = cg.get();
    if (!st.noNewKeyring) jc.keyringId = st.id;
    jc.stateJson = [&st, live = c.live] { return state::publicJson(st, live).dump(); };
    if (st.config.contains("linux") && st.config["linux"].contains("personality")) {
        ASSIGN_OR_RETURN(jc.personality, security::personalityFor(st.config["linux"]["personality"]));
    }
    ASSIGN_OR_RETURN(launch::Launched l, launch::launchInContainer(jc));
    return superviseExec(l.pid, r);
}

}  // namespace

Handler& namespacesHandler() {
    static NamespacesHandler h;
    return h;
}

}  // namespace berth::runtime
