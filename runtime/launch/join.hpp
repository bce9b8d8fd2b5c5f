// runtime/launch/join: starting an extra process inside a running container (exec) — the
// parent opens the container's namespaces and joins its cgroup; the child enters and execs.
#pragma once

#include <functional>
#include <string>

#include "cgroups/manager.hpp"
#include "runtime/launch/launch.hpp"

namespace berth::runtime::launch {

struct JoinConfig {
    pid_t containerPid = 0;          // the init whose namespaces and root we enter
    const spec::Process* process = nullptr;
    const nlohmann::json* seccomp = nullptr;  // linux.seccomp of the container
    std::string consoleSocket;
    int consoleFd = -1;  // or an already connected socket (foreground exec -t), not owned
    int preserveFds = 0;
    cgroups::Manager* cgroup = nullptr;
    std::optional<unsigned long> personality;  // the container's linux.personality
    std::function<std::string()> stateJson;    // for a seccomp agent (SCMP_ACT_NOTIFY)
    std::string keyringId;  // non-empty: join the container's session keyring (made by create)
};

// Returns when the new process is about to execve (its set-up errors are returned here).
Result<Launched> launchInContainer(const JoinConfig& cfg);

}  // namespace berth::runtime::launch
