// runtime/process/terminal: the container's pty — created inside the container's devpts, its
// master sent to --console-socket with SCM_RIGHTS (as runc), its slave made the controlling tty.
#pragma once

#include <optional>
#include <string>

#include "common/error.hpp"
#include "common/unique_fd.hpp"
#include "runtime/spec/spec.hpp"

namespace berth::runtime::process {

// Connect to the console socket (a unix stream socket path), in the runtime's namespace.
Result<UniqueFd> connectConsoleSocket(const std::string& path);
// In the child: open a pty, send the master over consoleSocket, and make the slave our
// stdin/stdout/stderr and controlling terminal. Returns the slave's path (/dev/pts/N).
Result<std::string> setupTerminalInChild(int consoleSocket, const std::optional<spec::ConsoleSize>& size);
// The same with the slave in raw mode: for a process that only carries the bytes to a terminal
// elsewhere (the VM path's host side: the guest's pty does the line discipline — echo, ^C,
// CR/LF — and this one must not do it twice).
Status setupRawTerminalInChild(int consoleSocket, const std::optional<spec::ConsoleSize>& size);

}  // namespace berth::runtime::process
