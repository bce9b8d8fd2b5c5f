// state, list and ps: read-only views of containers.
#include "runtime/container.hpp"

namespace berth::runtime {

Result<nlohmann::json> state(const GlobalOptions& g, const std::string& id) {
    state::Store store(g.root);
    ASSIGN_OR_RETURN(state::ContainerState st, store.load(id));
    return state::publicJson(st, store.liveStatus(st));
}

Result<std::vector<nlohmann::json>> list(const GlobalOptions& g) {
    state::Store store(g.root);
    ASSIGN_OR_RETURN(auto ids, store.list());
    std::vector<nlohmann::json> out;
    for (auto& id : ids) {
        auto st = store.load(id);
        if (!st) continue;  // deleted meanwhile, or half-written: not a container to list
        out.push_back(state::publicJson(*st, store.liveStatus(*st)));
    }
    return out;
}

Result<std::vector<pid_t>> processes(const GlobalOptions& g, const std::string& id) {
    state::Store store(g.root);
    ASSIGN_OR_RETURN(state::ContainerState st, store.load(id));
    if (store.liveStatus(st) == state::ContainerStatus::Stopped) return std::vector<pid_t>{};
    ASSIGN_OR_RETURN(auto cg, cgroups::loadManager(st.cgroupPaths));
    return cg->pids();
}

}  // namespace berth::runtime
