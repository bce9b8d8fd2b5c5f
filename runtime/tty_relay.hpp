// runtime/tty_relay: `run` in the foreground with terminal: true and no --console-socket, as
// runc does it — berth receives the pty master itself and relays it to its own stdio.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include "common/error.hpp"
#include "common/unique_fd.hpp"

namespace berth::runtime {

// Copy stdin → master and master → stdout until `init` exits; our terminal is put in raw mode
// for the duration and window-size changes are passed on. Signals in `forward` (except SIGCHLD
// and SIGWINCH) go to the init. Returns the init's wait status as an exit code.
Result<int> relayTerminal(int master, pid_t init, const sigset_t& forward);

}  // namespace berth::runtime
