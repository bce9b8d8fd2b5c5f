// The parent-side half of the mount plan: which binds become detached mounts (open_tree) and
// how idmapped binds are checked (runtime-spec "mounts": uidMappings/gidMappings, idmap/ridmap).
#include <gtest/gtest.h>
#include <sys/mount.h>

#include "namespaces/mount_plan.hpp"
#include "namespaces/userns_fd.hpp"

using namespace berth::namespaces;

namespace {

const std::vector<IdMap> kUids = {{1000, 100005, 1}};
const std::vector<IdMap> kGids = {{1000, 100007, 1}};

MountEntry idmapped(std::vector<std::string> options, std::string type = "bind") {
    return MountEntry{"/data", std::move(type), "/srv/data", std::move(options), kUids, kGids};
}

std::string errorOf(const RootfsConfig& c) {
    auto r = planDetachedSources(c);
    if (r.ok()) return "";
    return r.error().message();
}

}  // namespace

TEST(DetachedPlan, NoUserNamespaceNoIdmapMeansNoDetachedMounts) {
    RootfsConfig c;
    c.mounts = {{"/data", "bind", "/srv/data", {"rbind"}}, {"/tmp", "tmpfs", "tmpfs", {}}};
    auto r = planDetachedSources(c);
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(r->empty());
    auto steps = planMountEntry(c, 0, {});
    ASSERT_TRUE(steps.ok());
    EXPECT_EQ(std::get<BindMount>((*steps)[0].op).detached, -1);
}

TEST(DetachedPlan, UserNamespaceDetachesEveryConfigBindInOrder) {
    RootfsConfig c;
    c.userNamespace = true;
    c.mounts = {{"/a", "bind", "/srv/a", {"rbind", "ro"}},
                {"/proc", "proc", "proc", {}},
                {"/b", "none", "/srv/b", {"bind"}}};
    auto r = planDetachedSources(c);
    ASSERT_TRUE(r.ok()) << r.error().what();
    ASSERT_EQ(r->size(), 2u);
    EXPECT_EQ((*r)[0].entry, 0u);
    EXPECT_EQ((*r)[0].source, "/srv/a");
    EXPECT_TRUE((*r)[0].recursive);
    EXPECT_EQ((*r)[0].propagation, static_cast<unsigned long>(MS_SLAVE));
    EXPECT_TRUE((*r)[0].uidMappings.empty());
    EXPECT_EQ((*r)[1].entry, 2u);
    EXPECT_FALSE((*r)[1].recursive);
    // The steps point at those indexes; the requested flags still come as a remount.
    auto a = planMountEntry(c, 0, {});
    ASSERT_TRUE(a.ok());
    EXPECT_EQ(std::get<BindMount>((*a)[0].op).detached, 0);
    EXPECT_EQ(std::get<Remount>((*a)[1].op).flags, static_cast<unsigned long>(MS_RDONLY));
    auto b = planMountEntry(c, 2, {});
    ASSERT_TRUE(b.ok());
    EXPECT_EQ(std::get<BindMount>((*b)[0].op).detached, 1);
}

TEST(DetachedPlan, InternalBindsStayInTheChild) {
    // The host /sys bind (no network namespace) and cgroup v1 binds are not config binds.
    RootfsConfig c;
    c.userNamespace = true;
    c.netNamespace = false;
    c.mounts = {{"/sys", "sysfs", "sysfs", {}}};
    auto r = planDetachedSources(c);
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(r->empty());
    auto steps = planMountEntry(c, 0, {});
    ASSERT_TRUE(steps.ok());
    EXPECT_EQ(std::get<BindMount>((*steps)[0].op).detached, -1);
}

TEST(DetachedPlan, PrivateRootfsPropagationGivesPrivateTrees) {
    RootfsConfig c;
    c.userNamespace = true;
    c.rootfsPropagation = "rprivate";
    c.mounts = {{"/a", "bind", "/srv/a", {"bind"}}};
    auto r = planDetachedSources(c);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ((*r)[0].propagation, static_cast<unsigned long>(MS_PRIVATE));
}

TEST(DetachedPlan, IdmappedBindWithoutUserNamespace) {
    RootfsConfig c;
    c.mounts = {{"/plain", "bind", "/srv/plain", {"bind"}}, idmapped({"rbind", "idmap"})};
    auto r = planDetachedSources(c);
    ASSERT_TRUE(r.ok()) << r.error().what();
    ASSERT_EQ(r->size(), 1u);
    const DetachedSource& d = (*r)[0];
    EXPECT_EQ(d.entry, 1u);
    EXPECT_TRUE(d.recursive);
    EXPECT_FALSE(d.recursiveIdmap);  // idmap: the top mount only
    ASSERT_EQ(d.uidMappings.size(), 1u);
    EXPECT_EQ(d.uidMappings[0].hostID, 100005u);
    EXPECT_EQ(d.gidMappings[0].hostID, 100007u);
    auto steps = planMountEntry(c, 1, {});
    ASSERT_TRUE(steps.ok());
    EXPECT_EQ(std::get<BindMount>((*steps)[0].op).detached, 0);
}

