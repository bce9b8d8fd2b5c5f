#include "runtime/process/terminal.hpp"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "common/fd_passing.hpp"

namespace berth::runtime::process {

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

namespace {

// raw: the line discipline is off before the master goes out, so nothing its holder writes at
// once is echoed or cooked here (the VM path's guest pty does that; it echoed twice).
Result<std::string> openTerminalInChild(int consoleSocket, const std::optional<spec::ConsoleSize>& size, bool raw) {
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
    if (raw) {
        struct termios t;
        if (::tcgetattr(slave.get(), &t) < 0) return Error::fromErrno("tcgetattr on the pty");
        ::cfmakeraw(&t);
        if (::tcsetattr(slave.get(), TCSANOW, &t) < 0) return Error::fromErrno("make the pty raw");
    }
    TRY(sendFds(consoleSocket, {master.get()}, name, "the pty master to the console socket"));
    for (int target = 0; target <= 2; target++)
        if (::dup2(slave.get(), target) < 0) return Error::fromErrno("dup2 pty slave");
    if (::ioctl(0, TIOCSCTTY, 0) < 0) return Error::fromErrno("make the pty the controlling terminal");
    return std::string(name);
}

}  // namespace

Result<std::string> setupTerminalInChild(int consoleSocket,
                                         const std::optional<spec::ConsoleSize>& size) {
    return openTerminalInChild(consoleSocket, size, false);
}

Status setupRawTerminalInChild(int consoleSocket, const std::optional<spec::ConsoleSize>& size) {
    TRY(openTerminalInChild(consoleSocket, size, true));
    return {};
}

}  // namespace berth::runtime::process
