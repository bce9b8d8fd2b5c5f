#include "namespaces/rootfs_path.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fs.hpp"
#include "namespaces/copy_up.hpp"

using namespace berth;
using namespace berth::namespaces;

namespace {

// A temp dir holding "root" (the rootfs) and "host" (what a symlink must never reach).
class RootfsPath : public ::testing::Test {
  protected:
    void SetUp() override {
        char tmpl[] = "/tmp/berth-rootfs-path-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        base_ = tmpl;
        root_ = base_ + "/root";
        host_ = base_ + "/host";
        ASSERT_EQ(::mkdir(root_.c_str(), 0755), 0);
        ASSERT_EQ(::mkdir(host_.c_str(), 0755), 0);
        ASSERT_EQ(::mkdir((root_ + "/etc").c_str(), 0755), 0);
    }
    void TearDown() override { (void)fs::removeAll(base_); }

    void link(const std::string& target, const std::string& at) {
        ASSERT_EQ(::symlink(target.c_str(), (root_ + at).c_str()), 0) << at;
    }
    RootDir open() {
        auto r = RootDir::open(root_);
        EXPECT_TRUE(r.ok());
        return std::move(r).value();
    }
    std::string inside(const RootDir& r, const UniqueFd& fd) {
        auto p = r.pathInside(fd.get());
        EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error().what());
        return p.ok() ? *p : "";
    }

    std::string base_, root_, host_;
};

bool isDir(const std::string& p) {
    struct stat st;
    return ::lstat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}
bool isFile(const std::string& p) {
    struct stat st;
    return ::lstat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

}  // namespace

TEST_F(RootfsPath, RealPathAndRoot) {
    RootDir r = open();
    char real[PATH_MAX];
    ASSERT_NE(::realpath(root_.c_str(), real), nullptr);
    EXPECT_EQ(r.realPath(), real);
    auto fd = r.resolve("/");
    ASSERT_TRUE(fd.ok());
    EXPECT_EQ(inside(r, *fd), "/");
}

TEST_F(RootfsPath, ExistingPathResolves) {
    RootDir r = open();
    auto fd = r.resolve("/etc");
    ASSERT_TRUE(fd.ok());
    EXPECT_EQ(inside(r, *fd), "/etc");
}

TEST_F(RootfsPath, MissingWithoutCreateIsENOENT) {
    RootDir r = open();
    auto fd = r.resolve("/nope/x");
    ASSERT_FALSE(fd.ok());
    EXPECT_EQ(fd.error().err(), ENOENT);
}

TEST_F(RootfsPath, CreatesDirectoriesAndFiles) {
    RootDir r = open();
    auto d = r.resolve("/a/b/c", Create::Directory);
    ASSERT_TRUE(d.ok()) << d.error().what();
    EXPECT_TRUE(isDir(root_ + "/a/b/c"));
    auto f = r.resolve("/x/y/file", Create::File);
    ASSERT_TRUE(f.ok()) << f.error().what();
    EXPECT_TRUE(isFile(root_ + "/x/y/file"));
    EXPECT_EQ(inside(r, *f), "/x/y/file");
}

TEST_F(RootfsPath, AbsoluteSymlinkStaysInside) {
    // evil -> <host dir> by its real absolute path: must resolve to root/<that path>.
    link(host_, "/evil");
    RootDir r = open();
    auto fd = r.resolve("/evil/x", Create::Directory);
    ASSERT_TRUE(fd.ok()) << fd.error().what();
    EXPECT_FALSE(fs::exists(host_ + "/x")) << "escaped to the host";
    EXPECT_TRUE(isDir(root_ + host_ + "/x"));
    EXPECT_EQ(inside(r, *fd), host_ + "/x");
}

TEST_F(RootfsPath, DotDotSymlinkStaysInside) {
    link("../../../../../../" + host_.substr(1), "/etc/up");
    link("/../../..", "/top");
    RootDir r = open();
    auto fd = r.resolve("/etc/up/f", Create::File);
    ASSERT_TRUE(fd.ok()) << fd.error().what();
    EXPECT_FALSE(fs::exists(host_ + "/f"));
    EXPECT_TRUE(isFile(root_ + host_ + "/f"));
    auto top = r.resolve("/top/../..");
    ASSERT_TRUE(top.ok());
    EXPECT_EQ(inside(r, *top), "/");
}

TEST_F(RootfsPath, ExistingSymlinkToExistingTargetUsesTheKernel) {
    ASSERT_EQ(::mkdir((root_ + "/real").c_str(), 0755), 0);
    link("/real", "/alias");
    RootDir r = open();
    auto fd = r.resolve("/alias", Create::Directory);
    ASSERT_TRUE(fd.ok());
    EXPECT_EQ(inside(r, *fd), "/real");
}

TEST_F(RootfsPath, RelativeDanglingSymlinkCreatesItsTarget) {
    link("../run/resolv.conf", "/etc/resolv.conf");
    RootDir r = open();
    auto fd = r.resolve("/etc/resolv.conf", Create::File);
    ASSERT_TRUE(fd.ok()) << fd.error().what();
    EXPECT_TRUE(isFile(root_ + "/run/resolv.conf"));
}

