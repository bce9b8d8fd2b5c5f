// runtime/launch/launch: creating a container's init — the parent side clones it into its
// namespaces, writes id maps, joins the cgroup and runs runtime hooks; the child side
// (init_child.cpp) builds the rootfs, applies the process's attributes and waits on the exec
// fifo until `start`.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include "cgroups/manager.hpp"
#include "common/error.hpp"
#include "common/unique_fd.hpp"
#include "namespaces/mount.hpp"
#include "namespaces/namespaces.hpp"
#include "runtime/launch/launch_plan.hpp"
#include "runtime/security/security.hpp"
#include "runtime/spec/spec.hpp"

namespace berth::runtime::launch {

struct LaunchConfig {
    const spec::Spec* spec = nullptr;
    namespaces::RootfsConfig rootfs;
    std::string fifoPath;       // exec fifo; empty: start immediately (run)
    std::string consoleSocket;  // --console-socket
    int consoleFd = -1;         // or an already connected socket (foreground run -t), not owned
    int preserveFds = 0;
    cgroups::Manager* cgroup = nullptr;
    // The state JSON hooks get on stdin, for the given init pid and status.
    std::function<std::string(pid_t, const char* status)> stateJson;
    // Called right after the clone, before any further set-up, so a crash leaves a record of
    // the pid for `delete --force`.
    std::function<Status(pid_t)> onCloned;
    // Non-empty: the init gets a new session keyring named for this container id (runc's
    // default); empty: it keeps the caller's (--no-new-keyring).
    std::string keyringId;
};

struct Launched {
    pid_t pid = 0;
    uint64_t startTime = 0;
    UniqueFd pidfd;
};

// Everything the child needs, computed and opened by the parent before the clone (the child
// must not fail on things the parent could have checked).
struct ChildPlan {
    const spec::Spec* spec = nullptr;
    const namespaces::RootfsConfig* rootfs = nullptr;
    LaunchPlan launch;  // namespaces, id maps and sync steps (launch_plan.hpp)
    std::vector<std::pair<const namespaces::Kind*, int>> joins;  // launch.joins, opened
    bool hasRuntimeHooks = false;
    int syncFd = -1;
    int fifoFd = -1;     // O_PATH of the exec fifo, -1 for run
    int consoleFd = -1;
    int preserveFds = 0;
    size_t detachedMounts = 0;  // MountFds to receive before Go (namespaces/detached_mount.hpp)
    security::SeccompFilter* seccomp = nullptr;
    std::optional<unsigned long> personality;
    std::string keyringId;               // LaunchConfig::keyringId
    bool keyringUserNamespace = false;   // the container has a user namespace of its own
};

// Parent side. Returns when the init is set up and about to wait on the exec fifo (without a
// fifo, for run: once it has exec'd).
Result<Launched> launchInit(LaunchConfig& cfg);

// Child side; never returns.
[[noreturn]] void initChildMain(const ChildPlan& plan);

// Raw clone3 (fork-like, no CLONE_VM); returns 0 in the child, which is not dumpable unless
// keepDumpable (see LaunchPlan::dumpableUntilGo).
Result<pid_t> cloneProcess(uint64_t flags, int* pidfd, bool keepDumpable = false);

}  // namespace berth::runtime::launch
