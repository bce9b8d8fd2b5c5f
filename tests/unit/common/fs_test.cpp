#include <gtest/gtest.h>

#include "common/fs.hpp"

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

TEST(Error, ContextChainsOutermostFirst) {
    errno = ENOENT;
    Error e = Error::fromErrno("open ", "x");
    e.context("load spec");
    EXPECT_EQ(e.err(), ENOENT);
    EXPECT_EQ(e.message(), "load spec: open x");
    EXPECT_NE(e.what().find("No such file"), std::string::npos);
}
