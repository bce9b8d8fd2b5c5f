// pause and resume: freeze and thaw every process of a container through its cgroup (or its
// handler: the VM path stops the VMM).
#include <functional>
#include <memory>

#include "runtime/container.hpp"
#include "runtime/handler.hpp"

namespace berth::runtime {
namespace {

Status setFrozen(const GlobalOptions& g, const std::string& id, bool frozen) {
    state::Store store(g.root);
    ASSIGN_OR_RETURN(state::Lock lock, store.lock(id));
    ASSIGN_OR_RETURN(state::ContainerState st, store.load(id));
    auto live = store.liveStatus(st);
    // runc pauses created containers too (their init, blocked on the exec fifo, is frozen).
    bool allowed = frozen ? live == state::ContainerStatus::Running || live == state::ContainerStatus::Created
                          : live == state::ContainerStatus::Paused;
    if (!allowed)
        return Error::make("cannot ", frozen ? "pause" : "resume", " container \"", id, "\": it is ",
                           state::statusName(live));
    std::function<Status(bool)> freeze;
    if (!st.handler.empty()) {
        Handler* h = findHandler(st.handler);
        if (!h) return Error::make("container \"", id, "\": handler \"", st.handler, "\" is not available");
        freeze = [h, &st, dir = store.dir(id)](bool f) { return h->freeze(st, dir, f); };
    } else {
        ASSIGN_OR_RETURN(auto cg, cgroups::loadManager(st.cgroup));
        freeze = [cg = std::shared_ptr<cgroups::Manager>(std::move(cg))](bool f) { return cg->freeze(f); };
    }
    TRY(freeze(frozen));
    st.saved = frozen ? state::ContainerStatus::Paused : state::ContainerStatus::Running;
    Status saved = store.save(st);
    if (!saved) {
        (void)freeze(!frozen);  // keep the record and the kernel in agreement
        return saved;
    }
    return {};
}

}  // namespace

Status pause(const GlobalOptions& g, const std::string& id) { return setFrozen(g, id, true); }
Status resume(const GlobalOptions& g, const std::string& id) { return setFrozen(g, id, false); }

}  // namespace berth::runtime
