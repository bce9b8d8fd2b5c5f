// kill: send a signal to a container's init, or with --all to every process in its cgroup
// (runtime/namespaces_handler.cpp; the VM handler signals the workload in its guest).
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
#include "runtime/container.hpp"
#include "runtime/handler.hpp"

namespace berth::runtime {

Error killNotRunning(const std::string& id) {
    return Error::make("cannot kill container \"", id, "\": it is not running (stopped)");
}

Status kill(const GlobalOptions& g, const KillOptions& o) {
    ASSIGN_OR_RETURN(int sig, parseSignal(o.signal));
    state::Store store(g.root);
    // Neither handler's kill reads the config: its parse is not paid here.
    ASSIGN_OR_RETURN(state::ContainerState st, store.loadRecord(o.id));
    auto live = store.liveStatus(st);
    if (live == state::ContainerStatus::Creating)
        return Error::make("cannot kill container \"", o.id, "\": it is ", state::statusName(live));
    if (live == state::ContainerStatus::Stopped && !o.all) return killNotRunning(o.id);
    ASSIGN_OR_RETURN(Handler * h, handlerOf(st));
    return h->kill({st, store.dir(o.id), live}, sig, o.all);
}

}  // namespace berth::runtime
