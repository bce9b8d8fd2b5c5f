// The container init's own side of create: everything between the clone and the execve.
// It runs on a copy of the parent's memory (clone without CLONE_VM), never throws, and reports
// a failure to the parent as a serialized Error before _exit.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <linux/magic.h>

#include "common/fs.hpp"
#include "runtime/hooks/hooks.hpp"
#include "runtime/process/exec_process.hpp"
#include "runtime/launch/launch.hpp"
#include "runtime/process/sync.hpp"
#include "runtime/process/terminal.hpp"

namespace berth::runtime::launch {
using namespace process;  // the sync protocol, terminals and exec steps (berth_process)
namespace {

// New pid and time namespaces take only this process's children: fork the init into them. This
// process reports the init's pid and exits; the init goes on once the parent has adopted it.
Status forkInit(int syncFd) {
    ASSIGN_OR_RETURN(pid_t pid, cloneProcess(0, nullptr));
    if (pid > 0) _exit(sendMsg(syncFd, Msg::Forked, 0, std::to_string(pid)) ? 0 : 1);
    TRY(expectMsg(syncFd, Msg::Go));
    return {};
}

Status joinNamespaces(const ChildPlan& p) {
    for (auto& [kind, fd] : p.joins) {
        TRY(namespaces::joinNamespace(fd, *kind));
        ::close(fd);
    }
    return {};
}

Status setNames(const spec::Spec& s) {
    if (!s.hostname.empty() && ::sethostname(s.hostname.data(), s.hostname.size()) < 0)
        return Error::fromErrno("sethostname ", s.hostname);
    if (!s.domainname.empty() && ::setdomainname(s.domainname.data(), s.domainname.size()) < 0)
        return Error::fromErrno("setdomainname ", s.domainname);
    return {};
}

// One step of the plan's child side (ChildStep).
Status runChildStep(ChildStep step, const ChildPlan& p, std::vector<UniqueFd>& detached) {
    const LaunchPlan& lp = p.launch;
    switch (step) {
    case ChildStep::RecvMountFds: {
        ASSIGN_OR_RETURN(detached, recvFdsMsg(p.syncFd, Msg::MountFds, p.detachedMounts));
        return {};
    }
    case ChildStep::AwaitGo:
        TRY(expectMsg(p.syncFd, Msg::Go));
        return {};
    case ChildStep::DropDumpable:
        if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) return Error::fromErrno("prctl PR_SET_DUMPABLE");
        return {};
    case ChildStep::AwaitCgroupJoined:
        TRY(expectMsg(p.syncFd, Msg::CgroupJoined));
        return {};
    case ChildStep::JoinNamespaces:
        return joinNamespaces(p);
    case ChildStep::Unshare:
        if (::unshare(lp.unshareFlags) < 0)
            return Error::fromErrno("unshare namespaces 0x", std::hex, lp.unshareFlags);
        return {};
    case ChildStep::NewTimeNamespace:
        return namespaces::newTimeNamespaceForChildren(*lp.childNewTime);
    case ChildStep::ForkInit:
        return forkInit(p.syncFd);
    case ChildStep::BecomeRoot:
        // Act as the namespace's root for the rootfs set-up; the process user comes at exec.
        if (::setresgid(0, 0, 0) < 0) return Error::fromErrno("setresgid 0 in the user namespace");
        if (::setresuid(0, 0, 0) < 0) return Error::fromErrno("setresuid 0 in the user namespace");
        return {};
    case ChildStep::SetHostname:
        return setNames(*p.spec);
    case ChildStep::PrepareRootfs: {
        std::vector<int> fds;
        for (auto& d : detached) fds.push_back(d.get());
        return namespaces::prepareRootfsInChild(*p.rootfs, fds);
    }
    }
    return {};
}

Status writeSysctls(const spec::Spec& s) {
    if (!s.linux) return {};
    for (auto& [key, value] : s.linux->sysctl) {
        std::string path = "/proc/sys/" + key;
        for (size_t i = 10; i < path.size(); i++)
            if (path[i] == '.') path[i] = '/';
        TRY_CTX(fs::writeFileOnFs(path, value, PROC_SUPER_MAGIC, "procfs"), "sysctl ", key);
    }
    return {};
}

// The pty slave also appears as /dev/console, as runc does.
Status bindConsole(const std::string& slave) {
    int fd = ::open("/dev/console", O_CREAT | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd >= 0) ::close(fd);
    if (::mount(slave.c_str(), "/dev/console", nullptr, MS_BIND, nullptr) < 0)
        return Error::fromErrno("bind ", slave, " on /dev/console");
    return {};
}

// Everything up to "ready" (the container is built); returns the execve's arguments.
Result<ExecArgs> setUpContainer(const ChildPlan& p, std::string& stateJson) {
    std::vector<UniqueFd> detached;  // MountFds, kept open until the rootfs is set up
    for (ChildStep step : p.launch.childSteps) TRY(runChildStep(step, p, detached));
    if (!p.keyringId.empty()) TRY(security::joinNewSessionKeyring(p.keyringId, p.keyringUserNamespace));
    const spec::Spec& s = *p.spec;
    if (p.hasRuntimeHooks) {
        TRY(sendMsg(p.syncFd, Msg::RunHooks));
        ASSIGN_OR_RETURN(Message m, expectMsg(p.syncFd, Msg::HooksDone));
        auto nl = m.text.find('\n');
        std::string creating = m.text.substr(0, nl);
        stateJson = nl == std::string::npos ? creating : m.text.substr(nl + 1);
        TRY(hooks::run(s.hooks.createContainer, creating, "createContainer"));
    }
    TRY(namespaces::pivotRootInChild(*p.rootfs));
    TRY(writeSysctls(s));
    const spec::Process& proc = *s.process;
    TRY_CTX(fs::mkdirAll(proc.cwd, 0755), "create cwd");
    if (::setsid() < 0) return Error::fromErrno("setsid");
    if (proc.terminal) {
        ASSIGN_OR_RETURN(std::string slave, setupTerminalInChild(p.consoleFd, proc.consoleSize));
        ::close(p.consoleFd);
        if (p.rootfs->mountNamespace) TRY(bindConsole(slave));  // else it would be the host's mount
    }
    TRY(namespaces::finalizeRootfsInChild(*p.rootfs));
    TRY(prepareBeforeReady(proc, p.personality));
    ASSIGN_OR_RETURN(std::string exe, lookupExecutable(proc));
    // Before the user switch: HOME comes from the container's /etc/passwd.
    return execArgs(proc, std::move(exe));
}

[[noreturn]] void die(const std::string& msg) {
    std::string line = "berth: " + msg + "\n";
    ssize_t r = ::write(STDERR_FILENO, line.data(), line.size());
    (void)r;
    _exit(127);
}

// Tell `start` we are released and keep the fifo open: the execve closes it (O_CLOEXEC), so
// `start` returns once the process runs, as with runc. The fifo is reached through our O_PATH
// fd's magic link because after pivot_root its path is outside our root.
Result<int> waitForStart(int fifoFd, const std::string& link) {
    int fd = ::open(link.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return Error::fromErrno("open exec fifo");
    char zero = '0';
    if (::write(fd, &zero, 1) != 1) return Error::fromErrno("write exec fifo");
    ::close(fifoFd);
    return fd;
}

// startContainer hooks run in the container after `start`, as the process's user, under its
// seccomp filter (runtime-spec; runc does the same).
Status runStartContainerHooks(const std::vector<spec::Hook>& hooks, const std::string& stateJson) {
    if (hooks.empty()) return {};
    // The runner feeds the state through a pipe: a hook that closes its stdin must not kill us.
    ::signal(SIGPIPE, SIG_IGN);
    Status st = hooks::run(hooks, stateJson, "startContainer");
    ::signal(SIGPIPE, SIG_DFL);
    return st;
}

// A failure after the set-up (a startContainer hook, the execve) goes to whoever waits for the
// execve: `start` reads it from the exec fifo after the "0", `run` from the sync socket. Only if
// neither listens any more does it go to the container's stderr.
[[noreturn]] void failAfterSetUp(int fd, bool viaFifo, const Error& e) {
    ::signal(SIGPIPE, SIG_IGN);
    std::string text = e.what();
    bool told = viaFifo ? ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size())
                        : sendError(fd, e).ok();
    if (!told) die(text);
    _exit(127);
}

}  // namespace

