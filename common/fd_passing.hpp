// common/fd_passing: file descriptors over unix sockets (SCM_RIGHTS) — the console socket's pty
// master, a seccomp listener for its agent, a client's stdio for the VM shim — in one message
// with a payload.
#pragma once

#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/unique_fd.hpp"

namespace berth {

// One sendmsg: `payload` (non-empty) with `fds` attached. `what` names the transfer in errors.
Status sendFds(int sock, const std::vector<int>& fds, const std::string& payload, const std::string& what);
// Receive one message carrying one fd (the payload, up to 4 KiB, is discarded).
Result<UniqueFd> recvFd(int sock);
// Receive exactly `len` bytes into `buf` (a stream socket), the first of them sent by sendFds
// with up to `maxFds` fds attached; returns those fds. EOF before `len` bytes is an error.
Result<std::vector<UniqueFd>> recvFds(int sock, void* buf, size_t len, size_t maxFds);

}  // namespace berth
