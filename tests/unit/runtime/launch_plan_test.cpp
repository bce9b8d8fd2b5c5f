// The init's launch as data (runtime/launch/launch_plan): which namespaces are made by the
// clone, joined by the child, entered by the parent for its children or made after a joined user
// namespace; who writes the id maps; the sync steps on each side.
#include <gtest/gtest.h>

#include <sched.h>

#include <algorithm>

#include "runtime/launch/launch_plan.hpp"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

using namespace berth;
using namespace berth::runtime::launch;
using How = namespaces::IdMapWrite::How;
using C = ChildStep;
using P = ParentStep;

namespace {

runtime::spec::Spec specWith(std::vector<runtime::spec::Namespace> ns) {
    runtime::spec::Spec s;
    s.process.emplace();
    s.linux.emplace();
    s.linux->namespaces = std::move(ns);
    return s;
}

void mapRoot(runtime::spec::Spec& s, uint32_t host = 100000, uint32_t size = 65536) {
    s.linux->uidMappings = {{0, host, size}};
    s.linux->gidMappings = {{0, host, size}};
}

HostFacts root() { return HostFacts{0, 0, 0}; }

std::vector<std::string> joinedKinds(const std::vector<NamespaceJoin>& js) {
    std::vector<std::string> out;
    for (auto& j : js) out.push_back(j.kind->specName);
    return out;
}

bool has(const std::vector<C>& v, C c) { return std::find(v.begin(), v.end(), c) != v.end(); }

}  // namespace

TEST(LaunchPlan, NewNamespacesComeFromTheCloneExceptCgroupAndTime) {
    auto s = specWith({{"pid", ""}, {"network", ""}, {"ipc", ""}, {"uts", ""}, {"mount", ""},
                       {"cgroup", ""}, {"time", ""}});
    auto p = planLaunch(s, root());
    ASSERT_TRUE(p.ok()) << p.error().what();
    EXPECT_EQ(p->cloneFlags, uint64_t(CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNS));
    // Rooted at the container's cgroup: made by the child once the parent has moved it there.
    EXPECT_EQ(p->unshareFlags, CLONE_NEWCGROUP);
    // Time applies only to children: the parent makes it around the clone.
    ASSERT_TRUE(p->newTimeForChildren.has_value());
    EXPECT_FALSE(p->childNewTime.has_value());
    EXPECT_TRUE(p->joins.empty());
    EXPECT_TRUE(p->enterForChildren.empty());
    EXPECT_FALSE(p->forkAfterUnshare);
    EXPECT_FALSE(p->userNamespace);
    EXPECT_TRUE(p->idMapWrites.empty());
    // The cgroup namespace needs the join first.
    EXPECT_EQ(p->childSteps, (std::vector<C>{C::RecvMountFds, C::AwaitGo, C::AwaitCgroupJoined,
                                              C::Unshare, C::SetHostname, C::PrepareRootfs}));
}

TEST(LaunchPlan, WithoutACgroupNamespaceTheCgroupJoinOverlapsTheRootfs) {
    auto s = specWith({{"pid", ""}, {"mount", ""}});
    auto p = planLaunch(s, root());
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(p->unshareFlags, 0);
    EXPECT_EQ(p->childSteps, (std::vector<C>{C::RecvMountFds, C::AwaitGo, C::SetHostname,
                                              C::PrepareRootfs, C::AwaitCgroupJoined}));
    EXPECT_EQ(p->parentSteps, (std::vector<P>{P::RecordPid, P::SendGo, P::JoinCgroup, P::SendCgroupJoined}));
}

TEST(LaunchPlan, JoinedNamespacesAreSetnsInKindOrderAndPidTimeByTheParent) {
    auto s = specWith({{"mount", ""}, {"network", "/proc/1/ns/net"}, {"ipc", "/proc/1/ns/ipc"},
                       {"pid", "/proc/1/ns/pid"}, {"time", "/proc/1/ns/time"}});
    auto p = planLaunch(s, root());
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(joinedKinds(p->joins), (std::vector<std::string>{"ipc", "network"}));
    EXPECT_EQ(p->joins[1].path, "/proc/1/ns/net");
    EXPECT_EQ(joinedKinds(p->enterForChildren), (std::vector<std::string>{"pid", "time"}));
    EXPECT_EQ(p->cloneFlags, uint64_t(CLONE_NEWNS));
    EXPECT_FALSE(p->newTimeForChildren.has_value());
    EXPECT_TRUE(has(p->childSteps, C::JoinNamespaces));
    EXPECT_FALSE(has(p->childSteps, C::Unshare));
}

