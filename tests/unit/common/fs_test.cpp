#include <gtest/gtest.h>

#include <sys/stat.h>
#include <linux/magic.h>
#include <unistd.h>

#include "common/atomic_file.hpp"
#include "common/fs.hpp"
#include "common/unique_fd.hpp"

using namespace berth;

TEST(Fs, CleanPathCollapsesDotsAndNeverClimbsAboveRoot) {
    EXPECT_EQ(fs::cleanPath("/a/b/../c"), "/a/c");
    EXPECT_EQ(fs::cleanPath("//a/./b//"), "/a/b");
    EXPECT_EQ(fs::cleanPath("/../../etc"), "/etc");
    EXPECT_EQ(fs::cleanPath("a/../.."), "/");
    EXPECT_EQ(fs::cleanPath(""), "/");
}

TEST(Fs, SplitKeepsEmptyFields) {
    auto v = fs::split("a,,b", ',');
    ASSERT_EQ(v.size(), 3u);
    EXPECT_EQ(v[1], "");
}

TEST(Fs, AtomicWriteReplacesAndReadsBack) {
    char tmpl[] = "/tmp/berth-fs-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    std::string p = std::string(tmpl) + "/f";
    ASSERT_TRUE(fs::writeFileAtomic(p, "one").ok());
    ASSERT_TRUE(fs::writeFileAtomic(p, "two").ok());
    auto r = fs::readFile(p);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(*r, "two");
    EXPECT_FALSE(fs::exists(p + ".tmp"));
    ASSERT_TRUE(fs::removeAll(tmpl).ok());
    EXPECT_FALSE(fs::exists(tmpl));
}

TEST(Fs, AtomicWriteIfChangedLeavesAnIdenticalFileAlone) {
    char tmpl[] = "/tmp/berth-fs-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    std::string p = std::string(tmpl) + "/f";
    auto inode = [&] {
        struct stat st {};
        ::stat(p.c_str(), &st);
        return st.st_ino;
    };
    ASSERT_TRUE(fs::writeFileAtomicIfChanged(p, "same", 0600).ok());  // missing: written
    auto first = inode();
    ASSERT_TRUE(fs::writeFileAtomicIfChanged(p, "same", 0600).ok());
    EXPECT_EQ(inode(), first);  // not replaced
    ASSERT_TRUE(fs::writeFileAtomicIfChanged(p, "sane", 0600).ok());  // same size, other bytes
    EXPECT_NE(inode(), first);
    EXPECT_EQ(*fs::readFile(p), "sane");
    auto second = inode();
    ASSERT_EQ(::chmod(p.c_str(), 0644), 0);
    ASSERT_TRUE(fs::writeFileAtomicIfChanged(p, "sane", 0600).ok());  // other mode: rewritten
    EXPECT_NE(inode(), second);
    ASSERT_TRUE(fs::removeAll(tmpl).ok());
}

TEST(Error, ContextChainsOutermostFirst) {
    errno = ENOENT;
    Error e = Error::fromErrno("open ", "x");
    e.context("load spec");
    EXPECT_EQ(e.err(), ENOENT);
    EXPECT_EQ(e.message(), "load spec: open x");
    EXPECT_NE(e.what().find("No such file"), std::string::npos);
}

// A write meant for procfs refuses a file that is not on procfs (a mount over it).
TEST(Fs, WriteFileOnFsChecksTheFilesystem) {
    char tmpl[] = "/tmp/berth-fs-XXXXXX";
    std::string dir = mkdtemp(tmpl);
    std::string f = dir + "/knob";
    ASSERT_TRUE(fs::writeFileAtomic(f, "0").ok());
    auto st = fs::writeFileOnFs(f, "1", PROC_SUPER_MAGIC, "procfs");
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().err(), EXDEV);
    EXPECT_NE(st.error().what().find("is not on procfs"), std::string::npos);
    EXPECT_EQ(*fs::readFile(f), "0");
    EXPECT_TRUE(fs::writeFileOnFs("/proc/self/comm", "berth-test", PROC_SUPER_MAGIC, "procfs").ok());
    // A symlink is not followed.
    ASSERT_EQ(::symlink(f.c_str(), (dir + "/link").c_str()), 0);
    EXPECT_FALSE(fs::writeFileOnFs(dir + "/link", "1", TMPFS_MAGIC, "tmpfs").ok());
    (void)fs::removeAll(dir);
}

TEST(Fs, ReadUntilEofTakesEverythingAWriterSaidBeforeClosing) {
    int p[2];
    ASSERT_EQ(::pipe(p), 0);
    UniqueFd rd(p[0]), wr(p[1]);
    std::string big(10000, 'x');  // more than one read's worth
    ASSERT_EQ(::write(wr.get(), big.data(), big.size()), static_cast<ssize_t>(big.size()));
    wr.reset();
    EXPECT_EQ(fs::readUntilEof(rd.get()), big);
    EXPECT_EQ(fs::readUntilEof(rd.get()), "");  // at EOF already
    EXPECT_EQ(fs::readUntilEof(-1), "");         // a read error: nothing
}
