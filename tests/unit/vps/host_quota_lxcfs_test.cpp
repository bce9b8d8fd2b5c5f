// vps host quota and lxcfs logic that needs no root: mkfs arguments, the lxcfs binds.
#include <gtest/gtest.h>

#include <cstdlib>

#include "vps/lxcfs.hpp"
#include "vps/quota.hpp"

using namespace berth::vps;

TEST(VpsQuota, MkfsArgs) {
    QuotaSpec s;
    s.sizeBytes = 64ull << 20;
    s.ownerUid = 100000;
    s.ownerGid = 100001;
    auto a = mkfsArgs("/x/disk.img", s);
    std::vector<std::string> want = {
        "mkfs.ext4",
        "-q",
        "-F",
        "-m",
        "0",
        "-E",
        "lazy_itable_init=1,lazy_journal_init=1,root_owner=100000:100001",
        "/x/disk.img"};
    EXPECT_EQ(a, want);
    s.inodes = 5000;
    a = mkfsArgs("/x/disk.img", s);
    ASSERT_EQ(a.size(), want.size() + 2);
    EXPECT_EQ(a[a.size() - 3], "-N");
    EXPECT_EQ(a[a.size() - 2], "5000");
}

TEST(VpsQuota, TooSmallIsRefusedBeforeAnyFileIsMade) {
    QuotaSpec s;
    s.sizeBytes = 1 << 20;
    auto st = createQuotaImage("/nonexistent-dir/disk.img", s);
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.error().message().find("below the minimum"), std::string::npos);
    EXPECT_EQ(quotaUpperDir("/m"), "/m/upper");
    EXPECT_EQ(quotaWorkDir("/m"), "/m/work");
}

TEST(VpsLxcfs, MountsOnlyWhatTheLxcfsOffers) {
    char tmpl[] = "/tmp/berth-lxcfs-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    std::string d = tmpl;
    ASSERT_EQ(std::system(
                  ("mkdir -p " + d + "/proc " + d + "/sys/devices/system/cpu && cd " + d +
                   " && touch proc/meminfo proc/cpuinfo proc/uptime sys/devices/system/cpu/online")
                      .c_str()),
              0);
    auto m = lxcfsMounts(d);
    ASSERT_EQ(m.size(), 4u);
    EXPECT_EQ(m[0].source, d + "/proc/cpuinfo");
    EXPECT_EQ(m[0].destination, "/proc/cpuinfo");
    EXPECT_EQ(m[1].destination, "/proc/meminfo");
    EXPECT_EQ(m[2].destination, "/proc/uptime");
    EXPECT_EQ(m[3].destination, "/sys/devices/system/cpu/online");
    EXPECT_EQ(m[0].options[0], "bind");
    std::string json = lxcfsMountsJson({m[1]});
    EXPECT_EQ(json, "[{\"destination\":\"/proc/meminfo\",\"type\":\"bind\",\"source\":\"" + d +
                        "/proc/meminfo\",\"options\":[\"bind\",\"nosuid\",\"nodev\",\"noexec\"]}]");
    EXPECT_EQ(lxcfsMountsJson({}), "[]");
    std::system(("rm -rf " + d).c_str());
}

TEST(VpsLxcfs, BadUserNames) {
    LxcfsConfig c;
    c.stateDir = "/nonexistent-berth-test/state";
    for (const char* bad : {"", ".", "..", "a/b"}) EXPECT_FALSE(releaseLxcfs(c, bad).ok()) << bad;
}
