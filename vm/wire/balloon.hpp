// vm/wire/balloon: the pure decisions of the VM's memory balloon — the RAM ceiling a VM boots with
// (above what its memory limit needs), the balloon's target for a limit, and the order in which an
// `update --memory` moves the guest cgroup's limit and the balloon (data, for unit tests).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/error.hpp"

namespace berth::vm::wire {

// Annotation overriding the RAM ceiling: a size ("2g", "768m", bytes; "0": no balloon). Without
// it the ceiling of a VM whose spec has a memory limit is twice the boot RAM (an update may double
// the limit and more), never above the host's RAM (without a limit: planBalloon). Twice, not more: the guest inflates the balloon over the headroom page by page at
// boot, which under TCG costs ~0.3 s per 100 MiB (docs/vm.md), and its struct pages cost 1/64 of it.
constexpr const char* kMemoryMaxAnnotation = "org.berth.vm.memory-max";
// Added to a ballooned VM's target: kGuestOverheadMiB is less than the guest keeps for itself
// (measured: a 100 MiB limit booted with 164 MiB had MemTotal 128 MiB and 88 MiB free, so the
// container hit guest-wide memory pressure 12 MiB below its limit). With it a limit is reachable
// and an OOM kill is the cgroup's, at the limit, as natively. RAM the guest never touches costs
// the host nothing (it stays unmapped in QEMU; free page reporting hands back what is freed).
constexpr uint64_t kBalloonGuestSlackMiB = 32;

// The guest's struct pages (64 bytes per 4 KiB page: 1/64 of the RAM) cover the whole ceiling,
// ballooned or not; the MiB that the headroom's share takes out of the guest is added to the
// boot target so the limit keeps its kGuestOverheadMiB.
uint64_t structPagesMiB(uint64_t ramMiB);

// The ceiling for a VM whose RAM the limit needs is targetMiB: wantedMaxMiB when given (0: the
// policy), never below the target (no balloon then) and never above hostMiB (0: unknown).
uint64_t ramCeilingMiB(uint64_t targetMiB, uint64_t wantedMaxMiB, uint64_t hostMiB);
// The annotation's value in MiB (0 when absent: the policy; 1 for "0": a ceiling at the target,
// so no balloon); one line for a malformed size.
Result<uint64_t> memoryMaxMiB(const std::string& value);

// What the shim knows of its balloon: the RAM QEMU has (ceiling), the part of it that is not
// the limit's and not kGuestOverheadMiB (extraMiB: the initramfs rootfs, the headroom's struct
// pages), and the current target (guest RAM = ceiling - balloon).
struct BalloonState {
    uint64_t ceilingMiB = 0;
    uint64_t extraMiB = 0;
    uint64_t targetMiB = 0;
    nlohmann::json toJson() const;
    static Result<BalloonState> fromJson(const nlohmann::json& j);
};
// The balloon of a VM booted for memMiB of guest RAM (boot_config's resourcesFor plus rootfsMiB,
// the initramfs rootfs held in RAM): the ceiling per ramCeilingMiB, extraMiB grown by the
// headroom's struct pages and kBalloonGuestSlackMiB, and the target at the ceiling (nothing
// inflated at boot). ceilingMiB 0: no balloon (no room above the RAM).
// A spec without a memory limit (limited false) and no annotation: no headroom — the RAM as
// before plus the slack, nothing inflated at boot (what an unlimited VM would pay at every boot
// for a raise nobody sized); a lower still inflates, a raise stays under that RAM.
BalloonState planBalloon(uint64_t memMiB, uint64_t rootfsMiB, uint64_t wantedMaxMiB, uint64_t hostMiB, bool limited = true);
// The guest RAM a memory limit needs (limit ≤ 0: unlimited, the whole ceiling).
uint64_t balloonTargetMiB(int64_t limitBytes, const BalloonState& b);
// The largest memory limit the VM can grow to, in bytes.
uint64_t maxMemoryLimit(const BalloonState& b);

// update's memory.limit in linux.resources (absent: nullopt; -1 / 0: unlimited).
std::optional<int64_t> memoryLimitOf(const nlohmann::json& resources);

// An `update --memory` on a ballooned VM: raise = deflate first (the guest gets the RAM), then
// the cgroup limit; lower = the limit first (the guest reclaims inside the cgroup), then inflate.
// A balloon step that fails puts the balloon back (the shim does) and the limit as it was.
struct MemoryUpdateSteps {
    // Moves the balloon to targetMiB; an error when it did not get there (put back by then).
    std::function<Status(uint64_t targetMiB)> balloon;
    // The guest cgroup update (resources as given); returns memory.max as it was before
    // ("max" or bytes) so a failed lower can put it back.
    std::function<Result<std::string>(const nlohmann::json& resources)> updateGuest;
};
Status updateMemory(const nlohmann::json& resources, int64_t limit, const BalloonState& b, const MemoryUpdateSteps& s);

}  // namespace berth::vm::wire
