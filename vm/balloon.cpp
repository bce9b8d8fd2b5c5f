#include "vm/balloon.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "common/json.hpp"
#include "common/unix_socket.hpp"
#include "vm/shim.hpp"

namespace berth::vm {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr int kBalloonClientMs = 60000;  // the shim's own move timeout plus its way back

int msLeft(Clock::time_point end) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now()).count();
    return left > 0 ? static_cast<int>(left) : 0;
}

}  // namespace

Status checkMemoryMax(const std::map<std::string, std::string>& annotations) {
    auto it = annotations.find(wire::kMemoryMaxAnnotation);
    if (it == annotations.end()) return {};
    if (auto m = wire::memoryMaxMiB(it->second); !m) return std::move(m).error();
    return {};
}

Status planVmBalloon(const std::map<std::string, std::string>& annotations, bool limited, uint64_t rootfsMiB, ShimConfig& c) {
    auto it = annotations.find(wire::kMemoryMaxAnnotation);
    ASSIGN_OR_RETURN(uint64_t wanted, wire::memoryMaxMiB(it == annotations.end() ? "" : it->second));
    long pages = ::sysconf(_SC_PHYS_PAGES), pageSize = ::sysconf(_SC_PAGESIZE);
    uint64_t hostMiB = pages > 0 && pageSize > 0 ? (static_cast<uint64_t>(pages) * static_cast<uint64_t>(pageSize)) >> 20 : 0;
    c.balloon = wire::planBalloon(c.qemu.res.memMiB, rootfsMiB, wanted, hostMiB, limited);
    if (!c.balloon.ceilingMiB) return {};
    c.qemu.res.memMiB = c.balloon.targetMiB;
    c.qemu.res.maxMemMiB = c.balloon.ceilingMiB;
    return {};
}

Status QmpBalloon::attach(UniqueFd qmp, const wire::BalloonState& st) {
    fd_ = std::move(qmp);
    st_ = st;
    TRY(send("qmp_capabilities"));
    if (st_.targetMiB == st_.ceilingMiB) return {};  // nothing to inflate (planBalloon's boot)
    return send("balloon", json{{"value", st_.targetMiB << 20}});
}

