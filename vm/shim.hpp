// vm/shim: the host-side monitor of one VM — a child of berth that starts the VMM, talks to
// the agent, holds the container's stdio (relaying output, input and the exit code), waits on the
// exec fifo for `start`, and takes signals for the workload on a control socket in the state dir.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "common/error.hpp"
#include "runtime/spec/spec.hpp"
#include "vm/wire/boot_config.hpp"
#include "vm/wire/protocol.hpp"

namespace berth::vm {

struct ShimConfig {
    wire::QemuConfig qemu;
    std::string guestConfigJson;  // the Config frame
    std::string stateDir;         // control socket, logs
    std::string fifoPath;         // empty: start at once
    // process.terminal: the shim's stdio becomes a pty whose master goes to consoleSocket (a
    // path, e.g. conmon's) or to consoleFd (berth's own relay); the guest gets a pty of its own.
    bool terminal = false;
    std::string consoleSocket;
    int consoleFd = -1;
    std::optional<runtime::spec::ConsoleSize> consoleSize;
};

struct ShimStarted {
    pid_t shim = 0;  // our child; exits with the workload's exit code
    pid_t vmm = 0;   // the VMM, the shim's child
};

// Fork the shim and wait until the guest has applied the config (or failed: the error carries
// the agent's or VMM's last words). On error nothing is left running.
Result<ShimStarted> startShim(const ShimConfig& c);

// Ask a running shim to pass `sig` to the workload (the control socket in stateDir).
Status signalViaShim(const std::string& stateDir, int sig);

// Run a process in the VM (guest config JSON) with our stdout/stderr; its exit code.
Result<int> execViaShim(const std::string& stateDir, const std::string& processJson);

// Ask the guest agent about the container: a PsRequest, StatsRequest or UpdateRequest with its
// JSON body ({"container": id, ...}); the reply's body, or the agent's one-line refusal.
Result<nlohmann::json> askAgent(const std::string& stateDir, wire::proto::Type type, const nlohmann::json& body);

inline constexpr const char* kControlSocketName = "vm.sock";
std::string controlSocketPath(const std::string& stateDir);

}  // namespace berth::vm
