// Pod members in the guest. PID 1 keeps a table of members by slot; each member is served by a
// child of PID 1 — its supervisor — which runs the one-container code (runWorkload) over a
// socketpair, in a mount namespace of its own where the member's rootfs (from the sandbox's
// 9p pod share) is mounted at /rootfs. PID 1 only wraps and unwraps the member's frames. The
// member shares the guest's network, IPC and UTS namespaces with the sandbox, as a CRI pod's
// containers share the sandbox's; its PID and mount namespaces are its own (runWorkload).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <map>

#include "common/fs.hpp"
#include "common/unique_fd.hpp"
#include "vm/agent/agent.hpp"
#include "vm/agent/guest_ops.hpp"

namespace berth::vm::agent {
namespace proto = wire::proto;
namespace {

constexpr const char* kPodTag = "pod";
constexpr const char* k9pOptions = "trans=virtio,version=9p2000.L,msize=524288,cache=none";

struct Member {
    pid_t supervisor = -1;
    UniqueFd sock;
    proto::Decoder dec;
    bool dropped = false;  // the host side is gone: its frames are discarded, its Exit acked here
};
std::map<int32_t, Member> members;  // PID 1's table
std::vector<int32_t> polled;        // the slots podPollFds added, in order
pid_t sandboxWorkload = -1;          // the VM's own container's process (the pause)
constexpr const char* kPodShm = "/run/berth/pod-shm";

// The sandbox's /dev/shm (a tmpfs in PID 1's mount namespace), or a tmpfs of the pod's when the
// sandbox has none: what every member mounts on its /dev/shm, as a pod shares IPC.
Status makePodShm() {
    static bool made = false;
    if (made) return {};
    TRY(fs::mkdirAll(kPodShm, 0700));
    bool bound = fs::exists("/rootfs/dev/shm") && ::mount("/rootfs/dev/shm", kPodShm, nullptr, MS_BIND, nullptr) == 0;
    if (!bound && ::mount("shm", kPodShm, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777") < 0)
        return Error::fromErrno("mount the pod's /dev/shm");
    // containerd binds the sandbox's /dev/shm read-only (the pause writes nothing) and the app
    // containers' read-write: the bind keeps the sandbox mount's ro, the members' must not.
    if (bound && ::mount(nullptr, kPodShm, nullptr, MS_REMOUNT | MS_BIND | MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) < 0)
        return Error::fromErrno("make the pod's /dev/shm writable");
    made = true;
    return {};
}

Status mountPodShare() {
    static bool mounted = false;
    if (mounted) return {};
    TRY(fs::mkdirAll(kPodDir, 0700));
    if (::mount(kPodTag, kPodDir, "9p", MS_NOSUID | MS_NODEV, k9pOptions) < 0)
        return Error::fromErrno("mount the pod share (is this VM a pod sandbox?)");
    mounted = true;
    return {};
}

// In the supervisor: the next frame of type `want`, or a Signal (killed before it started); a
// Resize meanwhile sets the size the terminal starts with (p).
Result<proto::Frame> expectFrame(int sock, proto::Decoder& dec, proto::Type want, wire::GuestProcess* p = nullptr) {
    for (;;) {
        ASSIGN_OR_RETURN(proto::Frame f, proto::readFrame(sock, dec));
        if (f.type == want || f.type == proto::Type::Signal) return f;
        if (f.type == proto::Type::Resize && p)
            if (auto size = proto::decodeSize(f)) p->process.consoleSize = runtime::spec::ConsoleSize{size->first, size->second};
    }
}

// The member's rootfs at /rootfs in the supervisor's own mount namespace (the sandbox's is
// below, hidden), then what the VM's own container gets: proc, sys, dev, binds, read-only root.
Status enterMemberRootfs(const wire::GuestProcess& p) {
    if (::unshare(CLONE_NEWNS) < 0) return Error::fromErrno("unshare the mount namespace");
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) < 0) return Error::fromErrno("make / private");
    std::string src = strCat(kPodDir, "/", p.member, "/rootfs");
    if (::mount(src.c_str(), "/rootfs", nullptr, MS_BIND | MS_REC, nullptr) < 0)
        return Error::fromErrno("bind mount the member's rootfs ", src);
    TRY(prepareRootfs(p));
    if (fs::exists("/rootfs/dev/shm") && ::mount(kPodShm, "/rootfs/dev/shm", nullptr, MS_BIND, nullptr) < 0)
        return Error::fromErrno("bind mount the pod's /dev/shm");
    if (p.sandboxPidNs) {  // our children (the member's process) go into the sandbox's
        std::string ns = strCat("/proc/", sandboxWorkload, "/ns/pid");
        UniqueFd fd(::open(ns.c_str(), O_RDONLY | O_CLOEXEC));
        if (!fd || ::setns(fd.get(), CLONE_NEWPID) < 0) return Error::fromErrno("join the sandbox's PID namespace");
    }
    return {};
}

void exitAcked(int sock, proto::Decoder& dec, int code) {
    (void)proto::writeFrame(sock, proto::Type::Exit, proto::intPayload(code));
    // Wait for the host's ack (or for PID 1 to drop us) so the last output is relayed first.
    ::fcntl(sock, F_SETFL, O_NONBLOCK);
    for (int i = 0; i < 200; i++) {
        auto f = dec.next();
        if (!f || (*f && (*f)->type == proto::Type::Exit)) return;
        char buf[4096];
        ssize_t n = ::read(sock, buf, sizeof buf);
        if (n == 0) return;
        if (n > 0) dec.feed(buf, static_cast<size_t>(n));
        else ::usleep(10000);
    }
}

[[noreturn]] void superviseMember(int sock) {
    proto::Decoder dec;
    auto cfg = expectFrame(sock, dec, proto::Type::Config);
    if (!cfg || cfg->type != proto::Type::Config) ::_exit(1);
    auto p = wire::guestProcessFromJson(cfg->payload);
    Status st = p ? enterMemberRootfs(*p) : Status(p.error());
    if (st) st = setupMemberCgroup(withGuestDeviceRules(p->resources, p->devices), p->member);
    if (!st) {
        (void)proto::writeFrame(sock, proto::Type::Failed, st.error().what());
        ::_exit(127);
    }
    if (!proto::writeFrame(sock, proto::Type::Prepared)) ::_exit(1);
    auto start = expectFrame(sock, dec, proto::Type::Start, &*p);
    if (!start) ::_exit(1);
    int code;
    if (start->type == proto::Type::Signal) {
        auto sig = proto::decodeInt(*start);
        code = 128 + (sig ? *sig : SIGKILL);
    } else {
        auto c = runWorkload(sock, dec, *p);
        if (!c) say(strCat("member ", p->member, ": ", c.error().what()));
        code = c ? *c : 255;
    }
    exitAcked(sock, dec, code);
    removeGuestCgroups();
    ::_exit(0);
}

// A new member: its supervisor, a child of PID 1 that keeps none of PID 1's fds but its
// socket (and the console on 0-2).
Status spawnMember(int32_t slot) {
    TRY(mountPodShare());
    TRY(makePodShm());
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) return Error::fromErrno("socketpair");
    UniqueFd ours(sv[0]), theirs(sv[1]);
    pid_t pid = ::fork();
    if (pid < 0) return Error::fromErrno("fork the member's supervisor");
    if (pid == 0) {
        members.clear();
        ours.reset();
        if (::dup2(theirs.get(), 3) < 0) ::_exit(1);
        ::syscall(SYS_close_range, 4u, ~0u, 0);
        forgetInheritedFds();
        superviseMember(3);
    }
    ::fcntl(ours.get(), F_SETFL, O_NONBLOCK);
    Member& m = members[slot];
    m.supervisor = pid;
    m.sock = std::move(ours);
    return {};
}

void refuse(int port, int32_t slot, const std::string& msg) {
    (void)proto::writeFrame(port, proto::Type::Member, proto::memberPayload(slot, proto::Type::Failed, msg));
    (void)proto::writeFrame(port, proto::Type::Member, proto::memberPayload(slot, proto::Type::Exit, proto::intPayload(127)));
}

}  // namespace

