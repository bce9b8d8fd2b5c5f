#include <gtest/gtest.h>

#include "cgroups/manager.hpp"
#include "cgroups/resources.hpp"
#include "common/fs.hpp"

using namespace berth;
using namespace berth::cgroups;

static const char* kHybridMountinfo =
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime shared:5 - cgroup cgroup rw,memory\n"
    "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n"
    "50 23 0:40 / /proc rw - proc proc rw\n";

TEST(CgroupLayout, DetectsHybrid) {
    auto l = parseMountInfo(kHybridMountinfo);
    EXPECT_EQ(l.layout, Layout::Hybrid);
    ASSERT_EQ(l.hierarchies.size(), 4u);
    EXPECT_EQ(l.hierarchies[0].mountPoint, "/sys/fs/cgroup/cpu,cpuacct");
    EXPECT_EQ(l.hierarchies[0].controllers, (std::vector<std::string>{"cpu", "cpuacct"}));
    EXPECT_EQ(l.hierarchies[2].controllers, (std::vector<std::string>{"name=systemd"}));
    EXPECT_TRUE(l.hierarchies[3].v2);
}

TEST(CgroupLayout, DetectsV1AndUnified) {
    EXPECT_EQ(parseMountInfo("35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n").layout,
              Layout::V1);
    EXPECT_EQ(parseMountInfo("41 31 0:38 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n").layout,
              Layout::Unified);
}

TEST(CgroupLayout, ParsesProcSelfCgroup) {
    auto m = parseProcCgroup("4:memory:/a/b\n2:cpu,cpuacct:/\n1:name=systemd:/s\n0::/u\n");
    EXPECT_EQ(m["memory"], "/a/b");
    EXPECT_EQ(m["cpu"], "/");
    EXPECT_EQ(m["cpuacct"], "/");
    EXPECT_EQ(m["name=systemd"], "/s");
    EXPECT_EQ(m[""], "/u");
}

TEST(CgroupResources, V1KnobsInApplyOrder) {
    auto r = nlohmann::json::parse(R"({
      "memory": {"limit": 67108864, "reservation": 33554432, "swap": 134217728, "swappiness": 10},
      "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0", "mems": "0"},
      "pids": {"limit": 50},
      "devices": [{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rw"}]
    })");
    auto k = v1Knobs(r);
    ASSERT_TRUE(k.ok()) << k.error().what();
    std::vector<std::string> got;
    for (auto& w : *k) got.push_back(w.file + "=" + w.value);
    std::vector<std::string> want = {
        "devices.deny=a *:* rwm", "devices.allow=c 1:3 rw", "memory.limit_in_bytes=67108864",
        "memory.memsw.limit_in_bytes=134217728", "memory.soft_limit_in_bytes=33554432",
        "memory.swappiness=10", "cpu.shares=512", "cpu.cfs_period_us=100000", "cpu.cfs_quota_us=50000",
        "cpuset.cpus=0", "cpuset.mems=0", "pids.max=50"};
    EXPECT_EQ(got, want);
}

TEST(CgroupResources, UnlimitedPidsAndBadValues) {
    auto k = v1Knobs(nlohmann::json::parse(R"({"pids":{"limit":-1}})"));
    ASSERT_TRUE(k.ok());
    EXPECT_EQ((*k)[0].value, "max");
    auto bad = v1Knobs(nlohmann::json::parse(R"({"memory":{"limit":"lots"}})"));
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.error().message().find("linux.resources.memory.limit"), std::string::npos);
    auto badDev = v1Knobs(nlohmann::json::parse(R"({"devices":[{"allow":true,"type":"x"}]})"));
    ASSERT_FALSE(badDev.ok());
    EXPECT_NE(badDev.error().message().find("linux.resources.devices[0].type"), std::string::npos);
    EXPECT_TRUE(v1Knobs(nlohmann::json()).ok());
}

TEST(CgroupResources, DefaultDeviceRulesAreAppended) {
    auto r = withDefaultDeviceRules(
        nlohmann::json::parse(R"({"devices":[{"allow":false,"access":"rwm"}]})"), {"/dev/fuse"});
    auto k = v1Knobs(r);
    ASSERT_TRUE(k.ok());
    EXPECT_EQ((*k)[0].value, "a *:* rwm");
    bool null = false, pts = false, fuse = false, console = false;
    for (auto& w : *k) {
        null |= w.value == "c 1:3 rwm";
        pts |= w.value == "c 136:* rwm";
        fuse |= w.value == "c 10:229 rwm";
        console |= w.value == "c 5:1 rwm";
    }
    EXPECT_TRUE(null && pts);
    EXPECT_FALSE(fuse) << "a linux.devices entry must not get an allow rule";
    EXPECT_FALSE(console) << "runc 1.1 does not allow /dev/console by default";
}