Status QmpBalloon::send(const std::string& execute, const json& args) {
    json cmd = {{"execute", execute}, {"id", nextId_++}};
    if (!args.is_null()) cmd["arguments"] = args;
    std::string line = cmd.dump() + "\n";
    for (size_t off = 0; off < line.size();) {
        ssize_t n = ::send(fd_.get(), line.data() + off, line.size() - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return Error::fromErrno("QMP ", execute);
        off += static_cast<size_t>(n);
    }
    return {};
}

Result<json> QmpBalloon::reply(int id, int timeoutMs) {
    auto end = Clock::now() + std::chrono::milliseconds(timeoutMs);
    for (;;) {
        for (size_t nl; (nl = buf_.find('\n')) != std::string::npos;) {
            std::string line = buf_.substr(0, nl);
            buf_.erase(0, nl + 1);
            auto j = parseJson(line, "a QMP message");
            if (!j || !j->is_object() || j->value("id", -1) != id) continue;  // greeting, events, old replies
            if (j->contains("error"))
                return Error(EIO, strCat("QMP: ", (*j)["error"].value("desc", std::string("an error")))).hideErrno();
            return j->value("return", json::object());
        }
        struct pollfd p = {fd_.get(), POLLIN, 0};
        int r = ::poll(&p, 1, msLeft(end));
        if (r < 0 && errno == EINTR) continue;
        if (r == 0) return Error(ETIMEDOUT, "QMP: QEMU did not answer");
        char chunk[4096];
        ssize_t n = ::recv(fd_.get(), chunk, sizeof chunk, 0);
        if (n <= 0) return Error(EPIPE, "QMP: QEMU closed its monitor").hideErrno();
        buf_.append(chunk, static_cast<size_t>(n));
    }
}

Result<json> QmpBalloon::call(const std::string& execute, const json& args, int timeoutMs) {
    int id = nextId_;
    TRY(send(execute, args));
    return reply(id, timeoutMs);
}

Result<uint64_t> QmpBalloon::actualBytes(int timeoutMs) {
    ASSIGN_OR_RETURN(json r, call("query-balloon", nullptr, timeoutMs));
    if (!r.contains("actual") || !r["actual"].is_number_unsigned()) return Error(EPROTO, "QMP: query-balloon without actual");
    return r["actual"].get<uint64_t>();
}

Status QmpBalloon::moveTo(uint64_t targetMiB, int timeoutMs) {
    if (!active()) return Error(ENOTSUP, "this VM has no balloon").hideErrno();
    auto end = Clock::now() + std::chrono::milliseconds(timeoutMs);
    uint64_t old = st_.targetMiB;
    TRY(call("balloon", json{{"value", targetMiB << 20}}, msLeft(end)));
    st_.targetMiB = targetMiB;
    uint64_t actual = 0;
    for (;;) {
        ASSIGN_OR_RETURN(actual, actualBytes(std::max(msLeft(end), 1000)));
        uint64_t want = targetMiB << 20;
        if ((actual > want ? actual - want : want - actual) < (1 << 20)) return {};  // the driver works in pages
        if (msLeft(end) == 0) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    (void)call("balloon", json{{"value", old << 20}}, 5000);  // back to where it was
    st_.targetMiB = old;
    return Error(ETIMEDOUT, strCat("the guest's balloon driver did not reach ", targetMiB, " MiB of guest RAM in ",
                                   timeoutMs / 1000, " s (it got to ", actual >> 20, " MiB; set back to ", old, " MiB)")).hideErrno();
}

std::string answerBalloonRequest(QmpBalloon& b, const std::string& request) {
    if (!b.active()) return json{{"balloon", false}}.dump();
    auto req = parseJson(request, "a balloon request");
    if (!req) return json{{"error", req.error().what()}}.dump();
    if (req->is_object() && req->contains("targetMiB") && (*req)["targetMiB"].is_number_unsigned()) {
        uint64_t target = (*req)["targetMiB"].get<uint64_t>();
        if (target == 0 || target > b.state().ceilingMiB)
            return json{{"error", strCat("balloon target ", target, " MiB is outside 1..", b.state().ceilingMiB, " MiB")}}.dump();
        if (Status st = b.moveTo(target, 20000); !st) return json{{"error", st.error().what()}}.dump();
    }
    return json{{"balloon", b.state().toJson()}}.dump();
}

namespace {

Result<json> askShim(const std::string& stateDir, const json& req) {
    ASSIGN_OR_RETURN(UniqueFd s, connectUnixAt(stateDir, kControlSocketName, SOCK_SEQPACKET));
    std::string msg = "B" + req.dump();
    if (::send(s.get(), msg.data(), msg.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(msg.size()))
        return Error::fromErrno("send to the vm shim");
    struct pollfd p = {s.get(), POLLIN, 0};
    int r;
    while ((r = ::poll(&p, 1, kBalloonClientMs)) < 0 && errno == EINTR) {}
    if (r == 0) return Error(ETIMEDOUT, "the vm shim did not answer about the balloon");
    std::string reply(65536, '\0');
    ssize_t n;
    while ((n = ::recv(s.get(), reply.data(), reply.size(), 0)) < 0 && errno == EINTR) {}
    if (n <= 0) return Error(ESRCH, "the container stopped before the vm shim answered").hideErrno();
    reply.resize(static_cast<size_t>(n));
    ASSIGN_OR_RETURN(json j, parseJson(reply, "the vm shim's balloon reply"));
    if (j.contains("error")) return Error(EIO, j["error"].is_string() ? j["error"].get<std::string>() : "an error").hideErrno();
    return j;
}

}  // namespace

Result<std::optional<wire::BalloonState>> balloonState(const std::string& stateDir) {
    ASSIGN_OR_RETURN(json j, askShim(stateDir, json::object()));
    if (!j.contains("balloon") || !j["balloon"].is_object()) return std::optional<wire::BalloonState>();
    ASSIGN_OR_RETURN(wire::BalloonState b, wire::BalloonState::fromJson(j["balloon"]));
    return std::optional<wire::BalloonState>(b);
}

Status moveBalloon(const std::string& stateDir, uint64_t targetMiB) {
    ASSIGN_OR_RETURN(json j, askShim(stateDir, json{{"targetMiB", targetMiB}}));
    (void)j;
    return {};
}

}  // namespace berth::vm
