// vm/exec_proxy: exec in a VM container with a terminal or --detach. The process runs in
// the guest, so a host process stands for it: a child that asks the shim to run it with the
// child's stdio (a raw pty with a terminal) and exits with its exit code.
#pragma once

#include <functional>

#include "common/error.hpp"
#include "runtime/handler.hpp"

namespace berth::vm {

// runInGuest runs in the forked child with its stdio set up; its exit code is the child's.
// Returns what runtime::superviseExec returns for the child.
Result<int> execThroughProxy(const runtime::ExecRequest& r, const std::function<Result<int>()>& runInGuest);

}  // namespace berth::vm
