// Parent side of create: prepare and open everything, clone the init, then drive it through
// the sync protocol. A failure at any step kills the half-made init before returning.
#include "runtime/process/launch.hpp"

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
#include "runtime/hooks.hpp"
#include "runtime/process/exec_process.hpp"
#include "runtime/process/sync.hpp"
#include "runtime/process/terminal.hpp"
#include "runtime/state/state.hpp"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

namespace berth::process {
namespace {

using namespaces::Kind;

bool joinsUserNamespace(const spec::Linux& lx) {
    auto* u = lx.findNamespace("user");
    return u && !u->path.empty();
}

std::map<std::string, namespaces::TimeOffset> timeOffsets(const spec::Linux& lx) {
    std::map<std::string, namespaces::TimeOffset> offs;
    for (auto& [c, o] : lx.timeOffsets) offs[c] = {o.secs, o.nanosecs};
    return offs;
}

// Namespaces the parent must enter for the clone to land in them: pid and time apply only to
// children. They are restored right after the clone. A new time namespace under a joined user
// namespace is the child's to make (it must be owned by that user namespace).
Status enterForChildren(const spec::Linux& lx, namespaces::ForChildren& fc) {
    if (auto* ns = lx.findNamespace("pid"); ns && !ns->path.empty()) {
        const Kind* k = namespaces::kindBySpecName("pid");
        ASSIGN_OR_RETURN(UniqueFd fd, namespaces::openNamespace(ns->path, *k));
        TRY(fc.join(fd.get(), *k));
    }
    if (auto* ns = lx.findNamespace("time")) {
        const Kind* k = namespaces::kindBySpecName("time");
        if (!ns->path.empty()) {
            ASSIGN_OR_RETURN(UniqueFd fd, namespaces::openNamespace(ns->path, *k));
            TRY(fc.join(fd.get(), *k));
        } else if (!joinsUserNamespace(lx)) {
            TRY(fc.newTime(timeOffsets(lx)));
        }
    }
    return {};
}

struct Prepared {
    ChildPlan plan;
    uint64_t cloneFlags = 0;
    std::vector<UniqueFd> joinFds;
    UniqueFd parentSock, childSock, fifo, console;
    security::SeccompFilter seccomp;
    std::vector<namespaces::DetachedSource> detached;  // bind sources the parent opens
};

// Decide per namespace: created by the clone, created later by unshare, or joined by setns.
Status planNamespaces(const spec::Linux& lx, Prepared& pr) {
    bool joinUser = joinsUserNamespace(lx);
    for (auto& kind : namespaces::kinds()) {
        auto* ns = lx.findNamespace(kind.specName);
        if (!ns) continue;
        std::string name = kind.specName;
        if (name == "pid" || name == "time") {
            // Joined ones were entered by the parent. A new pid one comes from the clone, or
            // under a joined user namespace from the child's unshare and fork, as a new time
            // one does there.
            if (!ns->path.empty()) continue;
            if (joinUser) {
                pr.plan.forkAfterUnshare = true;
                if (name == "pid") pr.plan.unshareFlags |= CLONE_NEWPID;
                else pr.plan.newTime = timeOffsets(lx);
            } else if (name == "pid") {
                pr.cloneFlags |= CLONE_NEWPID;
            }
            continue;
        }
        if (!ns->path.empty()) {
            ASSIGN_OR_RETURN(UniqueFd fd, namespaces::openNamespace(ns->path, kind));
            pr.plan.joins.push_back({&kind, fd.get()});
            pr.joinFds.push_back(std::move(fd));
            continue;
        }
        // The cgroup namespace must be rooted at the container's cgroup, which the parent joins
        // after the clone; with a joined user namespace, new ones must be owned by it.
        if (name == "cgroup" || joinUser) pr.plan.unshareFlags |= kind.cloneFlag;
        else pr.cloneFlags |= static_cast<uint64_t>(kind.cloneFlag);
    }
    pr.plan.userNamespace = lx.findNamespace("user") != nullptr;
    pr.plan.dumpableUntilGo = pr.plan.userNamespace && !joinUser && ::geteuid() != 0;
    return {};
}

Status prepare(LaunchConfig& cfg, Prepared& pr) {
    const spec::Spec& s = *cfg.spec;
    pr.plan.spec = cfg.spec;
    pr.plan.rootfs = &cfg.rootfs;
    pr.plan.preserveFds = cfg.preserveFds;
    TRY(planNamespaces(*s.linux, pr));
    cfg.rootfs.unprivileged = ::geteuid() != 0;
    // Checked before the clone, so a bad idmap leaves nothing behind.
    ASSIGN_OR_RETURN(pr.detached, namespaces::planDetachedSources(cfg.rootfs));
    pr.plan.detachedMounts = pr.detached.size();
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

std::vector<namespaces::IdMap> toIdMaps(const std::vector<spec::IdMapping>& m) {
    std::vector<namespaces::IdMap> out;
    for (auto& x : m) out.push_back({x.containerID, x.hostID, x.size});
    return out;
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

Status driveChild(LaunchConfig& cfg, Prepared& pr, Launched& out) {
    const spec::Spec& s = *cfg.spec;
    const pid_t& pid = out.pid;
    if (cfg.onCloned) TRY(cfg.onCloned(pid));
    auto* user = s.linux->findNamespace("user");
    if (user && user->path.empty())
        TRY(namespaces::writeIdMapsFromParent(pid, toIdMaps(s.linux->uidMappings),
                                              toIdMaps(s.linux->gidMappings)));
    if (s.process->oomScoreAdj)
        TRY_CTX(fs::writeFile(strCat("/proc/", pid, "/oom_score_adj"),
                              std::to_string(*s.process->oomScoreAdj)),
                "set oom_score_adj");
    if (!pr.detached.empty()) TRY(sendDetachedMounts(pr, pid));
    TRY(sendMsg(pr.parentSock.get(), Msg::Go));
    // Joining v1 cgroups waits for an RCU grace period (milliseconds); the child builds its
    // rootfs meanwhile and waits for CgroupJoined only before its cgroup namespace or exec.
    if (cfg.cgroup) TRY(cfg.cgroup->addProcess(pid));
    if (!sendMsg(pr.parentSock.get(), Msg::CgroupJoined)) {
        // The child failed meanwhile and hung up: its own error says why.
        ASSIGN_OR_RETURN(Message m, recvMsg(pr.parentSock.get()));
        return Error(m.err, m.text);
    }
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
        TRY(enterForChildren(*s.linux, forChildren));
        ASSIGN_OR_RETURN(pid, cloneProcess(pr.cloneFlags, &pidfd, pr.plan.dumpableUntilGo));
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

}  // namespace berth::process
