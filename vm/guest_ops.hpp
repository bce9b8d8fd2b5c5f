// vm/guest_ops: the host side of ps, update and events for a container in a VM — each asks the
// guest agent through the shim (askAgent) about the container's cgroup in the guest.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/handler.hpp"

namespace berth::vm {

// The guest's processes of the container in `ps -ef`'s format, pids as its PID namespace has them.
Result<std::optional<runtime::OwnProcessTable>> guestProcessTable(const runtime::HandledContainer& c,
                                                                  const std::vector<std::string>& psArgs);
// linux.resources → the container's cgroup in the guest (memory.max, cpu.max, cpu.weight,
// cpuset, pids.max); a memory limit above what the VM's RAM was sized for is refused.
Status updateGuest(const runtime::HandledContainer& c, const nlohmann::json& resources);
// Stats of the guest's cgroup; OOM kills found by polling its oom_kill count.
Result<std::unique_ptr<runtime::Monitor>> guestMonitor(const runtime::HandledContainer& c);

}  // namespace berth::vm