// A fake cgroupfs: the manager must create, write knobs, add pids and remove its directories.
TEST(CgroupManager, FakeTreeLifecycle) {
    char tmpl[] = "/tmp/berth-cg-XXXXXX";
    std::string root = mkdtemp(tmpl);
    for (auto c : {"memory", "cpuset", "pids", "freezer"}) ASSERT_TRUE(fs::mkdirAll(root + "/" + c).ok());
    ASSERT_TRUE(fs::writeFileAtomic(root + "/cpuset/cpuset.cpus", "0-3").ok());
    ASSERT_TRUE(fs::writeFileAtomic(root + "/cpuset/cpuset.mems", "0").ok());
    auto m = newManager({"/pod/ctr", "ctr", false, root});
    ASSERT_TRUE(m.ok()) << m.error().what();
    // A real cgroupfs makes empty cpuset files with each directory; so does this fake.
    for (auto d : {"/cpuset/pod", "/cpuset/pod/ctr"}) {
        ASSERT_TRUE(fs::mkdirAll(root + d).ok());
        ASSERT_TRUE(fs::writeFileAtomic(root + d + "/cpuset.cpus", "").ok());
        ASSERT_TRUE(fs::writeFileAtomic(root + d + "/cpuset.mems", "").ok());
    }
    auto created = (*m)->create();
    ASSERT_TRUE(created.ok()) << created.error().what();
    EXPECT_EQ((*m)->paths().at(root + "/memory"), root + "/memory/pod/ctr");
    // cpuset inherits cpus/mems at every level it creates
    EXPECT_EQ(*fs::readFile(root + "/cpuset/pod/cpuset.cpus"), "0-3");
    EXPECT_EQ(*fs::readFile(root + "/cpuset/pod/ctr/cpuset.mems"), "0");
    // knob files exist in a real cgroupfs; create them in the fake one
    ASSERT_TRUE(fs::writeFileAtomic(root + "/memory/pod/ctr/memory.limit_in_bytes", "").ok());
    ASSERT_TRUE(fs::writeFileAtomic(root + "/pids/pod/ctr/pids.max", "").ok());
    auto st = (*m)->apply(nlohmann::json::parse(R"({"memory":{"limit":1048576},"pids":{"limit":5}})"));
    ASSERT_TRUE(st.ok()) << st.error().what();
    EXPECT_EQ(*fs::readFile(root + "/memory/pod/ctr/memory.limit_in_bytes"), "1048576");
    EXPECT_EQ(*fs::readFile(root + "/pids/pod/ctr/pids.max"), "5");
    ASSERT_TRUE(fs::writeFileAtomic(root + "/pids/pod/ctr/cgroup.procs", "").ok());
    EXPECT_TRUE((*m)->pids()->empty());
    (void)fs::removeAll(root);
}

TEST(CgroupManager, RootPathIsRefused) {
    char tmpl[] = "/tmp/berth-cg-XXXXXX";
    std::string root = mkdtemp(tmpl);
    ASSERT_TRUE(fs::mkdirAll(root + "/memory").ok());
    auto m = newManager({"/", "x", false, root});
    EXPECT_FALSE(m.ok());
    auto s = newManager({"system.slice:berth:abc", "abc", true, root});
    ASSERT_TRUE(s.ok()) << s.error().what();
    EXPECT_EQ((*s)->paths().at(root + "/memory"), root + "/memory/system.slice/berth-abc.scope");
    (void)fs::removeAll(root);
}

TEST(CgroupManager, DotDotCannotLeaveTheHierarchy) {
    char tmpl[] = "/tmp/berth-cg-XXXXXX";
    std::string root = mkdtemp(tmpl);
    ASSERT_TRUE(fs::mkdirAll(root + "/memory").ok());
    auto m = newManager({"../../../../../../tmp/escape", "x", false, root});
    ASSERT_TRUE(m.ok()) << m.error().what();
    EXPECT_EQ((*m)->paths().at(root + "/memory"), root + "/memory/tmp/escape");
    auto d = newManager({"/a/../../..", "x", false, root});
    EXPECT_FALSE(d.ok());  // cleans to the root cgroup
    (void)fs::removeAll(root);
}

TEST(CgroupResources, DevicesAlwaysStartFromDenyAll) {
    auto k = v1Knobs(withDefaultDeviceRules(nlohmann::json(), {}));
    ASSERT_TRUE(k.ok());
    ASSERT_FALSE(k->empty());
    EXPECT_EQ((*k)[0].file, "devices.deny");
    EXPECT_EQ((*k)[0].value, "a *:* rwm");
}

