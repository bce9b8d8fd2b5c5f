#include "vm/shim.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <vector>

#include "common/fd_passing.hpp"
#include "common/fs.hpp"
#include "common/unix_socket.hpp"
#include "common/unique_fd.hpp"
#include "runtime/process/terminal.hpp"
#include "common/json.hpp"
#include "common/log.hpp"
#include "vm/balloon.hpp"
#include "vm/exec_proxy.hpp"
#include "vm/host_oom.hpp"
#include "vm/pod.hpp"
#include "vm/proc_view.hpp"
#include "vm/wire/boot_failure.hpp"
#include "vm/wire/guest_ops.hpp"
#include "vm/wire/protocol.hpp"
#include "vm/wire/timing.hpp"
#include "vm/vmm.hpp"

namespace berth::vm {
namespace {

constexpr int kReadyFd = 3;
constexpr int kConsoleFd = 4;  // ShimConfig::consoleFd in the shim
constexpr int kFirstTapFd = 5;  // ShimConfig::qemu.nics[i].tapFd in the shim
constexpr int kAgentAnswerMs = 20000;  // ps/stats/update in a TCG guest on two busy cores
constexpr int kBootTimeoutMs = 90000;  // TCG on two busy cores; a KVM boot takes ~0.2 s
// A Config up to this size is written before the agent asks (it fits the socketpair's buffer, so
// the blocking write returns at once); a larger one waits for Ready as before.
constexpr size_t kPresendMax = 64 * 1024;

using Clock = std::chrono::steady_clock;

long nowMs() { return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch()).count(); }

void writeAll(int fd, const std::string& s) {
    for (size_t off = 0; off < s.size();) {
        ssize_t n = ::write(fd, s.data() + off, s.size() - off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;  // the reader left: output is dropped, the workload keeps running
        off += static_cast<size_t>(n);
    }
}

class Shim {
public:
    explicit Shim(const ShimConfig& c) : c_(c) {}
    [[noreturn]] void run();

private:
    Status boot();
    Status startVmm();
    Status listenControl();
    Status setupTerminal();
    void sendWindowSize();
    // One round of the event loop: frames, signals, control requests, stdin. Returns false
    // when the VM is gone.
    bool step(int timeoutMs);
    void onFrame(const wire::proto::Frame& f);
    void forwardSignal(int sig);
    void acceptControl();
    void tryStart();
    [[noreturn]] void finish();
    bool reportReady(const std::string& msg);
    std::string lastWords() const;

    ShimConfig c_;
    bool configSent_ = false;
    UniqueFd agent_, sfd_, ctl_;
    wire::proto::Decoder dec_;
    pid_t vmm_ = -1;
    int vmmStatus_ = 0;
    bool sawStdout_ = false;
    bool vmmGone_ = false, ready_ = false, prepared_ = false, started_ = false, stdinOpen_ = true;
    int code_ = -1;
    std::string failure_;
    // `berth exec` clients: the connection gets the exit code; their stdin is relayed to the
    // process (until EOF), its output goes to their stdout and stderr.
    struct ExecClient {
        UniqueFd conn, in, out, err;
        bool hearing = true;  // conn is polled for resizes and signals (onExecClient) until it hangs up
    };
    std::map<int32_t, ExecClient> execs_;
    PodMux pod_;  // a sandbox's members (vm/pod.hpp)
    hostoom::OomCoalescer oom_;  // guest OOM kills → the host cgroup's v1 OOM notification
    QmpBalloon balloon_;         // the VM's balloon, when it has one (vm/balloon.hpp)
    bool member() const { return !c_.sandboxStateDir.empty(); }
    int32_t nextExecId_ = 1;
    void startExec(UniqueFd conn, const std::string& processJson, UniqueFd in, UniqueFd out, UniqueFd err);
    void onExecFrame(const wire::proto::Frame& f);
    void relayExecStdin(int32_t id, ExecClient& e);
    void onExecClient(int32_t id, ExecClient& e);
    // ps/stats/update clients (askAgent), by request id: each gets the agent's reply.
    std::map<int32_t, UniqueFd> opsClients_;
    int32_t nextOpsId_ = 1;
    void startOps(UniqueFd conn, const std::string& request);
    void onOpsReply(const wire::proto::Frame& f);
    // The container's /proc for `podman top` (vm/proc_view.hpp): requests that need the guest's
    // snapshot wait in viewQueue_ while the agent is asked (viewReqId_, until viewDeadline_).
    void setupProcView();
    void onFuse();
    void answerFuse(const std::string& request);
    void askProcView();
    void answerQueuedFuse();
    void replyFuse(const std::string& request);
    void settleView(wire::ProcSnapshot snap);
    UniqueFd fuse_, vmmStat_;
    bool vmmStopped() const;
    ProcFs procFs_;
    wire::ProcSnapshot snap_;
    long snapAtMs_ = -1;
    int32_t viewReqId_ = 0;
    long viewDeadlineMs_ = 0;
    std::vector<std::string> viewQueue_;
    Result<std::string> oomTarget_ = Error(ENOENT, "not known yet");  // hostoom::guestOomTarget
};

// False when berth is no longer there to hear it (killed mid-create): nobody would ever
// record, start or delete this VM, so it must not outlive the create that made it.
bool Shim::reportReady(const std::string& msg) {
    bool ok = ::write(kReadyFd, msg.data(), msg.size()) == static_cast<ssize_t>(msg.size());
    ::close(kReadyFd);
    return ok;
}

std::string Shim::lastWords() const {
    // Why the guest or QEMU stopped: the most useful part of a failed boot.
    const std::string& dir = member() ? c_.sandboxStateDir : c_.stateDir;  // a member's is its sandbox's VM
    auto console = fs::readFile(dir + "/console.log");
    auto vmm = fs::readFile(dir + "/vmm.log");
    return wire::bootFailureReason(console ? *console : "", vmm ? *vmm : "");
}

Status Shim::listenControl() {
    std::string path = controlSocketPath(c_.stateDir);
    // Bound through the state dir's fd: a containerd runtime root makes the path itself longer
    // than sun_path.
    UniqueFd dir(::open(c_.stateDir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!dir) return Error::fromErrno("open ", c_.stateDir);
    UnixAddress a = unixAddressAt(dir.get(), kControlSocketName);
    ctl_.reset(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!ctl_) return Error::fromErrno("socket");
    // A pod member's socket takes signals and execs for it; its frames go to the sandbox's.
    ::unlink(path.c_str());
    if (::bind(ctl_.get(), reinterpret_cast<const sockaddr*>(&a.addr), a.len) < 0 || ::listen(ctl_.get(), 8) < 0)
        return Error::fromErrno("listen on ", path);
    return {};
}

// Like a native container's init: a pty from the host's devpts, the master sent to the console
// socket, the slave our stdio and controlling terminal — raw, as the guest's pty does the line
// discipline.
Status Shim::setupTerminal() {
    UniqueFd sock;
    if (c_.consoleFd >= 0) {
        sock.reset(kConsoleFd);
    } else {
        ASSIGN_OR_RETURN(sock, runtime::process::connectConsoleSocket(c_.consoleSocket));
    }
    return runtime::process::setupRawTerminalInChild(sock.get(), c_.consoleSize);
}

// The host pty's size (set by whoever holds the master) for the guest's.
void Shim::sendWindowSize() {
    struct winsize ws;
    if (!c_.terminal || ::ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) < 0 || !ws.ws_row || !ws.ws_col) return;
    (void)wire::proto::writeFrame(agent_.get(), wire::proto::Type::Resize, wire::proto::sizePayload(ws.ws_row, ws.ws_col));
}

// The VMM with its end of the agent channel; ours is agent_.
Status Shim::startVmm() {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) return Error::fromErrno("socketpair");
    agent_.reset(sv[0]);
    UniqueFd theirs(sv[1]), qmpOurs, qmpTheirs;
    if (c_.balloon.ceilingMiB) {  // the balloon's QMP channel: a socketpair as the agent's
        if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) return Error::fromErrno("socketpair");
        qmpOurs.reset(sv[0]);
        qmpTheirs.reset(sv[1]);
        c_.qemu.qmpFd = qmpTheirs.get();
    }
    wire::timing::mark("qemu.exec");
    ASSIGN_OR_RETURN(vmm_, makeQemu()->start(c_.qemu, theirs.get(), c_.stateDir + "/vmm.log"));
    theirs.reset();
    qmpTheirs.reset();
    if (qmpOurs) TRY_CTX(balloon_.attach(std::move(qmpOurs), c_.balloon), "the balloon's boot target");
    // QEMU holds the taps now: when it goes, they go (a tap without TUNSETPERSIST dies with its
    // last fd), whatever happens to the shim.
    for (auto& n : c_.qemu.nics) ::close(n.tapFd);
    return {};
}

