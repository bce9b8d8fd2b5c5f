#include "vm/guest_ops.hpp"

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "cgroups/manager.hpp"
#include "cgroups/stats.hpp"
#include "common/fs.hpp"
#include "common/unique_fd.hpp"
#include "vm/balloon.hpp"
#include "vm/shim.hpp"
#include "vm/wire/balloon.hpp"
#include "vm/wire/guest_ops.hpp"

namespace berth::vm {
namespace {
using nlohmann::json;
using runtime::state::ContainerStatus;

// A paused container's VMM is stopped (SIGSTOP): nothing in the guest can answer.
Status refusePaused(const runtime::HandledContainer& c, const char* verb) {
    if (c.live != ContainerStatus::Paused) return {};
    return Error(EBUSY, strCat("cannot ", verb, " container \"", c.st.id, "\": it is paused (its VM is stopped)")).hideErrno();
}

// The agent's answer, or one line: `cannot VERB container "ID": why`.
Result<json> ask(const runtime::HandledContainer& c, const char* verb, wire::proto::Type type, json body = json::object()) {
    body["container"] = c.st.id;
    auto r = askAgent(c.stateDir, type, body);
    if (!r) return std::move(r).error().context("cannot ", verb, " container \"", c.st.id, "\"");
    return r;
}

struct GuestStats {
    cgroups::Stats stats;
    uint64_t oomKills = 0;
};

Result<GuestStats> guestStats(const runtime::HandledContainer& c) {
    ASSIGN_OR_RETURN(json body, ask(c, "read the stats of", wire::proto::Type::StatsRequest));
    GuestStats g;
    ASSIGN_OR_RETURN(g.stats, cgroups::statsFromJson(body.value("stats", json::object())));
    g.oomKills = body.value("oomKills", uint64_t{0});
    g.stats.memory.oomKills = g.oomKills;
    return g;
}

// The guest's memory.events cannot be watched from here: its oom_kill count is asked for once
// a second (a timerfd). The host cgroup's memory.oom_control eventfd (v1) is watched too: the
// shim raises it for a guest OOM kill (vm/host_oom.hpp) before it reports the exit, so an OOM
// that kills the workload itself — after which the guest can no longer be asked — is an event.
// Both are behind one epoll fd (what events polls); a count the guest reports is never told twice.
class GuestOomNotifier final : public cgroups::OomNotifier {
public:
    GuestOomNotifier(runtime::HandledContainer c, UniqueFd timer, uint64_t kills)
        : c_(std::move(c)), timer_(std::move(timer)), kills_(kills) {}
    Status watch() {
        ep_.reset(::epoll_create1(EPOLL_CLOEXEC));
        if (!ep_) return Error::fromErrno("epoll_create1");
        TRY(add(timer_.get()));
        hostDir_ = hostMemoryDir(c_.st.cgroup);
        if (hostDir_.empty()) return {};
        auto host = cgroups::registerV1OomEventfd(hostDir_);
        if (!host) return {};  // not fatal: the guest poll still reports what it can ask for
        host_ = std::move(*host);
        return add(host_.get());
    }
    int fd() const override { return ep_.get(); }
    Result<bool> consume() override {
        uint64_t n = 0;
        (void)!::read(timer_.get(), &n, sizeof n);
        auto g = guestStats(c_);
        // Read after asking the guest: the shim raises the host's notification before it takes
        // the Exit that makes the guest stop answering.
        bool hostFired = host_ && ::read(host_.get(), &n, sizeof n) == sizeof n &&
                         ::access((hostDir_ + "/memory.oom_control").c_str(), F_OK) == 0;  // not its removal
        if (!g) {
            if (hostFired) return true;  // the workload itself was OOM-killed: the guest is gone
            return std::move(g).error();
        }
        bool oom = g->oomKills > kills_;
        kills_ = g->oomKills;
        return oom;
    }

private:
    Status add(int fd) {
        struct epoll_event ev = {};
        ev.events = EPOLLIN;
        ev.data.fd = fd;
        if (::epoll_ctl(ep_.get(), EPOLL_CTL_ADD, fd, &ev) < 0) return Error::fromErrno("epoll_ctl");
        return {};
    }
    // The container's directory in a v1 memory hierarchy ("" on cgroup2 or without one).
    static std::string hostMemoryDir(const cgroups::Saved& saved) {
        for (const auto& [mount, dir] : saved.paths)
            if (mount.size() >= 7 && mount.compare(mount.size() - 7, 7, "/memory") == 0) return dir;
        return "";
    }

