// common/unix_socket: unix socket addresses for DIR/NAME whatever DIR's length. sun_path holds
// 107 bytes, and a state dir under a containerd runtime root (ROOT/k8s.io/<64-hex id>/) can be
// longer; /proc/self/fd/DIRFD/NAME names the same file in a few dozen bytes.
#pragma once

#include <sys/socket.h>
#include <sys/un.h>

#include <string>

#include "common/error.hpp"
#include "common/unique_fd.hpp"

namespace berth {

struct UnixAddress {
    struct sockaddr_un addr {};
    socklen_t len = 0;
};

// The address of NAME in the directory dirFd (an O_PATH or O_DIRECTORY fd kept open across the
// bind or connect that uses it). NAME is a plain file name.
UnixAddress unixAddressAt(int dirFd, const std::string& name);

// connect(2) a new socket of `type` to DIR/NAME. The error names DIR/NAME.
Result<UniqueFd> connectUnixAt(const std::string& dir, const std::string& name, int type);

}  // namespace berth
