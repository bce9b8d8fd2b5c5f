#include <gtest/gtest.h>

#include <algorithm>

#include "vm-shim/artifacts.hpp"
#include "vm-shim/boot_config.hpp"
#include "vm-shim/guest_config.hpp"

using namespace berth;
using namespace berth::vm;

TEST(VmResources, DefaultsWithoutLimits) {
    auto r = resourcesFor(nullptr, 8);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->memMiB, kDefaultGuestMiB);
    EXPECT_EQ(r->vcpus, 1u);
}

TEST(VmResources, MemoryLimitPlusOverheadWithAFloor) {
    auto r = resourcesFor(nlohmann::json{{"memory", {{"limit", 256ll << 20}}}}, 2);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->memMiB, 256 + kGuestOverheadMiB);
    r = resourcesFor(nlohmann::json{{"memory", {{"limit", 16ll << 20}}}}, 2);
    EXPECT_EQ(r->memMiB, kMinGuestMiB);
    r = resourcesFor(nlohmann::json{{"memory", {{"limit", (100ll << 20) + 1}}}}, 2);  // rounds up
    EXPECT_EQ(r->memMiB, 101 + kGuestOverheadMiB);
    r = resourcesFor(nlohmann::json{{"memory", {{"limit", -1}}}}, 2);  // unlimited
    EXPECT_EQ(r->memMiB, kDefaultGuestMiB);
}

TEST(VmResources, CpuQuotaRoundsUpAndIsCapped) {
    auto r = resourcesFor(nlohmann::json{{"cpu", {{"quota", 150000}, {"period", 100000}}}}, 8);
    EXPECT_EQ(r->vcpus, 2u);
    r = resourcesFor(nlohmann::json{{"cpu", {{"quota", 800000}, {"period", 100000}}}}, 2);
    EXPECT_EQ(r->vcpus, 2u);
    r = resourcesFor(nlohmann::json{{"cpu", {{"cpus", "0-2,5"}}}}, 8);
    EXPECT_EQ(r->vcpus, 4u);
    r = resourcesFor(nlohmann::json{{"cpu", {{"quota", -1}, {"cpus", "1"}}}}, 8);
    EXPECT_EQ(r->vcpus, 1u);
}

TEST(VmResources, BadCpuListIsAnError) {
    EXPECT_FALSE(countCpus("3-1").ok());
    EXPECT_FALSE(countCpus("a").ok());
    EXPECT_FALSE(countCpus("1-x").ok());
    EXPECT_EQ(*countCpus("0,2,4-5"), 4u);
    EXPECT_FALSE(resourcesFor(nlohmann::json{{"cpu", {{"cpus", "2-"}}}}, 8).ok());
}

TEST(VmKernelCmdline, NamesRootfsModeAndConsole) {
    std::string c = kernelCmdline({RootfsMode::Block, false, false});
    EXPECT_NE(c.find("console=ttyS0"), std::string::npos);
    EXPECT_NE(c.find("panic=-1"), std::string::npos);
    EXPECT_NE(c.find("berth.rootfs=block"), std::string::npos);
    EXPECT_NE(c.find(" quiet"), std::string::npos);
    EXPECT_NE(c.find("tsc_early_khz="), std::string::npos);
    EXPECT_EQ(c.find("berth.probe"), std::string::npos);
    c = kernelCmdline({RootfsMode::Initramfs, true, true});
    EXPECT_NE(c.find("berth.rootfs=initramfs"), std::string::npos);
    EXPECT_NE(c.find("berth.probe=1"), std::string::npos);
    EXPECT_EQ(c.find(" quiet"), std::string::npos);
}

