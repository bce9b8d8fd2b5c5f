// Parent side of create: prepare and open everything, clone the init, then drive it through
// the sync protocol. A failure at any step kills the half-made init before returning.
#include "runtime/launch/launch.hpp"

#include <cerrno>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/fs.hpp"
#include "common/log.hpp"
#include "namespaces/detached_mount.hpp"
#include "runtime/hooks/hooks.hpp"
#include "runtime/process/exec_process.hpp"
#include "runtime/process/sync.hpp"
#include "runtime/process/terminal.hpp"
#include "runtime/state/state.hpp"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

namespace berth::runtime::launch {
using namespace process;  // the sync protocol, terminals and exec steps (berth_process)
namespace {

using namespaces::Kind;

// Joined pid and time namespaces, or a new time one, entered for the clone only (restored when
// fc goes away).
Status enterForChildren(const LaunchPlan& lp, namespaces::ForChildren& fc) {
    for (auto& j : lp.enterForChildren) {
        ASSIGN_OR_RETURN(UniqueFd fd, namespaces::openNamespace(j.path, *j.kind));
        TRY(fc.join(fd.get(), *j.kind));
    }
    if (lp.newTimeForChildren) TRY(fc.newTime(*lp.newTimeForChildren));
    return {};
}

struct Prepared {
    ChildPlan plan;
    std::vector<UniqueFd> joinFds;
    UniqueFd parentSock, childSock, fifo, console;
    security::SeccompFilter seccomp;
    std::vector<namespaces::DetachedSource> detached;  // bind sources the parent opens
};

// The child's setns targets, opened by the parent so a bad path fails before the clone.
Status openJoins(Prepared& pr) {
    for (auto& j : pr.plan.launch.joins) {
        ASSIGN_OR_RETURN(UniqueFd fd, namespaces::openNamespace(j.path, *j.kind));
        pr.plan.joins.push_back({j.kind, fd.get()});
        pr.joinFds.push_back(std::move(fd));
    }
    return {};
}

Status prepare(LaunchConfig& cfg, Prepared& pr) {
    const spec::Spec& s = *cfg.spec;
    pr.plan.spec = cfg.spec;
    pr.plan.rootfs = &cfg.rootfs;
    pr.plan.preserveFds = cfg.preserveFds;
    pr.plan.keyringId = cfg.keyringId;
    pr.plan.keyringUserNamespace = s.linux && s.linux->findNamespace("user") != nullptr;
    cfg.rootfs.unprivileged = ::geteuid() != 0;
    // Checked before the clone, so a bad idmap leaves nothing behind.
    ASSIGN_OR_RETURN(pr.detached, namespaces::planDetachedSources(cfg.rootfs));
    pr.plan.detachedMounts = pr.detached.size();
    HostFacts host{::geteuid(), ::getegid(), pr.detached.size()};
    ASSIGN_OR_RETURN(pr.plan.launch, planLaunch(s, host));
    TRY(openJoins(pr));
    ASSIGN_OR_RETURN(pr.plan.personality, security::personalityFor(s.linux->personality));
    const spec::Hooks& h = s.hooks;
    pr.plan.hasRuntimeHooks = !h.prestart.empty() || !h.createRuntime.empty() ||
                              !h.createContainer.empty() || !h.startContainer.empty();
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return Error::fromErrno("socketpair");
    pr.parentSock.reset(sv[0]);
    pr.childSock.reset(sv[1]);
    pr.plan.syncFd = sv[1];
    if (!cfg.fifoPath.empty()) {
        pr.fifo.reset(::open(cfg.fifoPath.c_str(), O_PATH | O_CLOEXEC));
        if (!pr.fifo) return Error::fromErrno("open exec fifo ", cfg.fifoPath);
        pr.plan.fifoFd = pr.fifo.get();
    }
    if (s.process->terminal) {
        if (cfg.consoleFd >= 0) {
            pr.plan.consoleFd = cfg.consoleFd;
        } else {
            if (cfg.consoleSocket.empty())
                return Error::make("process.terminal is true but no --console-socket was given");
            ASSIGN_OR_RETURN(pr.console, connectConsoleSocket(cfg.consoleSocket));
            pr.plan.consoleFd = pr.console.get();
        }
    }
    ASSIGN_OR_RETURN(pr.seccomp, security::SeccompFilter::compile(s.linux->seccomp));
    pr.plan.seccomp = pr.seccomp.empty() ? nullptr : &pr.seccomp;
    return {};
}

// Bind sources opened with host root's rights in the init's fresh mount namespace, for it to
// move into its rootfs (runc 1.1's mount source fds; open_tree as in runc 1.2).
Status sendDetachedMounts(Prepared& pr, pid_t pid) {
    ASSIGN_OR_RETURN(auto trees, namespaces::openDetachedSourcesFromParent(pr.detached, pid));
    std::vector<int> fds;
    for (auto& t : trees) fds.push_back(t.get());
    return sendFdsMsg(pr.parentSock.get(), Msg::MountFds, fds);
}

// Between the clone and the end of the child's set-up: what only the parent can do, then the
// hook round-trip, then the child's own set-up until it closes the socket (before the exec fifo;
// at its execve for run).
// The child forked the real init (ChildPlan::forkAfterUnshare): reap the child, adopt the init
// (this process is a subreaper for run; with create it goes to whoever reaps orphans, as with
// runc) and let it carry on.
Status adoptForkedInit(LaunchConfig& cfg, Prepared& pr, Launched& out, const std::string& text) {
    pid_t init = 0;
    try {
        init = static_cast<pid_t>(std::stoi(text));
    } catch (...) {
        return Error::make("sync: bad init pid from the container");
    }
    ::waitpid(out.pid, nullptr, 0);
    UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, init, 0)));
    if (!pidfd) return Error::fromErrno("pidfd_open the container's init");
    out.pid = init;
    out.pidfd = std::move(pidfd);
    out.startTime = state::processStartTime(init);  // it waits for Go: still alive
    if (cfg.onCloned) TRY(cfg.onCloned(init));
    return sendMsg(pr.parentSock.get(), Msg::Go);
}

