// The workload: cloned from PID 1 into a PID and mount namespace of its own and the rootfs, then
// made a container process by berth's process library (rlimits, user, capabilities, seccomp),
// its stdio on pipes that the agent relays as frames; signals from the host reach it here.
#include <fcntl.h>
#include <grp.h>
#include <linux/sched.h>
#include <poll.h>
#include <signal.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "common/fs.hpp"
#include "common/unique_fd.hpp"
#include "namespaces/mount.hpp"
#include "runtime/process/exec_process.hpp"
#include "runtime/security/security.hpp"
#include "vm/agent/agent.hpp"
#include "vm/agent/guest_ops.hpp"
#include "vm/agent/timing.hpp"

namespace berth::vm::agent {
namespace {

// In the forked child: report the failing step on errPipe and exit as a shell would: 126 when
// the program is there but cannot be run, 127 otherwise.
[[noreturn]] void childFailWith(int errPipe, const std::string& msg, int code) {
    ssize_t r = ::write(errPipe, msg.data(), msg.size());
    (void)r;
    ::_exit(code);
}

[[noreturn]] void childFail(int errPipe, const std::string& what) {
    childFailWith(errPipe, what + ": " + std::strerror(errno), 127);
}

// Where a process runs: the workload is PID 1 of a PID namespace of its own, with a mount
// namespace holding that namespace's /proc — what it would see in a container, and what makes
// signals reach it as they reach a container's init (SIGTERM without a handler is ignored).
// An exec'd process joins both.
void enterNamespaces(pid_t workload, int errPipe) {
    if (workload > 0) {
        std::string ns = "/proc/" + std::to_string(workload) + "/ns/mnt";
        UniqueFd fd(::open(ns.c_str(), O_RDONLY | O_CLOEXEC));
        if (!fd || ::setns(fd.get(), CLONE_NEWNS) < 0) childFail(errPipe, "join the workload's mount namespace");
        return;
    }
    if (::unshare(CLONE_NEWNS) < 0) childFail(errPipe, "unshare the mount namespace");
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0) childFail(errPipe, "make / private");
    if (::access("/rootfs/proc", F_OK) == 0 &&
        ::mount("proc", "/rootfs/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) < 0)
        childFail(errPipe, "mount /proc for the workload's PID namespace");
}

// The last steps are berth's own (runtime/process/exec_process, as for a native container's
// process): rlimits, cwd, the executable's lookup in the container's PATH, umask, user and
// groups, capabilities (bounding set first), no_new_privs, the seccomp filter last, execve.
[[noreturn]] void execInChild(const wire::GuestProcess& g, pid_t workload, int in, int out, int err, int errPipe,
                              bool inCgroup = false) {
    const runtime::spec::Process& p = g.process;
    timing::mark("wl.child");
    ::setsid();
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(err, 2);
    if (p.terminal && ::ioctl(0, TIOCSCTTY, 0) < 0) childFail(errPipe, "make the pty the controlling terminal");
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    if (Status st = enterContainerCgroup(workload, "", inCgroup); !st) childFailWith(errPipe, st.error().what(), 127);
    timing::mark("wl.cgroup");
    enterNamespaces(workload, errPipe);
    timing::mark("wl.ns");
    if (Status st = workload == 0 ? mountContainerCgroup() : Status(); !st) childFailWith(errPipe, st.error().what(), 127);
    if (Status st = applyOomScoreAdj(g.process); !st) childFailWith(errPipe, st.error().what(), 127);
    if (Status st = joinGuestKeyring(g, workload == 0); !st) childFailWith(errPipe, st.error().what(), 127);
    timing::mark("wl.cgmount");
    if (::chroot("/rootfs") < 0 || ::chdir("/") < 0) childFail(errPipe, "chroot /rootfs");
    if (workload == 0) {  // the workload's own mount namespace: its masked and read-only paths
        namespaces::RootfsConfig rc;
        rc.rootfs = "/";
        rc.maskedPaths = g.maskedPaths;
        rc.readonlyPaths = g.readonlyPaths;
        if (Status st = namespaces::finalizeRootfsInChild(rc); !st) childFailWith(errPipe, st.error().what(), 127);
    }
    timing::mark("wl.masked");
    if (Status st = runtime::process::prepareBeforeReady(p, std::nullopt); !st) childFailWith(errPipe, st.error().what(), 127);
    auto exe = runtime::process::lookupExecutable(p);
    if (!exe) {
        std::string msg = exe.error().what();
        childFailWith(errPipe, msg, msg.find("permission denied") != std::string::npos ? 126 : 127);
    }
    auto filter = runtime::security::SeccompFilter::compile(g.seccomp);
    if (!filter) childFailWith(errPipe, filter.error().what(), 127);
    timing::mark("wl.lookup");
    runtime::process::ProcessPlan plan{&p, filter->empty() ? nullptr : &*filter, 0, workload > 0};
    auto ea = runtime::process::execArgs(p, *exe);
    timing::mark("wl.env");
    Status fst = runtime::process::finalizeProcess(plan);
    timing::mark("wl.identity");
    Error e = fst ? runtime::process::execProcess(ea) : fst.error();
    childFailWith(errPipe, e.what(), e.err() == EACCES || e.err() == ENOEXEC || e.err() == EPERM ? 126 : 127);
}

// The workload's mount namespace, held until the VM is gone: when its last process dropped it,
// the teardown (its /proc unmounted, an RCU grace period in namespace_unlock) ran in the exit
// path before the SIGCHLD, so before the Exit frame (bench/README.md, third pass).
UniqueFd& heldMountNamespace() {
    static UniqueFd held;
    return held;
}

void holdMountNamespace(pid_t pid) {
    heldMountNamespace().reset(::open(strCat("/proc/", pid, "/ns/mnt").c_str(), O_RDONLY | O_CLOEXEC));
}

// Read what a pipe holds and send it as frames; false at EOF.
bool relayPipe(int fd, int port, wire::proto::Type type) {
    char buf[wire::proto::kChunk];
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return true;
    if (n <= 0) return false;
    return wire::proto::writeFrame(port, type, std::string(buf, static_cast<size_t>(n))).ok();
}

// A process's stdio as the agent holds it: pipes, or with a terminal a pty whose master is both
// inW and outR (errR stays empty: a terminal has one output stream) and whose slave is the
// child's stdin, stdout and stderr.
struct Pipes {
    UniqueFd inR, inW, outR, outW, errR, errW, failR, failW;
    bool pty = false;
};

// The pty in the container's own devpts instance when it has one (so the workload's tty is
// /dev/pts/N in its /dev), else the guest's.
Status makePty(Pipes& p, const wire::GuestProcess& g) {
    UniqueFd master(::open("/rootfs/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC));
    if (!master) master.reset(::open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC));
    if (!master) return Error::fromErrno("open ptmx");
    if (::unlockpt(master.get()) < 0) return Error::fromErrno("unlockpt");
    UniqueFd slave(::ioctl(master.get(), TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC));
    if (!slave) return Error::fromErrno("open the pty slave");
    if (g.process.consoleSize && g.process.consoleSize->height && g.process.consoleSize->width) {
        struct winsize ws = {static_cast<unsigned short>(g.process.consoleSize->height),
                             static_cast<unsigned short>(g.process.consoleSize->width), 0, 0};
        ::ioctl(master.get(), TIOCSWINSZ, &ws);
    }
    p.inW.reset(::fcntl(master.get(), F_DUPFD_CLOEXEC, 3));
    p.inR.reset(::fcntl(slave.get(), F_DUPFD_CLOEXEC, 3));
    p.errW.reset(::fcntl(slave.get(), F_DUPFD_CLOEXEC, 3));
    if (!p.inW || !p.inR || !p.errW) return Error::fromErrno("dup the pty");
    p.outR = std::move(master);
    p.outW = std::move(slave);
    p.pty = true;
    return {};
}

Result<Pipes> makePipes(const wire::GuestProcess& g) {
    Pipes p;
    int fds[2];
    auto mk = [&](UniqueFd& r, UniqueFd& w) -> Status {
        if (::pipe2(fds, O_CLOEXEC) < 0) return Error::fromErrno("pipe");
        r.reset(fds[0]);
        w.reset(fds[1]);
        return {};
    };
    if (g.process.terminal) {
        TRY(makePty(p, g));
    } else {
        TRY(mk(p.inR, p.inW));
        TRY(mk(p.outR, p.outW));
        TRY(mk(p.errR, p.errW));
    }
    TRY(mk(p.failR, p.failW));
    return p;
}

// Whatever the child wrote on the failure pipe before exec (empty when exec succeeded).
std::string readFailure(int fd) { return fs::readUntilEof(fd); }

int exitCodeOf(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status); }

// Start a process with its stdio on io's pipes; we keep only our ends. workload 0: the workload,
// PID 1 of a new PID namespace; else an exec'd process in that (the workload's) namespaces.
// `failure` receives what the child reported before exec (it then exits 126 or 127), empty when
// exec succeeded.
Result<pid_t> spawnProcess(const wire::GuestProcess& p, pid_t workload, Pipes& io, std::string& failure) {
    pid_t pid;
    if (workload == 0) {
        // clone3 without a stack behaves as fork; the child is PID 1 of its namespace.
        // (a pod member sharing the sandbox's PID namespace: its supervisor joined it already)
        // Straight into the container's cgroup (CLONE_INTO_CGROUP): no migration afterwards.
        UniqueFd cg(openContainerCgroup());
        struct clone_args ca{};
        ca.flags = (p.sandboxPidNs ? 0 : CLONE_NEWPID) | (cg ? CLONE_INTO_CGROUP : 0);
        ca.exit_signal = SIGCHLD;
        ca.cgroup = cg ? static_cast<uint64_t>(cg.get()) : 0;
        pid = static_cast<pid_t>(::syscall(SYS_clone3, &ca, sizeof ca));
        if (pid == 0) execInChild(p, 0, io.inR.get(), io.outW.get(), io.errW.get(), io.failW.get(), cg.get() >= 0);
    } else {
        // Our children go into the workload's PID namespace for this one fork, then back to ours.
        std::string ns = "/proc/" + std::to_string(workload) + "/ns/pid";
        UniqueFd theirs(::open(ns.c_str(), O_RDONLY | O_CLOEXEC)), ours(::open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC));
        if (!theirs || !ours) return Error::fromErrno("open the workload's PID namespace");
        if (::setns(theirs.get(), CLONE_NEWPID) < 0) return Error::fromErrno("join the workload's PID namespace");
        pid = ::fork();
        int forkErr = errno;
        if (pid != 0 && ::setns(ours.get(), CLONE_NEWPID) < 0) say("agent: cannot return to its own PID namespace");
        errno = forkErr;
    }
    if (pid < 0) return Error::fromErrno("fork the process");
    if (pid == 0) execInChild(p, workload, io.inR.get(), io.outW.get(), io.errW.get(), io.failW.get());
    io.inR.reset();
    io.outW.reset();
    io.errW.reset();
    io.failW.reset();
    // A workload that does not read its stdin must not stall the relay of its output.
    ::fcntl(io.inW.get(), F_SETFL, O_NONBLOCK);
    failure = readFailure(io.failR.get());  // EOF at exec (CLOEXEC) or at _exit
    return pid;
}

// A process started by `berth exec`: its stdin (fed by ExecStdin frames), its output pipes (one
// pty master with a terminal) and, once reaped, its exit code. It dies with the VM when the
// container's process ends.
struct ExecProc {
    int32_t id;
    pid_t pid;
    UniqueFd in, out, err;
    int code = -1;
};
using Execs = std::vector<ExecProc>;

void sendExecOutput(int port, int32_t id, char stream, const std::string& data) {
    (void)wire::proto::writeFrame(port, wire::proto::Type::ExecOutput, wire::proto::intPayload(id) + stream + data);
}

void startExec(int port, const wire::proto::Frame& f, pid_t workload, Execs& execs) {
    auto idp = wire::proto::splitExecId(f);
    if (!idp) return;
    int32_t id = idp->first;
    auto fail = [&](const std::string& msg) {
        sendExecOutput(port, id, 2, "berth: vm: exec: " + msg + "\n");
        (void)wire::proto::writeFrame(port, wire::proto::Type::ExecExit, wire::proto::intPayload(id) + wire::proto::intPayload(127));
    };
    auto p = wire::guestProcessFromJson(idp->second);
    if (!p) return fail(p.error().what());
    auto io = makePipes(*p);
    if (!io) return fail(io.error().what());
    std::string failure;
    auto pid = spawnProcess(*p, workload, *io, failure);
    if (!pid) return fail(pid.error().what());
    if (!failure.empty()) sendExecOutput(port, id, 2, "berth: vm: exec: " + failure + "\n");
    execs.push_back({id, *pid, std::move(io->inW), std::move(io->outR), std::move(io->errR)});
}

// Relay an exec's pipe; at EOF the pipe is closed (reset).
void relayExecPipe(int port, int32_t id, UniqueFd& fd, char stream) {
    char buf[wire::proto::kChunk];
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
    if (n <= 0) return fd.reset();
    sendExecOutput(port, id, stream, std::string(buf, static_cast<size_t>(n)));
}

// An exec's pty follows the host's (TIOCSWINSZ on the master: the process gets SIGWINCH when the
// size changed). An exec without a terminal has pipes there, which refuse it harmlessly.
void resizeExec(const wire::proto::Frame& f, Execs& execs) {
    auto size = wire::proto::decodeExecSize(f);
    if (!size) return say("refused an exec resize request: " + size.error().message());
    struct winsize ws = {size->second.first, size->second.second, 0, 0};
    for (auto& e : execs)
        if (e.id == size->first && (e.in || e.out)) ::ioctl(e.in ? e.in.get() : e.out.get(), TIOCSWINSZ, &ws);
}

// A signal for an exec'd process (`berth exec`, or the proxy standing for it, got it: or the
// proxy is gone, SIGKILL). One that has exited already is left alone (its pid may be reused).
void signalExec(const wire::proto::Frame& f, Execs& execs) {
    auto sig = wire::proto::decodeExecSignal(f);
    if (!sig) return say("refused an exec signal request: " + sig.error().message());
    for (auto& e : execs)
        if (e.id == sig->first && e.code < 0) ::kill(e.pid, sig->second);
}

// Report execs that have exited and whose output is all relayed.
void finishExecs(int port, Execs& execs) {
    for (auto it = execs.begin(); it != execs.end();) {
        if (it->code < 0 || it->out || it->err) {
            ++it;
            continue;
        }
        (void)wire::proto::writeFrame(port, wire::proto::Type::ExecExit, wire::proto::intPayload(it->id) + wire::proto::intPayload(it->code));
        it = execs.erase(it);
    }
}

// Act on every whole frame the host has sent: signals for the workload, its stdin, execs.
// A request the agent cannot act on (a bad payload in a well-formed frame) is refused where the
// host can hear it — an exec gets an error and exit 127; a bad signal or size is logged on the
// console — and the guest keeps running. Only a corrupt stream (bad header) is fatal: there is no
// resynchronising a length-prefixed stream.
Status handleHostFrames(int port, wire::proto::Decoder& dec, Pipes& io, pid_t pid, bool exited, Execs& execs) {
    for (;;) {
        ASSIGN_OR_RETURN(auto f, dec.next());
        if (!f) return {};
        if (f->type == wire::proto::Type::ExecStart) {
            if (!exited) startExec(port, *f, pid, execs);
        } else if (f->type == wire::proto::Type::ExecStdin) {
            auto idp = wire::proto::splitExecId(*f);
            if (!idp) {
                say("refused an exec-stdin request: " + idp.error().message());
                continue;
            }
            for (auto& e : execs) {
                if (e.id != idp->first || !e.in) continue;
                if (idp->second.empty()) e.in.reset();
                else (void)!::write(e.in.get(), idp->second.data(), idp->second.size());
            }
        } else if (f->type == wire::proto::Type::Signal) {
            auto sig = wire::proto::decodeInt(*f);
            if (!sig) say("refused a signal request: " + sig.error().message());
            else if (!exited && ::kill(pid, *sig) < 0) say(strCat("refused signal ", *sig, ": ", std::strerror(errno)));
        } else if (f->type == wire::proto::Type::Stdin) {
            if (f->payload.empty()) io.inW.reset();
            else if (io.inW) (void)!::write(io.inW.get(), f->payload.data(), f->payload.size());
        } else if (wire::proto::isOpsRequest(f->type)) {
            answerOps(port, *f);
        } else if (f->type == wire::proto::Type::Resize && io.pty) {
            auto size = wire::proto::decodeSize(*f);
            if (!size) {
                say("refused a resize request: " + size.error().message());
                continue;
            }
            struct winsize ws = {size->first, size->second, 0, 0};
            ::ioctl(io.outR.get(), TIOCSWINSZ, &ws);
        } else if (f->type == wire::proto::Type::Member) {
            podFromHost(port, *f);
        } else if (f->type == wire::proto::Type::ExecResize) {
            resizeExec(*f, execs);
        } else if (f->type == wire::proto::Type::ExecSignal) {
            signalExec(*f, execs);
        }
    }
}

}  // namespace

void forgetInheritedFds() {
    (void)heldMountNamespace().release();
    forgetGuestCgroupFds();
}

Result<int> runWorkload(int port, wire::proto::Decoder& dec, const wire::GuestProcess& p) {
    ASSIGN_OR_RETURN(Pipes io, makePipes(p));
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    ::sigprocmask(SIG_BLOCK, &chld, nullptr);
    UniqueFd sfd(::signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK));
    if (!sfd) return Error::fromErrno("signalfd");
    std::string failure;
    timing::mark("wl.pipes");
    ASSIGN_OR_RETURN(pid_t pid, spawnProcess(p, 0, io, failure));
    timing::mark("wl.exec");
    podSetSandboxWorkload(pid);  // what pod members join (vm/agent/containers.cpp)
    holdMountNamespace(pid);
    if (!failure.empty()) (void)wire::proto::writeFrame(port, wire::proto::Type::Failed, failure);
    Execs execs;

