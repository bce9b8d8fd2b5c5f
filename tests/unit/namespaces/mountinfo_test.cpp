#include "namespaces/mountinfo.hpp"

#include <gtest/gtest.h>

using namespace berth::namespaces;

namespace {
const char* kSample =
    "22 27 0:21 / /proc rw,relatime - proc proc rw\n"
    "27 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw,discard\n"
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "43 27 254:0 /run/netns /run/netns rw,relatime shared:1 master:3 - ext4 /dev/vda rw\n"
    "50 27 0:40 / /mnt/with\\040space rw - tmpfs none rw\n"
    "51 27 0:41 / /tmp/a rw - tmpfs none rw\n"
    "52 51 0:42 / /tmp/a/b rw - tmpfs none rw\n";
}

TEST(MountInfo, ParsesFields) {
    auto r = parseMountInfo(kSample);
    ASSERT_TRUE(r.ok()) << r.error().what();
    ASSERT_EQ(r->size(), 7u);
    const MountInfo& root = (*r)[1];
    EXPECT_EQ(root.id, 27);
    EXPECT_EQ(root.parentId, 1);
    EXPECT_EQ(root.root, "/");
    EXPECT_EQ(root.mountPoint, "/");
    EXPECT_EQ(root.fsType, "ext4");
    EXPECT_EQ(root.source, "/dev/vda");
    EXPECT_EQ(root.superOptions, "rw,discard");
    EXPECT_TRUE(root.shared());
    EXPECT_FALSE((*r)[0].shared());
    const MountInfo& netns = (*r)[3];
    EXPECT_EQ(netns.root, "/run/netns");
    ASSERT_EQ(netns.optional.size(), 2u);
    EXPECT_EQ(netns.optional[1], "master:3");
    EXPECT_EQ((*r)[4].mountPoint, "/mnt/with space");
}

TEST(MountInfo, MalformedLineIsAnError) {
    auto r = parseMountInfo("1 2 3\n");
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message().find("malformed"), std::string::npos);
    EXPECT_FALSE(parseMountInfo("x 1 0:1 / / rw - ext4 a b\n").ok());
}

TEST(MountInfo, MountContainingPicksTheDeepestMountPoint) {
    auto r = parseMountInfo(kSample);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(mountContaining(*r, "/tmp/a/b/c")->mountPoint, "/tmp/a/b");
    EXPECT_EQ(mountContaining(*r, "/tmp/a/bc")->mountPoint, "/tmp/a");
    EXPECT_EQ(mountContaining(*r, "/tmp/ab")->mountPoint, "/");
    EXPECT_EQ(mountContaining(*r, "/proc")->mountPoint, "/proc");
    EXPECT_FALSE(mountContaining({}, "/x").has_value());
}

TEST(MountInfo, IsPathWithin) {
    EXPECT_TRUE(isPathWithin("/a/b", "/a"));
    EXPECT_TRUE(isPathWithin("/a", "/a"));
    EXPECT_FALSE(isPathWithin("/ab", "/a"));
    EXPECT_TRUE(isPathWithin("/anything", "/"));
    EXPECT_FALSE(isPathWithin("/a", "/a/b"));
}
