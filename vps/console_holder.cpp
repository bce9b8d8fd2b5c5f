// vps/console_holder: the console holder's loop (see console_holder.hpp). One poll loop over
// the pty master, the attach socket, one client and the init's pidfd; fixed buffers only.
#include "vps/console_holder.hpp"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace berth::vps {
namespace {

constexpr int kMasterFd = 3, kListenFd = 4, kPidFd = 5;

struct Holder {
    int dir = -1;
    int slave = -1;
    int log = -1;
    uint64_t logSize = 0;
    int client = -1;
    char out[kConsoleMaxPacket];  // master → client, pending while the client is slow
    size_t outLen = 0;
    char in[kConsoleMaxPacket];  // client → master, pending while the console does not read
    size_t inOff = 0, inLen = 0;
    bool masterDown = false;  // every slave hung up (vhangup): read again once one is open
};

bool writeAll(int fd, const char* p, size_t n) {
    while (n > 0) {
        ssize_t w = ::write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return false;
        p += w;
        n -= static_cast<size_t>(w);
    }
    return true;
}

void openLog(Holder& h, bool truncate) {
    if (h.log >= 0) ::close(h.log);
    int flags = O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | (truncate ? O_TRUNC : 0);
    h.log = ::openat(h.dir, kConsoleLog, flags, 0600);
    struct stat st {};
    h.logSize = h.log >= 0 && ::fstat(h.log, &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

// Output goes to the log first (what a later attach replays), rotated at the cap.
void logOutput(Holder& h, const char* p, size_t n) {
    if (h.log < 0) return;
    if (writeAll(h.log, p, n)) h.logSize += n;
    if (h.logSize >= kConsoleLogCap) {
        ::renameat(h.dir, kConsoleLog, h.dir, kConsoleOldLog);
        openLog(h, true);
    }
}

void dropClient(Holder& h) {
    if (h.client >= 0) ::close(h.client);
    h.client = -1;
    h.outLen = h.inLen = h.inOff = 0;
}

// Forward what is in h.out; what the client cannot take now stays pending (the master is not
// read meanwhile: a slow client slows the console, as a serial line would).
void flushOut(Holder& h) {
    if (h.client < 0 || h.outLen == 0) {
        h.outLen = 0;
        return;
    }
    ssize_t n = ::send(h.client, h.out, h.outLen, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n >= 0)
        h.outLen = 0;
    else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
        dropClient(h);
}

// The holder keeps a slave open itself, so the master does not read EIO while no process in
// the VPS has the console open (a getty respawning); after a vhangup it opens a fresh one.
void reopenSlave(Holder& h) {
    if (h.slave >= 0) ::close(h.slave);
    h.slave = ::ioctl(kMasterFd, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
}

void readMaster(Holder& h) {
    ssize_t n = ::read(kMasterFd, h.out, sizeof h.out);
    if (n > 0) {
        logOutput(h, h.out, static_cast<size_t>(n));
        h.outLen = static_cast<size_t>(n);
        flushOut(h);
    } else if (n < 0 && errno == EIO) {
        reopenSlave(h);
        h.masterDown = true;
    }
}

void writeMaster(Holder& h) {
    ssize_t n = ::write(kMasterFd, h.in + h.inOff, h.inLen - h.inOff);
    if (n > 0)
        h.inOff += static_cast<size_t>(n);
    else if (n < 0 && errno != EAGAIN && errno != EINTR)
        h.inOff = h.inLen;  // the console is gone: drop it
    if (h.inOff >= h.inLen) h.inOff = h.inLen = 0;
}

void readClient(Holder& h) {
    char pkt[kConsoleMaxPacket + 1];
    ssize_t n = ::recv(h.client, pkt, sizeof pkt, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0) {
        dropClient(h);
        return;
    }
    if (pkt[0] == kConsoleData && n > 1) {
        std::memcpy(h.in, pkt + 1, static_cast<size_t>(n - 1));
        h.inOff = 0;
        h.inLen = static_cast<size_t>(n - 1);
        writeMaster(h);
    } else if (pkt[0] == kConsoleWinsize && static_cast<size_t>(n) == 1 + sizeof(struct winsize)) {
        struct winsize ws;
        std::memcpy(&ws, pkt + 1, sizeof ws);
        ::ioctl(kMasterFd, TIOCSWINSZ, &ws);
    }
}

off_t sizeOf(int fd) {
    struct stat st {};
    return fd >= 0 && ::fstat(fd, &st) == 0 ? st.st_size : 0;
}

// A new client: the hello with the log fds, or "busy" when one is attached.
void acceptClient(Holder& h) {
    int c = ::accept4(kListenFd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (c < 0) return;
    ConsoleHello hello;
    int fds[2] = {-1, -1};
    size_t nfds = 0;
    if (h.client >= 0) {
        hello.busy = 1;
    } else {
        fds[0] = ::openat(h.dir, kConsoleLog, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        fds[1] = ::openat(h.dir, kConsoleOldLog, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        nfds = fds[0] < 0 ? 0 : fds[1] < 0 ? 1 : 2;
        hello.logSize = fds[0] < 0 ? 0 : h.logSize;
        hello.oldLogSize = nfds == 2 ? static_cast<uint64_t>(sizeOf(fds[1])) : 0;
    }
    struct iovec iov {
        &hello, sizeof hello
    };
    alignas(struct cmsghdr) char cbuf[CMSG_SPACE(sizeof fds)];
    struct msghdr msg {};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    if (nfds > 0) {
        msg.msg_control = cbuf;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
        struct cmsghdr* cm = CMSG_FIRSTHDR(&msg);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
        std::memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
    }
    bool sent =
        ::sendmsg(c, &msg, MSG_NOSIGNAL | MSG_DONTWAIT) == static_cast<ssize_t>(sizeof hello);
    for (int fd : fds)
        if (fd >= 0) ::close(fd);
    if (hello.busy || !sent)
        ::close(c);
    else
        h.client = c;
}

// The init exited: what is still in the pty goes to the log (and client), then the files go.
void finish(Holder& h) {
    for (int i = 0; i < 64; i++) {
        ssize_t n = ::read(kMasterFd, h.out, sizeof h.out);
        if (n <= 0) break;
        logOutput(h, h.out, static_cast<size_t>(n));
        if (h.client >= 0)
            ::send(h.client, h.out, static_cast<size_t>(n), MSG_DONTWAIT | MSG_NOSIGNAL);
    }
    dropClient(h);
    ::unlinkat(h.dir, kConsoleSocket, 0);
    char buf[32] = {0};
    int pf = ::openat(h.dir, kConsolePid, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (pf >= 0) {
        ssize_t n = ::read(pf, buf, sizeof buf - 1);
        ::close(pf);
        if (n > 0 && std::strtol(buf, nullptr, 10) == ::getpid()) ::unlinkat(h.dir, kConsolePid, 0);
    }
}

// How the init ended, as kConsoleOnExitFlag's command takes it, and its pid; false when the
// holder is not its parent (the status went to someone else).
bool initEnding(char* how, size_t howSize, char* pid, size_t pidSize) {
    siginfo_t si{};
    if (::waitid(static_cast<idtype_t>(P_PIDFD), kPidFd, &si, WEXITED) < 0) return false;
    std::snprintf(pid, pidSize, "%d", si.si_pid);
    if (si.si_code == CLD_EXITED)
        std::snprintf(how, howSize, "exit:%d", si.si_status);
    else if (si.si_status == SIGHUP)
        std::snprintf(how, howSize, "reboot");
    else if (si.si_status == SIGINT)
        std::snprintf(how, howSize, "poweroff");
    else
        std::snprintf(how, howSize, "signal:%d", si.si_status);
    return true;
}

// The command after --on-exit, in a session of its own (it outlives the holder), its output
// appended to the console log.
void runOnExit(Holder& h, char** cmd, int n) {
    char how[32], pid[16];
    if (n <= 0 || !initEnding(how, sizeof how, pid, sizeof pid)) return;
    char* argv[kConsoleMaxOnExitArgs + 3];
    int k = 0;
    for (; k < n && k < static_cast<int>(kConsoleMaxOnExitArgs); k++) argv[k] = cmd[k];
    argv[k++] = pid;
    argv[k++] = how;
    argv[k] = nullptr;
    pid_t c = ::fork();
    if (c != 0) return;
    ::setsid();
    int null = ::open("/dev/null", O_RDONLY);
    int log = ::openat(h.dir, kConsoleLog, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW, 0600);
    ::dup2(null, 0);
    ::dup2(log >= 0 ? log : null, 1);
    ::dup2(log >= 0 ? log : null, 2);
    ::close_range(3, ~0U, 0);
    ::execv(argv[0], argv);
    ::_exit(127);
}

void loop(Holder& h) {
    for (;;) {
        struct pollfd p[4] = {};
        p[0] = {kPidFd, POLLIN, 0};
        p[1] = {kListenFd, POLLIN, 0};
        short m = 0;
        if (h.outLen == 0 && !h.masterDown) m |= POLLIN;
        if (h.inLen > 0) m |= POLLOUT;
        p[2] = {m ? kMasterFd : -1, m, 0};
        short c = 0;
        if (h.client >= 0 && h.inLen == 0) c |= POLLIN;
        if (h.client >= 0 && h.outLen > 0) c |= POLLOUT;
        p[3] = {c ? h.client : -1, c, 0};
        int r = ::poll(p, 4, h.masterDown ? 100 : -1);
        if (r < 0 && errno != EINTR) return;
        h.masterDown = false;
        if (p[0].revents) return;
        if (p[1].revents & POLLIN) acceptClient(h);
        if (p[2].revents & (POLLIN | POLLHUP | POLLERR)) readMaster(h);
        if (p[2].revents & POLLOUT) writeMaster(h);
        if (p[3].revents & POLLOUT) flushOut(h);
        if (h.client >= 0 && p[3].revents & (POLLIN | POLLHUP | POLLERR)) readClient(h);
    }
}

}  // namespace

int consoleHolderMain(int argc, char** argv) {
    ::prctl(PR_SET_NAME, kConsoleHolderName, 0, 0, 0);
    ::signal(SIGPIPE, SIG_IGN);
    ::signal(SIGHUP, SIG_IGN);
    if (argc < 2 || ::fcntl(kMasterFd, F_GETFD) < 0 || ::fcntl(kListenFd, F_GETFD) < 0 ||
        ::fcntl(kPidFd, F_GETFD) < 0) {
        static const char usage[] = "berth-console: started by `berth vps start`, not by hand\n";
        (void)!::write(STDERR_FILENO, usage, sizeof usage - 1);
        return 2;
    }
    static Holder h;  // bss: its buffers cost memory only once touched
    h.dir = ::open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (h.dir < 0) return 1;
    ::fcntl(kMasterFd, F_SETFL, ::fcntl(kMasterFd, F_GETFL) | O_NONBLOCK);
    reopenSlave(h);
    openLog(h, false);
    loop(h);
    finish(h);
    if (argc > 3 && std::strcmp(argv[2], kConsoleOnExitFlag) == 0) runOnExit(h, argv + 3, argc - 3);
    // Anything else reparented to us (nothing, normally) is reaped before we go.
    while (::waitpid(-1, nullptr, WNOHANG) > 0) {
    }
    return 0;
}

}  // namespace berth::vps
