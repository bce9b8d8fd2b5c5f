#include "runtime/process/exec_process.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <linux/close_range.h>
#include <poll.h>
#include <sys/wait.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>

#include "common/fd_passing.hpp"
#include "common/fs.hpp"
#include "runtime/process/sync.hpp"
#include "runtime/process/terminal.hpp"

namespace berth::runtime::process {
namespace {

std::string envValue(const std::vector<std::string>& env, const std::string& key) {
    for (auto& e : env)
        if (e.compare(0, key.size() + 1, key + "=") == 0) return e.substr(key.size() + 1);
    return "";
}

bool isExecutableFile(const std::string& p) {
    struct stat st;
    return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111);
}

void resetSignals() {
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int s = 1; s < NSIG; s++) {
        if (s == SIGKILL || s == SIGSTOP) continue;
        ::signal(s, SIG_DFL);
    }
}

Status prepareFds(int preserve) {
    unsigned first = 3u + static_cast<unsigned>(preserve);
    if (::syscall(SYS_close_range, first, ~0u, CLOSE_RANGE_CLOEXEC) < 0)
        return Error::fromErrno("mark fds close-on-exec");
    for (int fd = 3; fd < static_cast<int>(first); fd++) {
        int flags = ::fcntl(fd, F_GETFD);
        if (flags >= 0) ::fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC);
    }
    return {};
}

// SCMP_ACT_NOTIFY with a parent to talk to: load the filter and pass its listener fd over the
// sync socket, waiting until the parent has handed it to the agent. Otherwise just load it.
Status loadSeccomp(const ProcessPlan& plan) {
    security::SeccompFilter* filter = plan.seccomp;
    if (!filter->notifies() || plan.syncFd < 0) return filter->load();
    ASSIGN_OR_RETURN(UniqueFd listener, filter->loadForNotify());
    TRY(sendMsg(plan.syncFd, Msg::SeccompFd));
    TRY(sendFds(plan.syncFd, {listener.get()}, "seccomp", "the seccomp listener to the runtime"));
    TRY(expectMsg(plan.syncFd, Msg::SeccompDone));
    return {};
}

// The pty was made by root: hand it to the process's user, as runc does (only the uid: the
// devpts gid, usually tty, stays). EINVAL (uid not mapped), EPERM (owner not mapped in our
// user namespace) and EROFS leave it as it is, as with runc.
Status chownTerminal(uid_t uid) {
    struct stat st;
    if (::fstat(STDIN_FILENO, &st) < 0) return Error::fromErrno("fstat the pty");
    if (st.st_uid == uid) return {};
    if (::fchown(STDIN_FILENO, uid, static_cast<gid_t>(-1)) < 0 && errno != EINVAL && errno != EPERM &&
        errno != EROFS)
        return Error::fromErrno("chown the pty to uid ", uid);
    return {};
}

Status applyIdentity(const ProcessPlan& plan) {
    const spec::Process& p = *plan.process;
    if (::chdir(p.cwd.c_str()) < 0) return Error::fromErrno("chdir to cwd ", p.cwd);
    ::umask(p.user.umask ? static_cast<mode_t>(*p.user.umask) : 022);
    if (plan.exec && p.execCPUAffinity && !p.execCPUAffinity->final.empty())
        TRY(security::setCpuAffinity(0, p.execCPUAffinity->final));
    TRY(applyApparmor(p.apparmorProfile));
    // Without no_new_privs, installing a filter needs CAP_SYS_ADMIN: load it before dropping caps.
    if (!p.noNewPrivileges && plan.seccomp) TRY(loadSeccomp(plan));
    // No capabilities object means no capabilities (as runc): an untouched bounding set would
    // hand every capability back at the execve of a root or setuid-root program.
    TRY(security::dropBoundingSet(p.capabilities ? p.capabilities->bounding : std::vector<std::string>{}));
    if (p.terminal) TRY(chownTerminal(p.user.uid));
    TRY(security::switchUser(p.user));
    TRY(security::applyCapabilities(p.capabilities ? *p.capabilities : spec::Capabilities{}));
    if (p.noNewPrivileges) {
        TRY(security::setNoNewPrivileges());
        if (plan.seccomp) TRY(loadSeccomp(plan));
    }
    return {};
}

}  // namespace

