#include "runtime/tty_relay.hpp"

#include <poll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

namespace berth::runtime {
namespace {

bool copyOnce(int from, int to) {
    char buf[16384];
    ssize_t n = ::read(from, buf, sizeof buf);
    if (n <= 0) return false;
    for (ssize_t off = 0; off < n;) {
        ssize_t w = ::write(to, buf + off, static_cast<size_t>(n - off));
        if (w < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        off += w;
    }
    return true;
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
    bool stdinOpen = true, masterOpen = true;
    int code = -1;
    while (code < 0 || masterOpen) {
        struct pollfd fds[3] = {{sfd.get(), POLLIN, 0},
                                {masterOpen ? master : -1, POLLIN, 0},
                                {stdinOpen ? STDIN_FILENO : -1, POLLIN, 0}};
        // Once the init is gone, drain what the pty still holds, then stop.
        int r = ::poll(fds, 3, code < 0 ? -1 : 50);
        if (r < 0 && errno != EINTR) return Error::fromErrno("poll");
        if (r == 0) break;
        if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) masterOpen = copyOnce(master, STDOUT_FILENO);
        if (fds[2].revents & (POLLIN | POLLHUP | POLLERR)) stdinOpen = copyOnce(STDIN_FILENO, master);
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
