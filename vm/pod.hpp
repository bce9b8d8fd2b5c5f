// vm/pod: several containers in one VM (a CRI pod). Which containers are sandboxes and which
// are members of one (the CRI annotations), the host side of a member — its rootfs and bind
// sources bind-mounted under the sandbox's pod directory, which QEMU exports over 9p — and the
// sandbox shim's multiplexer of its members' frames over the one agent channel.
#pragma once

#include <poll.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/unique_fd.hpp"
#include "runtime/spec/spec.hpp"
#include "runtime/state/state.hpp"
#include "vm/wire/protocol.hpp"
#include "vm/wire/shares.hpp"

namespace berth::vm {

enum class PodRole { None, Sandbox, Member };
struct PodInfo {
    PodRole role = PodRole::None;
    std::string sandboxId;  // a member's sandbox
};
// containerd's io.kubernetes.cri.container-type / sandbox-id, CRI-O's
// io.kubernetes.cri-o.ContainerType / SandboxID. A member without a sandbox id is an error.
Result<PodInfo> podRoleOf(const std::map<std::string, std::string>& annotations);
// podman 4.3 annotates a pod's members as CRI-O does (ContainerType "container", SandboxID = the
// pod's infra container) but not the infra container itself. It is known by what podman gives
// it: manager "libpod", no ContainerType, and a cgroup inside the pod's cgroup
// (cgroupfs "<parent>/<64-hex pod id>/libpod-<id>", systemd "machine-libpod_pod_<pod id>.slice:libpod:<id>").
bool isPodmanInfra(const std::map<std::string, std::string>& annotations, const std::string& cgroupsPath);
// podRoleOf, with podman's infra container a sandbox.
Result<PodInfo> podRoleOfSpec(const runtime::spec::Spec& spec);

// What a pod's VM is sized by: the sandbox spec's linux.resources, with the pod's own sizing
// where containerd's CRI gives it — io.kubernetes.cri.sandbox-memory (bytes) and
// sandbox-cpu-quota / sandbox-cpu-period, from the PodSandboxConfig's linux.resources the
// kubelet fills with the sum of its containers' limits (Kata sizes its pod VM by the same
// annotations). 0 or absent: the spec's value stays. One error line naming a malformed one.
Result<nlohmann::json> podVmSizing(const std::map<std::string, std::string>& annotations, const nlohmann::json& resources);

inline constexpr const char* kPodTag = "pod";  // the 9p tag; the guest mounts it at /run/berth/pod
std::string podDir(const std::string& sandboxStateDir);
// The share a sandbox VM exports: <state dir>/pod, writable.
wire::Share podShare(const std::string& sandboxStateDir);

// The state dir of the sandbox `member` joins, checked: it exists, runs in a VM of this
// handler as a pod sandbox, and is running. Errors are one line naming both containers.
Result<std::string> sandboxStateDirFor(const std::string& memberStateDir, const std::string& memberId,
                                       const std::string& sandboxId, const char* handlerName);

// The member's rootfs at <pod>/<id>/rootfs and each share's directory at <pod>/<id>/<tag>
// (bind mounts on the host). On error nothing is left.
Status stageMember(const std::string& sandboxStateDir, const std::string& id, const std::string& rootfs,
                   const std::vector<wire::Share>& shares);
// Undo stageMember (lazy unmounts; directories removed only once empty). Idempotent.
void unstageMember(const std::string& sandboxStateDir, const std::string& id);
// Every member's mounts, then the pod directory (the sandbox is deleted).
void unstagePod(const std::string& sandboxStateDir);

// A member shim's channel to its sandbox's shim: a stream socket whose other end the sandbox
// shim holds; on it, frames of the one-container protocol, as with an agent.
Result<UniqueFd> joinSandbox(const std::string& sandboxStateDir);

// In a sandbox's shim: members' channels ↔ Member frames on the agent channel.
class PodMux {
public:
    // A member's channel; it gets the Ready frame at once (the agent is up).
    void add(UniqueFd conn);
    // A Member frame from the agent to its member's channel (queued; sent as it drains).
    void fromAgent(const wire::proto::Frame& f);
    void pollFds(std::vector<struct pollfd>& fds);
    // fds: what pollFds added, with revents. A channel at EOF (the member shim is gone) becomes
    // a Drop for the agent.
    void onPoll(int agentFd, const struct pollfd* fds, size_t n);

private:
    // What the agent sent a member waits in `out` until its channel takes it: a member whose
    // shim stops reading (its stdout reader stalled) must not stall the pod. Past kMaxQueued,
    // that member's output frames are dropped (its control frames never are).
    static constexpr size_t kMaxQueued = 16 << 20;
    struct Conn {
        UniqueFd fd;
        wire::proto::Decoder dec;
        std::string out;
        bool dropping = false;
    };
    void flush(Conn& c);
    std::map<int32_t, Conn> conns_;
    std::vector<int32_t> polled_;
    int32_t next_ = 1;
};

}  // namespace berth::vm
