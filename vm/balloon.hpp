// vm/balloon: the host side of a VM's virtio-balloon — a QMP client on the socketpair end the shim
// keeps (QEMU has the other: no path, no listener), and what `update --memory` asks the shim.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "common/unique_fd.hpp"
#include "vm/wire/balloon.hpp"

namespace berth::vm {

struct ShimConfig;  // vm/shim.hpp

// At create, once the rootfs is staged (rootfsMiB of it in guest RAM; limited: the spec has a
// memory limit): the balloon of the VM —
// QEMU started with the ceiling (annotation org.berth.vm.memory-max, else the policy of
// wire::ramCeilingMiB, capped at the host's RAM), the guest ballooned down to the target.
// One line for a malformed annotation.
Status checkMemoryMax(const std::map<std::string, std::string>& annotations);  // before anything is made
Status planVmBalloon(const std::map<std::string, std::string>& annotations, bool limited, uint64_t rootfsMiB, ShimConfig& c);

// In the shim. Blocking on purpose: a move is rare and short (~0.1-1 s under TCG) and the
// guest's balloon driver needs nothing of the shim's loop meanwhile.
class QmpBalloon {
public:
    bool active() const { return fd_.get() >= 0; }
    const wire::BalloonState& state() const { return st_; }
    // Takes the channel and sends, without waiting, the capabilities handshake and the boot
    // target: QEMU keeps it and the guest's driver inflates to it as it probes.
    Status attach(UniqueFd qmp, const wire::BalloonState& st);
    // Moves the balloon and waits until the guest's driver has got it there; on a timeout or a
    // QMP error the target is set back to what it was and the error says how far it got.
    Status moveTo(uint64_t targetMiB, int timeoutMs);
    // Guest RAM as QEMU last saw it (ceiling less the balloon), bytes.
    Result<uint64_t> actualBytes(int timeoutMs);

private:
    Status send(const std::string& execute, const nlohmann::json& args = nullptr);
    Result<nlohmann::json> reply(int id, int timeoutMs);  // skips events and older replies
    Result<nlohmann::json> call(const std::string& execute, const nlohmann::json& args, int timeoutMs);

    UniqueFd fd_;
    wire::BalloonState st_;
    std::string buf_;
    int nextId_ = 1;
};

// From berth (update): the shim's balloon, or nullopt when its VM has none (a pod member's shim,
// a VM of an older berth); and a move of it to targetMiB.
Result<std::optional<wire::BalloonState>> balloonState(const std::string& stateDir);
Status moveBalloon(const std::string& stateDir, uint64_t targetMiB);
// The shim's answer to a "B" request (JSON: {} asks, {"targetMiB": N} moves).
std::string answerBalloonRequest(QmpBalloon& b, const std::string& request);

}  // namespace berth::vm