Status Shim::boot() {
    if (c_.terminal) TRY_CTX(setupTerminal(), "terminal");
    TRY(listenControl());
    if (member()) {
        ASSIGN_OR_RETURN(agent_, joinSandbox(c_.sandboxStateDir));
    } else {
        TRY(startVmm());
        // The Config waits in the socket until the agent opens its port (QEMU reads nothing
        // before): it is there when the agent wants it, one round trip after Ready fewer. (The
        // Ready's version is still checked; an agent of another build is refused on it.)
        if (c_.guestConfigJson.size() < kPresendMax) {
            TRY(wire::proto::writeFrame(agent_.get(), wire::proto::Type::Config, c_.guestConfigJson));
            configSent_ = true;
        }
    }
    ::fcntl(agent_.get(), F_SETFL, O_NONBLOCK);
    auto deadline = Clock::now() + std::chrono::milliseconds(kBootTimeoutMs);
    while (!prepared_) {
        if (!step(100)) return Error(EIO, (member() ? "the sandbox's VM stopped" : "the VM stopped while booting") + lastWords());
        if (!failure_.empty() && !ready_) return Error(EPROTO, failure_).hideErrno();  // Ready refused
        if (!failure_.empty()) return Error(EIO, "the guest agent failed: " + failure_).hideErrno();  // it carries its own
        if (code_ >= 0) return Error(ECANCELED, "killed while booting");
        if (Clock::now() > deadline) return Error(ETIMEDOUT, "the guest did not boot in time" + lastWords());
        if (ready_ && !configSent_) {
            TRY(wire::proto::writeFrame(agent_.get(), wire::proto::Type::Config, c_.guestConfigJson));
            configSent_ = true;
        }
    }
    // A boot target below the ceiling (none of planBalloon's): the guest's driver inflates to
    // it as it probes; the container starts once it is there.
    if (balloon_.active() && balloon_.state().targetMiB < balloon_.state().ceilingMiB) {
        TRY_CTX(balloon_.moveTo(balloon_.state().targetMiB, kBootTimeoutMs / 3), "the balloon's boot target");
        wire::timing::mark("balloon.boot");
    }
    return {};
}

