#include <gtest/gtest.h>

#include <algorithm>

#include "vm/artifacts.hpp"
#include "vm/wire/boot_config.hpp"
#include "vm/wire/guest_config.hpp"

using namespace berth;
using namespace berth::vm;

TEST(VmResources, DefaultsWithoutLimits) {
    auto r = wire::resourcesFor(nullptr, 8);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->memMiB, wire::kDefaultGuestMiB);
    EXPECT_EQ(r->vcpus, 1u);
}

TEST(VmResources, MemoryLimitPlusOverheadWithAFloor) {
    auto r = wire::resourcesFor(nlohmann::json{{"memory", {{"limit", 256ll << 20}}}}, 2);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->memMiB, 256 + wire::kGuestOverheadMiB);
    r = wire::resourcesFor(nlohmann::json{{"memory", {{"limit", 16ll << 20}}}}, 2);
    EXPECT_EQ(r->memMiB, wire::kMinGuestMiB);
    r = wire::resourcesFor(nlohmann::json{{"memory", {{"limit", (100ll << 20) + 1}}}}, 2);  // rounds up
    EXPECT_EQ(r->memMiB, 101 + wire::kGuestOverheadMiB);
    r = wire::resourcesFor(nlohmann::json{{"memory", {{"limit", -1}}}}, 2);  // unlimited
    EXPECT_EQ(r->memMiB, wire::kDefaultGuestMiB);
}

TEST(VmResources, CpuQuotaRoundsUpAndIsCapped) {
    auto r = wire::resourcesFor(nlohmann::json{{"cpu", {{"quota", 150000}, {"period", 100000}}}}, 8);
    EXPECT_EQ(r->vcpus, 2u);
    r = wire::resourcesFor(nlohmann::json{{"cpu", {{"quota", 800000}, {"period", 100000}}}}, 2);
    EXPECT_EQ(r->vcpus, 2u);
    r = wire::resourcesFor(nlohmann::json{{"cpu", {{"cpus", "0-2,5"}}}}, 8);
    EXPECT_EQ(r->vcpus, 4u);
    r = wire::resourcesFor(nlohmann::json{{"cpu", {{"quota", -1}, {"cpus", "1"}}}}, 8);
    EXPECT_EQ(r->vcpus, 1u);
}

TEST(VmResources, BadCpuListIsAnError) {
    EXPECT_FALSE(wire::countCpus("3-1").ok());
    EXPECT_FALSE(wire::countCpus("a").ok());
    EXPECT_FALSE(wire::countCpus("1-x").ok());
    EXPECT_EQ(*wire::countCpus("0,2,4-5"), 4u);
    EXPECT_FALSE(wire::resourcesFor(nlohmann::json{{"cpu", {{"cpus", "2-"}}}}, 8).ok());
}

TEST(VmKernelCmdline, NamesRootfsModeAndConsole) {
    std::string c = wire::kernelCmdline({wire::RootfsMode::Block, false, false});
    EXPECT_NE(c.find("console=ttyS0"), std::string::npos);
    EXPECT_NE(c.find("panic=-1"), std::string::npos);
    EXPECT_NE(c.find("berth.rootfs=block"), std::string::npos);
    EXPECT_NE(c.find(" quiet"), std::string::npos);
    EXPECT_NE(c.find("tsc_early_khz="), std::string::npos);
    EXPECT_NE(c.find(" cryptomgr.notests"), std::string::npos);  // bench/README.md: a quarter of the boot
    EXPECT_EQ(c.find("berth.probe"), std::string::npos);
    c = wire::kernelCmdline({wire::RootfsMode::Initramfs, true, true});
    EXPECT_NE(c.find("berth.rootfs=initramfs"), std::string::npos);
    EXPECT_NE(c.find("berth.probe=1"), std::string::npos);
    EXPECT_EQ(c.find(" quiet"), std::string::npos);
}

