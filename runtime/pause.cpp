// pause and resume: freeze and thaw every process of a container through its handler (its
// cgroup's freezer; the VM path stops the VMM).
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
    ASSIGN_OR_RETURN(Handler * h, handlerOf(st));
    HandledContainer c{st, store.dir(id), live};
    TRY(h->freeze(c, frozen));
    st.saved = frozen ? state::ContainerStatus::Paused : state::ContainerStatus::Running;
    Status saved = store.save(st);
    if (!saved) {
        (void)h->freeze(c, !frozen);  // keep the record and the kernel in agreement
        return saved;
    }
    return {};
}

}  // namespace

Status pause(const GlobalOptions& g, const std::string& id) { return setFrozen(g, id, true); }
Status resume(const GlobalOptions& g, const std::string& id) { return setFrozen(g, id, false); }

}  // namespace berth::runtime