// A missing last component under an existing parent is walked from the parent; what it finds
// there (a dangling symlink climbing out, a symlink in the parent) still stays inside.
TEST_F(RootfsPath, CreatedFromTheParentStaysInside) {
    link("../../../../../../" + host_.substr(1) + "/esc", "/etc/esc");
    link("/etc", "/lnk");
    RootDir r = open();
    bool created = false;
    auto esc = r.resolve("/etc/esc", Create::Directory, false, &created);
    ASSERT_TRUE(esc.ok()) << esc.error().what();
    EXPECT_TRUE(created);
    EXPECT_FALSE(fs::exists(host_ + "/esc")) << "escaped to the host";
    EXPECT_EQ(inside(r, *esc), host_ + "/esc");
    auto viaLink = r.resolve("/lnk/new/deeper", Create::Directory, false, &created);
    ASSERT_TRUE(viaLink.ok()) << viaLink.error().what();
    EXPECT_TRUE(created);
    EXPECT_EQ(inside(r, *viaLink), "/etc/new/deeper");
    auto again = r.resolve("/etc/new", Create::Directory, false, &created);
    ASSERT_TRUE(again.ok());
    EXPECT_FALSE(created) << "an existing path is not reported as created";
    // With noSymlinks, a symlink as the parent is refused as before, not walked around.
    auto refused = r.resolve("/lnk/other", Create::Directory, true, &created);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().err(), ELOOP);
    EXPECT_FALSE(fs::exists(root_ + "/etc/other"));
}

TEST_F(RootfsPath, NoSymlinksRefusesAnySymlink) {
    ASSERT_EQ(::mkdir((root_ + "/real").c_str(), 0755), 0);
    link("/real", "/proc");
    RootDir r = open();
    auto fd = r.resolve("/proc", Create::Directory, true);
    ASSERT_FALSE(fd.ok());
    EXPECT_EQ(fd.error().err(), ELOOP);
    link("/nowhere", "/sys");
    fd = r.resolve("/sys", Create::Directory, true);
    ASSERT_FALSE(fd.ok());
    EXPECT_EQ(fd.error().err(), ELOOP);
}

TEST_F(RootfsPath, SymlinkLoopIsELOOP) {
    link("/b", "/a");
    link("/a", "/b");
    RootDir r = open();
    auto fd = r.resolve("/a/x", Create::Directory);
    ASSERT_FALSE(fd.ok());
    EXPECT_EQ(fd.error().err(), ELOOP);
}

TEST_F(RootfsPath, FileInTheMiddleIsENOTDIR) {
    int f = ::open((root_ + "/etc/passwd").c_str(), O_CREAT | O_WRONLY, 0644);
    ASSERT_GE(f, 0);
    ::close(f);
    RootDir r = open();
    auto fd = r.resolve("/etc/passwd/x", Create::Directory);
    ASSERT_FALSE(fd.ok());
    EXPECT_EQ(fd.error().err(), ENOTDIR);
}

TEST_F(RootfsPath, ResolveParent) {
    link(host_, "/evil");
    RootDir r = open();
    auto p = r.resolveParent("/evil/dev/null", true);
    ASSERT_TRUE(p.ok()) << p.error().what();
    EXPECT_EQ(p->second, "null");
    EXPECT_EQ(inside(r, p->first), host_ + "/dev");
    EXPECT_FALSE(fs::exists(host_ + "/dev"));
    EXPECT_FALSE(r.resolveParent("/", true).ok());
}

TEST_F(RootfsPath, PathInsideRejectsOutsideFds) {
    RootDir r = open();
    UniqueFd outside(::open(host_.c_str(), O_PATH | O_CLOEXEC));
    auto p = r.pathInside(outside.get());
    ASSERT_FALSE(p.ok());
    EXPECT_EQ(p.error().err(), EXDEV);
    // A sibling whose name starts with the root's is still outside.
    std::string sibling = root_ + "x";
    ASSERT_EQ(::mkdir(sibling.c_str(), 0755), 0);
    UniqueFd sib(::open(sibling.c_str(), O_PATH | O_CLOEXEC));
    EXPECT_FALSE(r.pathInside(sib.get()).ok());
}

TEST_F(RootfsPath, CopyDirectoryContents) {
    std::string src = root_ + "/etc";
    ASSERT_TRUE(fs::writeFileAtomic(src + "/hosts", "127.0.0.1 localhost\n", 0640).ok());
    ASSERT_EQ(::mkdir((src + "/sub").c_str(), 0700), 0);
    ASSERT_TRUE(fs::writeFileAtomic(src + "/sub/deep", "x", 0600).ok());
    ASSERT_EQ(::symlink("hosts", (src + "/link").c_str()), 0);
    ASSERT_EQ(::mkfifo((src + "/fifo").c_str(), 0600), 0);
    std::string dst = base_ + "/copy";
    ASSERT_EQ(::mkdir(dst.c_str(), 0755), 0);
    UniqueFd from(::open(src.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    UniqueFd to(::open(dst.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    auto st = copyDirectoryContents(from.get(), to.get(), "/etc");
    ASSERT_TRUE(st.ok()) << st.error().what();
    EXPECT_EQ(*fs::readFile(dst + "/hosts"), "127.0.0.1 localhost\n");
    EXPECT_EQ(*fs::readFile(dst + "/sub/deep"), "x");
    struct stat s;
    ASSERT_EQ(::stat((dst + "/hosts").c_str(), &s), 0);
    EXPECT_EQ(s.st_mode & 07777, 0640u);
    ASSERT_EQ(::stat((dst + "/sub").c_str(), &s), 0);
    EXPECT_EQ(s.st_mode & 07777, 0700u);
    char buf[64] = {};
    ASSERT_GT(::readlink((dst + "/link").c_str(), buf, sizeof buf - 1), 0);
    EXPECT_STREQ(buf, "hosts");
    ASSERT_EQ(::lstat((dst + "/fifo").c_str(), &s), 0);
    EXPECT_TRUE(S_ISFIFO(s.st_mode));
}