void closeFdsExcept(std::vector<int> keep, int preserve) {
    for (int fd = 0; fd < 3 + preserve; fd++) keep.push_back(fd);
    std::sort(keep.begin(), keep.end());
    unsigned next = 0;
    for (int fd : keep) {
        if (fd < 0) continue;
        if (static_cast<unsigned>(fd) > next) ::syscall(SYS_close_range, next, static_cast<unsigned>(fd) - 1, 0);
        next = static_cast<unsigned>(fd) + 1;
    }
    ::syscall(SYS_close_range, next, ~0u, 0);
}

Status prepareBeforeReady(const spec::Process& p, std::optional<unsigned long> personality) {
    TRY(security::applyRlimits(p.rlimits));
    // Still privileged here: RT policies and the RT I/O class need CAP_SYS_NICE/CAP_SYS_ADMIN.
    if (personality) TRY(security::applyPersonality(*personality));
    if (p.scheduler) TRY(security::applyScheduler(*p.scheduler));
    if (p.ioPriority) TRY(security::applyIoPriority(*p.ioPriority));
    struct stat st;
    if (::stat(p.cwd.c_str(), &st) < 0) return Error::fromErrno("cwd ", p.cwd);
    if (!S_ISDIR(st.st_mode)) return Error(ENOTDIR, strCat("cwd ", p.cwd, ": not a directory"));
    return {};
}

Result<std::string> lookupExecutable(const spec::Process& p) {
    const std::string& name = p.args.at(0);
    if (name.find('/') != std::string::npos) {
        std::string full = name[0] == '/' ? name : fs::joinPath(p.cwd, name);
        struct stat st;
        if (::stat(full.c_str(), &st) < 0)
            return Error::make("exec: \"", name, "\": stat ", full, ": no such file or directory");
        // podman maps "permission denied" to exit 126 and "not found" to 127, as with runc.
        if (!isExecutableFile(full))
            return Error::make("exec: \"", name, "\": permission denied");
        return full;
    }
    std::string path = envValue(p.env, "PATH");
    if (path.empty()) path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    for (auto& dir : fs::split(path, ':')) {
        std::string full = fs::joinPath(dir.empty() ? "." : dir, name);
        if (isExecutableFile(full)) return full;
    }
    return Error::make("exec: \"", name, "\": executable file not found in $PATH");
}

std::vector<std::string> buildEnv(const spec::Process& p) {
    std::vector<std::string> env = p.env;
    if (!envValue(env, "HOME").empty()) return env;
    // One read, no iostream: an ifstream's first use (its locale set-up) was 10-50 ms of a VM
    // guest's start under TCG, where every new code path is translated (bench/README.md).
    std::string home = "/";
    auto passwd = fs::readFile("/etc/passwd");
    const std::string uid = std::to_string(p.user.uid);
    for (const auto& line : passwd ? fs::split(*passwd, '\n') : std::vector<std::string>{}) {
        auto f = fs::split(line, ':');
        if (f.size() >= 6 && f[2] == uid) {
            home = f[5];
            break;
        }
    }
    env.push_back("HOME=" + home);
    return env;
}

Status applyApparmor(const std::string& profile) {
    if (profile.empty()) return {};
    auto enabled = fs::readFile("/sys/module/apparmor/parameters/enabled");
    if (!enabled || fs::trim(*enabled) != "Y")
        return Error::make("invalid configuration: apparmor profile \"", profile, "\" requested but AppArmor is not enabled on this host");
    std::string attr = fs::exists("/proc/self/attr/apparmor/exec") ? "/proc/self/attr/apparmor/exec"
                                                                    : "/proc/self/attr/exec";
    TRY_CTX(fs::writeFileOnFs(attr, "exec " + profile, PROC_SUPER_MAGIC, "procfs"), "set apparmor profile ",
            profile);
    return {};
}

