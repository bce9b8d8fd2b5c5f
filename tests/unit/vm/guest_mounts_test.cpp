#include <gtest/gtest.h>

#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include <string>
#include <vector>

#include "vm/wire/guest_config.hpp"
#include "vm/wire/guest_mounts.hpp"

using namespace berth;
using namespace berth::vm;

namespace {

runtime::spec::Mount mountOf(const std::string& type, const std::string& src, const std::string& dst,
                             std::vector<std::string> opts = {}) {
    runtime::spec::Mount m;
    m.type = type;
    m.source = src;
    m.destination = dst;
    m.options = std::move(opts);
    return m;
}

// What containerd's CRI plugin puts in a container's spec, less its binds of files.
std::vector<runtime::spec::Mount> criMounts() {
    return {mountOf("proc", "proc", "/proc", {"nosuid", "noexec", "nodev"}),
            mountOf("tmpfs", "tmpfs", "/dev", {"nosuid", "strictatime", "mode=755", "size=65536k"}),
            mountOf("devpts", "devpts", "/dev/pts", {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}),
            mountOf("mqueue", "mqueue", "/dev/mqueue", {"nosuid", "noexec", "nodev"}),
            mountOf("sysfs", "sysfs", "/sys", {"nosuid", "noexec", "nodev", "ro"}),
            mountOf("cgroup", "cgroup", "/sys/fs/cgroup", {"nosuid", "noexec", "nodev", "relatime", "ro"}),
            mountOf("tmpfs", "tmpfs", "/run/x/", {"size=1m"})};
}

}  // namespace