void Shim::forwardSignal(int sig) {
    if (code_ < 0) (void)wire::proto::writeFrame(agent_.get(), wire::proto::Type::Signal, wire::proto::intPayload(sig));
}

void Shim::startExec(UniqueFd conn, const std::string& processJson, UniqueFd in, UniqueFd out, UniqueFd err) {
    if (!started_ || code_ >= 0) return;  // conn closes: the client reports the container stopped
    int32_t id = nextExecId_++;
    if (!wire::proto::writeFrame(agent_.get(), wire::proto::Type::ExecStart, wire::proto::intPayload(id) + processJson)) return;
    execs_[id] = ExecClient{std::move(conn), std::move(in), std::move(out), std::move(err)};
}

void Shim::relayExecStdin(int32_t id, ExecClient& e) {
    char buf[16384];
    ssize_t n = ::read(e.in.get(), buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
    std::string payload = wire::proto::intPayload(id);
    if (n > 0) payload.append(buf, static_cast<size_t>(n));
    else e.in.reset();  // EOF (or a pty whose master went away): the process sees EOF too
    (void)wire::proto::writeFrame(agent_.get(), wire::proto::Type::ExecStdin, payload);
}

// From an exec's client (`berth exec`, or the proxy standing for the process): "W" + a window
// size (wire::proto::sizePayload) when its pty was resized, "S" + a 4-byte LE signal number it
// got — passed to the agent as ExecResize and ExecSignal. A client that hangs up before the exit
// code was killed (containerd kills an ExecSync past its timeout so): so is the process.
void Shim::onExecClient(int32_t id, ExecClient& e) {
    char buf[16];
    ssize_t n = ::recv(e.conn.get(), buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
    if (n <= 0) {
        e.hearing = false;
        (void)wire::proto::writeFrame(agent_.get(), wire::proto::Type::ExecSignal, wire::proto::intPayload(id) + wire::proto::intPayload(SIGKILL));
        return;
    }
    if (n == 9 && buf[0] == 'W')
        (void)wire::proto::writeFrame(agent_.get(), wire::proto::Type::ExecResize, wire::proto::intPayload(id) + std::string(buf + 1, 8));
    if (n == 5 && buf[0] == 'S')
        (void)wire::proto::writeFrame(agent_.get(), wire::proto::Type::ExecSignal, wire::proto::intPayload(id) + std::string(buf + 1, 4));
}

void Shim::onExecFrame(const wire::proto::Frame& f) {
    auto idp = wire::proto::splitExecId(f);
    if (!idp) return;
    auto it = execs_.find(idp->first);
    if (it == execs_.end()) return;
    const std::string& rest = idp->second;
    if (f.type == wire::proto::Type::ExecOutput && !rest.empty()) {
        writeAll(rest[0] == 2 ? it->second.err.get() : it->second.out.get(), rest.substr(1));
    } else if (f.type == wire::proto::Type::ExecExit && rest.size() == 4) {
        (void)::send(it->second.conn.get(), rest.data(), 4, MSG_NOSIGNAL);
        execs_.erase(it);
    }
}

// "Q" + a frame type byte (PsRequest .. UpdateRequest) + JSON: passed to the agent under a
// request id of ours; its OpsReply goes back on conn. Once the workload has exited the
// connection just closes (the client reports the container stopped).
void Shim::startOps(UniqueFd conn, const std::string& request) {
    if (code_ >= 0 || request.size() < 2) return;
    auto type = static_cast<wire::proto::Type>(static_cast<uint8_t>(request[0]));
    if (!wire::proto::isOpsRequest(type)) return;
    int32_t id = nextOpsId_++;
    if (!wire::proto::writeFrame(agent_.get(), type, wire::proto::intPayload(id) + request.substr(1))) return;
    opsClients_[id] = std::move(conn);
}

void Shim::onOpsReply(const wire::proto::Frame& f) {
    auto idp = wire::proto::splitExecId(f);
    if (!idp) return;
    if (viewReqId_ && idp->first == viewReqId_) {
        wire::ProcSnapshot snap;  // an error or a malformed reply: an empty /proc
        auto reply = parseJson(idp->second, "the guest agent's reply");
        auto body = reply ? wire::opsReplyBody(*reply) : Result<nlohmann::json>(reply.error());
        if (body && body->contains("proc"))
            if (auto s = wire::procSnapshotFromJson((*body)["proc"])) snap = std::move(*s);
        return settleView(std::move(snap));
    }
    auto it = opsClients_.find(idp->first);
    if (it == opsClients_.end()) return;
    if (::send(it->second.get(), idp->second.data(), idp->second.size(), MSG_NOSIGNAL) < 0) {
        std::string err = R"({"error":"the agent's reply does not fit the control socket"})";
        (void)::send(it->second.get(), err.data(), err.size(), MSG_NOSIGNAL);
    }
    opsClients_.erase(it);
}

// A request on the control socket: 4 bytes = a signal for the workload; "X" + process JSON
// with the client's stdin, stdout and stderr passed as SCM_RIGHTS = an exec; "Q" = startOps.
void Shim::acceptControl() {
    UniqueFd conn(::accept4(ctl_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!conn) return;
    struct pollfd p = {conn.get(), POLLIN, 0};
    if (::poll(&p, 1, 1000) <= 0) return;
    std::string buf(1 << 16, '\0');
    alignas(struct cmsghdr) char ctrl[CMSG_SPACE(3 * sizeof(int))];
    struct iovec iov = {buf.data(), buf.size()};
    struct msghdr msg = {};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = ctrl;
    msg.msg_controllen = sizeof ctrl;
    ssize_t n = ::recvmsg(conn.get(), &msg, MSG_CMSG_CLOEXEC);
    if (n <= 0) return;
    UniqueFd fds[3];
    for (struct cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
            for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int) && i < 3; i++) {
                int fd;
                std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
                fds[i].reset(fd);
            }
    if (buf[0] == 'M' && fds[0] && !member()) {  // a pod member joins (vm/pod.hpp)
        if (started_ && code_ < 0) pod_.add(std::move(fds[0]));
        return;  // else its channel closes: the member's create fails
    }
    if (buf[0] == 'X' && fds[0] && fds[1] && fds[2])
        return startExec(std::move(conn), buf.substr(1, static_cast<size_t>(n) - 1), std::move(fds[0]),
                         std::move(fds[1]), std::move(fds[2]));
    if (buf[0] == 'Q' && n > 4) return startOps(std::move(conn), buf.substr(1, static_cast<size_t>(n) - 1));
    if (buf[0] == 'B') {  // the balloon: asked or moved by `update --memory` (vm/balloon.hpp)
        std::string answer = code_ < 0 ? answerBalloonRequest(balloon_, buf.substr(1, static_cast<size_t>(n) - 1)) : "";
        if (!answer.empty()) (void)::send(conn.get(), answer.data(), answer.size(), MSG_NOSIGNAL);
        return;
    }
    int32_t sig = 0;
    if (n != sizeof sig) return;
    std::memcpy(&sig, buf.data(), sizeof sig);
    if (sig <= 0 || sig >= 65) return;
    forwardSignal(sig);
    (void)::send(conn.get(), "k", 1, MSG_NOSIGNAL);
}

void Shim::onFrame(const wire::proto::Frame& f) {
    switch (f.type) {
        case wire::proto::Type::Ready:
            if (Status st = wire::proto::checkReady(f.payload); !st) failure_ = st.error().message();
            else ready_ = true;
            wire::timing::mark("agent.ready");
            break;
        case wire::proto::Type::Member: pod_.fromAgent(f); break;
        case wire::proto::Type::Prepared: prepared_ = true; wire::timing::mark("agent.prepared"); break;
        case wire::proto::Type::Stdout:
            if (wire::timing::enabled() && !sawStdout_) wire::timing::mark("stdout.first");
            sawStdout_ = true;
            writeAll(STDOUT_FILENO, f.payload);
            break;
        case wire::proto::Type::Stderr: writeAll(STDERR_FILENO, f.payload); break;
        case wire::proto::Type::Failed:
            failure_ = f.payload;
            if (started_) writeAll(STDERR_FILENO, "berth: vm: " + f.payload + "\n");
            break;
        case wire::proto::Type::ExecOutput:
        case wire::proto::Type::ExecExit: onExecFrame(f); break;
        case wire::proto::Type::OpsReply: onOpsReply(f); break;
        case wire::proto::Type::Oom:  // before the Exit it precedes: the host cgroup is still ours
            if (auto n = wire::proto::decodeInt(f); n && *n > 0)
                if (uint32_t k = oom_.onOom(static_cast<uint32_t>(*n), nowMs())) hostoom::raiseForGuestOom(k, oomTarget_);
            break;
        case wire::proto::Type::Exit:
            if (uint32_t k = oom_.beforeExit()) hostoom::raiseForGuestOom(k, oomTarget_);
            if (auto c = wire::proto::decodeInt(f)) code_ = *c;
            wire::timing::mark("exit.frame");
            (void)wire::proto::writeFrame(agent_.get(), wire::proto::Type::Exit, wire::proto::intPayload(code_));  // ack
            break;
        default: break;
    }
}

// Once the VM is up (QEMU, forked before, stays in the host's mount namespace).
void Shim::setupProcView() {
    oomTarget_ = hostoom::guestOomTarget();  // reads /proc: before the view covers it
    std::vector<std::string> keep = c_.keepMounts;
    keep.push_back(c_.stateDir);
    keep.push_back(c_.sandboxStateDir);
    if (const char* t = ::getenv("BERTH_VM_TIMING")) keep.emplace_back(t);  // its later marks
    for (auto& p : keep)
        if (char* real = p.empty() ? nullptr : ::realpath(p.c_str(), nullptr)) {
            p = real;
            ::free(real);
        }
    // QEMU's /proc/<pid>/stat, opened while /proc is the host's: a paused VM (SIGSTOP) answers
    // no snapshot request, so the view keeps the last one instead of waiting 20 s.
    if (vmm_ > 0) vmmStat_.reset(::open(strCat("/proc/", vmm_, "/stat").c_str(), O_RDONLY | O_CLOEXEC));
    (void)!::chdir("/");  // nothing pinned through the cwd once the other mounts are detached
    auto fuse = mountProcView(keep);
    if (!fuse) {
        log::warn("vm: podman top will not see the guest's processes: ", fuse.error().what());
        return;
    }
    fuse_ = std::move(*fuse);
    wire::timing::mark("procview.mounted");
}

void Shim::onFuse() {
    std::string buf(136 * 1024, '\0');  // above FUSE's minimum read buffer; requests here are small
    for (int i = 0; i < 64; i++) {
        ssize_t n = ::read(fuse_.get(), buf.data(), buf.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) return;
        if (n <= 0) {  // ENODEV: unmounted (the namespace is going)
            fuse_.reset();
            return;
        }
        answerFuse(buf.substr(0, static_cast<size_t>(n)));
    }
}

void Shim::answerFuse(const std::string& request) {
    if (ProcFs::needsSnapshot(request) && (snapAtMs_ < 0 || nowMs() - snapAtMs_ > 1000)) {
        viewQueue_.push_back(request);
        askProcView();
        return;
    }
    replyFuse(request);
}

void Shim::replyFuse(const std::string& request) {
    std::string out = procFs_.answer(request, snap_);
    if (!out.empty() && fuse_) (void)!::write(fuse_.get(), out.data(), out.size());
}

bool Shim::vmmStopped() const {
    char buf[512];
    ssize_t n = vmmStat_ ? ::pread(vmmStat_.get(), buf, sizeof buf - 1, 0) : -1;
    if (n <= 0) return false;
    std::string st(buf, static_cast<size_t>(n));
    size_t paren = st.rfind(')');
    return paren != std::string::npos && paren + 2 < st.size() && (st[paren + 2] == 'T' || st[paren + 2] == 't');
}

void Shim::askProcView() {
    if (viewReqId_) return;  // asked already
    if (vmmStopped()) return settleView(snap_);  // paused: the processes as they were when it stopped
    if (code_ >= 0 || !started_) return settleView({});  // nothing runs in the container (yet, or any more)
    int32_t id = nextOpsId_++;
    nlohmann::json req = {{"container", c_.id}, {"view", "proc"}};
    if (!wire::proto::writeFrame(agent_.get(), wire::proto::Type::PsRequest, wire::opsPayload(id, req))) return settleView({});
    viewReqId_ = id;
    viewDeadlineMs_ = nowMs() + kAgentAnswerMs;
}

// The snapshot the view serves from now on (fresh for a second); the requests waiting for it
// are answered.
void Shim::settleView(wire::ProcSnapshot snap) {
    viewReqId_ = 0;
    snap_ = std::move(snap);
    snapAtMs_ = nowMs();
    answerQueuedFuse();
}

void Shim::answerQueuedFuse() {
    std::vector<std::string> queue;
    queue.swap(viewQueue_);
    for (auto& r : queue) replyFuse(r);
}

void Shim::tryStart() {
    if (started_ || code_ >= 0) return;
    if (!c_.fifoPath.empty()) {
        // `berth start` opening the fifo for reading is the go signal, as with a native init.
        UniqueFd fifo(::open(c_.fifoPath.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
        if (!fifo) return;
        writeAll(fifo.get(), "0");
    }
    started_ = true;
    sendWindowSize();  // what it is now: the master's holder may have resized since create
    (void)wire::proto::writeFrame(agent_.get(), wire::proto::Type::Start);
    wire::timing::mark("start.sent");
}

bool Shim::step(int timeoutMs) {
    bool wantStdin = started_ && stdinOpen_ && code_ < 0;
    std::vector<struct pollfd> fds = {{agent_.get(), POLLIN, 0},
                                      {sfd_.get(), POLLIN, 0},
                                      {ctl_ ? ctl_.get() : -1, POLLIN, 0},
                                      {wantStdin ? STDIN_FILENO : -1, POLLIN, 0},
                                      {fuse_ ? fuse_.get() : -1, POLLIN, 0}};
    std::vector<int32_t> execIds;
    for (auto& [id, e] : execs_) {
        fds.push_back({e.in ? e.in.get() : -1, POLLIN, 0});
        execIds.push_back(id);
    }
    size_t execConnBase = fds.size();
    for (auto& [id, e] : execs_) fds.push_back({e.hearing ? e.conn.get() : -1, POLLIN, 0});
    size_t podBase = fds.size();
    pod_.pollFds(fds);
    int r = ::poll(fds.data(), fds.size(), timeoutMs);
    if (r < 0 && errno != EINTR) return false;
    if (r <= 0) return !vmmGone_;
    if (fds[0].revents) {
        char buf[65536];
        ssize_t n = ::read(agent_.get(), buf, sizeof buf);
        if (n > 0) {
            dec_.feed(buf, static_cast<size_t>(n));
            for (;;) {
                auto f = dec_.next();
                if (!f) {  // a corrupt channel: nothing more from this guest can be trusted
                    failure_ = f.error().what();
                    if (vmm_ > 0) ::kill(vmm_, SIGKILL);
                    else vmmGone_ = true;  // a member: its channel is what it had of the VM
                    break;
                }
                if (!*f) break;
                onFrame(**f);
            }
        } else if (n == 0) {
            agent_.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));  // VMM closed it: wait for SIGCHLD
            if (member()) vmmGone_ = true;  // the sandbox's shim closed it: the VM is gone
        }
    }
    if (fds[1].revents) {
        struct signalfd_siginfo si;
        while (::read(sfd_.get(), &si, sizeof si) == sizeof si) {
            if (si.ssi_signo == SIGWINCH && c_.terminal) {  // the master was resized
                if (started_) sendWindowSize();
                continue;
            }
            if (si.ssi_signo != SIGCHLD) {
                forwardSignal(static_cast<int>(si.ssi_signo));
                continue;
            }
            if (vmm_ > 0 && ::waitpid(vmm_, &vmmStatus_, WNOHANG) == vmm_) vmmGone_ = true;
        }
    }
    if (fds[2].revents) acceptControl();
    if (fds[4].revents) onFuse();
    if (fds[3].revents) {
        char buf[16384];
        ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
        if (n > 0) (void)wire::proto::writeFrame(agent_.get(), wire::proto::Type::Stdin, std::string(buf, static_cast<size_t>(n)));
        else if (n == 0 || errno != EINTR) {
            stdinOpen_ = false;
            (void)wire::proto::writeFrame(agent_.get(), wire::proto::Type::Stdin);
        }
    }
    for (size_t i = 0; i < execIds.size(); i++) {
        auto it = execs_.find(execIds[i]);  // an exit frame above may have ended it
        if (fds[5 + i].revents && it != execs_.end() && it->second.in) relayExecStdin(it->first, it->second);
        it = execs_.find(execIds[i]);
        if (fds[execConnBase + i].revents && it != execs_.end() && it->second.hearing) onExecClient(it->first, it->second);
    }
    pod_.onPoll(agent_.get(), fds.data() + podBase, fds.size() - podBase);
    return !vmmGone_;
}

void Shim::finish() {
    // The agent's Exit is its last word that matters (the output came before it, in order): a
    // clean power-off of the guest would only cost time (~0.1 s under TCG), so the VMM goes now.
    if (code_ >= 0 && !vmmGone_ && vmm_ > 0) ::kill(vmm_, SIGKILL);
    auto deadline = Clock::now() + std::chrono::seconds(5);
    while (!member() && !vmmGone_ && Clock::now() < deadline) step(100);
    if (!vmmGone_ && vmm_ > 0) {
        ::kill(vmm_, SIGKILL);
        ::waitpid(vmm_, &vmmStatus_, 0);
    }
    ::unlink(controlSocketPath(c_.stateDir).c_str());
    wire::timing::mark("qemu.gone");
    if (auto console = wire::timing::enabled() ? fs::readFile(c_.stateDir + "/console.log") : Error::make("-"))
        wire::timing::copyGuestMarks(*console);
    int code = code_;
    if (code < 0) {
        // The VMM ended without the agent's word: killed (e.g. `delete -f`) or crashed. A pod
        // member stops with its sandbox's VM as if killed (Kata stops a pod's containers so).
        code = member() ? 128 + SIGKILL : WIFSIGNALED(vmmStatus_) ? 128 + WTERMSIG(vmmStatus_) : 255;
        writeAll(STDERR_FILENO, strCat("berth: vm: ", member() ? "the sandbox's VM" : "the VM", " stopped before the workload exited",
                                       lastWords(), "\n"));
    }
    ::_exit(code);
}

void Shim::run() {
    sigset_t all;
    sigfillset(&all);
    ::sigprocmask(SIG_BLOCK, &all, nullptr);
    sfd_.reset(::signalfd(-1, &all, SFD_CLOEXEC | SFD_NONBLOCK));
    Status st = sfd_ ? boot() : Status(Error::fromErrno("signalfd"));
    if (!st) {
        if (vmm_ > 0 && !vmmGone_) {
            ::kill(vmm_, SIGKILL);
            ::waitpid(vmm_, nullptr, 0);
        }
        ::unlink(controlSocketPath(c_.stateDir).c_str());
        (void)reportReady(strCat("error ", st.error().err(), " ", st.error().what()));
        ::_exit(1);
    }
    if (!reportReady(strCat("ok ", vmm_))) {
        if (vmm_ > 0) {
            ::kill(vmm_, SIGKILL);
            ::waitpid(vmm_, nullptr, 0);
        }
        ::unlink(controlSocketPath(c_.stateDir).c_str());
        ::_exit(1);
    }
    setupProcView();
    while (code_ < 0 && !vmmGone_) {
        tryStart();
        int wait = started_ ? oom_.waitMs(nowMs()) : 20;
        if (viewReqId_) wait = wait < 0 ? 500 : std::min(wait, 500);
        step(wait);
        if (uint32_t k = oom_.due(nowMs())) hostoom::raiseForGuestOom(k, oomTarget_);  // held back by the gap
        if (viewReqId_ && nowMs() > viewDeadlineMs_) settleView({});  // the agent did not answer: an empty /proc
    }
    finish();
}

// In the forked shim: the ready pipe at kReadyFd, the console at kConsoleFd, the taps from
// kFirstTapFd — each first copied above all of them, so none is overwritten before it is moved —
// then berth's log file (--log: the shim's warnings go there too), and nothing else of berth's
// (c's fds are renumbered to the shim's).
void placeShimFds(ShimConfig& c, int readyFd) {
    constexpr int kAbove = 64;
    int ready = ::fcntl(readyFd, F_DUPFD, kAbove);
    int console = c.consoleFd >= 0 ? ::fcntl(c.consoleFd, F_DUPFD, kAbove) : -1;
    std::vector<int> taps;
    for (auto& n : c.qemu.nics) taps.push_back(::fcntl(n.tapFd, F_DUPFD, kAbove));
    int logFd = log::fd() >= 0 ? ::fcntl(log::fd(), F_DUPFD, kAbove) : -1;
    ::dup2(ready, kReadyFd);
    if (console >= 0) ::dup2(console, kConsoleFd);
    if (console < 0) ::close(kConsoleFd);
    for (size_t i = 0; i < taps.size(); i++) {
        c.qemu.nics[i].tapFd = kFirstTapFd + static_cast<int>(i);
        ::dup2(taps[i], c.qemu.nics[i].tapFd);
    }
    int next = kFirstTapFd + static_cast<int>(taps.size());
    if (logFd >= 0 && ::dup3(logFd, next, O_CLOEXEC) == next) log::setFd(next++);
    else log::setFd(-1);  // its old number may be reused below: never write log lines there
    ::syscall(SYS_close_range, static_cast<unsigned>(next), ~0u, 0);
}

}  // namespace

std::string controlSocketPath(const std::string& stateDir) { return stateDir + "/" + kControlSocketName; }

Result<ShimStarted> startShim(const ShimConfig& c) {
    int p[2], g[2];
    if (::pipe2(p, O_CLOEXEC) < 0) return Error::fromErrno("pipe");
    UniqueFd rd(p[0]), wr(p[1]);
    if (::pipe2(g, O_CLOEXEC) < 0) return Error::fromErrno("pipe");
    UniqueFd goRd(g[0]), goWr(g[1]);  // berth placed the shim (its cgroup): it may go on
    pid_t pid = ::fork();
    if (pid < 0) return Error::fromErrno("fork the vm shim");
    if (pid == 0) {
        // Nothing of berth's may stay open here: the state lock above all (flock is per open
        // file, so a shim holding it would block every later berth call on this container).
        ::setsid();
        ::prctl(PR_SET_NAME, "berth-vm-shim");  // what ps shows for the container's pid
        goWr.reset();
        char go = 0;
        if (::read(goRd.get(), &go, 1) != 1) ::_exit(1);
        ShimConfig mine = c;
        placeShimFds(mine, wr.get());
        Shim(mine).run();
    }
    wr.reset();
    goRd.reset();
    if (c.placeShim) {
        if (Status placed = c.placeShim(pid); !placed) {
            ::kill(pid, SIGKILL);
            while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {}
            return std::move(placed).error();
        }
    }
    if (::write(goWr.get(), "g", 1) != 1) {
        Error e = Error::fromErrno("start the vm shim");
        ::kill(pid, SIGKILL);
        while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {}
        return e;
    }
    std::string msg = fs::readUntilEof(rd.get());
    if (msg.rfind("ok ", 0) == 0) return ShimStarted{pid, static_cast<pid_t>(std::atoi(msg.c_str() + 3))};
    int status;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    if (msg.rfind("error ", 0) == 0) {
        int err = std::atoi(msg.c_str() + 6);
        std::string text = msg.substr(msg.find(' ', 6) + 1);
        return Error(err, "vm: " + text).hideErrno();
    }
    return Error(EIO, "vm: the shim died while starting the VM");
}

namespace {

Result<UniqueFd> connectShim(const std::string& stateDir) {
    return connectUnixAt(stateDir, kControlSocketName, SOCK_SEQPACKET);
}

}  // namespace

Result<int> execViaShim(const std::string& stateDir, const std::string& processJson, const ExecSignals& signals) {
    ASSIGN_OR_RETURN(UniqueFd s, connectShim(stateDir));
    std::string payload = "X" + processJson;
    TRY(sendFds(s.get(), {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO}, payload, "the exec request to the vm shim"));
    relaySignals(s.get(), signals);  // until the code is there (vm/exec_proxy.hpp)
    int32_t code;
    ssize_t n;
    while ((n = ::recv(s.get(), &code, sizeof code, 0)) < 0 && errno == EINTR) {}
    if (n != sizeof code) return Error(ECHILD, "exec in the VM: the container stopped before the process exited");
    return code;
}

Result<nlohmann::json> askAgent(const std::string& stateDir, wire::proto::Type type, const nlohmann::json& body) {
    ASSIGN_OR_RETURN(UniqueFd s, connectShim(stateDir));
    std::string msg = std::string("Q") + static_cast<char>(type) + body.dump();
    if (::send(s.get(), msg.data(), msg.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(msg.size()))
        return Error::fromErrno("send to the vm shim");
    struct pollfd p = {s.get(), POLLIN, 0};
    int r;
    while ((r = ::poll(&p, 1, kAgentAnswerMs)) < 0 && errno == EINTR) {}
    if (r == 0) return Error(ETIMEDOUT, strCat("the guest agent did not answer in ", kAgentAnswerMs / 1000, " s"));
    std::string reply(4 << 20, '\0');
    ssize_t n;
    while ((n = ::recv(s.get(), reply.data(), reply.size(), 0)) < 0 && errno == EINTR) {}
    if (n <= 0) return Error(ESRCH, "the container stopped before the guest agent answered").hideErrno();
    reply.resize(static_cast<size_t>(n));
    ASSIGN_OR_RETURN(nlohmann::json j, parseJson(reply, "the guest agent's reply"));
    return wire::opsReplyBody(j);
}

Status signalViaShim(const std::string& stateDir, int sig) {
    ASSIGN_OR_RETURN(UniqueFd s, connectShim(stateDir));
    int32_t v = sig;
    if (::send(s.get(), &v, sizeof v, MSG_NOSIGNAL) != sizeof v) return Error::fromErrno("send to the vm shim");
    struct pollfd p = {s.get(), POLLIN, 0};
    char ack;
    if (::poll(&p, 1, 5000) <= 0 || ::recv(s.get(), &ack, 1, 0) != 1)
        return Error(ETIMEDOUT, "the vm shim did not acknowledge the signal");
    return {};
}

}  // namespace berth::vm