Status forwardSeccompListenerFromParent(int syncFd, const security::SeccompFilter& filter, pid_t pid,
                                        const std::string& stateJson) {
    ASSIGN_OR_RETURN(UniqueFd listener, recvFd(syncFd));
    TRY(security::sendToSeccompAgent(filter, listener.get(), pid, stateJson));
    return sendMsg(syncFd, Msg::SeccompDone);
}

namespace {

// The socket hung up before SetUpDone: did the set-up kill the process? Its pidfd becomes
// readable a moment after the kernel closed its files, so wait a little for it; a process
// still alive (a profile that denies the write of SetUpDone) is left to go on.
Status checkDiedInSetUp(pid_t pid, bool filtered) {
    UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    if (pidfd) {
        struct pollfd p{pidfd.get(), POLLIN, 0};
        int r;
        while ((r = ::poll(&p, 1, 1000)) < 0 && errno == EINTR) {}
        if (r == 0) return {};
    } else if (errno != ESRCH) {
        return {};
    }
    siginfo_t info{};
    // Only a child of ours tells how it died (a forked init is a grandchild: ECHILD).
    bool known = ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
                 info.si_pid == pid;
    if (known && info.si_code == CLD_EXITED) return {};  // exited by itself after its execve
    const char* sig = known ? ::sigabbrev_np(info.si_status) : nullptr;
    return Error::make("the container process was killed", sig ? strCat(" by SIG", sig) : std::string(),
                       " during its set-up, before execve",
                       filtered ? " (the seccomp filter is loaded by then: it must allow what the runtime still "
                                  "does after loading it: prctl, capset, setgroups, setresuid/gid, write, close, "
                                  "openat, execve)"
                                : "");
}

}  // namespace

Status awaitSetUpEndFromParent(int syncFd, const security::SeccompFilter* filter, pid_t pid,
                               const std::function<std::string()>& stateJson) {
    bool done = false;
    for (;;) {
        ASSIGN_OR_RETURN(std::optional<Message> m, recvMsgOrEof(syncFd));
        if (!m) return done ? Status{} : checkDiedInSetUp(pid, filter != nullptr);
        if (m->type == Msg::Error) return Error(m->err, m->text);
        if (m->type == Msg::SetUpDone) {
            done = true;
            continue;
        }
        if (m->type != Msg::SeccompFd || !filter)
            return Error::make("sync: unexpected message from the container process");
        TRY(forwardSeccompListenerFromParent(syncFd, *filter, pid, stateJson ? stateJson() : "{}"));
    }
}

ExecArgs execArgs(const spec::Process& p, std::string exePath) {
    ExecArgs a{std::move(exePath), p.args, buildEnv(p), {}, {}};
    for (auto& s : a.args) a.argv.push_back(s.data());
    a.argv.push_back(nullptr);
    for (auto& e : a.env) a.envp.push_back(e.data());
    a.envp.push_back(nullptr);
    return a;
}

Status finalizeProcess(const ProcessPlan& plan) {
    // fds and signals first: after the filter is loaded as little as possible may run (as runc).
    TRY(prepareFds(plan.preserveFds));
    resetSignals();
    TRY(applyIdentity(plan));
    if (plan.syncFd >= 0) (void)sendMsg(plan.syncFd, Msg::SetUpDone);  // the filter may deny it
    return {};
}

Error execProcess(const ExecArgs& a) {
    ::execve(a.path.c_str(), a.argv.data(), a.envp.data());
    return Error::fromErrno("exec ", a.path);
}

Error finalizeAndExec(const ProcessPlan& plan, const std::string& exePath) {
    ExecArgs a = execArgs(*plan.process, exePath);
    Status st = finalizeProcess(plan);
    if (!st) return st.error();
    return execProcess(a);
}

}  // namespace berth::runtime::process
