// The host process that stands for an exec'd guest process. With a terminal its stdio is a raw
// pty whose master goes to --console-socket, or to berth to relay (foreground, as runc);
// detached, the child's pid is the pid-file pid conmon and containerd's shim reap once berth
// is gone.
#include "vm/exec_proxy.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <string>

#include "common/fs.hpp"
#include "common/log.hpp"
#include "common/unique_fd.hpp"
#include "runtime/process/terminal.hpp"
#include "vm/wire/protocol.hpp"

namespace berth::vm {
namespace {

// In the child: the pty as stdio. An error's text goes to the parent over syncFd.
[[noreturn]] void failInChild(int syncFd, const Error& e) {
    std::string msg = e.what();
    (void)!::write(syncFd, msg.data(), msg.size());
    ::_exit(255);
}

void setUpTerminalInChild(const runtime::ExecRequest& r, int syncFd) {
    UniqueFd sock;
    if (r.relay) {
        sock = std::move(r.relay->theirs);
    } else if (auto s = runtime::process::connectConsoleSocket(r.options->consoleSocket)) {
        sock = std::move(*s);
    } else {
        failInChild(syncFd, s.error());
    }
    if (Status t = runtime::process::setupRawTerminalInChild(sock.get(), r.process->consoleSize); !t) failInChild(syncFd, t.error());
}

std::optional<runtime::spec::ConsoleSize> stdinWindowSize() {
    struct winsize ws;
    if (::ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) < 0 || !ws.ws_row || !ws.ws_col) return std::nullopt;
    return runtime::spec::ConsoleSize{ws.ws_row, ws.ws_col};
}

}  // namespace

Result<ExecSignals> forwardExecSignals(bool terminal) {
    sigset_t set;
    sigfillset(&set);
    for (int sig : {SIGCHLD, SIGKILL, SIGSTOP, SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGSYS, SIGPIPE, SIGURG})
        sigdelset(&set, sig);
    if (::sigprocmask(SIG_BLOCK, &set, nullptr) < 0) return Error::fromErrno("block the signals to forward");
    ExecSignals s;
    s.fd.reset(::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
    if (!s.fd) return Error::fromErrno("signalfd for the exec's signals");
    s.terminal = terminal;
    if (terminal) s.size = stdinWindowSize();
    return s;
}

void relaySignals(int conn, const ExecSignals& s) {
    for (;;) {
        struct pollfd fds[2] = {{conn, POLLIN, 0}, {s.fd.get(), POLLIN, 0}};
        int r = ::poll(fds, 2, -1);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0 || fds[0].revents) return;
        struct signalfd_siginfo si;
        bool resized = false;
        while (::read(s.fd.get(), &si, sizeof si) == sizeof si) {
            int sig = static_cast<int>(si.ssi_signo);
            if (sig == SIGWINCH && s.terminal) {
                resized = true;
                continue;
            }
            std::string msg = "S" + wire::proto::intPayload(sig);
            if (::send(conn, msg.data(), msg.size(), MSG_NOSIGNAL) < 0) return;
        }
        auto size = resized ? stdinWindowSize() : std::nullopt;
        if (!size) continue;
        std::string msg = "W" + wire::proto::sizePayload(static_cast<uint16_t>(size->height), static_cast<uint16_t>(size->width));
        if (::send(conn, msg.data(), msg.size(), MSG_NOSIGNAL) < 0) return;
    }
}

Result<int> execThroughProxy(const runtime::ExecRequest& r, const std::function<Result<int>()>& runInGuest) {
    sigset_t all, old;
    sigfillset(&all);
    ::sigprocmask(SIG_BLOCK, &all, &old);
    ScopeGuard restoreMask([&] { ::sigprocmask(SIG_SETMASK, &old, nullptr); });
    // The child says when its pty master is on its way (or why not): conmon expects it to have
    // arrived at the console socket by the time `exec -d` returns.
    int sync[2];
    if (::pipe2(sync, O_CLOEXEC) < 0) return Error::fromErrno("pipe for the exec proxy");
    UniqueFd syncRd(sync[0]), syncWr(sync[1]);
    pid_t pid = ::fork();
    if (pid < 0) return Error::fromErrno("fork the exec proxy");
    if (pid == 0) {
        syncRd.reset();
        ::setsid();
        ::sigprocmask(SIG_SETMASK, &old, nullptr);
        if (r.process->terminal) setUpTerminalInChild(r, syncWr.get());
        syncWr.reset();  // EOF with nothing said: ready
        auto code = runInGuest();
        if (!code) {
            log::error(code.error().what());
            ::_exit(255);
        }
        ::_exit(*code & 0xff);
    }
    syncWr.reset();
    std::string failure = fs::readUntilEof(syncRd.get());
    if (!failure.empty()) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
        return Error::make(failure);
    }
    return runtime::superviseExec(pid, r);
}

}  // namespace berth::vm
