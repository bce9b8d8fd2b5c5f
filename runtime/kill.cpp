// kill: send a signal to a container's init, or with --all to every process in its cgroup.
//
// runc 1.1's rules, which containerd's CRI plugin depends on (it sends `kill --all ID 9` to a
// pod sandbox that has already exited, and retries StopPodSandbox until that succeeds):
//
//   container is             kill ID SIG              kill --all ID SIG
//   created/running/paused   signal the init: exit 0  signal every process of its cgroup: 0
//   stopped                  "not running": exit 1    signal what is left in its cgroup (if it
//                                                     still exists, nothing otherwise): exit 0
//   being created            refused: exit 1          refused: exit 1
//   unknown id               "does not exist": 1      "does not exist": 1
//
// SIG 0 follows the same rules: sent to a live init it only checks that the init exists (a
// liveness probe, exit 0); on a stopped container it fails without --all.
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/unique_fd.hpp"

#include "runtime/container.hpp"
#include "runtime/handler.hpp"

namespace berth::runtime {
namespace {

Error notRunning(const std::string& id) {
    return Error::make("cannot kill container \"", id, "\": it is not running (stopped)");
}

// Every process of the container's cgroup. A stopped container's cgroup may already be gone,
// which leaves nothing to signal.
Status signalCgroup(const state::ContainerState& st, int sig, state::ContainerStatus live) {
    ASSIGN_OR_RETURN(auto cg, cgroups::loadManager(st.cgroup));
    auto pids = cg->pids();
    if (!pids) {
        int err = pids.error().err();
        if (live == state::ContainerStatus::Stopped && (err == ENOENT || err == ENODEV)) return {};
        return std::move(pids).error();
    }
    // A frozen process does not die of SIGKILL until thawed.
    if (live == state::ContainerStatus::Paused && sig == SIGKILL) (void)cg->freeze(false);
    for (pid_t p : *pids) ::kill(p, sig);
    return {};
}

// Pin the process with a pidfd, then check it is still the container's init: a signal can
// never reach a process that took over a recycled pid.
Status signalInit(const state::ContainerState& st, const std::string& id, int sig) {
    UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, st.pid, 0)));
    if (!pidfd || !state::processAlive(st.pid, st.pidStartTime)) return notRunning(id);
    if (::syscall(SYS_pidfd_send_signal, pidfd.get(), sig, nullptr, 0) < 0)
        return Error::fromErrno("signal container init ", st.pid);
    return {};
}

}  // namespace

Status kill(const GlobalOptions& g, const KillOptions& o) {
    ASSIGN_OR_RETURN(int sig, parseSignal(o.signal));
    state::Store store(g.root);
    ASSIGN_OR_RETURN(state::ContainerState st, store.load(o.id));
    auto live = store.liveStatus(st);
    if (live == state::ContainerStatus::Creating)
        return Error::make("cannot kill container \"", o.id, "\": it is ", state::statusName(live));
    bool stopped = live == state::ContainerStatus::Stopped;
    if (stopped && !o.all) return notRunning(o.id);
    if (!st.handler.empty()) {
        if (stopped) return {};  // a handler's stopped container has no processes left
        Handler* h = findHandler(st.handler);
        if (!h) return Error(EINVAL, strCat("container \"", o.id, "\": handler \"", st.handler, "\" is not available"));
        return h->kill(st, store.dir(o.id), sig, o.all);
    }
    if (o.all) return signalCgroup(st, sig, live);
    return signalInit(st, o.id, sig);
}

}  // namespace berth::runtime