TEST(LaunchPlan, NewUserNamespaceAsRootWritesBothMapsDirectly) {
    auto s = specWith({{"user", ""}, {"mount", ""}, {"pid", ""}});
    mapRoot(s);
    auto p = planLaunch(s, root());
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(p->cloneFlags, uint64_t(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID));
    EXPECT_TRUE(p->userNamespace);
    EXPECT_FALSE(p->dumpableUntilGo);
    ASSERT_EQ(p->idMapWrites.size(), 2u);
    EXPECT_EQ(p->idMapWrites[0], (namespaces::IdMapWrite{How::File, "uid_map", "0 100000 65536\n", {}}));
    EXPECT_EQ(p->idMapWrites[1], (namespaces::IdMapWrite{How::File, "gid_map", "0 100000 65536\n", {}}));
    EXPECT_EQ(p->parentSteps, (std::vector<P>{P::RecordPid, P::WriteIdMaps, P::SendGo, P::JoinCgroup,
                                               P::SendCgroupJoined}));
    EXPECT_TRUE(has(p->childSteps, C::BecomeRoot));
    EXPECT_FALSE(has(p->childSteps, C::DropDumpable));
}

TEST(LaunchPlan, RootlessMapsItsOwnIdDirectlyDenyingSetgroupsFirst) {
    auto s = specWith({{"user", ""}, {"mount", ""}});
    s.linux->uidMappings = {{0, 1000, 1}};
    s.linux->gidMappings = {{0, 1000, 1}};
    auto p = planLaunch(s, HostFacts{1000, 1000, 0});
    ASSERT_TRUE(p.ok());
    EXPECT_TRUE(p->dumpableUntilGo);
    ASSERT_EQ(p->idMapWrites.size(), 3u);
    EXPECT_EQ(p->idMapWrites[0].target, "uid_map");
    EXPECT_EQ(p->idMapWrites[1], (namespaces::IdMapWrite{How::File, "setgroups", "deny", {}}));
    EXPECT_EQ(p->idMapWrites[2].target, "gid_map");
    // Dumpable only until the maps are written.
    EXPECT_EQ(p->childSteps[2], C::DropDumpable);
}

TEST(LaunchPlan, RootlessRangesGoThroughNewuidmapAndNewgidmap) {
    auto s = specWith({{"user", ""}, {"mount", ""}});
    s.linux->uidMappings = {{0, 1000, 1}, {1, 100000, 65536}};
    s.linux->gidMappings = {{0, 1000, 1}, {1, 100000, 65536}};
    auto p = planLaunch(s, HostFacts{1000, 1000, 0});
    ASSERT_TRUE(p.ok());
    ASSERT_EQ(p->idMapWrites.size(), 2u);
    EXPECT_EQ(p->idMapWrites[0].how, How::Tool);
    EXPECT_EQ(p->idMapWrites[0].target, "newuidmap");
    EXPECT_EQ(p->idMapWrites[0].maps.size(), 2u);
    EXPECT_EQ(p->idMapWrites[1].target, "newgidmap");
    // A uid of one's own but another's gid: the uid file directly, the gid through the helper.
    s.linux->uidMappings = {{0, 1000, 1}};
    s.linux->gidMappings = {{0, 2000, 1}};
    p = planLaunch(s, HostFacts{1000, 1000, 0});
    ASSERT_TRUE(p.ok());
    ASSERT_EQ(p->idMapWrites.size(), 2u);
    EXPECT_EQ(p->idMapWrites[0].how, How::File);
    EXPECT_EQ(p->idMapWrites[1].how, How::Tool);
    EXPECT_EQ(p->idMapWrites[1].target, "newgidmap");
}

TEST(LaunchPlan, JoinedUserNamespaceTakesItsOwnMapsAndOwnsTheNewOnes) {
    auto s = specWith({{"user", "/proc/1/ns/user"}, {"mount", ""}, {"network", ""}});
    mapRoot(s);  // repeated in the config as containerd does: tolerated, not written
    auto p = planLaunch(s, HostFacts{1000, 1000, 0});
    ASSERT_TRUE(p.ok());
    EXPECT_TRUE(p->idMapWrites.empty());
    EXPECT_FALSE(p->dumpableUntilGo);  // rootless, but no maps to write
    EXPECT_TRUE(p->userNamespace);
    EXPECT_EQ(joinedKinds(p->joins), (std::vector<std::string>{"user"}));
    // New namespaces after the setns, so the joined user namespace owns them.
    EXPECT_EQ(p->cloneFlags, 0u);
    EXPECT_EQ(p->unshareFlags, CLONE_NEWNS | CLONE_NEWNET);
    EXPECT_FALSE(p->forkAfterUnshare);
    EXPECT_EQ(p->childSteps, (std::vector<C>{C::RecvMountFds, C::AwaitGo, C::JoinNamespaces, C::Unshare,
                                              C::BecomeRoot, C::SetHostname, C::PrepareRootfs,
                                              C::AwaitCgroupJoined}));
}

