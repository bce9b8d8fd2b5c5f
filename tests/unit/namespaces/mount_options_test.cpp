#include "namespaces/mount_options.hpp"

#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/statvfs.h>

#include "namespaces/mount.hpp"

using namespace berth::namespaces;

TEST(MountOptions, EmptyIsNothing) {
    MountOptions o = parseMountOptions({});
    EXPECT_EQ(o.flags, 0u);
    EXPECT_EQ(o.clearFlags, 0u);
    EXPECT_EQ(o.propagation, 0u);
    EXPECT_FALSE(o.bind);
    EXPECT_FALSE(o.recursiveBind);
    EXPECT_EQ(o.data, "");
    EXPECT_FALSE(o.tmpCopyUp);
    EXPECT_FALSE(o.idmap);
}

TEST(MountOptions, OciDefaultDevTmpfs) {
    MountOptions o = parseMountOptions({"nosuid", "strictatime", "mode=755", "size=65536k"});
    EXPECT_EQ(o.flags, static_cast<unsigned long>(MS_NOSUID | MS_STRICTATIME));
    EXPECT_EQ(o.data, "mode=755,size=65536k");
}

TEST(MountOptions, OciDefaultDevpts) {
    MountOptions o = parseMountOptions(
        {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"});
    EXPECT_EQ(o.flags, static_cast<unsigned long>(MS_NOSUID | MS_NOEXEC));
    EXPECT_EQ(o.data, "newinstance,ptmxmode=0666,mode=0620,gid=5");
}

TEST(MountOptions, EverySetFlag) {
    struct {
        const char* name;
        unsigned long flag;
    } cases[] = {
        {"ro", MS_RDONLY},
        {"nosuid", MS_NOSUID},
        {"nodev", MS_NODEV},
        {"noexec", MS_NOEXEC},
        {"sync", MS_SYNCHRONOUS},
        {"dirsync", MS_DIRSYNC},
        {"remount", MS_REMOUNT},
        {"mand", MS_MANDLOCK},
        {"noatime", MS_NOATIME},
        {"nodiratime", MS_NODIRATIME},
        {"relatime", MS_RELATIME},
        {"strictatime", MS_STRICTATIME},
        {"acl", MS_POSIXACL},
        {"silent", MS_SILENT},
        {"iversion", MS_I_VERSION},
        {"lazytime", MS_LAZYTIME},
        {"nosymfollow", MS_NOSYMFOLLOW},
    };
    for (const auto& c : cases) {
        MountOptions o = parseMountOptions({c.name});
        EXPECT_EQ(o.flags, c.flag) << c.name;
        EXPECT_EQ(o.clearFlags, 0u) << c.name;
        EXPECT_EQ(o.data, "") << c.name;
    }
}

TEST(MountOptions, EveryClearFlag) {
    struct {
        const char* name;
        unsigned long flag;
    } cases[] = {
        {"rw", MS_RDONLY},
        {"suid", MS_NOSUID},
        {"dev", MS_NODEV},
        {"exec", MS_NOEXEC},
        {"async", MS_SYNCHRONOUS},
        {"nomand", MS_MANDLOCK},
        {"atime", MS_NOATIME},
        {"diratime", MS_NODIRATIME},
        {"norelatime", MS_RELATIME},
        {"nostrictatime", MS_STRICTATIME},
        {"noacl", MS_POSIXACL},
        {"loud", MS_SILENT},
        {"noiversion", MS_I_VERSION},
        {"nolazytime", MS_LAZYTIME},
    };
    for (const auto& c : cases) {
        MountOptions o = parseMountOptions({c.name});
        EXPECT_EQ(o.flags, 0u) << c.name;
        EXPECT_EQ(o.clearFlags, c.flag) << c.name;
        EXPECT_EQ(o.data, "") << c.name;
    }
}

TEST(MountOptions, LaterOptionWins) {
    MountOptions o = parseMountOptions({"ro", "rw"});
    EXPECT_EQ(o.flags & MS_RDONLY, 0u);
    EXPECT_EQ(o.clearFlags, static_cast<unsigned long>(MS_RDONLY));
    o = parseMountOptions({"rw", "ro"});
    EXPECT_EQ(o.flags, static_cast<unsigned long>(MS_RDONLY));
    EXPECT_EQ(o.clearFlags, 0u);
    o = parseMountOptions({"nosuid", "suid", "nosuid"});
    EXPECT_EQ(o.flags, static_cast<unsigned long>(MS_NOSUID));
    EXPECT_EQ(o.clearFlags, 0u);
}

TEST(MountOptions, BindAndRbindAreNotFlags) {
    MountOptions o = parseMountOptions({"bind", "ro"});
    EXPECT_TRUE(o.bind);
    EXPECT_FALSE(o.recursiveBind);
    EXPECT_EQ(o.flags, static_cast<unsigned long>(MS_RDONLY));
    o = parseMountOptions({"rbind"});
    EXPECT_TRUE(o.recursiveBind);
    EXPECT_EQ(o.flags, 0u);
    EXPECT_EQ(o.data, "");
}

TEST(MountOptions, Propagation) {
    struct {
        const char* name;
        unsigned long flags;
    } cases[] = {
        {"private", MS_PRIVATE},       {"rprivate", MS_PRIVATE | MS_REC},
        {"slave", MS_SLAVE},           {"rslave", MS_SLAVE | MS_REC},
        {"shared", MS_SHARED},         {"rshared", MS_SHARED | MS_REC},
        {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
    };
    for (const auto& c : cases) {
        MountOptions o = parseMountOptions({c.name});
        EXPECT_EQ(o.propagation, c.flags) << c.name;
        ASSERT_EQ(o.propagationSteps.size(), 1u) << c.name;
        EXPECT_EQ(o.flags, 0u) << c.name;
        EXPECT_EQ(propagationFlags(c.name), c.flags) << c.name;
    }
    EXPECT_EQ(propagationFlags("sideways"), 0u);
    EXPECT_EQ(propagationFlags(""), 0u);
}

TEST(MountOptions, PropagationStepsKeepOrder) {
    MountOptions o = parseMountOptions({"rslave", "shared"});
    ASSERT_EQ(o.propagationSteps.size(), 2u);
    EXPECT_EQ(o.propagationSteps[0], static_cast<unsigned long>(MS_SLAVE | MS_REC));
    EXPECT_EQ(o.propagationSteps[1], static_cast<unsigned long>(MS_SHARED));
    EXPECT_EQ(o.propagation, static_cast<unsigned long>(MS_SHARED));
}

TEST(MountOptions, RecursiveAttrs) {
    struct {
        const char* name;
        uint64_t set, clr;
    } cases[] = {
        {"rro", MOUNT_ATTR_RDONLY, 0},
        {"rrw", 0, MOUNT_ATTR_RDONLY},
        {"rnosuid", MOUNT_ATTR_NOSUID, 0},
        {"rsuid", 0, MOUNT_ATTR_NOSUID},
        {"rnodev", MOUNT_ATTR_NODEV, 0},
        {"rdev", 0, MOUNT_ATTR_NODEV},
        {"rnoexec", MOUNT_ATTR_NOEXEC, 0},
        {"rexec", 0, MOUNT_ATTR_NOEXEC},
        {"rnodiratime", MOUNT_ATTR_NODIRATIME, 0},
        {"rdiratime", 0, MOUNT_ATTR_NODIRATIME},
        {"rnosymfollow", MOUNT_ATTR_NOSYMFOLLOW, 0},
        {"rsymfollow", 0, MOUNT_ATTR_NOSYMFOLLOW},
        // atime modes always clear the whole MOUNT_ATTR__ATIME field (mount_setattr(2))
        {"rnoatime", MOUNT_ATTR_NOATIME, MOUNT_ATTR__ATIME},
        {"rstrictatime", MOUNT_ATTR_STRICTATIME, MOUNT_ATTR__ATIME},
        {"rrelatime", MOUNT_ATTR_RELATIME, MOUNT_ATTR__ATIME},
        {"ratime", 0, MOUNT_ATTR__ATIME},
        {"rnostrictatime", 0, MOUNT_ATTR__ATIME},
        {"rnorelatime", 0, MOUNT_ATTR__ATIME},
    };
    for (const auto& c : cases) {
        MountOptions o = parseMountOptions({c.name});
        EXPECT_EQ(o.recAttrSet, c.set) << c.name;
        EXPECT_EQ(o.recAttrClr, c.clr) << c.name;
        EXPECT_EQ(o.flags, 0u) << c.name;
        EXPECT_EQ(o.data, "") << c.name;
    }
}

TEST(MountOptions, RecursiveAttrsOverride) {
    MountOptions o = parseMountOptions({"rro", "rrw"});
    EXPECT_EQ(o.recAttrSet, 0u);
    EXPECT_EQ(o.recAttrClr, static_cast<uint64_t>(MOUNT_ATTR_RDONLY));
    o = parseMountOptions({"rrw", "rro", "rnosuid"});
    EXPECT_EQ(o.recAttrSet, static_cast<uint64_t>(MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID));
    EXPECT_EQ(o.recAttrClr, 0u);
    // Two atime modes: the later replaces the earlier instead of or-ing into an invalid value.
    o = parseMountOptions({"rnoatime", "rstrictatime"});
    EXPECT_EQ(o.recAttrSet, static_cast<uint64_t>(MOUNT_ATTR_STRICTATIME));
    EXPECT_EQ(o.recAttrClr, static_cast<uint64_t>(MOUNT_ATTR__ATIME));
    o = parseMountOptions({"rnoatime", "rnodiratime"});
    EXPECT_EQ(o.recAttrSet, static_cast<uint64_t>(MOUNT_ATTR_NOATIME | MOUNT_ATTR_NODIRATIME));
}

TEST(MountOptions, SpecialOptions) {
    MountOptions o = parseMountOptions({"tmpcopyup", "defaults", "idmap"});
    EXPECT_TRUE(o.tmpCopyUp);
    EXPECT_TRUE(o.idmap);
    EXPECT_EQ(o.data, "");
    EXPECT_FALSE(o.recursiveIdmap);
    EXPECT_TRUE(parseMountOptions({"ridmap"}).idmap);
    EXPECT_TRUE(parseMountOptions({"ridmap"}).recursiveIdmap);
}

TEST(MountOptions, UnknownGoesToDataInOrder) {
    MountOptions o = parseMountOptions({"size=1m", "ro", "uid=1000", "lowerdir=/a:/b", "xino=off"});
    EXPECT_EQ(o.data, "size=1m,uid=1000,lowerdir=/a:/b,xino=off");
    EXPECT_EQ(o.flags, static_cast<unsigned long>(MS_RDONLY));
}

TEST(MountFlags, StatfsToMountFlags) {
    EXPECT_EQ(statfsToMountFlags(ST_RDONLY | ST_NOSUID | ST_RELATIME),
              static_cast<unsigned long>(MS_RDONLY | MS_NOSUID | MS_RELATIME));
    EXPECT_EQ(statfsToMountFlags(ST_NODEV | ST_NOEXEC | ST_NOATIME | ST_NODIRATIME),
              static_cast<unsigned long>(MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME));
    // No atime mode reported means strictatime.
    EXPECT_EQ(statfsToMountFlags(0), static_cast<unsigned long>(MS_STRICTATIME));
    EXPECT_EQ(statfsToMountFlags(ST_SYNCHRONOUS | ST_MANDLOCK | ST_RELATIME),
              static_cast<unsigned long>(MS_SYNCHRONOUS | MS_MANDLOCK | MS_RELATIME));
}

TEST(MountFlags, RemountRetryKeepsLockedFlags) {
    // Asked ro on a nosuid,nodev relatime mount: keep nosuid, nodev and relatime.
    auto r = remountRetryFlags(MS_RDONLY, 0, MS_NOSUID | MS_NODEV | MS_RELATIME);
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, static_cast<unsigned long>(MS_RDONLY | MS_NOSUID | MS_NODEV | MS_RELATIME));
    // Not lockable flags (sync) are not carried over.
    r = remountRetryFlags(MS_NOEXEC, 0, MS_SYNCHRONOUS | MS_RELATIME);
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, static_cast<unsigned long>(MS_NOEXEC | MS_RELATIME));
}

TEST(MountFlags, RemountRetryRefusesToContradictTheRequest) {
    // "rw" asked on a locked read-only mount: keeping ro would silently ignore the request.
    EXPECT_FALSE(remountRetryFlags(0, MS_RDONLY, MS_RDONLY | MS_RELATIME));
    EXPECT_FALSE(remountRetryFlags(MS_NOEXEC, MS_NOSUID, MS_NOSUID | MS_RELATIME));
    // A different atime mode than the mount's locked one.
    EXPECT_FALSE(remountRetryFlags(MS_NOATIME, 0, MS_RELATIME));
    EXPECT_FALSE(remountRetryFlags(MS_STRICTATIME, 0, MS_RELATIME));
    // The same atime mode is fine.
    auto r = remountRetryFlags(MS_RDONLY | MS_RELATIME, 0, MS_RELATIME | MS_NODEV);
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, static_cast<unsigned long>(MS_RDONLY | MS_RELATIME | MS_NODEV));
}

TEST(MountFlags, Names) {
    EXPECT_EQ(mountFlagNames(MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID),
              "bind,remount,ro,nosuid");
    EXPECT_EQ(mountFlagNames(MS_SLAVE | MS_REC), "rslave");
    EXPECT_EQ(mountFlagNames(MS_PRIVATE), "private");
    EXPECT_EQ(mountFlagNames(MS_BIND | MS_REC), "bind,rec");
    EXPECT_EQ(mountFlagNames(0), "rw");
    EXPECT_EQ(mountFlagNames(1ul << 40), "0x10000000000");
}
