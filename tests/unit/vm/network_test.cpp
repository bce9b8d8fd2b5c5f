#include "vm/network.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "vm/wire/boot_config.hpp"
#include "vm/wire/boot_failure.hpp"
#include "vm/wire/guest_config.hpp"

using namespace berth;
using namespace berth::vm;

namespace {

// `ip -j addr show` and `ip -j -4/-6 route show` in a netns as podman's netavark leaves it (plus a
// v6 address), recorded on this host with iproute2 6.1.
const char* kAddrs = R"([
 {"ifindex":1,"ifname":"lo","mtu":65536,"link_type":"loopback","address":"00:00:00:00:00:00",
  "addr_info":[{"family":"inet","local":"127.0.0.1","prefixlen":8,"scope":"host"}]},
 {"ifindex":2,"link":"eth0","ifname":"peer0","mtu":1500,"link_type":"ether","address":"5a:8d:46:de:12:1f",
  "addr_info":[{"family":"inet6","local":"fe80::588d:46ff:fede:121f","prefixlen":64,"scope":"link"}]},
 {"ifindex":3,"link":"peer0","ifname":"eth0","mtu":1450,"link_type":"ether","address":"82:70:98:09:23:dc",
  "addr_info":[{"family":"inet","local":"10.88.0.5","prefixlen":16,"scope":"global","label":"eth0"},
               {"family":"inet6","local":"fd00::5","prefixlen":64,"scope":"global","nodad":true},
               {"family":"inet6","local":"fe80::8070:98ff:fe09:23dc","prefixlen":64,"scope":"link"}]},
 {"ifindex":4,"ifname":"berth-tap0","mtu":1500,"link_type":"ether","address":"fa:7a:de:87:cf:03",
  "addr_info":[{"family":"inet","local":"10.1.1.1","prefixlen":24,"scope":"global"}]}])";
const char* kRoutes = R"([
 {"dst":"default","gateway":"10.88.0.1","dev":"eth0","flags":[]},
 {"dst":"10.88.0.0/16","dev":"eth0","protocol":"kernel","scope":"link","prefsrc":"10.88.0.5","flags":[]},
 {"dst":"10.7.0.0/24","gateway":"10.88.0.9","dev":"eth0","flags":[]},
 {"dst":"fd00::/64","dev":"eth0","protocol":"kernel","metric":256,"flags":[]},
 {"dst":"fe80::/64","dev":"eth0","protocol":"kernel","metric":256,"flags":[]},
 {"type":"unreachable","dst":"10.9.0.0/16","dev":"lo","flags":[]},
 {"dst":"default","gateway":"fd00::1","dev":"eth0","metric":1024,"flags":[]}])";

}  // namespace

TEST(VmNetwork, MirrorsEthernetLinksWithAGlobalAddress) {
    auto nics = nicsFromIp(nlohmann::json::parse(kAddrs), nlohmann::json::parse(kRoutes));
    ASSERT_TRUE(nics.ok()) << nics.error().what();
    ASSERT_EQ(nics->size(), 1u);  // not lo, not a link-local-only peer, not our own tap
    const wire::GuestNic& n = (*nics)[0];
    EXPECT_EQ(n.name, "eth0");
    EXPECT_EQ(n.mac, "82:70:98:09:23:dc");
    EXPECT_EQ(n.mtu, 1450);
    EXPECT_EQ(n.addresses, (std::vector<std::string>{"10.88.0.5/16", "fd00::5/64"}));
    // The kernel's connected routes come back by themselves in the guest; the rest is copied.
    std::vector<wire::GuestRoute> want = {
        {"default", "10.88.0.1"}, {"10.7.0.0/24", "10.88.0.9"}, {"default", "fd00::1"}};
    EXPECT_EQ(n.routes, want);
}

TEST(VmNetwork, NothingToMirrorInAnEmptyNetns) {
    auto nics = nicsFromIp(
        nlohmann::json::parse(R"([{"ifname":"lo","link_type":"loopback","addr_info":[]}])"),
        nlohmann::json::array());
    ASSERT_TRUE(nics.ok());
    EXPECT_TRUE(nics->empty());
    EXPECT_FALSE(nicsFromIp(nlohmann::json::object(), nlohmann::json::array()).ok());
}