    runtime::HandledContainer c_;
    UniqueFd timer_, ep_, host_;
    std::string hostDir_;
    uint64_t kills_;
};

class GuestMonitor final : public runtime::Monitor {
public:
    explicit GuestMonitor(runtime::HandledContainer c) : c_(std::move(c)) {}
    Result<cgroups::Stats> stats() const override {
        ASSIGN_OR_RETURN(GuestStats g, guestStats(c_));
        return g.stats;
    }
    std::unique_ptr<cgroups::OomNotifier> oomNotifier() const override {
        auto first = guestStats(c_);
        UniqueFd timer(::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK));
        if (!first || !timer) return nullptr;
        struct itimerspec every = {{1, 0}, {1, 0}};
        if (::timerfd_settime(timer.get(), 0, &every, nullptr) < 0) return nullptr;
        auto n = std::make_unique<GuestOomNotifier>(c_, std::move(timer), first->oomKills);
        if (!n->watch()) return nullptr;
        return n;
    }

private:
    runtime::HandledContainer c_;
};

}  // namespace

Result<std::optional<runtime::OwnProcessTable>> guestProcessTable(const runtime::HandledContainer& c,
                                                                  const std::vector<std::string>& psArgs) {
    if (!psArgs.empty() && !(psArgs.size() == 1 && psArgs[0] == "-ef"))
        return Error(ENOTSUP, strCat("ps: options for the host's ps do not apply to container \"", c.st.id,
                                     "\": its processes are in a VM (ps prints the -ef table or --format json)")).hideErrno();
    TRY(refusePaused(c, "list the processes of"));
    ASSIGN_OR_RETURN(json body, ask(c, "list the processes of", wire::proto::Type::PsRequest));
    ASSIGN_OR_RETURN(auto rows, wire::psRowsFromJson(body.value("processes", json::array())));
    runtime::OwnProcessTable t;
    t.table = wire::psTable(rows, ::time(nullptr));
    for (auto& r : rows) t.pids.push_back(r.pid);
    return std::optional<runtime::OwnProcessTable>(std::move(t));
}

Status updateGuest(const runtime::HandledContainer& c, const json& resources) {
    TRY(refusePaused(c, "update"));
    std::optional<int64_t> limit = wire::memoryLimitOf(resources);
    std::optional<wire::BalloonState> balloon;
    if (limit) {
        auto b = balloonState(c.stateDir);
        if (!b) return std::move(b).error().context("cannot update container \"", c.st.id, "\"");
        balloon = *b;
    }
    if (!balloon) {  // no memory limit in the update, or a VM without a balloon (a pod member)
        ASSIGN_OR_RETURN(json body, ask(c, "update", wire::proto::Type::UpdateRequest, json{{"resources", resources}}));
        (void)body;
        return {};
    }
    // A ballooned VM (vm/wire/balloon.hpp): the balloon and the guest cgroup's limit move together.
    wire::MemoryUpdateSteps steps;
    steps.balloon = [&](uint64_t targetMiB) { return moveBalloon(c.stateDir, targetMiB); };
    steps.updateGuest = [&](const json& r) -> Result<std::string> {
        json req = {{"container", c.st.id}, {"resources", r}, {"memoryCeiling", wire::maxMemoryLimit(*balloon)}};
        ASSIGN_OR_RETURN(json body, askAgent(c.stateDir, wire::proto::Type::UpdateRequest, req));
        return body.value("memoryMaxBefore", std::string("max"));
    };
    Status st = wire::updateMemory(resources, *limit, *balloon, steps);
    if (!st) return std::move(st).error().context("cannot update container \"", c.st.id, "\"");
    return {};
}

Result<std::unique_ptr<runtime::Monitor>> guestMonitor(const runtime::HandledContainer& c) {
    TRY(refusePaused(c, "read events of"));
    return std::unique_ptr<runtime::Monitor>(new GuestMonitor(c));
}

}  // namespace berth::vm
