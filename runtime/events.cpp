// events: a container's resource usage (runc's stats event) once, or streamed every interval
// together with an event for each OOM kill, until the container stops.
#include <poll.h>

#include "runtime/container.hpp"
#include "runtime/handler.hpp"

namespace berth::runtime {
namespace {
using nlohmann::json;

json statsEvent(const std::string& id, const cgroups::Stats& s) {
    return {{"type", "stats"}, {"id", id}, {"data", cgroups::toJson(s)}};
}

}  // namespace

Status events(const GlobalOptions& g, const EventsOptions& o, const std::function<void(const json&)>& emit) {
    state::Store store(g.root);
    ASSIGN_OR_RETURN(state::ContainerState st, store.load(o.id));
    auto live = store.liveStatus(st);
    if (live == state::ContainerStatus::Stopped || live == state::ContainerStatus::Creating)
        return Error::make("cannot read events of container \"", o.id, "\": it is ", state::statusName(live));
    ASSIGN_OR_RETURN(Handler * h, handlerOf(st));
    ASSIGN_OR_RETURN(auto monitor, h->monitor({st, store.dir(o.id), live}));
    if (o.stats) {
        ASSIGN_OR_RETURN(cgroups::Stats s, monitor->stats());
        emit(statsEvent(o.id, s));
        return {};
    }
    if (o.interval.count() <= 0) return Error::make("events: --interval must be positive");
    // Without a memory controller there are no OOM events, but stats still stream.
    std::unique_ptr<cgroups::OomNotifier> oom = monitor->oomNotifier();
    auto intervalMs = std::chrono::duration_cast<std::chrono::milliseconds>(o.interval).count();
    auto next = std::chrono::steady_clock::now();
    for (;;) {
        auto now = std::chrono::steady_clock::now();
        if (now >= next) {
            // The record may be gone (deleted) or the init dead: the stream ends there.
            auto cur = store.load(o.id);
            if (!cur || cur->created != st.created || store.liveStatus(*cur) == state::ContainerStatus::Stopped)
                return {};
            ASSIGN_OR_RETURN(cgroups::Stats s, monitor->stats());
            emit(statsEvent(o.id, s));
            next = now + std::chrono::milliseconds(intervalMs);
            continue;
        }
        int wait = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(next - now).count()) + 1;
        struct pollfd p {oom ? oom->fd() : -1, POLLIN, 0};
        int n = ::poll(&p, 1, wait);
        if (n < 0 && errno != EINTR) return Error::fromErrno("events: poll");
        if (n > 0 && oom) {
            auto fired = oom->consume();
            if (!fired) return {};  // the cgroup went away with the container
            if (*fired) emit({{"type", "oom"}, {"id", o.id}});
        }
    }
}

}  // namespace berth::runtime
