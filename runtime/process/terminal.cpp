#include "runtime/process/terminal.hpp"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace berth::process {

Result<UniqueFd> connectConsoleSocket(const std::string& path) {
    UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) return Error::fromErrno("console socket: socket");
    struct sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path)
        return Error::make("console socket path ", path, " is too long");
    std::strcpy(addr.sun_path, path.c_str());
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0)
        return Error::fromErrno("connect to console socket ", path);
    return fd;
}

Status sendFd(int sock, int fd, const std::string& name) {
    struct msghdr msg{};
    char cbuf[CMSG_SPACE(sizeof(int))];
    std::memset(cbuf, 0, sizeof cbuf);
    std::string payload = name.empty() ? std::string("x") : name;
    struct iovec iov = {payload.data(), payload.size()};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf;
    msg.msg_controllen = sizeof cbuf;
    struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &fd, sizeof(int));
    if (::sendmsg(sock, &msg, MSG_NOSIGNAL) < 0) return Error::fromErrno("send fd ", fd, " (", payload, ")");
    return {};
}

Result<UniqueFd> recvFd(int sock) {
    struct msghdr msg{};
    char cbuf[CMSG_SPACE(sizeof(int))];
    char data[4096];
    struct iovec iov = {data, sizeof data};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf;
    msg.msg_controllen = sizeof cbuf;
    if (::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) < 0) return Error::fromErrno("recvmsg");
    struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
    if (!c || c->cmsg_type != SCM_RIGHTS) return Error::make("no file descriptor received");
    int fd;
    std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
    return UniqueFd(fd);
}

Result<std::string> setupTerminalInChild(int consoleSocket,
                                         const std::optional<spec::ConsoleSize>& size) {
    UniqueFd master(::open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC));
    if (!master) return Error::fromErrno("open /dev/ptmx");
    if (::unlockpt(master.get()) < 0) return Error::fromErrno("unlockpt");
    char name[128];
    if (::ptsname_r(master.get(), name, sizeof name) != 0) return Error::fromErrno("ptsname");
    // TIOCGPTPEER opens the slave through the master, immune to a swapped /dev/pts path.
    UniqueFd slave(::ioctl(master.get(), TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC));
    if (!slave) slave.reset(::open(name, O_RDWR | O_NOCTTY | O_CLOEXEC));
    if (!slave) return Error::fromErrno("open pty slave ", name);
    if (size && size->height && size->width) {
        struct winsize ws{};
        ws.ws_row = static_cast<unsigned short>(size->height);
        ws.ws_col = static_cast<unsigned short>(size->width);
        ::ioctl(slave.get(), TIOCSWINSZ, &ws);
    }
    TRY(sendFd(consoleSocket, master.get(), name));
    for (int target = 0; target <= 2; target++)
        if (::dup2(slave.get(), target) < 0) return Error::fromErrno("dup2 pty slave");
    if (::ioctl(0, TIOCSCTTY, 0) < 0) return Error::fromErrno("make the pty the controlling terminal");
    return std::string(name);
}

}  // namespace berth::process
