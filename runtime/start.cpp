// start: release a created container's init by reading its exec fifo until the init has exec'd
// (its execve closes the fifo), then run poststart hooks.
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <functional>

#include "common/crash_point.hpp"
#include "common/log.hpp"
#include "runtime/container.hpp"
#include "runtime/hooks/hooks.hpp"

namespace berth::runtime {
namespace {

// The init writes "0" once released and keeps the fifo open until its execve closes it; what
// follows the "0" is the error that stopped it before the execve (a startContainer hook, the
// execve itself). `released` runs at the "0". Returns at EOF with what was read.
Result<std::string> readExecFifo(int fd, const state::ContainerState& st, const std::function<Status()>& released) {
    std::string got;
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        int r = ::poll(&p, 1, 100);
        if (r < 0 && errno != EINTR) return Error::fromErrno("poll exec fifo");
        if (r > 0) {
            char buf[4096];
            ssize_t n = ::read(fd, buf, sizeof buf);
            if (n == 0) return got;  // the writer has gone: exec'd or died
            if (n < 0 && errno != EAGAIN && errno != EINTR) return Error::fromErrno("read exec fifo");
            if (n > 0) {
                bool first = got.empty();
                got.append(buf, static_cast<size_t>(n));
                if (first) TRY(released());
            }
        }
        // A writer shows up only if the init gets that far: a dead one would leave us here forever.
        if (got.empty() && !state::processAlive(st.pid, st.pidStartTime)) return got;
    }
}

}  // namespace

Status start(const GlobalOptions& g, const std::string& id) {
    state::Store store(g.root);
    ASSIGN_OR_RETURN(state::Lock lock, store.lock(id));
    ASSIGN_OR_RETURN(state::ContainerState st, store.loadWithHooksOnly(id));
    auto live = store.liveStatus(st);
    if (live != state::ContainerStatus::Created)
        return Error::make("cannot start container \"", id, "\": it is ", state::statusName(live),
                           ", not created");
    std::string fifo = store.fifoPath(id);
    // Non-blocking open: a dead init would otherwise leave us waiting for a writer forever.
    UniqueFd fd(::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
    if (!fd) return Error::fromErrno("open exec fifo ", fifo);
    auto released = [&]() -> Status {
        // The fifo goes at once, so `state` says running even if start dies before recording
        // it. (Not earlier: a VM shim writes only once it finds a reader on the path.)
        ::unlink(fifo.c_str());
        crashPoint("start:released");
        st.saved = state::ContainerStatus::Running;
        return store.save(st);
    };
    ASSIGN_OR_RETURN(std::string got, readExecFifo(fd.get(), st, released));
    if (got.empty())
        return Error::make("cannot start container \"", id, "\": its init process has exited");
    if (got.size() > 1) return Error::make(got.substr(1));
    auto hooks = spec::hooksOfConfig(st.config, "state");
    if (hooks && !hooks->poststart.empty()) {
        // The spec: a failing poststart hook is logged; the container keeps running.
        hooks::runAllLogging(hooks->poststart, hookStateJson(st, "running", st.pid), "poststart");
    }
    return {};
}

}  // namespace berth::runtime
