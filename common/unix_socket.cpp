#include "common/unix_socket.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cstring>

#include "common/error.hpp"

namespace berth {

UnixAddress unixAddressAt(int dirFd, const std::string& name) {
    UnixAddress a;
    a.addr.sun_family = AF_UNIX;
    std::string p = strCat("/proc/self/fd/", dirFd, "/", name);
    std::strncpy(a.addr.sun_path, p.c_str(), sizeof a.addr.sun_path - 1);
    a.len = sizeof a.addr;
    return a;
}

Result<UniqueFd> connectUnixAt(const std::string& dir, const std::string& name, int type) {
    std::string shown = dir + "/" + name;
    UniqueFd dirFd(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!dirFd) return Error::fromErrno("open ", dir);
    UniqueFd s(::socket(AF_UNIX, type | SOCK_CLOEXEC, 0));
    if (!s) return Error::fromErrno("socket");
    UnixAddress a = unixAddressAt(dirFd.get(), name);
    if (::connect(s.get(), reinterpret_cast<const sockaddr*>(&a.addr), a.len) < 0)
        return Error::fromErrno("connect to ", shown);
    return s;
}

}  // namespace berth
