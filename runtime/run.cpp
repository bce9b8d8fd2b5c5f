// run: create and start in one step. In the foreground berth stays the container's parent:
// it forwards signals to the init, reaps orphans as a subreaper, and returns the exit status.
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "common/log.hpp"
#include "runtime/container.hpp"
#include "runtime/foreground.hpp"
#include "runtime/handler.hpp"
#include "runtime/hooks/hooks.hpp"

namespace berth::runtime {

Result<int> run(const GlobalOptions& g, const RunOptions& o) {
    // Block signals before the clone so none is lost; the child unblocks them before exec.
    sigset_t all, old;
    sigfillset(&all);
    ::sigprocmask(SIG_BLOCK, &all, &old);
    ScopeGuard restoreMask([&] { ::sigprocmask(SIG_SETMASK, &old, nullptr); });
    if (!o.detach && !o.noSubreaper) ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);

    CreateOptions co = o.create;
    ScopeGuard dropBundle([&co] {
        if (!co.imageBundle.empty()) (void)removeBundle(co.imageBundle);
    });
    if (!o.image.empty()) {
        ASSIGN_OR_RETURN(co.bundle, prepareImageBundle(g, o));
        co.imageBundle = co.bundle;
    }
    ASSIGN_OR_RETURN(Created c, createContainer(g, co, /*withFifo=*/false, /*relayTerminal=*/!o.detach));
    dropBundle.dismiss();
    state::Store store(g.root);
    if (!c.spec.hooks.poststart.empty())
        hooks::runAllLogging(c.spec.hooks.poststart, hookStateJson(c.st, "running", c.st.pid),
                             "poststart");
    if (o.detach) return 0;

    sigset_t forward;
    sigfillset(&forward);
    ASSIGN_OR_RETURN(int code, waitForeground(c.waitPid, c.master ? c.master.get() : -1, forward));
    log::debug("container ", c.st.id, " exited with ", code);
    if (!o.keep) {
        // Someone may have deleted (and even re-created) the container meanwhile: destroy only
        // what is still this container.
        auto lock = store.lock(c.st.id);
        auto now = lock ? store.loadSummary(c.st.id) : Result<state::ContainerState>(lock.error());
        if (now && now->pid == c.st.pid && now->created == c.st.created) {
            Status st = destroyContainer(store, c.st);
            if (!st) log::warn(st.error().what());
        }
    } else if (auto h = handlerOf(c.st)) {
        // --keep leaves the record; nothing of the container may keep running (the VM path's
        // workload has ended with its VMM: nothing left there).
        (void)(*h)->kill({c.st, store.dir(c.st.id), state::ContainerStatus::Stopped}, SIGKILL, /*all=*/true);
    }
    return code;
}

}  // namespace berth::runtime
