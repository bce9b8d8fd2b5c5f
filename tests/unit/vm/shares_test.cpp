#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <cstdlib>
#include <string>

#include "common/fs.hpp"
#include "vm/artifacts.hpp"
#include "vm/wire/boot_config.hpp"
#include "vm/wire/cpio.hpp"
#include "vm/wire/guest_config.hpp"
#include "vm/wire/shares.hpp"

using namespace berth;
using namespace berth::vm;

namespace {

struct TempTree {
    std::string dir;
    TempTree() {
        char tmpl[] = "/tmp/berth-shares-XXXXXX";
        dir = ::mkdtemp(tmpl);
    }
    ~TempTree() { (void)std::system(("rm -rf " + dir).c_str()); }
};

runtime::spec::Mount bindOf(const std::string& src, const std::string& dst, std::vector<std::string> opts = {"rbind"}) {
    runtime::spec::Mount m;
    m.source = src;
    m.destination = dst;
    m.type = "bind";
    m.options = std::move(opts);
    return m;
}

}  // namespace

TEST(VmShares, DirectoriesAndFilesShareTheirDirectoryOnceInSpecOrder) {
    TempTree t;
    ASSERT_TRUE(fs::mkdirAll(t.dir + "/data").ok());
    ASSERT_TRUE(fs::mkdirAll(t.dir + "/userdata").ok());
    for (auto* f : {"hosts", "resolv.conf"}) ASSERT_TRUE(fs::writeFileAtomic(t.dir + "/userdata/" + f, "x\n").ok());
    runtime::spec::Mount proc;
    proc.destination = "/proc";
    proc.type = "proc";
    proc.source = "proc";
    auto plan = wire::planShares({proc, bindOf(t.dir + "/data", "/data/"), bindOf(t.dir + "/userdata/hosts", "/etc/hosts", {"rbind", "ro"}),
                            bindOf(t.dir + "/userdata/resolv.conf", "/etc/resolv.conf", {"bind", "ro"}),
                            bindOf(t.dir + "/data", "/shm", {"rbind"}), bindOf("/dev/shm", "/dev/shm")});
    ASSERT_TRUE(plan.ok()) << plan.error().what();
    ASSERT_EQ(plan->shares.size(), 2u);  // /proc is not a bind; /dev/shm is the guest's own
    EXPECT_EQ(plan->shares[0].tag, "b0");
    EXPECT_EQ(plan->shares[0].hostDir, t.dir + "/data");
    EXPECT_FALSE(plan->shares[0].readonly);
    EXPECT_EQ(plan->shares[1].hostDir, t.dir + "/userdata");
    EXPECT_TRUE(plan->shares[1].readonly);  // every bind of it is ro
    ASSERT_EQ(plan->mounts.size(), 4u);
    EXPECT_EQ(plan->mounts[0].destination, "/data");
    EXPECT_EQ(plan->mounts[0].file, "");
    EXPECT_EQ(plan->mounts[1].tag, "b1");
    EXPECT_EQ(plan->mounts[1].file, "hosts");
    EXPECT_TRUE(plan->mounts[1].readonly);
    EXPECT_EQ(plan->mounts[2].file, "resolv.conf");
    EXPECT_EQ(plan->mounts[3].tag, "b0");
    // The bind's own options travel to the guest, bind/rbind left out.
    EXPECT_EQ(plan->mounts[1].options, (std::vector<std::string>{"ro"}));
    EXPECT_TRUE(plan->mounts[0].options.empty());
}

