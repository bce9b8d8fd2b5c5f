// runtime/foreground: berth staying with a process it started (`run`, `exec` without -d) —
// waiting for it, forwarding signals, returning its exit status, and, when berth holds the pty
// master itself (terminal without --console-socket, as runc), relaying it to berth's stdio.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <optional>

#include "common/error.hpp"
#include "common/unique_fd.hpp"
#include "runtime/spec/spec.hpp"

namespace berth::runtime {

// 128+N for a process killed by signal N, as shells and runc report it.
int exitCodeOf(int waitStatus);

// Wait for `pid` (reaping any other child, as a subreaper must), forwarding every signal of
// `forward` except SIGCHLD and SIGWINCH to it; the signals must be blocked by the caller. With
// master >= 0, also copy stdin → master and master → stdout, our terminal in raw mode and
// window-size changes passed on. Returns the exit code.
Result<int> waitForeground(pid_t pid, int master, const sigset_t& forward);

// The socketpair that stands in for --console-socket when berth relays the pty itself, and our
// terminal's size for the pty (set before the process starts: it may run at once).
struct RelaySocket {
    UniqueFd ours, theirs;
    std::optional<spec::ConsoleSize> size;
};
Result<RelaySocket> openRelaySocket();
// Receive the pty master the child sent over `theirs`.
Result<UniqueFd> receiveMaster(RelaySocket& r);

}  // namespace berth::runtime
