// vm/shim: the host-side monitor of one VM — a child of berth that starts the VMM, talks to
// the agent, holds the container's stdio (relaying output, input and the exit code), waits on the
// exec fifo for `start`, and takes signals for the workload on a control socket in the state dir.
#pragma once

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>

#include "common/error.hpp"
#include "runtime/spec/spec.hpp"
#include "vm/wire/balloon.hpp"
#include "vm/wire/boot_config.hpp"
#include "vm/wire/protocol.hpp"

namespace berth::vm {

struct ExecSignals;  // vm/exec_proxy.hpp

struct ShimConfig {
    wire::QemuConfig qemu;
    std::string guestConfigJson;  // the Config frame
    std::string id;               // the container's (what the agent knows it by)
    std::string stateDir;         // control socket, logs
    std::string fifoPath;         // empty: start at once
    // process.terminal: the shim's stdio becomes a pty whose master goes to consoleSocket (a
    // path, e.g. conmon's) or to consoleFd (berth's own relay); the guest gets a pty of its own.
    bool terminal = false;
    std::string consoleSocket;
    int consoleFd = -1;
    std::optional<runtime::spec::ConsoleSize> consoleSize;
    // A pod member: no VM of its own — its frames go through the shim of the sandbox whose
    // state dir this is (vm/pod.hpp), which relays them to the agent.
    std::string sandboxStateDir;
    // Host paths whose mounts stay in the shim's own mount namespace (vm/proc_view.hpp), besides
    // its state dirs: the container's rootfs and the shares' sources — `podman cp` joins that
    // namespace and copies there.
    std::vector<std::string> keepMounts;
    // Run in berth with the forked shim's pid before the shim does anything (starts its VMM):
    // joins it to the container's host cgroup, so QEMU, forked after, is accounted there too.
    // An error kills the shim and fails startShim.
    std::function<Status(pid_t)> placeShim;
    // A VM with a balloon (qemu.res.maxMemMiB = balloon.ceilingMiB): the shim keeps a QMP
    // channel to QEMU, sets the boot target and moves it for `update --memory` (vm/balloon.hpp).
    wire::BalloonState balloon;
};

struct ShimStarted {
    pid_t shim = 0;  // our child; exits with the workload's exit code
    pid_t vmm = 0;   // the VMM, the shim's child (-1 for a pod member)
};

// Fork the shim and wait until the guest has applied the config (or failed: the error carries
// the agent's or VMM's last words). On error nothing is left running.
Result<ShimStarted> startShim(const ShimConfig& c);

// Ask a running shim to pass `sig` to the workload (the control socket in stateDir).
Status signalViaShim(const std::string& stateDir, int sig);

// Run a process in the VM (guest config JSON) with our stdio; its exit code. The signals we
// get (vm/exec_proxy.hpp: forwardExecSignals) are passed on to it, SIGWINCH with a terminal as
// the new size of our stdin's.
Result<int> execViaShim(const std::string& stateDir, const std::string& processJson, const ExecSignals& signals);

// Ask the guest agent about the container: a PsRequest, StatsRequest or UpdateRequest with its
// JSON body ({"container": id, ...}); the reply's body, or the agent's one-line refusal.
Result<nlohmann::json> askAgent(const std::string& stateDir, wire::proto::Type type, const nlohmann::json& body);

inline constexpr const char* kControlSocketName = "vm.sock";
std::string controlSocketPath(const std::string& stateDir);

}  // namespace berth::vm
