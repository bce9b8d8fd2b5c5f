#include "runtime/foreground.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <string>

#include "common/fd_passing.hpp"
#include "runtime/process/terminal.hpp"

namespace berth::runtime {
namespace {

// Copy what the pty has to stdout. False once the pty is closed (EIO when the slave is gone).
bool drainMaster(int master) {
    char buf[16384];
    for (;;) {
        ssize_t n = ::read(master, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) return true;
        if (n <= 0) return false;
        for (ssize_t off = 0; off < n;) {
            ssize_t w = ::write(STDOUT_FILENO, buf + off, static_cast<size_t>(n - off));
            if (w < 0) {
                if (errno == EINTR) continue;
                return false;
            }
            off += w;
        }
    }
}

void copyWindowSize(int master) {
    struct winsize ws;
    if (::ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0) ::ioctl(master, TIOCSWINSZ, &ws);
}

// What our terminal holds before it goes raw, read while it is still canonical: whole lines into
// `pending`, and false for an EOF typed at a line's start (script(1) writes one when its own
// stdin ends). Read raw, the kernel hands such an EOF over as a NUL byte, which the process's pty
// echoed as a leading "^@" (runc does the same; the VM path, slower to start the process, showed
// it on nearly every run).
bool takeCanonicalInput(std::string& pending) {
    struct termios t;
    if (!::isatty(STDIN_FILENO) || ::tcgetattr(STDIN_FILENO, &t) != 0 || !(t.c_lflag & ICANON)) return true;
    for (;;) {
        struct pollfd p = {STDIN_FILENO, POLLIN, 0};  // canonical: readable once a line (or EOF) is whole
        if (::poll(&p, 1, 0) <= 0 || !(p.revents & POLLIN)) return true;
        char buf[4096];
        ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
        if (n == 0) return false;
        if (n < 0) return errno == EINTR || errno == EAGAIN;
        pending.append(buf, static_cast<size_t>(n));
    }
}

// Our terminal in raw mode while relaying, restored on destruction.
struct RawMode {
    struct termios saved;
    bool active = false;
    explicit RawMode(bool want) {
        if (!want || !::isatty(STDIN_FILENO) || ::tcgetattr(STDIN_FILENO, &saved) != 0) return;
        struct termios t = saved;
        ::cfmakeraw(&t);
        active = ::tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0;
    }
    ~RawMode() {
        if (active) ::tcsetattr(STDIN_FILENO, TCSANOW, &saved);
    }
};

}  // namespace

int exitCodeOf(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return 255;
}

Result<int> waitForeground(pid_t pid, int master, const sigset_t& forward) {
    UniqueFd sfd(::signalfd(-1, &forward, SFD_CLOEXEC));
    if (!sfd) return Error::fromErrno("signalfd");
    bool relay = master >= 0;
    // Non-blocking master: input is buffered and written when the pty has room, so a process
    // that does not read cannot wedge berth (and signals keep being forwarded).
    if (relay) ::fcntl(master, F_SETFL, ::fcntl(master, F_GETFL) | O_NONBLOCK);
    std::string pending;  // stdin bytes not yet accepted by the pty
    bool stdinOpen = relay && takeCanonicalInput(pending), masterOpen = relay;
    RawMode raw(relay);
    if (raw.active) copyWindowSize(master);
    constexpr size_t kMaxPending = 1 << 16;
    int code = -1;
    while (code < 0 || masterOpen) {
        short masterEvents = POLLIN | (pending.empty() ? 0 : POLLOUT);
        bool wantStdin = stdinOpen && pending.size() < kMaxPending;
        struct pollfd fds[3] = {{sfd.get(), POLLIN, 0},
                                {masterOpen ? master : -1, masterEvents, 0},
                                {wantStdin ? STDIN_FILENO : -1, POLLIN, 0}};
        // Once the process is gone, drain what the pty still holds, then stop.
        int r = ::poll(fds, 3, code < 0 ? -1 : 50);
        if (r < 0 && errno != EINTR) return Error::fromErrno("poll");
        if (r == 0) break;
        if (r < 0) continue;
        if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) masterOpen = drainMaster(master);
        if ((fds[1].revents & POLLOUT) && !pending.empty()) {
            ssize_t w = ::write(master, pending.data(), pending.size());
            if (w > 0) pending.erase(0, static_cast<size_t>(w));
            else if (w < 0 && errno != EAGAIN && errno != EINTR) pending.clear();
        }
        if (fds[2].revents & (POLLIN | POLLHUP | POLLERR)) {
            char buf[16384];
            ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
            if (n > 0) pending.append(buf, static_cast<size_t>(n));
            else if (n == 0 || (errno != EINTR && errno != EAGAIN)) stdinOpen = false;
        }
        if (!(fds[0].revents & POLLIN)) continue;
        struct signalfd_siginfo si;
        if (::read(sfd.get(), &si, sizeof si) != sizeof si) continue;
        int sig = static_cast<int>(si.ssi_signo);
        if (sig == SIGWINCH) {
            if (relay) copyWindowSize(master);
            else ::kill(pid, sig);
        } else if (sig == SIGCHLD) {
            int status;
            pid_t p;
            while ((p = ::waitpid(-1, &status, WNOHANG)) > 0)
                if (p == pid) code = exitCodeOf(status);
        } else {
            ::kill(pid, sig);
        }
    }
    if (code < 0) {
        int status = 0;
        ::waitpid(pid, &status, 0);
        code = exitCodeOf(status);
    }
    return code;
}

Result<RelaySocket> openRelaySocket() {
    RelaySocket r;
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return Error::fromErrno("socketpair for the terminal");
    r.ours.reset(sv[0]);
    r.theirs.reset(sv[1]);
    struct winsize ws;
    if (::ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col)
        r.size = spec::ConsoleSize{ws.ws_row, ws.ws_col};
    return r;
}

Result<UniqueFd> receiveMaster(RelaySocket& r) {
    r.theirs.reset();  // the child holds its own copy; EOF instead of a hang if it died
    auto m = recvFd(r.ours.get());
    if (!m) return std::move(m).error().context("receive the pty master");
    return m;
}

}  // namespace berth::runtime
