#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "common/fs.hpp"
#include "vm/wire/cpio.hpp"

using namespace berth;
using namespace berth::vm;

namespace {

wire::cpio::Writer sample() {
    wire::cpio::Writer w;
    w.addDirectory("dev");
    w.addCharDevice("dev/console", 5, 1, 0600);
    w.addDirectory("/lib", 0700);
    w.addFile("lib/hello.txt", "hello\n", 0644);
    w.addFile("init", std::string(1001, 'x'), 0755);  // odd size: padding after the data
    w.addSymlink("lib/link", "hello.txt");
    return w;
}

std::string shell(const std::string& cmd) {
    std::string out;
    FILE* p = ::popen(cmd.c_str(), "r");
    if (!p) return out;
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    ::pclose(p);
    return out;
}

}  // namespace

TEST(VmCpio, ParsesBackWhatItWrites) {
    auto e = wire::cpio::parse(sample().finish());
    ASSERT_TRUE(e.ok()) << e.error().what();
    ASSERT_EQ(e->size(), 6u);
    EXPECT_EQ((*e)[1].name, "dev/console");
    EXPECT_TRUE(S_ISCHR((*e)[1].mode));
    EXPECT_EQ((*e)[1].rmajor, 5u);
    EXPECT_EQ((*e)[1].rminor, 1u);
    EXPECT_EQ((*e)[2].name, "lib");  // leading slash dropped
    EXPECT_EQ((*e)[2].mode, static_cast<uint32_t>(S_IFDIR | 0700));
    EXPECT_EQ((*e)[3].data, "hello\n");
    EXPECT_EQ((*e)[4].data.size(), 1001u);
    EXPECT_TRUE(S_ISLNK((*e)[5].mode));
    EXPECT_EQ((*e)[5].data, "hello.txt");
}

TEST(VmCpio, ArchiveIsAlignedAndReproducible) {
    std::string a = sample().finish(), b = sample().finish();
    EXPECT_EQ(a, b);  // mtime 0, fixed inode numbers: the cache key does not drift
    EXPECT_EQ(a.size() % 4, 0u);
    EXPECT_NE(a.find("TRAILER!!!"), std::string::npos);
}

TEST(VmCpio, GnuCpioListsAndExtractsIt) {
    if (::system("command -v cpio >/dev/null 2>&1") != 0) GTEST_SKIP() << "cpio(1) not installed";
    char tmpl[] = "/tmp/berth-cpio-test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    std::string dir = tmpl;
    ASSERT_TRUE(fs::writeFileAtomic(dir + "/a.cpio", sample().finish()).ok());
    std::string list = shell("cpio -it --quiet < " + dir + "/a.cpio");
    EXPECT_EQ(list, "dev\ndev/console\nlib\nlib/hello.txt\ninit\nlib/link\n");
    // Extract without device nodes (no root needed for the rest).
    shell("cd " + dir + " && mkdir x && cd x && cpio -idm --quiet --no-absolute-filenames "
          "--nonmatching 'dev/console' < ../a.cpio");
    EXPECT_EQ(*fs::readFile(dir + "/x/lib/hello.txt"), "hello\n");
    char target[64] = {};
    EXPECT_GT(::readlink((dir + "/x/lib/link").c_str(), target, sizeof target - 1), 0);
    EXPECT_STREQ(target, "hello.txt");
    struct stat st;
    ASSERT_EQ(::stat((dir + "/x/init").c_str(), &st), 0);
    EXPECT_EQ(st.st_size, 1001);
    EXPECT_EQ(st.st_mode & 0777, 0755u);
    (void)fs::removeAll(dir);
}

TEST(VmCpio, AddTreeCopiesADirectory) {
    char tmpl[] = "/tmp/berth-cpio-tree.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    std::string dir = tmpl;
    ASSERT_TRUE(fs::mkdirAll(dir + "/bin").ok());
    ASSERT_TRUE(fs::writeFileAtomic(dir + "/bin/tool", "#!/bin/sh\n", 0755).ok());
    ASSERT_EQ(::symlink("tool", (dir + "/bin/alias").c_str()), 0);
    wire::cpio::Writer w;
    w.addDirectory("rootfs");
    ASSERT_TRUE(w.addTree(dir, "rootfs").ok());
    auto e = wire::cpio::parse(w.finish());
    ASSERT_TRUE(e.ok());
    ASSERT_EQ(e->size(), 4u);
    EXPECT_EQ((*e)[1].name, "rootfs/bin");
    EXPECT_EQ((*e)[2].name, "rootfs/bin/alias");
    EXPECT_EQ((*e)[3].name, "rootfs/bin/tool");
    EXPECT_EQ((*e)[3].data, "#!/bin/sh\n");
    (void)fs::removeAll(dir);
}

// Regression (issue 15, part 6): every hard link carried a copy of the file, so an image with
// busybox's hundreds of links made an initramfs over QEMU's initrd limit.
TEST(VmCpio, AddTreeStoresHardLinkedDataOnce) {
    char tmpl[] = "/tmp/berth-cpio-links.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    std::string dir = tmpl;
    std::string big(100000, 'x');
    ASSERT_TRUE(fs::writeFileAtomic(dir + "/a", big, 0755).ok());
    ASSERT_EQ(::link((dir + "/a").c_str(), (dir + "/b").c_str()), 0);
    ASSERT_EQ(::link((dir + "/a").c_str(), (dir + "/c").c_str()), 0);
    wire::cpio::Writer w;
    ASSERT_TRUE(w.addTree(dir, "r").ok());
    std::string archive = w.finish();
    EXPECT_LT(archive.size(), 2 * big.size());
    auto e = wire::cpio::parse(archive);
    ASSERT_TRUE(e.ok());
    ASSERT_EQ(e->size(), 3u);
    EXPECT_EQ((*e)[0].data, big);  // the first name carries the data, the kernel links the rest
    for (size_t i = 0; i < 3; i++) {
        EXPECT_EQ((*e)[i].nlink, 3u);
        EXPECT_EQ((*e)[i].ino, (*e)[0].ino);
        if (i) {
            EXPECT_TRUE((*e)[i].data.empty());
        }
    }
    (void)fs::removeAll(dir);
}

TEST(VmCpio, ParseRefusesTruncationAndBadMagic) {
    std::string a = sample().finish();
    EXPECT_FALSE(wire::cpio::parse(a.substr(0, a.size() / 2)).ok());
    std::string bad = a;
    bad[0] = '1';
    EXPECT_FALSE(wire::cpio::parse(bad).ok());
}
