// vm/exec_proxy: exec in a VM container with a terminal or --detach. The process runs in
// the guest, so a host process stands for it: a child that asks the shim to run it with the
// child's stdio (a raw pty with a terminal) and exits with its exit code.
#pragma once

#include <functional>
#include <optional>

#include "common/error.hpp"
#include "common/unique_fd.hpp"
#include "runtime/handler.hpp"

namespace berth::vm {

// runInGuest runs in the forked child with its stdio set up; its exit code is the child's.
// Returns what runtime::superviseExec returns for the child.
Result<int> execThroughProxy(const runtime::ExecRequest& r, const std::function<Result<int>()>& runInGuest);

// exec -t, in the proxy: SIGWINCH blocked with a signalfd for it, then the size of our stdin's
// terminal (whoever holds its master may have set it since: containerd and conmon resize it
// once they have it) — read after the block, so no resize falls between the two.
struct ExecTerminal {
    UniqueFd winch;
    std::optional<runtime::spec::ConsoleSize> size;
};
Result<ExecTerminal> followExecTerminal();
// Until conn is readable (the exit code) or hung up: on each SIGWINCH from winchFd, "W" + our
// stdin's window size (wire::proto::sizePayload) goes on conn, the exec's connection to the
// shim, which passes it to the guest as an ExecResize.
void relayWindowSizes(int conn, int winchFd);

}  // namespace berth::vm
