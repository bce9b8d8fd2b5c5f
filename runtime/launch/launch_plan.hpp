// runtime/launch/launch_plan: the launch of a container's init as data — which namespaces the
// clone makes, which are joined by path (by the child, or by the parent for its children), which
// the child makes after joining, who writes the id maps, the extra fork, and the parent/child
// sync steps in order. Pure (spec + host facts in, plan out) and unit-tested; launch.cpp and
// init_child.cpp are loops over it.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "namespaces/namespaces.hpp"
#include "runtime/spec/spec.hpp"

namespace berth::runtime::launch {

// What the plan needs to know of the host and of the parent's own preparation.
struct HostFacts {
    uid_t euid = 0;
    gid_t egid = 0;
    size_t detachedMounts = 0;  // bind sources the parent opens (namespaces/detached_mount.hpp)
};

struct NamespaceJoin {
    const namespaces::Kind* kind = nullptr;
    std::string path;
    bool operator==(const NamespaceJoin&) const = default;
};

using TimeOffsets = std::map<std::string, namespaces::TimeOffset>;

// The parent's side between the clone and the child's own set-up, in order; then it serves the
// child's requests (hooks, seccomp listener, the forked init's pid) until Ready.
enum class ParentStep {
    RecordPid,         // LaunchConfig::onCloned: a crash leaves the pid for `delete --force`
    WriteIdMaps,       // LaunchPlan::idMapWrites
    SetOomScoreAdj,    // process.oomScoreAdj
    SendMountFds,      // Msg::MountFds
    SendGo,            // Msg::Go
    JoinCgroup,        // the cgroup Manager adds the child
    SendCgroupJoined,  // Msg::CgroupJoined
};

// The child's side up to its rootfs, in order; pivot_root, hooks and the process's attributes
// follow in init_child.cpp whatever the plan.
enum class ChildStep {
    RecvMountFds,       // Msg::MountFds (none is a valid count)
    AwaitGo,            // Msg::Go: the id maps are written
    DropDumpable,       // rootless: dumpable only while the parent wrote the maps
    AwaitCgroupJoined,  // Msg::CgroupJoined
    JoinNamespaces,     // setns each of LaunchPlan::joins
    Unshare,            // LaunchPlan::unshareFlags
    NewTimeNamespace,   // LaunchPlan::childNewTime, for the forked init
    ForkInit,           // the init is forked into the new pid/time namespaces (Msg::Forked, Go)
    BecomeRoot,         // setresuid/gid 0 in the (new or joined) user namespace
    SetHostname,        // hostname, domainname
    PrepareRootfs,      // mounts in the new mount namespace
};

struct LaunchPlan {
    uint64_t cloneFlags = 0;                  // namespaces the clone itself makes
    int unshareFlags = 0;                     // made by the child after its joins
    std::vector<NamespaceJoin> joins;         // setns in the child, in namespaces::kinds() order
    // pid and time apply only to children: the parent enters joined ones (or makes a new time
    // namespace) around the clone, then returns to its own.
    std::vector<NamespaceJoin> enterForChildren;
    std::optional<TimeOffsets> newTimeForChildren;  // made by the parent before the clone
    std::optional<TimeOffsets> childNewTime;        // made by the child, before its fork
    // A joined user namespace with a new pid or time namespace: those must be owned by the
    // joined user namespace (else /proc cannot be mounted), so the child unshares them after
    // the setns and forks the real init into them (runc's extra fork).
    bool forkAfterUnshare = false;
    bool userNamespace = false;   // new or joined: the child becomes root in it
    bool dumpableUntilGo = false; // see ChildStep::DropDumpable
    std::vector<namespaces::IdMapWrite> idMapWrites;  // empty unless a new user namespace
    std::vector<ParentStep> parentSteps;
    std::vector<ChildStep> childSteps;
};

Result<LaunchPlan> planLaunch(const spec::Spec& s, const HostFacts& host);

}  // namespace berth::runtime::launch
