// vm/wire/boot_failure: why a guest stopped before its agent was ready, in one line — read from
// QEMU's own messages and the guest's serial console, where the reason is a panic or agent line
// above a stack trace, not the trace's last line.
#pragma once

#include <string>

namespace berth::vm::wire {

// " [vmm.log: <QEMU's first error line>] [console.log: <the reason>]" (parts without text left
// out). The console's reason, by priority: berth-agent's last line, the kernel panic line, an
// out-of-memory or initramfs unpacking line, an oops/BUG line; else its last line that is not
// part of a register dump or stack trace.
std::string bootFailureReason(const std::string& console, const std::string& vmm);

// One console line without the kernel's "[    1.234567] " timestamp.
std::string stripTimestamp(const std::string& line);

}  // namespace berth::vm::wire
