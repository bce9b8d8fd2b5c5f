// vps/console: a VPS's /dev/console — a pty whose master a per-VPS holder process keeps
// (vps/console_holder), started with the VPS and gone with it; and the client side of
// `berth vps console` (replay of the console log, then live, Ctrl-] detaches).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/unique_fd.hpp"
#include "vps/console_holder.hpp"
#include "vps/host_setup.hpp"

namespace berth::vps {

// The host step: prepare() makes the init's stdio a pty (process.terminal) and opens the
// socket the runtime sends the master to; started() hands the master, the attach socket and
// the init's pidfd to the holder runUnderHolder made; stopped() lets the holder finish, kills one that lingers, and removes
// its socket and pid file. The console log stays (until the next start or destroy).
std::unique_ptr<HostStep> makeConsoleStep();

// The socket path runtime::CreateOptions::consoleSocket needs for a VPS whose console step
// prepared one in this process ("" otherwise).
std::string consoleMasterSocket(const DataLayout& d);

// Runs `fn` (the runtime's create and start of the VPS's init) in a child of the VPS's
// holder-to-be, a subreaper in its own session, so the init becomes the holder's child and the
// holder learns how it ended; the console step's started() then hands the holder its fds. When
// the init ends, the holder runs `onInitExit` + {PID, how} (berth ... vps init-exited NAME:
// clean up, and start again after a reboot inside). fn's error comes back as its message.
Status runUnderHolder(const DataLayout& d, const std::vector<std::string>& onInitExit,
                      const std::function<Status()>& fn);

// The holder binary: berth-console next to this executable, else this executable itself
// (berth runs consoleHolderMain when called as berth-console).
std::string consoleHolderPath();

}  // namespace berth::vps
