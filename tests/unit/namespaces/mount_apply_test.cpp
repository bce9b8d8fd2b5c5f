// applyStep's parent-directory cache: a run of symlinks (and device nodes) into one directory
// resolves it once; each still lands where its path says, and another directory or any other
// step resolves afresh. (Symlinks only: device nodes and mounts need root.)
#include "namespaces/mount_apply.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fs.hpp"

using namespace berth;
using namespace berth::namespaces;

namespace {

std::string linkAt(const std::string& p) {
    char buf[256];
    ssize_t n = ::readlink(p.c_str(), buf, sizeof buf);
    return n < 0 ? "" : std::string(buf, static_cast<size_t>(n));
}

}  // namespace

TEST(MountApply, SymlinkRunsShareTheirParentAndLandInPlace) {
    char tmpl[] = "/tmp/berth-apply-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    std::string root = tmpl;
    auto r = RootDir::open(root);
    ASSERT_TRUE(r.ok());
    ParentDirCache cache;
    ApplyContext ctx{*r, false, false, nullptr, &cache};
    for (auto& [link, target] : std::vector<std::pair<std::string, std::string>>{
             {"/dev/fd", "/proc/self/fd"}, {"/dev/stdin", "/proc/self/fd/0"}, {"/etc/x", "y"}, {"/dev/stdout", "/proc/self/fd/1"}}) {
        Status st = applyStep(ctx, MountStep{MakeSymlink{link, target}});
        ASSERT_TRUE(st.ok()) << link << ": " << st.error().what();
        EXPECT_EQ(linkAt(root + link), target) << link;
    }
    EXPECT_EQ(cache.path, "/dev");
    EXPECT_TRUE(cache.fd);
    // Any other step drops the cache (a mount may cover the directory); a failing remount here.
    (void)applyStep(ctx, MountStep{Remount{"/nope", 0, 0}});
    EXPECT_FALSE(cache.fd);
    // A directory replaced behind a dropped cache is resolved again: the link goes to the new one.
    ASSERT_EQ(::rename((root + "/dev").c_str(), (root + "/dev.old").c_str()), 0);
    ASSERT_TRUE(applyStep(ctx, MountStep{MakeSymlink{"/dev/stderr", "/proc/self/fd/2"}}).ok());
    EXPECT_EQ(linkAt(root + "/dev/stderr"), "/proc/self/fd/2");
    EXPECT_EQ(linkAt(root + "/dev.old/stderr"), "");
    (void)fs::removeAll(root);
}