TEST(DetachedPlan, RecursiveIdmap) {
    RootfsConfig c;
    c.mounts = {idmapped({"rbind", "ridmap"})};
    EXPECT_TRUE((*planDetachedSources(c))[0].recursiveIdmap);
    c.mounts = {idmapped({"rbind"})};  // no option: as the bind
    EXPECT_TRUE((*planDetachedSources(c))[0].recursiveIdmap);
    c.mounts = {idmapped({"bind"})};
    EXPECT_FALSE((*planDetachedSources(c))[0].recursiveIdmap);
}

TEST(DetachedPlan, IdmapOnANonBindMountIsRefused) {
    RootfsConfig c;
    c.mounts = {idmapped({}, "tmpfs")};
    std::string e = errorOf(c);
    EXPECT_NE(e.find("must be a bind mount"), std::string::npos) << e;
    // The child-side plan refuses it the same way, naming the entry.
    auto all = planRootfs(c, {});
    ASSERT_FALSE(all.ok());
    EXPECT_NE(all.error().message().find("mounts[0] /data"), std::string::npos)
        << all.error().message();
}

TEST(DetachedPlan, OneMappingAloneIsRefused) {
    RootfsConfig c;
    c.mounts = {idmapped({"bind"})};
    c.mounts[0].gidMappings.clear();
    EXPECT_NE(errorOf(c).find("uidMappings given without gidMappings"), std::string::npos)
        << errorOf(c);
    c.mounts = {idmapped({"bind"})};
    c.mounts[0].uidMappings.clear();
    EXPECT_NE(errorOf(c).find("gidMappings given without uidMappings"), std::string::npos);
}

TEST(DetachedPlan, IdmapOptionWithoutMappingsIsRefused) {
    RootfsConfig c;
    c.mounts = {{"/data", "bind", "/srv/data", {"bind", "ridmap"}}};
    std::string e = errorOf(c);
    EXPECT_NE(e.find("option ridmap needs uidMappings and gidMappings"), std::string::npos) << e;
    EXPECT_EQ(e.rfind("mounts[0] /data (type bind, source /srv/data): ", 0), 0u) << e;
}

TEST(DetachedPlan, BadRangesAreRefused) {
    RootfsConfig c;
    c.mounts = {idmapped({"bind"})};
    c.mounts[0].uidMappings = {{0, 1000, 10}, {5, 2000, 10}};
    EXPECT_NE(errorOf(c).find("uidMappings: containerID ranges 0-9 and 5-14 overlap"),
              std::string::npos)
        << errorOf(c);
    c.mounts[0].uidMappings = {{0, 1000, 10}};
    c.mounts[0].gidMappings = {{0, 1000, 10}, {10, 1005, 1}};
    EXPECT_NE(errorOf(c).find("gidMappings: hostID ranges 1000-1009 and 1005-1005 overlap"),
              std::string::npos)
        << errorOf(c);
    c.mounts[0].gidMappings = {{0, 1000, 0}};
    EXPECT_NE(errorOf(c).find("gidMappings[0]: size is 0"), std::string::npos) << errorOf(c);
}

TEST(IdMapValidation, AcceptsWhatTheKernelTakes) {
    EXPECT_TRUE(validateIdMaps({{0, 100000, 65536}}, "m").ok());
    EXPECT_TRUE(validateIdMaps({{0, 1000, 1}, {1, 100001, 65535}}, "m").ok());
    // Adjacent ranges touch but do not overlap; the top of the id space is reachable.
    EXPECT_TRUE(validateIdMaps({{0, 0, 10}, {10, 10, 10}}, "m").ok());
    EXPECT_TRUE(validateIdMaps({{0, 0, 0xffffffffu}}, "m").ok());
}

TEST(IdMapValidation, RefusesWhatTheKernelRefuses) {
    EXPECT_EQ(validateIdMaps({}, "m").error().message(), "m: no id ranges");
    EXPECT_EQ(validateIdMaps({{0, 0xfffffff0u, 0x20}}, "m").error().message(),
              "m[0]: range 0+32 or 4294967280+32 passes 2^32");
    std::vector<IdMap> many(kMaxIdMapLines + 1);
    for (size_t i = 0; i < many.size(); ++i)
        many[i] = {static_cast<uint32_t>(i), static_cast<uint32_t>(i), 1};
    EXPECT_FALSE(validateIdMaps(many, "m").ok());
    many.pop_back();
    EXPECT_TRUE(validateIdMaps(many, "m").ok());
}

// Rootless: an unprivileged runtime cannot open_tree the sources; the init binds them itself.
TEST(DetachedPlan, UnprivilegedUserNamespaceBindsInTheInit) {
    RootfsConfig c;
    c.userNamespace = true;
    c.unprivileged = true;
    c.mounts = {{"/sys", "none", "/sys", {"rbind", "ro"}}, {"/a", "bind", "/srv/a", {"bind"}}};
    auto r = planDetachedSources(c);
    ASSERT_TRUE(r.ok()) << r.error().what();
    EXPECT_TRUE(r->empty());
    auto steps = planMountEntry(c, 0, {});
    ASSERT_TRUE(steps.ok());
    EXPECT_EQ(std::get<BindMount>((*steps)[0].op).detached, -1);
}
