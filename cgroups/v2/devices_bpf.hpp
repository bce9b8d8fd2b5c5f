// cgroups/v2/devices_bpf: device access control on cgroup2 — the linux.resources.devices rules
// as a BPF_PROG_TYPE_CGROUP_DEVICE program (pure, unit-tested) and its attachment to a cgroup.
#pragma once

#include <linux/bpf.h>

#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "cgroups/resources.hpp"
#include "common/error.hpp"

namespace berth::cgroups::v2 {

// BPF_DEVCG_ACC_* bits for an access string ("rwm").
uint32_t accessBits(const std::string& access);

// The device rules reduced the way the v1 kernel (and runc's emulator) applies them in order:
// an 'a' rule resets to allow-all or deny-all; a rule opposite to that default adds an
// exception for its exact (type, major, minor); a rule agreeing with the default takes access
// away from the exact exception only. Taking access away that a broader wildcard exception
// still grants is refused (v1 would silently keep granting it).
struct DeviceRuleSet {
    bool defaultAllow = false;
    // (type 'c'/'b', major, minor; -1 = any) -> BPF_DEVCG_ACC_* bits that differ from the default.
    std::map<std::tuple<char, int64_t, int64_t>, uint32_t> exceptions;
};
Result<DeviceRuleSet> reduceDeviceRules(const std::vector<DeviceRule>& rules);

// The filter program: R1 = struct bpf_cgroup_dev_ctx; returns 1 (allow) or 0 (deny). Uses only
// LDX W, ALU32 AND/RSH/MOV (imm and reg), JNE (imm and reg), JEQ imm and EXIT.
Result<std::vector<bpf_insn>> deviceFilterProgram(const std::vector<DeviceRule>& rules);

// Load `prog` and attach it to the cgroup directory `dir` (BPF_CGROUP_DEVICE, ALLOW_MULTI),
// then detach the programs attached there before (a later apply replaces, never stacks: with
// multiple programs every one of them must allow an access).
Status attachDeviceFilter(const std::string& dir, const std::vector<bpf_insn>& prog);

}  // namespace berth::cgroups::v2