// The parent's steps of the plan (ParentStep), in order.
Status runParentStep(ParentStep step, LaunchConfig& cfg, Prepared& pr, pid_t pid) {
    const spec::Spec& s = *cfg.spec;
    switch (step) {
    case ParentStep::RecordPid:
        return cfg.onCloned ? cfg.onCloned(pid) : Status{};
    case ParentStep::WriteIdMaps:
        return namespaces::applyIdMapWritesFromParent(pid, pr.plan.launch.idMapWrites);
    case ParentStep::SetOomScoreAdj:
        TRY_CTX(fs::writeFile(strCat("/proc/", pid, "/oom_score_adj"),
                              std::to_string(*s.process->oomScoreAdj)),
                "set oom_score_adj");
        return {};
    case ParentStep::SendMountFds:
        return sendDetachedMounts(pr, pid);
    case ParentStep::SendGo:
        return sendMsg(pr.parentSock.get(), Msg::Go);
    case ParentStep::JoinCgroup:
        return cfg.cgroup ? cfg.cgroup->addProcess(pid) : Status{};
    case ParentStep::SendCgroupJoined:
        if (!sendMsg(pr.parentSock.get(), Msg::CgroupJoined)) {
            // The child failed meanwhile and hung up: its own error says why.
            ASSIGN_OR_RETURN(Message m, recvMsg(pr.parentSock.get()));
            return Error(m.err, m.text);
        }
        return {};
    }
    return {};
}

Status driveChild(LaunchConfig& cfg, Prepared& pr, Launched& out) {
    const spec::Spec& s = *cfg.spec;
    const pid_t& pid = out.pid;
    for (ParentStep step : pr.plan.launch.parentSteps) TRY(runParentStep(step, cfg, pr, pid));
    for (;;) {
        ASSIGN_OR_RETURN(Message m, recvMsg(pr.parentSock.get()));
        if (m.type == Msg::Error) return Error(m.err, m.text);
        if (m.type == Msg::Forked) {
            TRY(adoptForkedInit(cfg, pr, out, m.text));
            continue;
        }
        if (m.type == Msg::Ready) {
            // The process's own set-up (caps, user, seccomp) follows: create fails on its error.
            return awaitSetUpEndFromParent(pr.parentSock.get(), pr.plan.seccomp, pid, [&] {
                return cfg.stateJson ? cfg.stateJson(pid, "creating") : std::string("{}");
            });
        }
        if (m.type == Msg::SeccompFd && pr.plan.seccomp) {
            TRY(forwardSeccompListenerFromParent(pr.parentSock.get(), *pr.plan.seccomp, pid,
                                                 cfg.stateJson ? cfg.stateJson(pid, "creating") : "{}"));
            continue;
        }
        if (m.type != Msg::RunHooks) return Error::make("sync: unexpected message from the container");
        std::string st = cfg.stateJson ? cfg.stateJson(pid, "creating") : "{}";
        TRY(hooks::run(s.hooks.prestart, st, "prestart"));
        TRY(hooks::run(s.hooks.createRuntime, st, "createRuntime"));
        // Two lines: the state for createContainer hooks, then for startContainer ones.
        std::string created = cfg.stateJson ? cfg.stateJson(pid, "created") : "{}";
        TRY(sendMsg(pr.parentSock.get(), Msg::HooksDone, 0, st + "\n" + created));
    }
}

}  // namespace

