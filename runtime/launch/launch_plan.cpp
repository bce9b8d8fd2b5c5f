// Planning the init's launch (see launch_plan.hpp): the decisions only, no system calls.
#include "runtime/launch/launch_plan.hpp"

#include <sched.h>

#include <set>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

namespace berth::runtime::launch {
namespace {

using namespaces::Kind;

TimeOffsets timeOffsets(const spec::Linux& lx) {
    TimeOffsets offs;
    for (auto& [c, o] : lx.timeOffsets) offs[c] = {o.secs, o.nanosecs};
    return offs;
}

std::vector<namespaces::IdMap> toIdMaps(const std::vector<spec::IdMapping>& m) {
    std::vector<namespaces::IdMap> out;
    for (auto& x : m) out.push_back({x.containerID, x.hostID, x.size});
    return out;
}

// The parsed spec refuses these already; the plan does not rely on it.
Status checkNamespaces(const spec::Linux& lx) {
    std::set<std::string> seen;
    for (auto& ns : lx.namespaces) {
        if (!namespaces::kindBySpecName(ns.type))
            return Error::make("unknown namespace type ", ns.type);
        if (!seen.insert(ns.type).second) {
            if (ns.type == "user")
                return Error::make("a user namespace cannot be both joined and new");
            return Error::make("duplicate namespace type ", ns.type);
        }
    }
    auto* user = lx.findNamespace("user");
    if (user && user->path.empty() && (lx.uidMappings.empty() || lx.gidMappings.empty()))
        return Error::make("a new user namespace requires linux.uidMappings and linux.gidMappings");
    return {};
}

// pid and time: joined ones are entered by the parent for the clone. A new pid one comes from
// the clone, or under a joined user namespace from the child's unshare and fork, as a new time
// one does there (it must be owned by that user namespace); else the parent makes it.
void planForChildren(const spec::Linux& lx, const Kind& kind, bool joinUser, LaunchPlan& p) {
    auto* ns = lx.findNamespace(kind.specName);
    if (!ns) return;
    bool pid = kind.cloneFlag == CLONE_NEWPID;
    if (!ns->path.empty()) {
        p.enterForChildren.push_back({&kind, ns->path});
    } else if (joinUser) {
        p.forkAfterUnshare = true;
        if (pid) p.unshareFlags |= CLONE_NEWPID;
        else p.childNewTime = timeOffsets(lx);
    } else if (pid) {
        p.cloneFlags |= CLONE_NEWPID;
    } else {
        p.newTimeForChildren = timeOffsets(lx);
    }
}

// Every other kind: created by the clone, created later by unshare, or joined by setns.
void planNamespaces(const spec::Linux& lx, bool joinUser, LaunchPlan& p) {
    for (auto& kind : namespaces::kinds()) {
        if (kind.cloneFlag == CLONE_NEWPID || kind.cloneFlag == CLONE_NEWTIME) continue;
        auto* ns = lx.findNamespace(kind.specName);
        if (!ns) continue;
        if (!ns->path.empty()) {
            p.joins.push_back({&kind, ns->path});
            continue;
        }
        // The cgroup namespace must be rooted at the container's cgroup, which the parent joins
        // after the clone; with a joined user namespace, new ones must be owned by it.
        if (kind.cloneFlag == CLONE_NEWCGROUP || joinUser) p.unshareFlags |= kind.cloneFlag;
        else p.cloneFlags |= static_cast<uint64_t>(kind.cloneFlag);
    }
    // Parent-entered pid first, then time, as ForChildren restores them.
    planForChildren(lx, *namespaces::kindBySpecName("pid"), joinUser, p);
    planForChildren(lx, *namespaces::kindBySpecName("time"), joinUser, p);
}

void planSync(const spec::Spec& s, const HostFacts& host, LaunchPlan& p) {
    using P = ParentStep;
    using C = ChildStep;
    p.parentSteps.push_back(P::RecordPid);
    if (!p.idMapWrites.empty()) p.parentSteps.push_back(P::WriteIdMaps);
    if (s.process && s.process->oomScoreAdj) p.parentSteps.push_back(P::SetOomScoreAdj);
    if (host.detachedMounts) p.parentSteps.push_back(P::SendMountFds);
    // Joining v1 cgroups waits for an RCU grace period (milliseconds): after Go, so the child
    // builds its rootfs meanwhile.
    p.parentSteps.insert(p.parentSteps.end(), {P::SendGo, P::JoinCgroup, P::SendCgroupJoined});

    p.childSteps = {C::RecvMountFds, C::AwaitGo};
    if (p.dumpableUntilGo) p.childSteps.push_back(C::DropDumpable);
    // A cgroup namespace is rooted at the cgroup the child is in when it is made, and a forked
    // init inherits the cgroup: then wait for the join before the namespaces; else only before
    // the hooks, after the rootfs.
    bool early = (p.unshareFlags & CLONE_NEWCGROUP) != 0 || p.forkAfterUnshare;
    if (early) p.childSteps.push_back(C::AwaitCgroupJoined);
    if (!p.joins.empty()) p.childSteps.push_back(C::JoinNamespaces);
    if (p.unshareFlags) p.childSteps.push_back(C::Unshare);
    if (p.childNewTime) p.childSteps.push_back(C::NewTimeNamespace);
    if (p.forkAfterUnshare) p.childSteps.push_back(C::ForkInit);
    if (p.userNamespace) p.childSteps.push_back(C::BecomeRoot);
    p.childSteps.insert(p.childSteps.end(), {C::SetHostname, C::PrepareRootfs});
    if (!early) p.childSteps.push_back(C::AwaitCgroupJoined);
}

}  // namespace

Result<LaunchPlan> planLaunch(const spec::Spec& s, const HostFacts& host) {
    if (!s.linux) return Error::make("config.json: linux: required on Linux");
    const spec::Linux& lx = *s.linux;
    TRY(checkNamespaces(lx));
    LaunchPlan p;
    auto* user = lx.findNamespace("user");
    bool joinUser = user && !user->path.empty();
    planNamespaces(lx, joinUser, p);
    p.userNamespace = user != nullptr;
    // Rootless: an unprivileged parent can write the id maps (or have newuidmap write them)
    // only of a dumpable child.
    p.dumpableUntilGo = user && !joinUser && host.euid != 0;
    if (user && !joinUser)
        p.idMapWrites = namespaces::planIdMapWrites(toIdMaps(lx.uidMappings),
                                                    toIdMaps(lx.gidMappings), host.euid, host.egid);
    planSync(s, host, p);
    return p;
}

}  // namespace berth::runtime::launch
