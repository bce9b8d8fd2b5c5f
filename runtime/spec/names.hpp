// runtime/spec/names: the kernel names a config.json may use — capabilities, rlimits,
// scheduler policies — mapped to their numbers, so the spec and security code share one table.
#pragma once

#include <optional>
#include <string_view>

namespace berth::runtime::spec {

// "CAP_SYS_ADMIN" -> 21. Exact, case-sensitive match, as runc does. nullopt when unknown.
std::optional<int> capabilityNumber(std::string_view name);
// "RLIMIT_NOFILE" -> RLIMIT_NOFILE.
std::optional<int> rlimitResource(std::string_view name);
// "SCHED_FIFO" -> SCHED_FIFO (SCHED_ISO, reserved by the kernel, -> 4).
std::optional<int> schedulerPolicy(std::string_view name);
// "SCHED_FLAG_RESET_ON_FORK" -> its sched_attr flag bit.
std::optional<unsigned> schedulerFlag(std::string_view name);
// "IOPRIO_CLASS_BE" -> 2.
std::optional<int> ioPriorityClass(std::string_view name);

}  // namespace berth::runtime::spec
