// pause and resume: freeze and thaw every process of a container through its cgroup.
#include "runtime/container.hpp"

namespace berth::runtime {
namespace {

Status setFrozen(const GlobalOptions& g, const std::string& id, bool frozen) {
    state::Store store(g.root);
    ASSIGN_OR_RETURN(state::Lock lock, store.lock(id));
    ASSIGN_OR_RETURN(state::ContainerState st, store.load(id));
    auto live = store.liveStatus(st);
    auto want = frozen ? state::ContainerStatus::Running : state::ContainerStatus::Paused;
    if (live != want)
        return Error::make("cannot ", frozen ? "pause" : "resume", " container \"", id, "\": it is ",
                           state::statusName(live));
    TRY(refuseForHandler(st, "pause or resume"));
    ASSIGN_OR_RETURN(auto cg, cgroups::loadManager(st.cgroup));
    TRY(cg->freeze(frozen));
    st.saved = frozen ? state::ContainerStatus::Paused : state::ContainerStatus::Running;
    Status saved = store.save(st);
    if (!saved) {
        (void)cg->freeze(!frozen);  // keep the record and the kernel in agreement
        return saved;
    }
    return {};
}

}  // namespace

Status pause(const GlobalOptions& g, const std::string& id) { return setFrozen(g, id, true); }
Status resume(const GlobalOptions& g, const std::string& id) { return setFrozen(g, id, false); }

}  // namespace berth::runtime