void initChildMain(const ChildPlan& p) {
    std::vector<int> keep = {p.syncFd, p.fifoFd, p.consoleFd};
    for (auto& j : p.joins) keep.push_back(j.second);
    closeFdsExcept(keep, p.preserveFds);
    std::string stateJson;
    auto args = setUpContainer(p, stateJson);
    if (!args) {
        (void)sendError(p.syncFd, args.error());
        _exit(1);
    }
    if (!sendMsg(p.syncFd, Msg::Ready)) _exit(1);
    bool viaFifo = p.fifoFd >= 0;
    // Made now: after the seccomp filter as little as possible runs.
    std::string fifoLink = viaFifo ? "/proc/self/fd/" + std::to_string(p.fifoFd) : "";
    ProcessPlan plan{&*p.spec->process, p.seccomp, p.preserveFds, false, p.syncFd};
    if (Status st = finalizeProcess(plan); !st) {
        (void)sendError(p.syncFd, st.error());
        _exit(1);
    }
    // The set-up is over. With an exec fifo, closing the socket ends create; without one (run)
    // it stays open until the execve closes it, so run hears of a failure up to there.
    int reportFd = p.syncFd;
    if (viaFifo) {
        ::close(p.syncFd);
        auto fd = waitForStart(p.fifoFd, fifoLink);
        if (!fd) die(fd.error().what());
        reportFd = *fd;
    }
    Status st = runStartContainerHooks(p.spec->hooks.startContainer, stateJson);
    failAfterSetUp(reportFd, viaFifo, st ? execProcess(*args) : st.error());
}

}  // namespace berth::runtime::launch
