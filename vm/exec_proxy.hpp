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

// In the process that waits for the guest process (the proxy, or berth itself): the signals it
// stands in for — all but SIGCHLD, the uncatchable and the faults — blocked and read from a
// signalfd; with a terminal, then the size of our stdin's pty (whoever holds its master may have
// set it since: containerd and conmon resize it once they have it), read after the block so no
// resize falls between the two.
struct ExecSignals {
    UniqueFd fd;
    bool terminal = false;
    std::optional<runtime::spec::ConsoleSize> size;
};
Result<ExecSignals> forwardExecSignals(bool terminal);
// Until conn is readable (the exit code) or hung up, on conn, the exec's connection to the shim:
// for SIGWINCH with a terminal, "W" + our stdin's window size (wire::proto::sizePayload); for
// any other signal, "S" + its number (4 bytes LE). The shim passes them on to the guest.
void relaySignals(int conn, const ExecSignals& s);

}  // namespace berth::vm