// A spec that starts with its own deny-all (runc's and podman's do) writes it once: the second
// write of the same rule to the same knob changes nothing. A rule repeated later still counts.
TEST(CgroupResources, RepeatedDeviceRuleIsWrittenOnce) {
    auto spec = nlohmann::json::parse(R"({"devices":[{"allow":false,"access":"rwm"},
      {"allow":true,"type":"c","major":1,"minor":3,"access":"rwm"},{"allow":false,"access":"rwm"}]})");
    auto k = v1Knobs(withDefaultDeviceRules(spec, {}));
    ASSERT_TRUE(k.ok());
    std::vector<std::string> got;
    for (auto& w : *k) got.push_back(w.file + "=" + w.value);
    ASSERT_GE(got.size(), 3u);
    EXPECT_EQ(got[0], "devices.deny=a *:* rwm");
    EXPECT_EQ(got[1], "devices.allow=c 1:3 rwm");
    EXPECT_EQ(got[2], "devices.deny=a *:* rwm");
    EXPECT_EQ((*k)[1].jsonPath, "linux.resources.devices[2]");  // the error still names the spec's rule
}

TEST(CgroupResources, UnknownMembersAreNamed) {
    auto r = nlohmann::json::parse(R"({"memory":{"limit":1,"kernel":2,"shiny":3},"blockIO":{"weight":10,
      "throttleReadBpsDevice":[{"major":8,"minor":0,"rate":1}]},"hugepageLimits":[],"pids":{"limit":3},
      "future":{"x":1}})");
    auto u = unappliedResources(r);
    EXPECT_EQ(u, (std::vector<std::string>{"linux.resources.future", "linux.resources.memory.shiny"}));
    EXPECT_TRUE(unappliedResources(nlohmann::json()).empty());
}

// A frozen cgroup, or a frozen ancestor of one not made yet, is refused before anything is made.
TEST(CgroupManager, RefusesAFrozenCgroupOnFakeTrees) {
    char tmpl[] = "/tmp/berth-cgfrz-XXXXXX";
    std::string root = mkdtemp(tmpl);
    ASSERT_TRUE(fs::mkdirAll(root + "/freezer/pod").ok());
    ASSERT_TRUE(fs::mkdirAll(root + "/memory").ok());
    ASSERT_TRUE(fs::writeFileAtomic(root + "/freezer/pod/freezer.state", "FROZEN\n").ok());
    for (const char* path : {"/pod", "/pod/ctr"}) {
        auto m = newManager({path, "ctr", false, root});
        ASSERT_TRUE(m.ok()) << m.error().what();
        auto st = (*m)->refuseFrozen();
        ASSERT_FALSE(st.ok()) << path;
        EXPECT_NE(st.error().message().find("frozen"), std::string::npos) << st.error().what();
        EXPECT_FALSE(fs::exists(root + "/freezer/pod/ctr"));
        EXPECT_FALSE(fs::exists(root + "/memory/pod"));
    }
    ASSERT_TRUE(fs::writeFileAtomic(root + "/freezer/pod/freezer.state", "THAWED\n").ok());
    auto thawed = newManager({"/pod/ctr", "ctr", false, root});
    ASSERT_TRUE(thawed.ok());
    EXPECT_TRUE((*thawed)->refuseFrozen().ok());
    (void)fs::removeAll(root);

    // cgroup2: set on the cgroup itself, or inherited (cgroup.events says frozen 1).
    char tmpl2[] = "/tmp/berth-cgfrz2-XXXXXX";
    std::string v2 = mkdtemp(tmpl2);
    ASSERT_TRUE(fs::mkdirAll(v2 + "/pod").ok());
    ASSERT_TRUE(fs::writeFileAtomic(v2 + "/cgroup.controllers", "memory pids\n").ok());
    ASSERT_TRUE(fs::writeFileAtomic(v2 + "/pod/cgroup.freeze", "0\n").ok());
    ASSERT_TRUE(fs::writeFileAtomic(v2 + "/pod/cgroup.events", "populated 0\nfrozen 1\n").ok());
    auto m2 = newManager({"/pod/ctr", "ctr", false, v2});
    ASSERT_TRUE(m2.ok()) << m2.error().what();
    EXPECT_FALSE((*m2)->refuseFrozen().ok());
    ASSERT_TRUE(fs::writeFileAtomic(v2 + "/pod/cgroup.events", "populated 0\nfrozen 0\n").ok());
    EXPECT_TRUE((*m2)->refuseFrozen().ok());
    (void)fs::removeAll(v2);
}
