// run: create and start in one step. In the foreground berth stays the container's parent:
// it forwards signals to the init, reaps orphans as a subreaper, and returns the exit status.
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/fs.hpp"
#include "common/log.hpp"
#include <sys/ioctl.h>
#include <sys/socket.h>
#include "runtime/process/terminal.hpp"
#include "runtime/tty_relay.hpp"
#include "runtime/container.hpp"
#include "runtime/hooks.hpp"

namespace berth::runtime {
namespace {

int exitCodeOf(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return 255;
}

// Wait for the init, forwarding every catchable signal we receive to it.
int waitForInit(pid_t init, const sigset_t& set) {
    for (;;) {
        siginfo_t info;
        int sig = ::sigwaitinfo(&set, &info);
        if (sig < 0) continue;
        if (sig == SIGCHLD) {
            int status;
            pid_t p;
            while ((p = ::waitpid(-1, &status, WNOHANG)) > 0)
                if (p == init) return exitCodeOf(status);
            continue;
        }
        ::kill(init, sig);
    }
}

state::Store store0(const GlobalOptions& g) { return state::Store(g.root); }

// Peek at process.terminal so the pty can be arranged before create (parse errors surface there).
bool bundleWantsTerminal(const std::string& bundle) {
    auto text = fs::readFile(fs::joinPath(bundle, "config.json"));
    if (!text) return false;
    auto j = nlohmann::json::parse(*text, nullptr, false);
    return j.is_object() && j.contains("process") && j["process"].is_object() &&
           j["process"].value("terminal", false) == true;
}

}  // namespace

Result<int> run(const GlobalOptions& g, const RunOptions& o) {
    // Block signals before the clone so none is lost; the child unblocks them before exec.
    sigset_t all, old;
    sigfillset(&all);
    ::sigprocmask(SIG_BLOCK, &all, &old);
    ScopeGuard restoreMask([&] { ::sigprocmask(SIG_SETMASK, &old, nullptr); });
    if (!o.detach && !o.noSubreaper) ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);

    // runc's foreground terminal: without a console socket, berth takes the pty master itself.
    UniqueFd ourEnd, theirEnd;
    if (!o.detach && o.create.consoleSocket.empty() && bundleWantsTerminal(o.create.bundle)) {
        int sv[2];
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
            return Error::fromErrno("socketpair for the terminal");
        ourEnd.reset(sv[0]);
        theirEnd.reset(sv[1]);
    }
    // The pty gets our terminal's size before the process starts (it may run at once).
    std::optional<spec::ConsoleSize> size;
    struct winsize ws;
    if (ourEnd && ::ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col)
        size = spec::ConsoleSize{ws.ws_row, ws.ws_col};
    ASSIGN_OR_RETURN(Created c, createContainer(g, o.create, /*withFifo=*/false, theirEnd.get(), size));
    theirEnd.reset();
    UniqueFd master;
    if (ourEnd) {
        auto m = process::recvFd(ourEnd.get());
        if (!m) {
            (void)destroyContainer(store0(g), c.st);
            return std::move(m).error().context("receive the container's pty");
        }
        master = std::move(*m);
    }
    state::Store store(g.root);
    if (!c.spec.hooks.poststart.empty())
        hooks::runAllLogging(c.spec.hooks.poststart, hookStateJson(c.st, "running", c.st.pid),
                             "poststart");
    if (o.detach) return 0;

    sigset_t forward;
    sigfillset(&forward);
    int code;
    if (master) {
        auto r = relayTerminal(master.get(), c.st.pid, forward);
        code = r ? *r : waitForInit(c.st.pid, forward);
    } else {
        code = waitForInit(c.st.pid, forward);
    }
    log::debug("container ", c.st.id, " exited with ", code);
    if (!o.keep) {
        // Someone may have deleted (and even re-created) the container meanwhile: destroy only
        // what is still this container.
        auto lock = store.lock(c.st.id);
        auto now = lock ? store.load(c.st.id) : Result<state::ContainerState>(lock.error());
        if (now && now->pid == c.st.pid && now->created == c.st.created) {
            Status st = destroyContainer(store, c.st);
            if (!st) log::warn(st.error().what());
        }
    } else if (auto cg = cgroups::loadManager(c.st.cgroupPaths)) {
        // --keep leaves the record; nothing of the container may keep running.
        for (pid_t p : (*cg)->pids().ok() ? *(*cg)->pids() : std::vector<pid_t>{}) ::kill(p, SIGKILL);
    }
    return code;
}

}  // namespace berth::runtime