TEST(GuestMounts, CriMountsBecomeGuestFilesystemsInSpecOrderLessProcAndCgroup) {
    auto plan = wire::planGuestFsMounts(criMounts());
    ASSERT_TRUE(plan.ok()) << plan.error().what();
    std::vector<wire::GuestFsMount> want = {
        {"/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}, 1},
        {"/dev/pts", "devpts", "devpts", {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}, 2},
        {"/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}, 3},
        {"/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}, 4},
        // cgroup (5) is the agent's: the container's own cgroup in the guest.
        {"/run/x", "tmpfs", "tmpfs", {"size=1m"}, 6}};
    EXPECT_EQ(*plan, want);
    EXPECT_TRUE(wire::hasFsMount(*plan, "/sys"));
    EXPECT_FALSE(wire::hasFsMount(*plan, "/proc"));
    EXPECT_FALSE(wire::hasFsMount(*plan, "/sys/fs/cgroup"));
}

TEST(GuestMounts, ShmBoundFromAHostTmpfsIsAGuestTmpfsOfItsSize) {
    struct statfs sfs;
    if (::statfs("/dev/shm", &sfs) < 0 || sfs.f_type != TMPFS_MAGIC) GTEST_SKIP() << "/dev/shm is not a tmpfs here";
    auto plan = wire::planGuestFsMounts({mountOf("bind", "/tmp", "/data", {"rbind"}),
                                         mountOf("bind", "/dev/shm", "/dev/shm", {"rbind", "nosuid", "noexec", "nodev", "rprivate"})});
    ASSERT_TRUE(plan.ok()) << plan.error().what();
    ASSERT_EQ(plan->size(), 1u);  // the other bind is a 9p share, not a guest filesystem
    uint64_t size = static_cast<uint64_t>(sfs.f_blocks) * static_cast<uint64_t>(sfs.f_bsize);
    wire::GuestFsMount want{"/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "size=" + std::to_string(size), "mode=1777"}, 1};
    EXPECT_EQ((*plan)[0], want);
}

TEST(GuestMounts, AMissingShmSourceIsNamedAndARelativeDestinationIsUnderRoot) {
    auto missing = wire::planGuestFsMounts({mountOf("bind", "/nonexistent/shm", "/dev/shm", {"rbind"})});
    ASSERT_FALSE(missing.ok());
    EXPECT_NE(missing.error().message().find("/nonexistent/shm (for /dev/shm)"), std::string::npos) << missing.error().what();
    auto relative = wire::planGuestFsMounts({mountOf("tmpfs", "tmpfs", "tmp/../x")});  // runc: under "/"
    ASSERT_TRUE(relative.ok());
    EXPECT_EQ(relative->at(0).destination, "/x");
}

TEST(GuestMounts, TravelInTheGuestConfigAndBadOnesAreRefused) {
    wire::GuestProcess p;
    p.process.args = {"sh"};
    p.filesystems = {{"/dev/shm", "tmpfs", "shm", {"size=65536k"}, 3}};
    runtime::spec::Device fuse;
    fuse.type = "c";
    fuse.path = "/dev/fuse";
    fuse.major = 10;
    fuse.minor = 229;
    fuse.fileMode = 0600;
    p.devices = {fuse};
    p.sysctl = {{"net.ipv4.ip_forward", "1"}, {"kernel.shmmax", "4096"}};
    auto back = wire::guestProcessFromJson(wire::toJson(p));
    ASSERT_TRUE(back.ok()) << back.error().what();
    EXPECT_EQ(back->filesystems, p.filesystems);
    EXPECT_EQ(back->sysctl, p.sysctl);
    ASSERT_EQ(back->devices.size(), 1u);
    EXPECT_EQ(back->devices[0].path, "/dev/fuse");
    EXPECT_EQ(back->devices[0].minor, 229);
    EXPECT_EQ(back->devices[0].fileMode, 0600u);
    EXPECT_FALSE(back->devices[0].uid.has_value());
    for (auto bad : {R"([{"destination":"/a/../b","type":"tmpfs"}])", R"([{"destination":"rel","type":"tmpfs"}])",
                     R"([{"destination":"/a","type":""}])", R"({"destination":"/a"})"})
        EXPECT_FALSE(wire::guestFsMountsFromJson(nlohmann::json::parse(bad)).ok()) << bad;
}

TEST(GuestSysctl, KeysBecomePathsUnderProcSys) {
    EXPECT_EQ(*wire::sysctlPath("net.ipv4.ip_forward"), "net/ipv4/ip_forward");
    EXPECT_EQ(*wire::sysctlPath("kernel.shm_rmid_forced"), "kernel/shm_rmid_forced");
    EXPECT_EQ(*wire::sysctlPath("fs.mqueue.msg_max"), "fs/mqueue/msg_max");
    // An interface with a dot in its name, in both of sysctl(8)'s forms.
    EXPECT_EQ(*wire::sysctlPath("net/ipv4/conf/eth0.100/forwarding"), "net/ipv4/conf/eth0.100/forwarding");
    EXPECT_EQ(*wire::sysctlPath("net.ipv4.conf.eth0/100.forwarding"), "net/ipv4/conf/eth0.100/forwarding");
    for (auto bad : {"", "net..x", "net/../../etc/x", ".net", "net.", "../x"}) {
        auto r = wire::sysctlPath(bad);
        EXPECT_FALSE(r.ok()) << bad;
        if (!r.ok()) {
            EXPECT_NE(r.error().message().find("not a sysctl name"), std::string::npos);
        }
    }
}

TEST(GuestMounts, AFileOntoADirectoryOfTheRootfsIsRefusedOnTheHostNamingBoth) {
    char tmpl[] = "/tmp/berth-guest-mounts-XXXXXX";
    std::string d = ::mkdtemp(tmpl);
    std::string r = d + "/rootfs";
    for (auto dir : {r, r + "/bin", r + "/etc", d + "/srcdir"}) ::mkdir(dir.c_str(), 0755);
    std::ofstream(r + "/etc/hosts") << "x";
    std::ofstream(d + "/srcfile") << "y";
    ASSERT_EQ(::symlink("../run/resolv.conf", (r + "/etc/resolv.conf").c_str()), 0);
    ASSERT_EQ(::symlink("/", (r + "/etc/top").c_str()), 0);  // "/" of the rootfs, not the host's
    auto check = [&](const std::string& src, const std::string& dst) {
        return wire::checkBindDestinations({mountOf("bind", src, dst, {"rbind"})}, d, r);
    };
    auto bad = check(d + "/srcfile", "/bin");
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().what(), "bind mount source " + d + "/srcfile (for /bin): a file onto a directory of the rootfs: Not a directory");
    EXPECT_FALSE(check("srcfile", "/etc/top/bin/").ok());  // a relative source, a symlink on the way
    EXPECT_FALSE(check(d + "/srcdir", "/etc/hosts").ok());                       // a directory onto a file
    EXPECT_TRUE(check(d + "/srcfile", "/etc/hosts").ok());                       // a file onto a file
    EXPECT_TRUE(check(d + "/srcfile", "/etc/resolv.conf").ok());                 // the guest replaces the link
    EXPECT_TRUE(check(d + "/srcdir", "/data/new").ok());                         // made in the guest
    EXPECT_TRUE(check(d + "/srcfile", "/dev/shm").ok());                         // the guest's own
    EXPECT_TRUE(wire::checkBindDestinations({mountOf("tmpfs", "tmpfs", "/bin")}, d, r).ok());  // not a bind
    (void)std::system(("rm -rf " + d).c_str());
}