void podSetSandboxWorkload(pid_t pid) { sandboxWorkload = pid; }

void podFromHost(int port, const proto::Frame& f) {
    auto m = proto::splitMember(f);
    if (!m) return say("refused a member frame: " + m.error().message());
    auto [slot, inner] = std::move(*m);
    auto it = members.find(slot);
    if (inner.type == proto::Type::Config && it == members.end()) {
        if (Status st = spawnMember(slot); !st) return refuse(port, slot, st.error().what());
        it = members.find(slot);
    }
    if (it == members.end()) return;  // a member that has ended already
    Member& mem = it->second;
    if (inner.type == proto::Type::Drop) {
        // Its host side went away (deleted): the member dies; its supervisor's last frames
        // are discarded here.
        mem.dropped = true;
        inner = {proto::Type::Signal, proto::intPayload(SIGKILL)};
    }
    if (!proto::writeFrame(mem.sock.get(), inner.type, inner.payload)) say(strCat("member ", slot, ": its supervisor is gone"));
}

void podPollFds(std::vector<struct pollfd>& fds) {
    polled.clear();
    for (auto& [slot, m] : members) {
        fds.push_back({m.sock.get(), POLLIN, 0});
        polled.push_back(slot);
    }
}

void podOnPoll(int port, const struct pollfd* fds, size_t n) {
    for (size_t i = 0; i < n && i < polled.size(); i++) {
        if (!fds[i].revents) continue;
        auto it = members.find(polled[i]);
        if (it == members.end()) continue;
        Member& m = it->second;
        char buf[proto::kChunk + 64];
        ssize_t r = ::read(m.sock.get(), buf, sizeof buf);
        if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (r <= 0) {  // the supervisor is gone (PID 1's reaping collects it)
            members.erase(it);
            continue;
        }
        m.dec.feed(buf, static_cast<size_t>(r));
        for (;;) {
            auto f = m.dec.next();
            if (!f || !*f) break;
            if (!m.dropped) {
                (void)proto::writeFrame(port, proto::Type::Member, proto::memberPayload(it->first, (*f)->type, (*f)->payload));
            } else if ((*f)->type == proto::Type::Exit) {
                (void)proto::writeFrame(m.sock.get(), proto::Type::Exit, (*f)->payload);  // the ack the host cannot give
            }
        }
    }
}

}  // namespace berth::vm::agent
