// vps/console_client: `berth vps console NAME` — connect to the VPS's console holder, replay
// the console log, then relay the terminal both ways until Ctrl-], stdin's end or the VPS's.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "common/unix_socket.hpp"
#include "common/fd_passing.hpp"
#include "vps/console.hpp"
#include "vps/internal.hpp"

namespace berth::vps {
namespace {

constexpr char kDetachKey = 0x1d;  // Ctrl-]

Status writeAll(int fd, const char* p, size_t n) {
    while (n > 0) {
        ssize_t w = ::write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return Error::fromErrno("write to stdout");
        p += w;
        n -= static_cast<size_t>(w);
    }
    return {};
}

Status copyLog(int from, uint64_t size, int to) {
    char buf[16384];
    uint64_t off = 0;
    while (off < size) {
        size_t want = static_cast<size_t>(std::min<uint64_t>(sizeof buf, size - off));
        ssize_t n = ::pread(from, buf, want, static_cast<off_t>(off));
        if (n <= 0) break;  // rotated away under us: what is left is live anyway
        TRY(writeAll(to, buf, static_cast<size_t>(n)));
        off += static_cast<uint64_t>(n);
    }
    return {};
}

// Our terminal in raw mode (keys go to the VPS as typed), restored on the way out.
class RawTerminal {
  public:
    explicit RawTerminal(int fd) : fd_(fd) {
        if (!::isatty(fd) || ::tcgetattr(fd, &saved_) < 0) return;
        struct termios t = saved_;
        ::cfmakeraw(&t);
        active_ = ::tcsetattr(fd, TCSANOW, &t) == 0;
    }
    ~RawTerminal() {
        if (active_) ::tcsetattr(fd_, TCSANOW, &saved_);
    }
    RawTerminal(const RawTerminal&) = delete;
    RawTerminal& operator=(const RawTerminal&) = delete;

  private:
    int fd_;
    struct termios saved_ {};
    bool active_ = false;
};

void sendWinsize(int sock) {
    struct winsize ws {};
    if (::ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) < 0) return;
    char pkt[1 + sizeof ws];
    pkt[0] = kConsoleWinsize;
    std::memcpy(pkt + 1, &ws, sizeof ws);
    (void)::send(sock, pkt, sizeof pkt, MSG_NOSIGNAL);
}

// Keys to the console; false at Ctrl-] or the end of stdin.
Result<bool> forwardInput(int sock) {
    char pkt[kConsoleMaxPacket];
    ssize_t n = ::read(STDIN_FILENO, pkt + 1, sizeof pkt - 1);
    if (n < 0 && errno == EINTR) return true;
    if (n <= 0) return false;
    auto* stop = static_cast<char*>(std::memchr(pkt + 1, kDetachKey, static_cast<size_t>(n)));
    size_t len = stop ? static_cast<size_t>(stop - (pkt + 1)) : static_cast<size_t>(n);
    pkt[0] = kConsoleData;
    if (len > 0 && ::send(sock, pkt, len + 1, MSG_NOSIGNAL) < 0)
        return Error::fromErrno("send to the console");
    return stop == nullptr;
}

}  // namespace

Result<ConsoleAttach> openConsole(const Context& ctx, const std::string& name) {
    TRY(validateName(name));
    ConfigStore store(ctx.paths);
    ASSIGN_OR_RETURN(Config c, store.load(name));
    if (!isUp(containerState(ctx, name))) return Error::make("VPS \"", name, "\" is not running");
    std::string dir = store.dataPath(name);
    UniqueFd dirFd(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!dirFd) return Error::fromErrno("open ", dir);
    ConsoleAttach a;
    a.sock.reset(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
    if (!a.sock) return Error::fromErrno("socket");
    UnixAddress addr = unixAddressAt(dirFd.get(), kConsoleSocket);
    if (::connect(a.sock.get(), reinterpret_cast<const sockaddr*>(&addr.addr), addr.len) < 0)
        return Error::make("VPS \"", name,
                           "\" runs, but its console is gone (its console holder exited); it comes "
                           "back at the next start")
            .hideErrno();
    ConsoleHello hello;
    auto fds = recvFds(a.sock.get(), &hello, sizeof hello, 2);
    if (!fds || hello.magic != ConsoleHello::kMagic)
        return Error::make("VPS \"", name, "\": no answer from its console holder");
    if (hello.busy)
        return Error::make("the console of VPS \"", name,
                           "\" is attached elsewhere (one client at a time)");
    if (fds->size() > 0) a.log = std::move((*fds)[0]);
    if (fds->size() > 1) a.oldLog = std::move((*fds)[1]);
    a.logSize = hello.logSize;
    a.oldLogSize = hello.oldLogSize;
    return a;
}

Result<ConsoleEnd> relayConsole(ConsoleAttach& a) {
    if (a.oldLog) TRY(copyLog(a.oldLog.get(), a.oldLogSize, STDOUT_FILENO));
    if (a.log) TRY(copyLog(a.log.get(), a.logSize, STDOUT_FILENO));
    a.log.reset();
    a.oldLog.reset();
    sigset_t winch;
    sigemptyset(&winch);
    sigaddset(&winch, SIGWINCH);
    sigset_t old;
    ::sigprocmask(SIG_BLOCK, &winch, &old);
    ScopeGuard unblock([&] { ::sigprocmask(SIG_SETMASK, &old, nullptr); });
    UniqueFd sigfd(::signalfd(-1, &winch, SFD_CLOEXEC));
    RawTerminal raw(STDIN_FILENO);
    if (::isatty(STDIN_FILENO)) sendWinsize(a.sock.get());
    char buf[kConsoleMaxPacket];
    for (;;) {
        struct pollfd p[3] = {
            {STDIN_FILENO, POLLIN, 0}, {a.sock.get(), POLLIN, 0}, {sigfd.get(), POLLIN, 0}};
        if (::poll(p, sigfd ? 3 : 2, -1) < 0) {
            if (errno == EINTR) continue;
            return Error::fromErrno("poll");
        }
        if (p[1].revents) {
            ssize_t n = ::recv(a.sock.get(), buf, sizeof buf, 0);
            if (n <= 0) return ConsoleEnd::Closed;
            TRY(writeAll(STDOUT_FILENO, buf, static_cast<size_t>(n)));
        }
        if (p[0].revents) {
            ASSIGN_OR_RETURN(bool more, forwardInput(a.sock.get()));
            if (!more) return ConsoleEnd::Detached;
        }
        if (sigfd && p[2].revents) {
            struct signalfd_siginfo si;
            (void)!::read(sigfd.get(), &si, sizeof si);
            sendWinsize(a.sock.get());
        }
    }
}

}  // namespace berth::vps