TEST(VmShares, BindOptionsReachTheGuestConfigAndBadOnesAreRefused) {
    TempTree t;
    auto plan = wire::planShares({bindOf(t.dir, "/x", {"rbind", "noexec", "nosuid", "rro", "rslave", "relatime"})});
    ASSERT_TRUE(plan.ok());
    EXPECT_EQ(plan->mounts[0].options, (std::vector<std::string>{"noexec", "nosuid", "rro", "rslave", "relatime"}));
    auto back = wire::guestMountsFromJson(wire::toJson(plan->mounts));
    ASSERT_TRUE(back.ok()) << back.error().what();
    EXPECT_EQ((*back)[0].options, plan->mounts[0].options);
    EXPECT_FALSE(wire::toJson({{"b0", "", "/d", false}})[0].contains("options"));  // none: not written
    for (auto* bad : {R"([{"tag":"b0","destination":"/d","options":"noexec"}])",
                      R"([{"tag":"b0","destination":"/d","options":[1]}])"})
        EXPECT_FALSE(wire::guestMountsFromJson(nlohmann::json::parse(bad)).ok()) << bad;
}

TEST(VmShares, AShareIsWritableWhenAnyBindOfItIsAndMissingSourcesAreErrors) {
    TempTree t;
    ASSERT_TRUE(fs::writeFileAtomic(t.dir + "/a", "").ok());
    ASSERT_TRUE(fs::writeFileAtomic(t.dir + "/b", "").ok());
    auto plan = wire::planShares({bindOf(t.dir + "/a", "/a", {"ro"}), bindOf(t.dir + "/b", "/b", {"rw", "bind"})});
    ASSERT_TRUE(plan.ok());
    ASSERT_EQ(plan->shares.size(), 1u);
    EXPECT_FALSE(plan->shares[0].readonly);
    EXPECT_TRUE(plan->mounts[0].readonly);  // the guest still makes /a read-only
    auto bad = wire::planShares({bindOf(t.dir + "/missing", "/data")});
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(std::string(bad.error().what()),
              "bind mount source " + t.dir + "/missing (for /data): No such file or directory");
    auto fifo = t.dir + "/fifo";
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    EXPECT_FALSE(wire::planShares({bindOf(fifo, "/f")}).ok());
    EXPECT_TRUE(wire::planShares({})->shares.empty());
    // A relative source is the bundle's.
    auto rel = wire::planShares({bindOf("a", "/a")}, t.dir);
    ASSERT_TRUE(rel.ok());
    EXPECT_EQ(rel->shares[0].hostDir, t.dir);
}

TEST(VmShares, QemuArgsAndKernelFlag) {
    wire::QemuConfig c;
    c.kernel = "/k";
    c.initrd = "/i";
    c.shares = {{"b0", "/srv/a,b", false}, {"b1", "/etc/x", true}};
    auto a = wire::qemuArgv(c);
    auto at = [&](const std::string& s) { return std::find(a.begin(), a.end(), s) != a.end(); };
    EXPECT_TRUE(at("local,id=fsb0,path=/srv/a,,b,security_model=passthrough"));
    EXPECT_TRUE(at("local,id=fsb1,path=/etc/x,security_model=passthrough,readonly=on"));
    EXPECT_TRUE(at("virtio-9p-device,fsdev=fsb1,mount_tag=b1"));
    EXPECT_TRUE(wire::shareArgs({}).empty());
    EXPECT_NE(wire::kernelCmdline({wire::RootfsMode::Block, false, false, true}).find(" berth.shares=1"), std::string::npos);
    EXPECT_EQ(wire::kernelCmdline({}).find("berth.shares"), std::string::npos);
}

TEST(VmShares, GuestConfigCarriesMountsAndRefusesEscapes) {
    wire::GuestProcess p;
    p.process.args = {"sh"};
    p.process.cwd = "/";
    p.mounts = {{"b0", "hosts", "/etc/hosts", true}, {"b1", "", "/data", false}};
    auto back = wire::guestProcessFromJson(wire::toJson(p));
    ASSERT_TRUE(back.ok()) << back.error().what();
    ASSERT_EQ(back->mounts.size(), 2u);
    EXPECT_EQ(back->mounts[0].file, "hosts");
    EXPECT_TRUE(back->mounts[0].readonly);
    EXPECT_EQ(back->mounts[1].destination, "/data");
    for (auto* bad : {R"([{"tag":"b0","file":"../x","destination":"/d"}])", R"([{"tag":"b0","file":"..","destination":"/d"}])",
                      R"([{"tag":"","destination":"/d"}])", R"([{"tag":"b0","destination":"d"}])", R"({"tag":"b0"})",
                      R"([{"tag":"b0","destination":"/../../x"}])", R"([{"tag":"b0","destination":"/a/"}])"})
        EXPECT_FALSE(wire::guestMountsFromJson(nlohmann::json::parse(bad)).ok()) << bad;
}