Result<pid_t> cloneProcess(uint64_t flags, int* pidfd, bool keepDumpable) {
    // Non-dumpable before the clone, so the child is too from its first instant: a process in
    // the container cannot open /proc/PID/exe (the berth binary on the host) of a berth child
    // that joined its pid namespace, and so cannot overwrite the runtime (CVE-2019-5736's
    // class). The execve of the container's program makes it dumpable again.
    if (::prctl(PR_SET_DUMPABLE, keepDumpable ? 1 : 0, 0, 0, 0) < 0) return Error::fromErrno("prctl PR_SET_DUMPABLE");
    struct clone_args args{};
    args.flags = flags | (pidfd ? CLONE_PIDFD : 0);
    args.pidfd = reinterpret_cast<uint64_t>(pidfd);
    args.exit_signal = SIGCHLD;
    long pid = ::syscall(SYS_clone3, &args, sizeof args);
    // clone3 answers ENOSYS under valgrind (the instruction-count profiles in bench/README.md)
    // and under seccomp profiles written before it existed; clone(2) does the same for every
    // flag that fits in its argument (not CLONE_NEWTIME, whose bit is the exit signal's there).
    if (pid < 0 && errno == ENOSYS && (args.flags & (CSIGNAL | ~0xffffffffULL)) == 0) {
        // flags, stack, parent_tid (where CLONE_PIDFD puts the pidfd), then child_tid and tls in
        // an order that differs between architectures (both unused).
        pid = ::syscall(SYS_clone, args.flags | SIGCHLD, nullptr, pidfd, nullptr, nullptr);
        if (pid < 0) return Error::fromErrno("clone");
    }
    if (pid < 0) return Error::fromErrno("clone3");
    return static_cast<pid_t>(pid);
}

Result<Launched> launchInit(LaunchConfig& cfg) {
    const spec::Spec& s = *cfg.spec;
    if (!s.process) return Error::make("config.json: process: required to create a container");
    if (!s.linux) return Error::make("config.json: linux: required on Linux");
    Prepared pr;
    TRY(prepare(cfg, pr));
    int pidfd = -1;
    pid_t pid;
    {
        namespaces::ForChildren forChildren;
        TRY(enterForChildren(pr.plan.launch, forChildren));
        ASSIGN_OR_RETURN(pid, cloneProcess(pr.plan.launch.cloneFlags, &pidfd,
                                           pr.plan.launch.dumpableUntilGo));
        if (pid == 0) {
            pr.parentSock.reset();
            initChildMain(pr.plan);
        }
    }
    Launched out;
    out.pid = pid;
    out.pidfd.reset(pidfd);
    pr.childSock.reset();
    pr.joinFds.clear();
    // Until ready, a failure must not leave the half-made init behind.
    ScopeGuard killChild([&out, pid] {
        ::kill(out.pid, SIGKILL);
        ::waitpid(out.pid, nullptr, 0);
        if (out.pid != pid) ::waitpid(pid, nullptr, WNOHANG);
    });
    // Read now, while the child cannot have exited (it waits for Go): with `run` it may have
    // exec'd and finished by the time it reports ready.
    out.startTime = state::processStartTime(pid);
    Status st = driveChild(cfg, pr, out);
    if (!st) return std::move(st).error();
    killChild.dismiss();
    return out;
}

}  // namespace berth::runtime::launch
