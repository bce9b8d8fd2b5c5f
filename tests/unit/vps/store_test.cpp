#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "common/fs.hpp"
#include "vps/store.hpp"

using namespace berth;
using namespace berth::vps;

namespace {

struct TempStore {
    std::string root;
    TempStore() {
        char tmpl[] = "/tmp/berth-vps-store-XXXXXX";
        root = mkdtemp(tmpl);
    }
    ~TempStore() { (void)fs::removeAll(root); }
    ConfigStore store(IdPool pool = {}) const { return ConfigStore(Paths{root + "/etc", root + "/data", pool}); }
};

Config make(const std::string& name, uint32_t base) {
    Config c;
    c.name = name;
    c.templateName = "bb";
    c.templateDigest = "sha256:1";
    c.init = InitInfo{"/sbin/init", "busybox", "SIGUSR2"};
    c.ids = IdRange{base, kRangeSize};
    return c;
}

}  // namespace

TEST(VpsIdPool, PicksTheLowestFreeRange) {
    IdPool p{1000000, 3};
    EXPECT_EQ(*pickRange(p, {}), 1000000u);
    EXPECT_EQ(*pickRange(p, {1000000}), 1000000u + 65536);
    EXPECT_EQ(*pickRange(p, {1000000, 1000000 + 2 * 65536}), 1000000u + 65536);
    auto e = pickRange(p, {1000000, 1000000 + 65536, 1000000 + 2 * 65536});
    ASSERT_FALSE(e.ok());
    EXPECT_NE(e.error().what().find("id pool is exhausted"), std::string::npos);
}

TEST(VpsIdPool, ParsesStartCount) {
    auto p = parseIdPool("2000000:10");
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(p->start, 2000000u);
    EXPECT_EQ(p->ranges, 10u);
    for (const char* bad : {"", "5", "a:b", "0:1", "1:0", "4294000000:100", "1:2x"})
        EXPECT_FALSE(parseIdPool(bad).ok()) << bad;
}

TEST(VpsStore, SavesAtomicallyListsAndLoads) {
    TempStore t;
    auto s = t.store();
    ASSERT_TRUE(s.save(make("b", 1000000)).ok());
    ASSERT_TRUE(s.save(make("a", 1065536)).ok());
    EXPECT_EQ(*s.names(), (std::vector<std::string>{"a", "b"}));
    struct stat st;
    ASSERT_EQ(stat(s.configPath("a").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_FALSE(fs::exists(s.configPath("a") + ".tmp"));
    auto c = s.load("a");
    ASSERT_TRUE(c.ok()) << c.error().what();
    EXPECT_EQ(c->ids.base, 1065536u);
    auto missing = s.load("zzz");
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.error().what(), "VPS \"zzz\" does not exist");
    ASSERT_TRUE(s.remove("a").ok());
    EXPECT_EQ(*s.names(), (std::vector<std::string>{"b"}));
}

TEST(VpsStore, CorruptedConfigNamesTheFile) {
    TempStore t;
    auto s = t.store();
    ASSERT_TRUE(s.save(make("a", 1000000)).ok());
    ASSERT_TRUE(fs::writeFileAtomic(s.configPath("a"), "{ garbage").ok());
    auto c = s.load("a");
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.error().what().rfind(s.configPath("a") + ": invalid JSON", 0), 0u) << c.error().what();
}

TEST(VpsStore, RangesAreNeverShared) {
    TempStore t;
    auto s = t.store(IdPool{1000000, 2});
    auto a = s.allocateRange("a");
    ASSERT_TRUE(a.ok());
    ASSERT_TRUE(s.save(make("a", *a)).ok());
    auto b = s.allocateRange("b");
    ASSERT_TRUE(b.ok());
    ASSERT_TRUE(s.save(make("b", *b)).ok());
    EXPECT_NE(*a, *b);
    EXPECT_FALSE(s.allocateRange("c").ok());  // exhausted
    ASSERT_TRUE(s.remove("b").ok());
    ASSERT_TRUE(s.freeRange("b").ok());
    auto c = s.allocateRange("c");
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(*c, *b);
}

TEST(VpsStore, ReclaimsARangeWhoseCreateDied) {
    TempStore t;
    auto s = t.store(IdPool{1000000, 1});
    ASSERT_TRUE(s.allocateRange("ghost").ok());  // no config was ever written
    auto c = s.allocateRange("c");
    ASSERT_TRUE(c.ok()) << c.error().what();
    EXPECT_EQ(s.ranges()->count("ghost"), 0u);
}