TEST(VmQemuArgv, MicrovmWithDevicesAndEscapedPaths) {
    wire::QemuConfig q;
    q.kernel = "/boot/vmlinuz";
    q.initrd = "/c/initramfs.cpio";
    q.cmdline = "console=ttyS0";
    q.res = {320, 2};
    q.agentFd = 3;
    q.rootfsImage = "/run/a,b/rootfs.ext4";
    q.rootfsReadonly = true;
    q.consoleLog = "/run/x/console.log";
    auto a = wire::qemuArgv(q);
    auto has = [&](const std::string& s) { return std::find(a.begin(), a.end(), s) != a.end(); };
    EXPECT_EQ(a[0], "qemu-system-x86_64");
    EXPECT_TRUE(has("microvm"));
    EXPECT_TRUE(has("tcg"));
    EXPECT_TRUE(has("-nodefaults"));
    EXPECT_TRUE(has("virtio-serial-device,max_ports=2"));  // 64 virtqueues at probe by default
    EXPECT_TRUE(has("320M"));
    EXPECT_TRUE(has("socket,id=agent,fd=3"));
    EXPECT_TRUE(has("virtserialport,chardev=agent,name=berth.agent"));
    EXPECT_TRUE(has("id=rootfs,if=none,format=raw,file=/run/a,,b/rootfs.ext4,readonly=on"));
    EXPECT_TRUE(has("file:/run/x/console.log"));
    EXPECT_FALSE(has("-cpu"));
    q.accel = wire::Accel::Kvm;
    q.rootfsImage.clear();
    a = wire::qemuArgv(q);
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
    wire::GuestProcess p;
    p.process.args = {"sh", "-c", "echo hi"};
    p.process.env = {"A=b"};
    p.process.cwd = "/tmp";
    p.process.user.uid = 1000;
    p.process.user.gid = 1000;
    p.process.user.additionalGids = {5};
    p.process.rlimits = {{"RLIMIT_NOFILE", 2048, 1024}};
    p.process.capabilities = runtime::spec::Capabilities{{"CAP_CHOWN"}, {"CAP_CHOWN"}, {}, {"CAP_CHOWN"}, {}};
    p.process.noNewPrivileges = true;
    p.process.terminal = true;
    p.process.consoleSize = runtime::spec::ConsoleSize{33, 111};
    p.seccomp = {{"defaultAction", "SCMP_ACT_ALLOW"}, {"syscalls", nlohmann::json::array()}};
    p.readonlyRoot = true;
    p.hostname = "h";
    p.maskedPaths = {"/proc/kcore"};
    p.readonlyPaths = {"/proc/sys"};
    auto back = wire::guestProcessFromJson(wire::toJson(p));
    ASSERT_TRUE(back.ok()) << back.error().what();
    EXPECT_EQ(back->process.args, p.process.args);
    EXPECT_EQ(back->process.cwd, "/tmp");
    EXPECT_EQ(back->process.user.uid, 1000u);
    EXPECT_EQ(back->process.user.additionalGids, p.process.user.additionalGids);
    EXPECT_EQ(back->process.rlimits[0].hard, 2048u);
    EXPECT_EQ(back->process.capabilities->bounding, std::vector<std::string>{"CAP_CHOWN"});
    EXPECT_TRUE(back->process.noNewPrivileges);
    EXPECT_TRUE(back->process.terminal);
    EXPECT_EQ(back->process.consoleSize->height, 33u);
    EXPECT_EQ(back->seccomp, p.seccomp);
    EXPECT_TRUE(back->readonlyRoot);
    EXPECT_EQ(back->hostname, "h");
    EXPECT_EQ(back->maskedPaths, p.maskedPaths);
    EXPECT_EQ(back->readonlyPaths, p.readonlyPaths);
    EXPECT_FALSE(wire::guestProcessFromJson("{").ok());
    EXPECT_FALSE(wire::guestProcessFromJson("{}").ok());
    // The process is read by the same parser as config.json, with its errors.
    auto bad = wire::guestProcessFromJson(R"({"process":{"args":[],"cwd":"/"}})");
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.error().message().find("args"), std::string::npos) << bad.error().what();
    EXPECT_FALSE(wire::guestProcessFromJson(R"({"process":{"args":["sh"],"cwd":"/"},"seccomp":"x"})").ok());
}