TEST(VmQemuArgv, MicrovmWithDevicesAndEscapedPaths) {
    QemuConfig q;
    q.kernel = "/boot/vmlinuz";
    q.initrd = "/c/initramfs.cpio";
    q.cmdline = "console=ttyS0";
    q.res = {320, 2};
    q.agentFd = 3;
    q.rootfsImage = "/run/a,b/rootfs.ext4";
    q.rootfsReadonly = true;
    q.consoleLog = "/run/x/console.log";
    auto a = qemuArgv(q);
    auto has = [&](const std::string& s) { return std::find(a.begin(), a.end(), s) != a.end(); };
    EXPECT_EQ(a[0], "qemu-system-x86_64");
    EXPECT_TRUE(has("microvm"));
    EXPECT_TRUE(has("tcg"));
    EXPECT_TRUE(has("-nodefaults"));
    EXPECT_TRUE(has("320M"));
    EXPECT_TRUE(has("socket,id=agent,fd=3"));
    EXPECT_TRUE(has("virtserialport,chardev=agent,name=berth.agent"));
    EXPECT_TRUE(has("id=rootfs,if=none,format=raw,file=/run/a,,b/rootfs.ext4,readonly=on"));
    EXPECT_TRUE(has("file:/run/x/console.log"));
    EXPECT_FALSE(has("-cpu"));
    q.accel = Accel::Kvm;
    q.rootfsImage.clear();
    a = qemuArgv(q);
    EXPECT_TRUE(has("kvm"));
    EXPECT_TRUE(has("host"));
    EXPECT_FALSE(has("virtio-blk-device,drive=rootfs"));
}

TEST(VmModules, LoadOrderPutsDependenciesFirstOnce) {
    const char* dep =
        "kernel/drivers/virtio/virtio.ko: kernel/drivers/virtio/virtio_ring.ko\n"
        "kernel/drivers/virtio/virtio_ring.ko:\n"
        "kernel/drivers/virtio/virtio_mmio.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko\n"
        "kernel/drivers/block/virtio_blk.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko\n"
        "kernel/drivers/char/virtio_console.ko: kernel/drivers/virtio/virtio.ko kernel/drivers/virtio/virtio_ring.ko\n";
    auto o = moduleLoadOrder(dep, {"virtio_mmio", "virtio_blk", "virtio_console"});
    ASSERT_TRUE(o.ok());
    std::vector<std::string> want = {"kernel/drivers/virtio/virtio_ring.ko", "kernel/drivers/virtio/virtio.ko",
                                     "kernel/drivers/virtio/virtio_mmio.ko", "kernel/drivers/block/virtio_blk.ko",
                                     "kernel/drivers/char/virtio_console.ko"};
    EXPECT_EQ(*o, want);
    EXPECT_FALSE(moduleLoadOrder(dep, {"virtio_net"}).ok());
}

TEST(VmGuestConfig, RoundTripsAndRefusesGarbage) {
    GuestProcess p;
    p.args = {"sh", "-c", "echo hi"};
    p.env = {"A=b"};
    p.cwd = "/tmp";
    p.uid = 1000;
    p.gid = 1000;
    p.additionalGids = {5};
    p.rlimits = {{"RLIMIT_NOFILE", 1024, 2048}};
    p.readonlyRoot = true;
    p.terminal = true;
    p.rows = 33;
    p.cols = 111;
    auto back = guestProcessFromJson(toJson(p));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(back->args, p.args);
    EXPECT_EQ(back->cwd, "/tmp");
    EXPECT_EQ(back->uid, 1000u);
    EXPECT_EQ(back->rlimits[0].hard, 2048u);
    EXPECT_TRUE(back->readonlyRoot);
    EXPECT_TRUE(back->terminal);
    EXPECT_EQ(back->rows, 33);
    EXPECT_EQ(back->cols, 111);
    EXPECT_FALSE(guestProcessFromJson("{").ok());
    EXPECT_FALSE(guestProcessFromJson("{\"args\":[\"sh\"],\"rows\":70000}").ok());
    EXPECT_FALSE(guestProcessFromJson("{\"args\":[]}").ok());
    EXPECT_FALSE(guestProcessFromJson("{\"args\":\"sh\"}").ok());
}