    int code = -1;
    bool outOpen = true, errOpen = static_cast<bool>(io.errR), sawOutput = false;
    // Frames that came in the same read as Start are already in the decoder.
    TRY(handleHostFrames(port, dec, io, pid, false, execs));
    // After the workload exits, output its descendants still write is relayed until the pipes
    // close or stay quiet for a moment: a daemonised child must not keep the VM alive forever.
    while (code < 0 || outOpen || errOpen) {
        std::vector<struct pollfd> fds = {{port, POLLIN, 0},
                                          {outOpen ? io.outR.get() : -1, POLLIN, 0},
                                          {errOpen ? io.errR.get() : -1, POLLIN, 0},
                                          {sfd.get(), POLLIN, 0}};
        for (auto& e : execs) {
            fds.push_back({e.out ? e.out.get() : -1, POLLIN, 0});
            fds.push_back({e.err ? e.err.get() : -1, POLLIN, 0});
        }
        size_t podBase = fds.size();
        podPollFds(fds);  // pod members' supervisors (vm/agent/containers.cpp)
        size_t oomAt = fds.size();  // after the members' (podOnPoll reads only its own)
        fds.push_back({oomEventsFd(), POLLPRI, 0});
        int r = ::poll(fds.data(), fds.size(), code < 0 ? -1 : 200);
        if (r < 0 && errno != EINTR) return Error::fromErrno("poll");
        if (r == 0) break;
        if (r < 0) continue;
        if (fds[1].revents && !sawOutput) timing::mark("wl.output");
        sawOutput = sawOutput || fds[1].revents;
        if (fds[1].revents) outOpen = relayPipe(io.outR.get(), port, wire::proto::Type::Stdout);
        if (fds[2].revents) errOpen = relayPipe(io.errR.get(), port, wire::proto::Type::Stderr);
        if (fds[3].revents) {
            struct signalfd_siginfo si;
            while (::read(sfd.get(), &si, sizeof si) == sizeof si) {}
            int status;
            pid_t w;
            while ((w = ::waitpid(-1, &status, WNOHANG)) > 0) {  // PID 1 reaps every orphan
                if (w == pid) {
                    code = exitCodeOf(status);
                    timing::mark("wl.reaped");
                }
                for (auto& e : execs)
                    if (e.pid == w) e.code = exitCodeOf(status);
            }
            reportOomKills(port);  // a process that ended may have been OOM-killed: before its exit
        }
        for (size_t i = 0; i < execs.size(); i++) {
            if (fds[4 + 2 * i].revents) relayExecPipe(port, execs[i].id, execs[i].out, 1);
            if (fds[5 + 2 * i].revents) relayExecPipe(port, execs[i].id, execs[i].err, 2);
        }
        finishExecs(port, execs);
        podOnPoll(port, fds.data() + podBase, fds.size() - podBase);
        if (fds[oomAt].revents & (POLLPRI | POLLERR)) reportOomKills(port);  // e.g. a grandchild's OOM kill
        if (fds[0].revents & (POLLHUP | POLLERR) && !(fds[0].revents & POLLIN))
            return Error(EPIPE, "agent channel closed");
        if (fds[0].revents & POLLIN) {
            char buf[16384];
            ssize_t n = ::read(port, buf, sizeof buf);
            if (n > 0) dec.feed(buf, static_cast<size_t>(n));
        }
        TRY(handleHostFrames(port, dec, io, pid, code >= 0, execs));
    }
    if (code < 0) {
        int status = 0;
        ::waitpid(pid, &status, 0);
        code = exitCodeOf(status);
    }
    timing::mark("wl.done");
    reportOomKills(port);  // before the caller's Exit frame
    return code;
}

}  // namespace berth::vm::agent
