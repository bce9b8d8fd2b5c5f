// vps/console: a VPS's /dev/console — a pty whose master a per-VPS holder process keeps
// (vps/console_holder), started with the VPS and gone with it; and the client side of
// `berth vps console` (replay of the console log, then live, Ctrl-] detaches).
#pragma once

#include <memory>
#include <string>

#include "common/error.hpp"
#include "common/unique_fd.hpp"
#include "vps/console_holder.hpp"
#include "vps/host_setup.hpp"

namespace berth::vps {

// The host step: prepare() makes the init's stdio a pty (process.terminal) and opens the
// socket the runtime sends the master to; started() hands the master to a new holder (double
// forked, own session); stopped() lets the holder finish, kills one that lingers, and removes
// its socket and pid file. The console log stays (until the next start or destroy).
std::unique_ptr<HostStep> makeConsoleStep();

// The socket path runtime::CreateOptions::consoleSocket needs for a VPS whose console step
// prepared one in this process ("" otherwise).
std::string consoleMasterSocket(const DataLayout& d);

// The holder binary: berth-console next to this executable, else this executable itself
// (berth runs consoleHolderMain when called as berth-console).
std::string consoleHolderPath();

}  // namespace berth::vps
