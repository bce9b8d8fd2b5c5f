#include "runtime/tty_relay.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <string>

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

int exitCode(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return 255;
}

}  // namespace

Result<int> relayTerminal(int master, pid_t init, const sigset_t& forward) {
    UniqueFd sfd(::signalfd(-1, &forward, SFD_CLOEXEC));
    if (!sfd) return Error::fromErrno("signalfd");
    // Non-blocking master: input is buffered and written when the pty has room, so a container
    // that does not read cannot wedge the relay (and signals keep being forwarded).
    ::fcntl(master, F_SETFL, ::fcntl(master, F_GETFL) | O_NONBLOCK);
    struct termios saved;
    bool raw = ::isatty(STDIN_FILENO) && ::tcgetattr(STDIN_FILENO, &saved) == 0;
    if (raw) {
        struct termios t = saved;
        ::cfmakeraw(&t);
        ::tcsetattr(STDIN_FILENO, TCSANOW, &t);
        copyWindowSize(master);
    }
    ScopeGuard restore([&] {
        if (raw) ::tcsetattr(STDIN_FILENO, TCSANOW, &saved);
    });
    constexpr size_t kMaxPending = 1 << 16;
    std::string pending;  // stdin bytes not yet accepted by the pty
    bool stdinOpen = true, masterOpen = true;
    int code = -1;
    while (code < 0 || masterOpen) {
        short masterEvents = POLLIN | (pending.empty() ? 0 : POLLOUT);
        bool wantStdin = stdinOpen && pending.size() < kMaxPending;
        struct pollfd fds[3] = {{sfd.get(), POLLIN, 0},
                                {masterOpen ? master : -1, masterEvents, 0},
                                {wantStdin ? STDIN_FILENO : -1, POLLIN, 0}};
        // Once the init is gone, drain what the pty still holds, then stop.
        int r = ::poll(fds, 3, code < 0 ? -1 : 50);
        if (r < 0 && errno != EINTR) return Error::fromErrno("poll");
        if (r == 0) break;
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
            copyWindowSize(master);
        } else if (sig == SIGCHLD) {
            int status;
            pid_t p;
            while ((p = ::waitpid(-1, &status, WNOHANG)) > 0)
                if (p == init) code = exitCode(status);
        } else {
            ::kill(init, sig);
        }
    }
    if (code < 0) {
        int status = 0;
        ::waitpid(init, &status, 0);
        code = exitCode(status);
    }
    return code;
}

}  // namespace berth::runtime
