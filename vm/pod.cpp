#include "vm/pod.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <string_view>

#include "common/fd_passing.hpp"
#include "common/fs.hpp"
#include "common/log.hpp"
#include "common/unix_socket.hpp"
#include "vm/shim.hpp"

namespace berth::vm {
namespace proto = wire::proto;
namespace {

std::string annotation(const std::map<std::string, std::string>& a, const char* key) {
    auto it = a.find(key);
    return it == a.end() ? std::string() : it->second;
}

// Unmount (lazily: QEMU may hold files open) and remove the directory if it is empty; never a
// recursive removal — under an unmount that failed is the container's own rootfs.
void unmountAndRemove(const std::string& dir) {
    if (::umount2(dir.c_str(), MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT)
        log::debug("vm: unmount ", dir, ": ", std::strerror(errno));
    ::rmdir(dir.c_str());
}

Status bindAt(const std::string& src, const std::string& dst, bool readonly) {
    TRY(fs::mkdirAll(dst, 0700));
    if (::mount(src.c_str(), dst.c_str(), nullptr, MS_BIND | MS_REC, nullptr) < 0)
        return Error::fromErrno("bind mount ", src, " on ", dst);
    if (readonly && ::mount(nullptr, dst.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr) < 0)
        return Error::fromErrno("make ", dst, " read-only");
    return {};
}

}  // namespace

Result<PodInfo> podRoleOf(const std::map<std::string, std::string>& a) {
    std::string type = annotation(a, "io.kubernetes.cri.container-type");
    std::string sandbox = annotation(a, "io.kubernetes.cri.sandbox-id");
    if (type.empty()) {
        type = annotation(a, "io.kubernetes.cri-o.ContainerType");
        sandbox = annotation(a, "io.kubernetes.cri-o.SandboxID");
    }
    if (type == "sandbox") return PodInfo{PodRole::Sandbox, sandbox};
    if (type != "container") return PodInfo{};
    if (sandbox.empty())
        return Error(EINVAL, "vm: a pod container (container-type \"container\") without a sandbox id annotation").hideErrno();
    if (Status st = runtime::state::validateId(sandbox); !st)
        return Error(EINVAL, strCat("vm: sandbox id \"", sandbox, "\": ", st.error().message())).hideErrno();
    return PodInfo{PodRole::Member, sandbox};
}

namespace {
bool isHexId(std::string_view s) {
    return s.size() == 64 && s.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}
}  // namespace

bool isPodmanInfra(const std::map<std::string, std::string>& a, const std::string& cgroupsPath) {
    if (annotation(a, "io.container.manager") != "libpod") return false;
    if (a.count("io.kubernetes.cri-o.ContainerType") || a.count("io.kubernetes.cri.container-type")) return false;
    std::string_view path = cgroupsPath;
    if (path.find("libpod_pod_") != std::string_view::npos) return true;  // systemd's slice of the pod
    size_t leaf = path.rfind('/');
    if (leaf == std::string_view::npos || path.substr(leaf + 1).rfind("libpod-", 0) != 0) return false;
    std::string_view parent = path.substr(0, leaf);
    size_t up = parent.rfind('/');
    return isHexId(up == std::string_view::npos ? parent : parent.substr(up + 1));
}

Result<nlohmann::json> podVmSizing(const std::map<std::string, std::string>& a, const nlohmann::json& resources) {
    auto number = [&](const char* key) -> Result<int64_t> {
        auto it = a.find(key);
        if (it == a.end()) return int64_t{0};
        const std::string& v = it->second;
        char* end = nullptr;
        errno = 0;
        long long n = v.empty() ? -1 : std::strtoll(v.c_str(), &end, 10);
        if (v.empty() || *end || errno || n < 0)
            return Error(EINVAL, strCat("annotation ", key, "=\"", v, "\": expected a number (0 or more)")).hideErrno();
        return static_cast<int64_t>(n);
    };
    ASSIGN_OR_RETURN(int64_t mem, number("io.kubernetes.cri.sandbox-memory"));
    ASSIGN_OR_RETURN(int64_t quota, number("io.kubernetes.cri.sandbox-cpu-quota"));
    ASSIGN_OR_RETURN(int64_t period, number("io.kubernetes.cri.sandbox-cpu-period"));
    nlohmann::json r = resources.is_object() ? resources : nlohmann::json::object();
    if (mem > 0) {
        if (!r.contains("memory") || !r["memory"].is_object()) r["memory"] = nlohmann::json::object();
        if (!r["memory"].contains("limit") || !r["memory"]["limit"].is_number_integer() || r["memory"]["limit"].get<int64_t>() <= 0)
            r["memory"]["limit"] = mem;
    }
    if (quota > 0 && period > 0) {
        if (!r.contains("cpu") || !r["cpu"].is_object()) r["cpu"] = nlohmann::json::object();
        if (r["cpu"].value("quota", int64_t{0}) <= 0) {
            r["cpu"]["quota"] = quota;
            r["cpu"]["period"] = period;
        }
    }
    return r;
}

Result<PodInfo> podRoleOfSpec(const runtime::spec::Spec& spec) {
    ASSIGN_OR_RETURN(PodInfo info, podRoleOf(spec.annotations));
    if (info.role == PodRole::None && spec.linux && isPodmanInfra(spec.annotations, spec.linux->cgroupsPath))
        info.role = PodRole::Sandbox;
    return info;
}

std::string podDir(const std::string& sandboxStateDir) { return sandboxStateDir + "/" + kPodTag; }

wire::Share podShare(const std::string& sandboxStateDir) { return {kPodTag, podDir(sandboxStateDir), false}; }

Result<std::string> sandboxStateDirFor(const std::string& memberStateDir, const std::string& memberId,
                                       const std::string& sandboxId, const char* handlerName) {
    std::string root = std::filesystem::path(memberStateDir).parent_path().string();
    std::string what = strCat("vm: container \"", memberId, "\": its sandbox \"", sandboxId, "\"");
    if (sandboxId == memberId) return Error(EINVAL, what + " is itself").hideErrno();
    runtime::state::Store store(root);
    auto sb = store.load(sandboxId);
    if (!sb) return Error(ENOENT, what + " does not exist").hideErrno();
    if (sb->handler != handlerName)
        return Error(EINVAL, strCat(what, " does not run in a VM (handler \"", sb->handler.empty() ? "namespaces" : sb->handler,
                                    "\"): a pod's containers run where its sandbox runs")).hideErrno();
    std::string dir = store.dir(sandboxId);
    if (!fs::exists(podDir(dir)))
        return Error(EINVAL, what + " is a VM container but not a pod sandbox (no container-type \"sandbox\" annotation)").hideErrno();
    auto live = store.liveStatus(*sb);
    if (live != runtime::state::ContainerStatus::Running)
        return Error(EINVAL, strCat(what, " is not running (", runtime::state::statusName(live), ")")).hideErrno();
    return dir;
}

Status stageMember(const std::string& sandboxStateDir, const std::string& id, const std::string& rootfs,
                   const std::vector<wire::Share>& shares) {
    std::string dir = podDir(sandboxStateDir) + "/" + id;
    if (::mkdir(dir.c_str(), 0700) < 0) return Error::fromErrno("vm: make ", dir);
    ScopeGuard undo([&] { unstageMember(sandboxStateDir, id); });
    TRY_CTX(bindAt(rootfs, dir + "/rootfs", false), "vm: pod member rootfs");
    for (const auto& s : shares) TRY_CTX(bindAt(s.hostDir, dir + "/" + s.tag, s.readonly), "vm: pod member bind source");
    undo.dismiss();
    return {};
}

void unstageMember(const std::string& sandboxStateDir, const std::string& id) {
    std::string dir = podDir(sandboxStateDir) + "/" + id;
    if (auto entries = fs::listDir(dir))
        for (const auto& e : *entries) unmountAndRemove(dir + "/" + e);
    ::rmdir(dir.c_str());
}

void unstagePod(const std::string& sandboxStateDir) {
    std::string dir = podDir(sandboxStateDir);
    if (auto entries = fs::listDir(dir))
        for (const auto& e : *entries) unstageMember(sandboxStateDir, e);
    ::rmdir(dir.c_str());
}

Result<UniqueFd> joinSandbox(const std::string& sandboxStateDir) {
    ASSIGN_OR_RETURN(UniqueFd ctl, connectUnixAt(sandboxStateDir, kControlSocketName, SOCK_SEQPACKET));
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) return Error::fromErrno("socketpair");
    UniqueFd ours(sv[0]), theirs(sv[1]);
    TRY(sendFds(ctl.get(), {theirs.get()}, "M", "the member's channel to the sandbox's vm shim"));
    return ours;
}

void PodMux::add(UniqueFd conn) {
    ::fcntl(conn.get(), F_SETFL, O_NONBLOCK);
    Conn& c = conns_[next_++];
    c.fd = std::move(conn);
    c.out = proto::encode(proto::Type::Ready, proto::readyPayload());
    flush(c);
}

void PodMux::fromAgent(const proto::Frame& f) {
    auto m = proto::splitMember(f);
    if (!m) return log::debug("vm: ", m.error().what());
    auto it = conns_.find(m->first);
    if (it == conns_.end()) return;  // a member that has gone
    Conn& c = it->second;
    proto::Type t = m->second.type;
    bool output = t == proto::Type::Stdout || t == proto::Type::Stderr || t == proto::Type::ExecOutput;
    if (output && c.out.size() > kMaxQueued) {
        if (!c.dropping) log::debug("vm: pod member ", it->first, " does not read its output: dropping it");
        c.dropping = true;
        return;
    }
    c.dropping = false;
    c.out += proto::encode(t, m->second.payload);
    flush(c);
}

void PodMux::flush(Conn& c) {
    while (!c.out.empty()) {
        ssize_t n = ::send(c.fd.get(), c.out.data(), c.out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;  // full (POLLOUT later) or gone (EOF on the read side ends it)
        c.out.erase(0, static_cast<size_t>(n));
    }
}

void PodMux::pollFds(std::vector<struct pollfd>& fds) {
    polled_.clear();
    for (auto& [slot, c] : conns_) {
        fds.push_back({c.fd.get(), static_cast<short>(POLLIN | (c.out.empty() ? 0 : POLLOUT)), 0});
        polled_.push_back(slot);
    }
}

void PodMux::onPoll(int agentFd, const struct pollfd* fds, size_t n) {
    for (size_t i = 0; i < n && i < polled_.size(); i++) {
        if (!fds[i].revents) continue;
        auto it = conns_.find(polled_[i]);
        if (it == conns_.end()) continue;
        if (fds[i].revents & POLLOUT) flush(it->second);
        if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        char buf[65536];
        ssize_t r = ::read(it->second.fd.get(), buf, sizeof buf);
        if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (r > 0) it->second.dec.feed(buf, static_cast<size_t>(r));
        for (;;) {
            auto f = it->second.dec.next();
            if (!f || !*f) {
                if (!f) r = 0;  // a corrupt member channel: that member is dropped
                break;
            }
            (void)proto::writeFrame(agentFd, proto::Type::Member, proto::memberPayload(it->first, (*f)->type, (*f)->payload));
        }
        if (r <= 0) {  // the member's shim is gone (exited, or killed by delete): so is the member
            (void)proto::writeFrame(agentFd, proto::Type::Member, proto::memberPayload(it->first, proto::Type::Drop));
            conns_.erase(it);
        }
    }
}

}  // namespace berth::vm
