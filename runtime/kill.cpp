// kill: send a signal to a container's init, or with --all to every process in its cgroup.
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/unique_fd.hpp"

#include "runtime/container.hpp"
#include "runtime/handler.hpp"

namespace berth::runtime {

Status kill(const GlobalOptions& g, const KillOptions& o) {
    ASSIGN_OR_RETURN(int sig, parseSignal(o.signal));
    state::Store store(g.root);
    ASSIGN_OR_RETURN(state::ContainerState st, store.load(o.id));
    auto live = store.liveStatus(st);
    if (live == state::ContainerStatus::Stopped || live == state::ContainerStatus::Creating)
        return Error::make("cannot kill container \"", o.id, "\": it is ", state::statusName(live));
    if (!st.handler.empty()) {
        Handler* h = findHandler(st.handler);
        if (!h) return Error(EINVAL, strCat("container \"", o.id, "\": handler \"", st.handler, "\" is not available"));
        return h->kill(st, store.dir(o.id), sig, o.all);
    }
    if (o.all) {
        ASSIGN_OR_RETURN(auto cg, cgroups::loadManager(st.cgroup));
        ASSIGN_OR_RETURN(auto pids, cg->pids());
        bool paused = live == state::ContainerStatus::Paused;
        if (paused && sig == SIGKILL) (void)cg->freeze(false);
        for (pid_t p : pids) ::kill(p, sig);
        return {};
    }
    // Pin the process with a pidfd, then check it is still the container's init: a signal can
    // never reach a process that took over a recycled pid.
    UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, st.pid, 0)));
    if (!pidfd || !state::processAlive(st.pid, st.pidStartTime))
        return Error::make("cannot kill container \"", o.id, "\": it is stopped");
    if (::syscall(SYS_pidfd_send_signal, pidfd.get(), sig, nullptr, 0) < 0)
        return Error::fromErrno("signal container init ", st.pid);
    return {};
}

}  // namespace berth::runtime