TEST(LaunchPlan, JoinedUserNamespaceWithNewPidAndTimeForksTheInit) {
    auto s = specWith({{"user", "/proc/1/ns/user"}, {"mount", ""}, {"pid", ""}, {"time", ""}});
    s.linux->timeOffsets["monotonic"] = {5, 0};
    auto p = planLaunch(s, root());
    ASSERT_TRUE(p.ok());
    EXPECT_TRUE(p->forkAfterUnshare);
    EXPECT_EQ(p->unshareFlags, CLONE_NEWNS | CLONE_NEWPID);
    EXPECT_FALSE(p->newTimeForChildren.has_value());
    ASSERT_TRUE(p->childNewTime.has_value());
    EXPECT_EQ(p->childNewTime->at("monotonic").secs, 5);
    // The forked init inherits the cgroup: the join comes before the fork.
    EXPECT_EQ(p->childSteps, (std::vector<C>{C::RecvMountFds, C::AwaitGo, C::AwaitCgroupJoined,
                                              C::JoinNamespaces, C::Unshare, C::NewTimeNamespace,
                                              C::ForkInit, C::BecomeRoot, C::SetHostname,
                                              C::PrepareRootfs}));
}

TEST(LaunchPlan, JoinedUserNamespaceWithJoinedPidNeedsNoFork) {
    auto s = specWith({{"user", "/proc/1/ns/user"}, {"pid", "/proc/1/ns/pid"}, {"mount", ""}});
    auto p = planLaunch(s, root());
    ASSERT_TRUE(p.ok());
    EXPECT_FALSE(p->forkAfterUnshare);
    EXPECT_EQ(joinedKinds(p->enterForChildren), (std::vector<std::string>{"pid"}));
    EXPECT_EQ(joinedKinds(p->joins), (std::vector<std::string>{"user"}));
}

TEST(LaunchPlan, OomScoreAndDetachedMountsAreParentStepsBeforeGo) {
    auto s = specWith({{"mount", ""}});
    s.process->oomScoreAdj = 100;
    auto p = planLaunch(s, HostFacts{0, 0, 2});
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(p->parentSteps, (std::vector<P>{P::RecordPid, P::SetOomScoreAdj, P::SendMountFds, P::SendGo,
                                               P::JoinCgroup, P::SendCgroupJoined}));
}

TEST(LaunchPlan, NoNamespacesAtAllIsTheCallersOwn) {
    auto s = specWith({});
    auto p = planLaunch(s, root());
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(p->cloneFlags, 0u);
    EXPECT_EQ(p->unshareFlags, 0);
    EXPECT_FALSE(has(p->childSteps, C::BecomeRoot));
}

TEST(LaunchPlan, ErrorsJoiningAndAskingANewUserNamespaceDuplicatesUnknownAndNoMaps) {
    auto s = specWith({{"user", "/proc/1/ns/user"}, {"user", ""}});
    auto p = planLaunch(s, root());
    ASSERT_FALSE(p.ok());
    EXPECT_EQ(p.error().message(), "a user namespace cannot be both joined and new");

    s = specWith({{"network", ""}, {"network", "/proc/1/ns/net"}});
    p = planLaunch(s, root());
    ASSERT_FALSE(p.ok());
    EXPECT_EQ(p.error().message(), "duplicate namespace type network");

    s = specWith({{"nosuch", ""}});
    p = planLaunch(s, root());
    ASSERT_FALSE(p.ok());
    EXPECT_EQ(p.error().message(), "unknown namespace type nosuch");

    s = specWith({{"user", ""}});
    s.linux->uidMappings = {{0, 1000, 1}};
    p = planLaunch(s, root());
    ASSERT_FALSE(p.ok());
    EXPECT_NE(p.error().message().find("requires linux.uidMappings and linux.gidMappings"), std::string::npos);

    runtime::spec::Spec none;
    EXPECT_FALSE(planLaunch(none, root()).ok());
}
