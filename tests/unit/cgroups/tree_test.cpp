// cgroups/tree (making and removing a container's cgroup directories) and the v1 manager's knob
// writes, on a fake tree in a temp dir.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <algorithm>

#include "cgroups/manager.hpp"
#include "cgroups/tree.hpp"
#include "common/fs.hpp"

using namespace berth;
using namespace berth::cgroups;

namespace {

class CgroupTree : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/berth-cgtree-XXXXXX";
        root = mkdtemp(tmpl);
    }
    void TearDown() override { (void)fs::removeAll(root); }
    bool isDir(const std::string& p) {
        struct stat st;
        return ::lstat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
    }
    std::string root;
};

TEST_F(CgroupTree, MakeRecordsOnlyTheParentsItMade) {
    std::vector<std::string> made;
    ASSERT_TRUE(makeCgroupDir(root + "/a/b/c", &made).ok());
    EXPECT_TRUE(isDir(root + "/a/b/c"));
    EXPECT_EQ(made, (std::vector<std::string>{root + "/a", root + "/a/b"}));
    // The parent exists: made, nothing recorded; an existing directory is fine.
    ASSERT_TRUE(makeCgroupDir(root + "/a/b/d", &made).ok());
    ASSERT_TRUE(makeCgroupDir(root + "/a/b/d", &made).ok());
    EXPECT_TRUE(isDir(root + "/a/b/d"));
    EXPECT_EQ(made.size(), 2u);
    // A file in the way is an error naming it.
    ASSERT_TRUE(fs::writeFileAtomic(root + "/f", "").ok());
    auto st = makeCgroupDir(root + "/f/x", &made);
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.error().what().find(root + "/f"), std::string::npos) << st.error().what();
}

TEST_F(CgroupTree, TreeListsSubdirectoriesDeepestFirstAndNoFiles) {
    std::string c = root + "/c";
    for (auto d : {"/x/y", "/z"}) ASSERT_TRUE(fs::mkdirAll(c + d).ok());
    ASSERT_TRUE(fs::writeFileAtomic(c + "/cgroup.procs", "").ok());
    ASSERT_TRUE(fs::writeFileAtomic(c + "/x/tasks", "").ok());
    auto tree = cgroupTree(c);
    ASSERT_EQ(tree.size(), 4u);
    EXPECT_EQ(tree.back(), c);
    auto at = [&](const std::string& p) { return std::find(tree.begin(), tree.end(), p) - tree.begin(); };
    EXPECT_LT(at(c + "/x/y"), at(c + "/x"));
    EXPECT_LT(at(c + "/z"), 3);
}

TEST_F(CgroupTree, RemoveTakesSubCgroupsFirstAndAMissingOneIsDone) {
    std::string c = root + "/c";
    ASSERT_TRUE(fs::mkdirAll(c + "/x/y").ok());
    ASSERT_TRUE(fs::mkdirAll(c + "/z").ok());
    ASSERT_TRUE(removeCgroupTree(c).ok());
    EXPECT_FALSE(fs::exists(c));
    ASSERT_TRUE(fs::mkdirAll(c).ok());
    ASSERT_TRUE(removeCgroupTree(c).ok());  // no children: the one rmdir
    EXPECT_FALSE(fs::exists(c));
    EXPECT_TRUE(removeCgroupTree(c).ok());  // already gone
}

TEST_F(CgroupTree, V1KnobWritesFallBackAndNameWhatIsMissing) {
    for (auto ctl : {"blkio", "memory", "pids"}) ASSERT_TRUE(fs::mkdirAll(root + "/" + ctl).ok());
    auto m = newManager({"/ctr", "ctr", false, root});
    ASSERT_TRUE(m.ok()) << m.error().what();
    ASSERT_TRUE((*m)->create().ok());
    // No blkio.weight (no CFQ), blkio.bfq.weight there: the weight goes to the fallback.
    ASSERT_TRUE(fs::writeFileAtomic(root + "/blkio/ctr/blkio.bfq.weight", "").ok());
    auto st = (*m)->apply(nlohmann::json::parse(R"({"blockIO":{"weight":500}})"));
    ASSERT_TRUE(st.ok()) << st.error().what();
    EXPECT_EQ(*fs::readFile(root + "/blkio/ctr/blkio.bfq.weight"), "500");
    // A knob the kernel lacks is named.
    auto missing = (*m)->apply(nlohmann::json::parse(R"({"pids":{"limit":5}})"));
    ASSERT_FALSE(missing.ok());
    EXPECT_NE(missing.error().what().find("this kernel has no pids.max"), std::string::npos) << missing.error().what();
    // A knob that is there but cannot be written keeps its own error (not "has no").
    ASSERT_TRUE(fs::mkdirAll(root + "/pids/ctr/pids.max").ok());
    auto unwritable = (*m)->apply(nlohmann::json::parse(R"({"pids":{"limit":5}})"));
    ASSERT_FALSE(unwritable.ok());
    EXPECT_NE(unwritable.error().what().find("cgroup: set pids.max to 5"), std::string::npos)
        << unwritable.error().what();
    EXPECT_EQ(unwritable.error().what().find("has no"), std::string::npos) << unwritable.error().what();
}

}  // namespace
