#include "runtime/container_cgroup.hpp"

#include "common/log.hpp"

namespace berth::runtime {

Result<ContainerCgroup> makeContainerCgroup(const HandlerRequest& req) {
    const spec::Spec& sp = *req.spec;
    state::ContainerState& st = *req.record;
    st.systemdCgroup = req.global->systemdCgroup;
    cgroups::Config cc{sp.linux->cgroupsPath, st.id, req.global->systemdCgroup, "", ""};
    cc.rootless = req.global->rootless;
    ASSIGN_OR_RETURN(std::unique_ptr<cgroups::Manager> manager, cgroups::newManager(cc));
    cgroups::Manager* cg = manager.get();
    // Checked before the cgroup is made or recorded: a frozen one is someone else's to thaw,
    // and nothing of it may be removed (or killed) on the way out.
    TRY(cg->refuseFrozen());
    st.cgroup = cg->saved();
    TRY(req.save());
    ScopeGuard removeCgroup([cg] { (void)cg->destroy(); });  // also undoes a partial create
    TRY(cg->create());
    st.cgroup = cg->saved();  // with the parents create made, for delete
    if (!st.cgroup.madeParents.empty()) TRY(req.save());  // so a crash from here loses none of them
    // (A systemd scope that already runs is refused when the unit starts, with one line.)
    auto pids = cg->saved().driver == "systemd" ? Result<std::vector<pid_t>>(std::vector<pid_t>{}) : cg->pids();
    if (pids && !pids->empty()) {
        log::warn("container's cgroup is not empty: ", pids->size(), " process(es) found");
        removeCgroup.dismiss();
    }
    return ContainerCgroup{std::move(manager), std::move(removeCgroup)};
}

Result<std::unique_ptr<cgroups::Manager>> recordedCgroup(const state::ContainerState& st) {
    if (st.cgroup.paths.empty() && st.cgroup.unit.empty()) return std::unique_ptr<cgroups::Manager>();
    return cgroups::loadManager(st.cgroup);
}

}  // namespace berth::runtime
