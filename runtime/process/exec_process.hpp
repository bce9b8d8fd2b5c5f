// runtime/process/exec_process: the last steps every container process takes (init and exec
// alike): rlimits, cwd, user, capabilities, no_new_privs, seccomp, fds, signals, execve.
#pragma once

#include <optional>
#include <string>

#include "common/error.hpp"
#include "runtime/security/security.hpp"
#include "runtime/spec/spec.hpp"

namespace berth::process {

struct ProcessPlan {
    const spec::Process* process = nullptr;
    security::SeccompFilter* seccomp = nullptr;  // may be empty
    int preserveFds = 0;
    bool exec = false;  // an exec'd process: execCPUAffinity.final applies (not to the init)
};

// Find args[0] like execvp does, with the container's PATH (the process env, not ours).
Result<std::string> lookupExecutable(const spec::Process& p);
// The env execve gets: process.env plus HOME from /etc/passwd when unset (as runc).
std::vector<std::string> buildEnv(const spec::Process& p);
// What can fail for reasons in the config is done before the process reports ready, so create
// and exec fail instead of the process: rlimits, personality, scheduler, I/O priority, and a
// cwd that must exist.
Status prepareBeforeReady(const spec::Process& p, std::optional<unsigned long> personality);
// SCMP_ACT_NOTIFY profiles: load the filter now and pass its listener fd to the parent over
// the sync socket, waiting until the parent has handed it to the agent.
Status handOverSeccompListenerFromChild(security::SeccompFilter* filter, int syncFd);
// Parent side of the above: receive the fd and send it to the filter's listenerPath.
Status forwardSeccompListenerFromParent(int syncFd, const security::SeccompFilter& filter, pid_t pid,
                                        const std::string& stateJson);
// Apply everything and execve; returns only on failure.
Error finalizeAndExec(const ProcessPlan& plan, const std::string& exePath);
// Right after the clone: close every fd but `keep` and the preserved 3..3+preserve-1, so the
// child holds nothing of the runtime's (state locks, log files) while it waits.
void closeFdsExcept(std::vector<int> keep, int preserve);
// AppArmor: set the profile for the next exec. A profile on a host without AppArmor is an error.
Status applyApparmor(const std::string& profile);

}  // namespace berth::process
