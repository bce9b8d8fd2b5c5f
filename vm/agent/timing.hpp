// vm/agent/timing: the guest's side of the start-time breakdown — marks kept in memory (a clock
// read each, always), printed on the console at power-off only with berth.timing=1.
#pragma once

namespace berth::vm::agent::timing {

// Records the guest's CLOCK_BOOTTIME and TSC under `label` (a string literal); at most 64,
// the workload's child's included (a shared mapping).
void mark(const char* label);
// With berth.timing=1 on the kernel command line: one "berth-timing: LABEL µs TSC" line per mark.
void flush();

}  // namespace berth::vm::agent::timing