TEST(VmShares, InitramfsListsTheOnDemandModuleGroupsWithoutBuiltinsOrRepeats) {
    TempTree t;
    std::string dep =
        "kernel/virtio_ring.ko:\nkernel/virtio.ko:\nkernel/virtio_mmio.ko: kernel/virtio.ko kernel/virtio_ring.ko\n"
        "kernel/virtio_blk.ko: kernel/virtio.ko kernel/virtio_ring.ko\n"
        "kernel/virtio_console.ko: kernel/virtio.ko kernel/virtio_ring.ko\n"
        "kernel/virtio_net.ko: kernel/virtio.ko kernel/virtio_ring.ko\n"
        "kernel/crc16.ko:\nkernel/crc32c_generic.ko:\nkernel/ext4.ko: kernel/crc16.ko\nkernel/9pnet.ko:\nkernel/netfs.ko:\n"
        "kernel/9pnet_virtio.ko: kernel/9pnet.ko kernel/virtio.ko kernel/virtio_ring.ko\n"
        "kernel/9p.ko: kernel/9pnet.ko kernel/netfs.ko\n";
    ASSERT_TRUE(fs::mkdirAll(t.dir + "/kernel").ok());
    ASSERT_TRUE(fs::writeFileAtomic(t.dir + "/modules.dep", dep).ok());
    for (auto* m : {"virtio_ring", "virtio", "virtio_mmio", "virtio_blk", "virtio_console", "virtio_net", "crc16", "crc32c_generic", "ext4", "9pnet",
                    "netfs", "9pnet_virtio", "9p"})
        ASSERT_TRUE(fs::writeFileAtomic(t.dir + "/kernel/" + m + ".ko", m).ok());
    ASSERT_TRUE(fs::writeFileAtomic(t.dir + "/agent", "agent").ok());
    Kernel k{"test", "/k", t.dir};
    auto files = [&]() {
        std::map<std::string, std::string> out;
        auto data = buildInitramfs(k, t.dir + "/agent");
        EXPECT_TRUE(data.ok());
        if (!data.ok()) return out;
        auto entries = wire::cpio::parse(*data);
        EXPECT_TRUE(entries.ok());
        if (!entries.ok()) return out;
        std::vector<wire::cpio::Entry> list = std::move(*entries);
        for (auto& e : list) out[e.name] = e.data;
        return out;
    };
    auto f = files();
    // virtio_blk and virtio_net load only for a rootfs disk and a NIC (issue 15 part 5).
    EXPECT_EQ(f["lib/modules/load"], "virtio_ring.ko\nvirtio.ko\nvirtio_mmio.ko\nvirtio_console.ko\n");
    EXPECT_EQ(f["lib/modules/load-block"], "virtio_blk.ko\ncrc32c_generic.ko\ncrc16.ko\next4.ko\n");
    EXPECT_EQ(f["lib/modules/load-net"], "virtio_net.ko\n");
    EXPECT_EQ(f["lib/modules/load-shares"], "9pnet.ko\n9pnet_virtio.ko\nnetfs.ko\n9p.ko\n");
    EXPECT_EQ(f["lib/modules/9p.ko"], "9p");
    // The cloud kernel: ext4 built in (no list entry), no 9p at all (no list: the agent refuses shares).
    dep = dep.substr(0, dep.find("kernel/crc16.ko:"));
    ASSERT_TRUE(fs::writeFileAtomic(t.dir + "/modules.dep", dep).ok());
    f = files();
    EXPECT_EQ(f["lib/modules/load-block"], "virtio_blk.ko\n");
    EXPECT_EQ(f.count("lib/modules/load-shares"), 0u);
}
