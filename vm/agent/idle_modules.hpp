// vm/agent/idle_modules: modules nothing waits for at start, loaded by a thread of the lowest
// priority, so that a TCG start pays them only with the vCPU's idle time (issue 15 part 5).
#pragma once

#include <string>

#include "common/error.hpp"

namespace berth::vm::agent {

// The modules listed in `listFile` (one name a line, under /lib/modules) loaded in that order by
// a detached SCHED_IDLE thread: the balloon driver, which nothing needs before the first
// `update --memory` — and that one waits for the guest's driver to reach its target anyway.
// The list is read here; the thread only opens and loads, and allocates nothing, so PID 1 may
// clone its workload while it runs (a clone copies no other thread, but it copies locks).
Status startIdleModuleLoad(const std::string& listFile);
// "" while loading and once loaded; else what failed, "finit_module /lib/modules/x.ko: <errno>".
std::string idleModuleLoadError();

}  // namespace berth::vm::agent
