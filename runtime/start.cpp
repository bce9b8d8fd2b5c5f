// start: release a created container's init by reading its exec fifo, then run poststart hooks.
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include "common/crash_point.hpp"
#include "common/log.hpp"
#include "runtime/container.hpp"
#include "runtime/hooks.hpp"

namespace berth::runtime {

Status start(const GlobalOptions& g, const std::string& id) {
    state::Store store(g.root);
    ASSIGN_OR_RETURN(state::Lock lock, store.lock(id));
    ASSIGN_OR_RETURN(state::ContainerState st, store.load(id));
    auto live = store.liveStatus(st);
    if (live != state::ContainerStatus::Created)
        return Error::make("cannot start container \"", id, "\": it is ", state::statusName(live),
                           ", not created");
    std::string fifo = store.fifoPath(id);
    // Non-blocking open: a dead init would otherwise leave us waiting for a writer forever.
    UniqueFd fd(::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
    if (!fd) return Error::fromErrno("open exec fifo ", fifo);
    for (;;) {
        struct pollfd p = {fd.get(), POLLIN, 0};
        int r = ::poll(&p, 1, 100);
        if (r < 0 && errno != EINTR) return Error::fromErrno("poll exec fifo");
        if (r > 0) {
            char c;
            ssize_t n = ::read(fd.get(), &c, 1);
            if (n == 1) break;
            if (n < 0 && errno != EAGAIN && errno != EINTR) return Error::fromErrno("read exec fifo");
        }
        if (!state::processAlive(st.pid, st.pidStartTime))
            return Error::make("cannot start container \"", id, "\": its init process has exited");
    }
    // The byte is read: the init is released. The fifo goes at once, so `state` says running
    // even if start dies before recording it. (Not earlier: a VM shim writes only once it
    // finds a reader on the path.)
    ::unlink(fifo.c_str());
    crashPoint("start:released");
    st.saved = state::ContainerStatus::Running;
    TRY(store.save(st));
    auto hooks = spec::hooksOfConfig(st.config, "state");
    if (hooks && !hooks->poststart.empty()) {
        // The spec: a failing poststart hook is logged; the container keeps running.
        hooks::runAllLogging(hooks->poststart, hookStateJson(st, "running", st.pid), "poststart");
    }
    return {};
}

}  // namespace berth::runtime
