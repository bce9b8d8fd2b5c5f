#include <gtest/gtest.h>
#include <stdlib.h>

#include "common/fs.hpp"
#include "vps/limits.hpp"

using namespace berth;
using namespace berth::vps;

TEST(VpsLimits, CpuunitsMapToShares) {
    EXPECT_EQ(cpuunitsToShares(1000), 1024u);  // vzctl's default is the kernel's default
    EXPECT_EQ(cpuunitsToShares(8), 8u);
    EXPECT_EQ(cpuunitsToShares(500), 512u);
    EXPECT_EQ(cpuunitsToShares(250000), 256000u);
    EXPECT_EQ(cpuunitsToShares(500000), 262144u);  // the kernel's maximum
    EXPECT_EQ(cpuunitsToShares(1), 2u);
}

TEST(VpsLimits, CpulimitIsPercentOfOneCpu) {
    EXPECT_EQ(cpulimitToQuota(100), 100000);
    EXPECT_EQ(cpulimitToQuota(150), 150000);
    EXPECT_EQ(cpulimitToQuota(25), 25000);
}

TEST(VpsLimits, FirstCpusOfAList) {
    EXPECT_EQ(*firstCpus("0-3", 2), "0-1");
    EXPECT_EQ(*firstCpus("0-1,4-7", 3), "0-1,4");
    EXPECT_EQ(*firstCpus("2,5", 1), "2");
    EXPECT_EQ(countCpus("0-1,4-7"), 6);
    auto e = firstCpus("0-1", 3);
    ASSERT_FALSE(e.ok());
    EXPECT_EQ(e.error().what(), "--cpus 3: this host has 2 CPUs");
}

TEST(VpsLimits, ResourcesForTheSpec) {
    Limits l;
    l.ram = 256 << 20;
    l.swap = 64 << 20;
    l.cpus = 1;
    l.cpulimit = 150;
    l.cpuunits = 2000;
    l.pids = 100;
    HostCaps caps{"0-1", true, false};
    auto r = resourcesFor(l, caps);
    ASSERT_TRUE(r.ok()) << r.error().what();
    EXPECT_EQ((*r)["memory"]["limit"], 256 << 20);
    EXPECT_EQ((*r)["memory"]["swap"], (256 + 64) << 20);  // ram + swap
    EXPECT_EQ((*r)["cpu"]["quota"], 150000);
    EXPECT_EQ((*r)["cpu"]["period"], 100000);
    EXPECT_EQ((*r)["cpu"]["shares"], 2048);
    EXPECT_EQ((*r)["cpu"]["cpus"], "0");
    EXPECT_EQ((*r)["pids"]["limit"], 100);
    EXPECT_FALSE(r->contains("blockIO"));
    EXPECT_TRUE(resourcesFor(Limits{}, caps)->empty());
}

TEST(VpsLimits, RefusesWhatTheHostCannotDo) {
    HostCaps caps{"0-1", false, false};
    Limits l;
    l.ram = 64 << 20;
    l.swap = 64 << 20;
    auto e = checkHostSupports(l, caps);
    ASSERT_FALSE(e.ok());
    EXPECT_NE(e.error().what().find("swap accounting"), std::string::npos);
    l = {};
    l.ioweight = 500;
    e = checkHostSupports(l, caps);
    ASSERT_FALSE(e.ok());
    EXPECT_NE(e.error().what().find("--ioweight"), std::string::npos);
    caps.ioWeight = true;
    EXPECT_TRUE(checkHostSupports(l, caps).ok());
    EXPECT_EQ((*resourcesFor(l, caps))["blockIO"]["weight"], 500);
}

TEST(VpsLimits, UpdateMovesOnlyWhatChanged) {
    HostCaps caps{"0-1", false, false};
    Limits a, b;
    a.ram = 128 << 20;
    a.pids = 50;
    b = a;
    b.ram = 256 << 20;
    b.cpulimit = 50;
    auto u = updateFor("vps-x", a, b, caps);
    ASSERT_TRUE(u.ok());
    EXPECT_EQ(u->id, "vps-x");
    EXPECT_EQ(u->memory, 256 << 20);
    EXPECT_FALSE(u->memorySwap.has_value());  // no swap accounting here
    EXPECT_EQ(u->cpuQuota, 50000);
    EXPECT_FALSE(u->pidsLimit.has_value());
    // Unsetting a limit makes it unlimited.
    auto back = updateFor("vps-x", b, Limits{}, caps);
    EXPECT_EQ(back->memory, -1);
    EXPECT_EQ(back->pidsLimit, -1);
    EXPECT_EQ(back->cpuQuota, -1);
}

TEST(VpsLimits, DetectsHostCapsFromACgroupTree) {
    char tmpl[] = "/tmp/berth-vps-caps-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    std::string root = tmpl;
    ASSERT_TRUE(fs::mkdirAll(root + "/cg/memory").ok());
    ASSERT_TRUE(fs::mkdirAll(root + "/cg/blkio").ok());
    ASSERT_TRUE(fs::writeFileAtomic(root + "/online", "0-3\n").ok());
    HostCaps c = detectHostCaps(root + "/cg", root + "/online");
    EXPECT_EQ(c.onlineCpus, "0-3");
    EXPECT_FALSE(c.swapAccounting);
    EXPECT_FALSE(c.ioWeight);
    ASSERT_TRUE(fs::writeFileAtomic(root + "/cg/memory/memory.memsw.limit_in_bytes", "0").ok());
    ASSERT_TRUE(fs::writeFileAtomic(root + "/cg/blkio/blkio.bfq.weight", "100").ok());
    c = detectHostCaps(root + "/cg", root + "/online");
    EXPECT_TRUE(c.swapAccounting);
    EXPECT_TRUE(c.ioWeight);
    ASSERT_TRUE(fs::removeAll(root).ok());
}
