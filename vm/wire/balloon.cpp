#include "vm/wire/balloon.hpp"

#include <algorithm>

#include "common/units.hpp"
#include "vm/wire/boot_config.hpp"

namespace berth::vm::wire {

uint64_t structPagesMiB(uint64_t ramMiB) { return (ramMiB + 63) / 64; }

uint64_t ramCeilingMiB(uint64_t targetMiB, uint64_t wantedMaxMiB, uint64_t hostMiB) {
    uint64_t ceiling = wantedMaxMiB ? wantedMaxMiB : 2 * targetMiB;
    if (hostMiB) ceiling = std::min(ceiling, hostMiB);
    return std::max(ceiling, targetMiB);
}

Result<uint64_t> memoryMaxMiB(const std::string& value) {
    if (value.empty()) return uint64_t{0};
    auto bytes = units::parseBytes(value);
    if (bytes && *bytes == 0) return uint64_t{1};  // no balloon: ramCeilingMiB keeps the target
    if (!bytes || *bytes < 0)
        return Error(EINVAL, strCat("annotation ", kMemoryMaxAnnotation, "=\"", value,
                                    "\": expected a size such as 1g or 768m")).hideErrno();
    return (static_cast<uint64_t>(*bytes) + (1 << 20) - 1) >> 20;
}

BalloonState planBalloon(uint64_t memMiB, uint64_t rootfsMiB, uint64_t wantedMaxMiB, uint64_t hostMiB, bool limited) {
    BalloonState b;
    if (!limited && !wantedMaxMiB) {
        b.ceilingMiB = b.targetMiB = memMiB + kBalloonGuestSlackMiB;
        b.extraMiB = rootfsMiB + kBalloonGuestSlackMiB;
        return b;
    }
    uint64_t ceiling = ramCeilingMiB(memMiB, wantedMaxMiB, hostMiB);
    uint64_t pages = ceiling > memMiB ? structPagesMiB(ceiling - memMiB) : 0;
    if (ceiling <= memMiB + pages) return b;  // nothing to balloon: QEMU gets memMiB as before
    b.ceilingMiB = ceiling;
    b.extraMiB = rootfsMiB + pages + kBalloonGuestSlackMiB;
    // Nothing is inflated at boot: the guest's driver would take the headroom page by page
    // while the container starts (~0.25 s per 130 MiB of a TCG vCPU), for RAM the guest never
    // touches and the host therefore never gives (the container's memory.max bounds what it
    // uses; free page reporting returns what it frees). The first update moves the balloon to
    // what its limit needs (balloonTargetMiB).
    b.targetMiB = ceiling;
    return b;
}

nlohmann::json BalloonState::toJson() const {
    return {{"ceilingMiB", ceilingMiB}, {"extraMiB", extraMiB}, {"targetMiB", targetMiB}};
}

Result<BalloonState> BalloonState::fromJson(const nlohmann::json& j) {
    BalloonState b;
    try {
        b.ceilingMiB = j.at("ceilingMiB").get<uint64_t>();
        b.extraMiB = j.at("extraMiB").get<uint64_t>();
        b.targetMiB = j.at("targetMiB").get<uint64_t>();
    } catch (const std::exception& e) {
        return Error(EPROTO, strCat("the vm shim's balloon state: ", e.what())).hideErrno();
    }
    if (!b.ceilingMiB || b.targetMiB > b.ceilingMiB) return Error(EPROTO, "the vm shim's balloon state is inconsistent").hideErrno();
    return b;
}

uint64_t balloonTargetMiB(int64_t limitBytes, const BalloonState& b) {
    if (limitBytes <= 0) return b.ceilingMiB;
    uint64_t mib = (static_cast<uint64_t>(limitBytes) + (1 << 20) - 1) >> 20;
    return std::min(b.ceilingMiB, std::max(kMinGuestMiB, mib + kGuestOverheadMiB) + b.extraMiB);
}

uint64_t maxMemoryLimit(const BalloonState& b) {
    uint64_t fixed = kGuestOverheadMiB + b.extraMiB;
    return b.ceilingMiB > fixed ? (b.ceilingMiB - fixed) << 20 : 0;
}

std::optional<int64_t> memoryLimitOf(const nlohmann::json& r) {
    if (!r.is_object() || !r.contains("memory") || !r["memory"].is_object()) return std::nullopt;
    const auto& m = r["memory"];
    if (!m.contains("limit") || !m["limit"].is_number_integer()) return std::nullopt;
    return m["limit"].get<int64_t>();
}

Status updateMemory(const nlohmann::json& resources, int64_t limit, const BalloonState& b, const MemoryUpdateSteps& s) {
    if (limit > 0 && static_cast<uint64_t>(limit) > maxMemoryLimit(b))
        return Error(EINVAL, strCat("memory limit ", limit, " bytes is above the ", maxMemoryLimit(b) >> 20,
                                    " MiB this VM can grow to (its RAM ceiling, ", b.ceilingMiB, " MiB, is set at create: annotation ",
                                    kMemoryMaxAnnotation, ")")).hideErrno();
    uint64_t target = balloonTargetMiB(limit, b);
    if (target > b.targetMiB) {  // raise: the RAM first, so the guest has it when the limit allows it
        TRY_CTX(s.balloon(target), "the balloon (nothing changed)");
        auto before = s.updateGuest(resources);
        if (!before) {
            (void)s.balloon(b.targetMiB);
            return std::move(before).error();
        }
        return {};
    }
    ASSIGN_OR_RETURN(std::string before, s.updateGuest(resources));
    if (target == b.targetMiB) return {};
    if (Status st = s.balloon(target); !st) {  // lower: the balloon takes the RAM the limit no longer needs
        bool bytes = !before.empty() && before.size() < 19 && before.find_first_not_of("0123456789") == std::string::npos;
        nlohmann::json undo = {{"memory", {{"limit", bytes ? std::stoll(before) : int64_t{-1}}}}};
        (void)s.updateGuest(undo);
        return std::move(st).error().context("the balloon (the memory limit is back at ", before, ")");
    }
    return {};
}

}  // namespace berth::vm::wire
