#include "runtime/launch/join.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroups/v2/manager.hpp"
#include "common/crash_point.hpp"
#include "common/fs.hpp"
#include "runtime/process/exec_process.hpp"
#include "runtime/process/sync.hpp"
#include "runtime/process/terminal.hpp"
#include "runtime/state/state.hpp"

namespace berth::runtime::launch {
using namespace process;  // the sync protocol, terminals and exec steps (berth_process)
namespace {

struct JoinPlan {
    const JoinConfig* cfg = nullptr;
    std::vector<std::pair<const namespaces::Kind*, int>> joins;
    int rootFd = -1;
    int syncFd = -1;
    int consoleFd = -1;
    bool userNamespace = false;
    // Rootless: an unprivileged parent may not setns into the pid (or time) namespace; the child
    // joins them after the user namespace and forks into them (as runc's nsexec).
    bool forkAfterJoin = false;
    security::SeccompFilter* seccomp = nullptr;
};

// The forked process reports its pid and exits; the forked one waits for Go (the parent's
// adoption) before carrying on.
Status forkIntoJoined(int syncFd) {
    ASSIGN_OR_RETURN(pid_t pid, cloneProcess(0, nullptr));
    if (pid > 0) _exit(sendMsg(syncFd, Msg::Forked, 0, std::to_string(pid)) ? 0 : 1);
    return expectMsg(syncFd, Msg::Go).ok() ? Status{} : Status(Error::make("sync: no adoption by the parent"));
}

// The parent's side of that: reap the forked child, pin the new process, let it go on.
Status adoptForked(int sock, Launched& out, const std::string& text) {
    pid_t pid = 0;
    try {
        pid = static_cast<pid_t>(std::stoi(text));
    } catch (...) {
        return Error::make("sync: bad pid from the exec'd process");
    }
    ::waitpid(out.pid, nullptr, 0);
    UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    if (!pidfd) return Error::fromErrno("pidfd_open the exec'd process");
    out.pid = pid;
    out.pidfd = std::move(pidfd);
    out.startTime = state::processStartTime(pid);
    return sendMsg(sock, Msg::Go);
}

Result<ExecArgs> enterContainer(const JoinPlan& p) {
    TRY(expectMsg(p.syncFd, Msg::Go));
    for (auto& [kind, fd] : p.joins) {
        TRY(namespaces::joinNamespace(fd, *kind));
        ::close(fd);
    }
    if (p.forkAfterJoin) TRY(forkIntoJoined(p.syncFd));
    if (!p.cfg->keyringId.empty()) TRY(security::joinContainerKeyring(p.cfg->keyringId));
    // Enter the container's root whatever it was made with (pivot_root or --no-pivot chroot).
    if (::fchdir(p.rootFd) < 0) return Error::fromErrno("fchdir to the container root");
    if (::chroot(".") < 0) return Error::fromErrno("chroot into the container root");
    ::close(p.rootFd);
    if (::chdir("/") < 0) return Error::fromErrno("chdir /");
    if (p.cfg->process->terminal) {
        if (::setsid() < 0) return Error::fromErrno("setsid");
        TRY(setupTerminalInChild(p.consoleFd, p.cfg->process->consoleSize));
        ::close(p.consoleFd);
    }
    TRY(prepareBeforeReady(*p.cfg->process, p.cfg->personality));
    ASSIGN_OR_RETURN(std::string exe, lookupExecutable(*p.cfg->process));
    return execArgs(*p.cfg->process, std::move(exe));
}

[[noreturn]] void joinChildMain(const JoinPlan& p) {
    std::vector<int> keep = {p.syncFd, p.rootFd, p.consoleFd};
    for (auto& j : p.joins) keep.push_back(j.second);
    closeFdsExcept(keep, p.cfg->preserveFds);
    auto args = enterContainer(p);
    if (!args) {
        (void)sendError(p.syncFd, args.error());
        _exit(1);
    }
    if (!sendMsg(p.syncFd, Msg::Ready)) _exit(1);
    // The sync socket stays open (close-on-exec): exec returns once this process has exec'd,
    // and fails with its error if any step up to the execve does.
    ProcessPlan plan{p.cfg->process, p.seccomp, p.cfg->preserveFds, true, p.syncFd};
    Status st = finalizeProcess(plan);
    Error e = st ? execProcess(*args) : st.error();
    if (!sendError(p.syncFd, e)) {
        std::string line = "berth: " + e.what() + "\n";
        ssize_t r = ::write(STDERR_FILENO, line.data(), line.size());
        (void)r;
    }
    _exit(st ? 127 : 1);
}

}  // namespace

Result<Launched> launchInContainer(const JoinConfig& cfg) {
    pid_t target = cfg.containerPid;
    JoinPlan plan;
    plan.cfg = &cfg;
    std::vector<UniqueFd> fds;
    UniqueFd pidNs, timeNs;
    bool unprivileged = ::geteuid() != 0;
    for (auto& kind : namespaces::kinds()) {
        uint64_t theirs = namespaces::namespaceInode(target, kind.procName);
        if (theirs == 0 || theirs == namespaces::namespaceInode(::getpid(), kind.procName)) continue;
        ASSIGN_OR_RETURN(UniqueFd fd, namespaces::openNamespace(
                                          strCat("/proc/", target, "/ns/", kind.procName), kind));
        std::string name = kind.specName;
        if (unprivileged && (name == "pid" || name == "time")) plan.forkAfterJoin = true;
        if (name == "pid" && !unprivileged) pidNs = std::move(fd);
        else if (name == "time" && !unprivileged) timeNs = std::move(fd);
        else {
            plan.joins.push_back({&kind, fd.get()});
            fds.push_back(std::move(fd));
        }
        if (name == "user") plan.userNamespace = true;
    }
    UniqueFd root(::open(strCat("/proc/", target, "/root").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!root) return Error::fromErrno("open the container's root");
    plan.rootFd = root.get();
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) return Error::fromErrno("socketpair");
    UniqueFd parentSock(sv[0]), childSock(sv[1]);
    plan.syncFd = sv[1];
    UniqueFd console;
    if (cfg.process->terminal && cfg.consoleFd >= 0) {
        plan.consoleFd = cfg.consoleFd;
    } else if (cfg.process->terminal) {
        if (cfg.consoleSocket.empty()) return Error::make("exec with a terminal needs --console-socket");
        ASSIGN_OR_RETURN(console, connectConsoleSocket(cfg.consoleSocket));
        plan.consoleFd = console.get();
    }
    ASSIGN_OR_RETURN(auto seccomp, security::SeccompFilter::compile(cfg.seccomp ? *cfg.seccomp : nlohmann::json()));
    plan.seccomp = seccomp.empty() ? nullptr : &seccomp;

    Result<pid_t> pid = 0;
    int pidfd = -1;
    {
        namespaces::ForChildren forChildren;  // pid and time apply to the clone only
        if (pidNs) TRY(forChildren.join(pidNs.get(), *namespaces::kindBySpecName("pid")));
        if (timeNs) TRY(forChildren.join(timeNs.get(), *namespaces::kindBySpecName("time")));
        // The forked process is reparented to us when its parent exits: exec waits for it.
        if (plan.forkAfterJoin) ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
        pid = cloneProcess(0, &pidfd);
        // The child branches off here, inside the guard's scope: its restore is the parent's
        // business (in the child it would send the process's own children out of the container).
        if (pid && *pid == 0) {
            parentSock.reset();
            joinChildMain(plan);
        }
    }
    if (!pid) return std::move(pid).error();
    Launched out;
    out.pid = *pid;
    out.pidfd.reset(pidfd);
    childSock.reset();
    ScopeGuard killChild([&out, first = *pid] {
        ::kill(out.pid, SIGKILL);
        ::waitpid(out.pid, nullptr, 0);
        if (out.pid != first) ::waitpid(first, nullptr, WNOHANG);
    });
    out.startTime = state::processStartTime(*pid);  // before Go: it cannot have exited yet
    // execCPUAffinity.initial holds until the cgroup join (a cpuset may narrow it), then the
    // child applies .final before its execve.
    if (auto& a = cfg.process->execCPUAffinity; a && !a->initial.empty())
        TRY(security::setCpuAffinity(*pid, a->initial));
    crashPoint("exec:cloned");
    if (cfg.cgroup) {
        Status joined = cfg.cgroup->addProcess(*pid);
        // cgroup2: a container cgroup that delegates controllers below itself takes no process.
        if (!joined && joined.error().err() == EBUSY && cfg.cgroup->layout().layout == cgroups::Layout::Unified)
            joined = cgroups::v2::addProcessBeside(*cfg.cgroup, cfg.containerPid, *pid);
        TRY(joined);
    }
    TRY(sendMsg(parentSock.get(), Msg::Go));
    if (plan.forkAfterJoin) {
        ASSIGN_OR_RETURN(Message m, expectMsg(parentSock.get(), Msg::Forked));
        TRY(adoptForked(parentSock.get(), out, m.text));
    }
    TRY(expectMsg(parentSock.get(), Msg::Ready));
    TRY(awaitSetUpEndFromParent(parentSock.get(), plan.seccomp, out.pid, cfg.stateJson));
    killChild.dismiss();
    return out;
}

}  // namespace berth::runtime::launch