TEST(VmNetwork, NicsTravelInTheGuestConfig) {
    wire::GuestProcess p;
    p.process.args = {"sh"};
    p.process.cwd = "/";
    p.nics = {{"eth0", "82:70:98:09:23:dc", 1450, {"10.88.0.5/16"}, {{"default", "10.88.0.1"}}}};
    auto back = wire::guestProcessFromJson(wire::toJson(p));
    ASSERT_TRUE(back.ok()) << back.error().what();
    ASSERT_EQ(back->nics.size(), 1u);
    EXPECT_EQ(back->nics[0].mac, "82:70:98:09:23:dc");
    EXPECT_EQ(back->nics[0].mtu, 1450);
    EXPECT_EQ(back->nics[0].routes, p.nics[0].routes);
}

TEST(VmNetwork, QemuGetsAVirtioNetDevicePerTapFdWithoutVhost) {
    wire::QemuConfig c;
    c.nics = {{7, "82:70:98:09:23:dc"}};
    auto a = wire::qemuArgv(c);
    auto at = std::find(a.begin(), a.end(), "-netdev");
    ASSERT_NE(at, a.end());
    EXPECT_EQ(at[1], "tap,id=net0,fd=7,vhost=off");
    EXPECT_EQ(at[2], "-device");
    EXPECT_EQ(at[3], "virtio-net-device,netdev=net0,mac=82:70:98:09:23:dc");
    c.nics.clear();
    a = wire::qemuArgv(c);
    EXPECT_EQ(std::find(a.begin(), a.end(), "-netdev"), a.end());
}

// Regression (issue 15, part 6): the automatic mode picked an initramfs QEMU then refused.
TEST(VmRootfs, InitrdLimitFollowsGuestRam) {
    EXPECT_TRUE(wire::initrdFits(40 << 20, 256));
    EXPECT_FALSE(wire::initrdFits(400ull << 20, 258));
    EXPECT_FALSE(wire::initrdFits(255ull << 20, 256));    // QEMU wants room below it
    EXPECT_FALSE(wire::initrdFits(2100ull << 20, 8192));  // initrd_addr_max caps it at 2 GiB
}

// Regression (issue 15, part 6): the boot error carried the last line of a stack trace.
TEST(VmBootFailure, ThePanicNotTheTraceTail) {
    std::string console =
        "[    0.912345] Run /init as init process\n"
        "[    1.100000] Kernel panic - not syncing: System is deadlocked on memory\n"
        "[    1.100001] CPU: 0 PID: 1 Comm: init Not tainted 6.1.0-56-cloud-amd64 #1\n"
        "[    1.100002] Call Trace:\n"
        "[    1.100003]  <TASK>\n"
        "[    1.100004]  dump_stack_lvl+0x44/0x5c\n"
        "[    1.100005]  panic+0x118/0x2f0\n"
        "[    1.100006]  ? do_syscall_64+0x5b/0xc0\n"
        "[    1.100007]  entry_SYSCALL_64_after_hwframe+0x21/0x200\n"
        "[    1.100008]  </TASK>\n";
    EXPECT_EQ(wire::bootFailureReason(console, ""),
              " [console.log: Kernel panic - not syncing: System is deadlocked on memory]");
    EXPECT_EQ(wire::bootFailureReason(
                  "berth-agent: no virtio-serial port named berth.agent\nreboot: Power down\n", ""),
              " [console.log: berth-agent: no virtio-serial port named berth.agent]");
    EXPECT_EQ(
        wire::bootFailureReason("", "qemu-system-x86_64: initrd is too large, cannot support.\nabort\n"),
        " [vmm.log: qemu-system-x86_64: initrd is too large, cannot support.]");
    EXPECT_EQ(wire::bootFailureReason("[ 0.1] a line\n[ 0.2]  foo+0x1/0x2\n", ""),
              " [console.log: a line]");
    EXPECT_EQ(wire::bootFailureReason("", ""), "");
}

// containerd names a hostNetwork pod's netns as /proc/<sandbox pid>/ns/net, the host's when the
// sandbox is a VM's shim: that one must never be mirrored (its interfaces would be redirected).
TEST(VmNetwork, TheHostsNetnsIsRecognisedByInodeWhateverThePath) {
    EXPECT_TRUE(vm::isHostNetns("/proc/self/ns/net"));
    EXPECT_TRUE(vm::isHostNetns(strCat("/proc/", ::getpid(), "/ns/net")));
    EXPECT_FALSE(vm::isHostNetns("/proc/self/ns/mnt"));  // another namespace's inode
    EXPECT_FALSE(vm::isHostNetns("/nonexistent/ns/net"));
}
