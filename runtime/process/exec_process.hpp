// runtime/process/exec_process: the last steps every container process takes (init and exec
// alike): rlimits, cwd, user, capabilities, no_new_privs, seccomp, fds, signals, execve.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "runtime/security/security.hpp"
#include "runtime/spec/spec.hpp"

namespace berth::runtime::process {

struct ProcessPlan {
    const spec::Process* process = nullptr;
    security::SeccompFilter* seccomp = nullptr;  // may be empty
    int preserveFds = 0;
    bool exec = false;  // an exec'd process: execCPUAffinity.final applies (not to the init)
    // SCMP_ACT_NOTIFY: the listener goes to the parent over this sync socket as the filter is
    // loaded; -1: the filter is only loaded.
    int syncFd = -1;
};

// execve's arguments, made before the process's set-up so that as little as possible runs
// under its seccomp filter. argv/envp point into args/env (a move keeps them valid).
struct ExecArgs {
    std::string path;
    std::vector<std::string> args, env;
    std::vector<char*> argv, envp;
};
ExecArgs execArgs(const spec::Process& p, std::string exePath);

// Find args[0] like execvp does, with the container's PATH (the process env, not ours).
Result<std::string> lookupExecutable(const spec::Process& p);
// The env execve gets: process.env plus HOME from /etc/passwd when unset (as runc).
std::vector<std::string> buildEnv(const spec::Process& p);
// What can fail for reasons in the config is done before the process reports ready, so create
// and exec fail instead of the process: rlimits, personality, scheduler, I/O priority, and a
// cwd that must exist.
Status prepareBeforeReady(const spec::Process& p, std::optional<unsigned long> personality);
// Parent side of the hand-over (finalizeProcess): receive the fd and send it to the filter's
// listenerPath.
Status forwardSeccompListenerFromParent(int syncFd, const security::SeccompFilter& filter, pid_t pid,
                                        const std::string& stateJson);
// Parent side after Ready: serve a seccomp listener hand-over, fail on the child's Error, return
// at EOF (the child closed the socket: its set-up is over). An EOF before SetUpDone from a
// process killed by a signal fails with one line naming the signal (e.g. a seccomp filter that
// kills a syscall the runtime still makes after loading it: SIGSYS).
Status awaitSetUpEndFromParent(int syncFd, const security::SeccompFilter* filter, pid_t pid,
                               const std::function<std::string()>& stateJson);
// The process's own attributes, in runc's order: fds marked close-on-exec, signals reset,
// cwd, umask, AppArmor, seccomp (here when no_new_privs is off: loading needs CAP_SYS_ADMIN),
// bounding set, the pty handed to the user, user and groups, capabilities, no_new_privs,
// seccomp (here when no_new_privs is on: as late as possible). Done before the process reports
// its set-up finished, so an error fails create/exec rather than the container.
Status finalizeProcess(const ProcessPlan& plan);
// execve; returns only on failure.
Error execProcess(const ExecArgs& a);
// Both of the above.
Error finalizeAndExec(const ProcessPlan& plan, const std::string& exePath);
// Right after the clone: close every fd but `keep` and the preserved 3..3+preserve-1, so the
// child holds nothing of the runtime's (state locks, log files) while it waits.
void closeFdsExcept(std::vector<int> keep, int preserve);
// AppArmor: set the profile for the next exec. A profile on a host without AppArmor is an error.
Status applyApparmor(const std::string& profile);

}  // namespace berth::runtime::process
