#include "namespaces/mount_plan.hpp"

#include <gtest/gtest.h>
#include <sys/mount.h>

using namespace berth::namespaces;

namespace {

// runc's `runc spec` mounts.
RootfsConfig defaultConfig() {
    RootfsConfig c;
    c.rootfs = "/bundle/rootfs";
    c.mounts = {
        {"/proc", "proc", "proc", {}},
        {"/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}},
        {"/dev/pts",
         "devpts",
         "devpts",
         {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
        {"/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
        {"/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}},
        {"/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}},
        {"/sys/fs/cgroup", "cgroup", "cgroup", {"nosuid", "noexec", "nodev", "relatime", "ro"}},
    };
    c.maskedPaths = {"/proc/kcore", "/sys/firmware"};
    c.readonlyPaths = {"/proc/sys", "/proc/sysrq-trigger"};
    c.cgroups.v1 = {{"memory", "/sys/fs/cgroup/memory/ctr", "memory"},
                    {"cpu,cpuacct", "/sys/fs/cgroup/cpu,cpuacct/ctr", "cpu,cpuacct"},
                    {"systemd", "/sys/fs/cgroup/systemd/ctr", "name=systemd"}};
    c.cgroups.symlinks = {{"cpu", "cpu,cpuacct"}, {"cpuacct", "cpu,cpuacct"}};
    return c;
}

std::vector<MountStep> plan(const RootfsConfig& c, PlanInputs in = {}) {
    auto r = planRootfs(c, in);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().what());
    return r.ok() ? *r : std::vector<MountStep>{};
}

std::vector<MountStep> planEntry(const RootfsConfig& c, size_t i, PlanInputs in = {}) {
    auto r = planMountEntry(c, i, in);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().what());
    return r.ok() ? *r : std::vector<MountStep>{};
}

template <typename T>
const T& as(const MountStep& s) {
    const T* p = std::get_if<T>(&s.op);
    if (!p) ADD_FAILURE() << "unexpected step: " << describe(s);
    static const T empty{};
    return p ? *p : empty;
}

template <typename T>
std::vector<T> allOf(const std::vector<MountStep>& steps) {
    std::vector<T> out;
    for (const auto& s : steps)
        if (auto p = std::get_if<T>(&s.op)) out.push_back(*p);
    return out;
}

}  // namespace

TEST(MountPlan, ProcIsAPlainMountOnAPlainDirectory) {
    auto steps = planEntry(defaultConfig(), 0);
    ASSERT_EQ(steps.size(), 1u);
    const FsMount& f = as<FsMount>(steps[0]);
    EXPECT_EQ(f.destination, "/proc");
    EXPECT_EQ(f.fsType, "proc");
    EXPECT_EQ(f.flags, 0u);
    EXPECT_TRUE(f.noSymlinks);
    EXPECT_FALSE(f.keepMode);
    EXPECT_EQ(steps[0].entry, 0);
}

TEST(MountPlan, DevTmpfsIsMountedWritableKeepingMode) {
    RootfsConfig c = defaultConfig();
    c.mounts[1].options.push_back("ro");
    auto steps = planEntry(c, 1);
    ASSERT_EQ(steps.size(), 1u);
    const FsMount& f = as<FsMount>(steps[0]);
    EXPECT_EQ(f.flags, static_cast<unsigned long>(MS_NOSUID | MS_STRICTATIME));  // no MS_RDONLY yet
    EXPECT_EQ(f.data, "mode=755,size=65536k");
    EXPECT_TRUE(f.keepMode);
    EXPECT_FALSE(f.noSymlinks);
    // ...and read-only comes in finalize.
    auto fin = planFinalize(c, {});
    auto remounts = allOf<Remount>(fin);
    ASSERT_EQ(remounts.size(), 1u);
    EXPECT_EQ(remounts[0].destination, "/dev");
    EXPECT_EQ(remounts[0].flags,
              static_cast<unsigned long>(MS_NOSUID | MS_STRICTATIME | MS_RDONLY));
}

TEST(MountPlan, DevptsAndMqueueKeepTheirOptions) {
    auto steps = planEntry(defaultConfig(), 2);
    ASSERT_EQ(steps.size(), 1u);
    EXPECT_EQ(as<FsMount>(steps[0]).data, "newinstance,ptmxmode=0666,mode=0620,gid=5");
    EXPECT_EQ(as<FsMount>(steps[0]).flags, static_cast<unsigned long>(MS_NOSUID | MS_NOEXEC));
    steps = planEntry(defaultConfig(), 4);
    ASSERT_EQ(steps.size(), 1u);
    EXPECT_EQ(as<FsMount>(steps[0]).fsType, "mqueue");
    EXPECT_EQ(as<FsMount>(steps[0]).flags,
              static_cast<unsigned long>(MS_NOSUID | MS_NOEXEC | MS_NODEV));
}

TEST(MountPlan, SysfsIsReadOnlyAtMountTime) {
    auto steps = planEntry(defaultConfig(), 5);
    ASSERT_EQ(steps.size(), 1u);
    const FsMount& f = as<FsMount>(steps[0]);
    EXPECT_EQ(f.fsType, "sysfs");
    EXPECT_EQ(f.flags, static_cast<unsigned long>(MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY));
    EXPECT_TRUE(f.noSymlinks);
}

TEST(MountPlan, SysfsWithoutNetNamespaceBindsHostSysRecursivelyReadOnly) {
    RootfsConfig c = defaultConfig();
    c.netNamespace = false;
    auto steps = planEntry(c, 5);
    ASSERT_EQ(steps.size(), 3u);
    const BindMount& b = as<BindMount>(steps[0]);
    EXPECT_EQ(b.source, "/sys");
    EXPECT_EQ(b.destination, "/sys");
    EXPECT_TRUE(b.recursive);
    EXPECT_EQ(as<Remount>(steps[1]).flags,
              static_cast<unsigned long>(MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY));
    const SetRecursiveAttr& a = as<SetRecursiveAttr>(steps[2]);
    EXPECT_EQ(a.set, static_cast<uint64_t>(MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID |
                                           MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC));
}

TEST(MountPlan, CgroupV1WithoutNamespaceBindsEachHierarchy) {
    auto steps = planEntry(defaultConfig(), 6);
    std::vector<std::string> got;
    for (const auto& s : steps) got.push_back(describe(s));
    // tmpfs, 3 x (rbind + remount), 2 symlinks, tmpfs ro remount.
    ASSERT_EQ(steps.size(), 1u + 3 * 2 + 2 + 1) << ::testing::PrintToString(got);
    const FsMount& tmpfs = as<FsMount>(steps[0]);
    EXPECT_EQ(tmpfs.fsType, "tmpfs");
    EXPECT_EQ(tmpfs.destination, "/sys/fs/cgroup");
    EXPECT_EQ(tmpfs.flags, static_cast<unsigned long>(MS_NOEXEC | MS_NOSUID | MS_NODEV));
    EXPECT_EQ(tmpfs.data, "mode=755");
    const BindMount& mem = as<BindMount>(steps[1]);
    EXPECT_EQ(mem.destination, "/sys/fs/cgroup/memory");
    EXPECT_EQ(mem.source, "/sys/fs/cgroup/memory/ctr");
    EXPECT_TRUE(mem.recursive);
    const Remount& memRo = as<Remount>(steps[2]);
    EXPECT_EQ(memRo.destination, "/sys/fs/cgroup/memory");
    EXPECT_EQ(memRo.flags, static_cast<unsigned long>(MS_NOSUID | MS_NOEXEC | MS_NODEV |
                                                      MS_RELATIME | MS_RDONLY));
    EXPECT_EQ(as<BindMount>(steps[3]).destination, "/sys/fs/cgroup/cpu,cpuacct");
    const MakeSymlink& cpu = as<MakeSymlink>(steps[7]);
    EXPECT_EQ(cpu.linkPath, "/sys/fs/cgroup/cpu");
    EXPECT_EQ(cpu.target, "cpu,cpuacct");
    const Remount& last = as<Remount>(steps[9]);
    EXPECT_EQ(last.destination, "/sys/fs/cgroup");
    EXPECT_EQ(last.flags, static_cast<unsigned long>(MS_NOEXEC | MS_NOSUID | MS_NODEV | MS_RDONLY));
    for (const auto& s : steps) EXPECT_EQ(s.entry, 6);
}

TEST(MountPlan, CgroupV1WithNamespaceMountsCgroupfs) {
    RootfsConfig c = defaultConfig();
    c.cgroups.cgroupNamespace = true;
    auto steps = planEntry(c, 6);
    auto mounts = allOf<FsMount>(steps);
    ASSERT_EQ(mounts.size(), 4u);
    EXPECT_EQ(mounts[1].fsType, "cgroup");
    EXPECT_EQ(mounts[1].source, "cgroup");
    EXPECT_EQ(mounts[1].data, "memory");
    EXPECT_EQ(mounts[1].flags,
              static_cast<unsigned long>(MS_NOEXEC | MS_NOSUID | MS_NODEV | MS_RDONLY));
    EXPECT_EQ(mounts[2].data, "cpu,cpuacct");
    EXPECT_EQ(mounts[3].source, "systemd");
    EXPECT_EQ(mounts[3].data, "name=systemd");
    EXPECT_TRUE(allOf<BindMount>(steps).empty());
}

TEST(MountPlan, CgroupV2) {
    RootfsConfig c = defaultConfig();
    c.cgroups.unified = true;
    c.cgroups.v2HostPath = "/sys/fs/cgroup/ctr";
    auto steps = planEntry(c, 6);
    ASSERT_EQ(steps.size(), 2u);
    EXPECT_EQ(as<BindMount>(steps[0]).source, "/sys/fs/cgroup/ctr");
    EXPECT_FALSE(as<BindMount>(steps[0]).recursive);
    EXPECT_TRUE(as<Remount>(steps[1]).flags & MS_RDONLY);
    c.cgroups.cgroupNamespace = true;
    steps = planEntry(c, 6);
    ASSERT_EQ(steps.size(), 1u);
    EXPECT_EQ(as<FsMount>(steps[0]).fsType, "cgroup2");
    EXPECT_TRUE(as<FsMount>(steps[0]).flags & MS_RDONLY);
}

TEST(MountPlan, BindWithoutOptionsIsJustABind) {
    RootfsConfig c;
    c.mounts = {{"/data", "", "/host/data", {"rbind"}}};
    auto steps = planEntry(c, 0);
    ASSERT_EQ(steps.size(), 1u);
    EXPECT_TRUE(as<BindMount>(steps[0]).recursive);
    EXPECT_EQ(as<BindMount>(steps[0]).source, "/host/data");
}

TEST(MountPlan, BindTypeWithoutBindOption) {
    RootfsConfig c;
    c.mounts = {{"/data", "bind", "/host/data", {}}};
    auto steps = planEntry(c, 0);
    ASSERT_EQ(steps.size(), 1u);
    EXPECT_FALSE(as<BindMount>(steps[0]).recursive);
}

TEST(MountPlan, BindOrderIsBindPropagationRemountAttrs) {
    RootfsConfig c;
    c.mounts = {{"/data/", "none", "/host/data", {"bind", "ro", "rprivate", "rnosuid", "size=1"}}};
    auto steps = planEntry(c, 0);
    ASSERT_EQ(steps.size(), 4u);
    EXPECT_EQ(as<BindMount>(steps[0]).destination, "/data");  // cleaned
    EXPECT_EQ(as<SetPropagation>(steps[1]).flags, static_cast<unsigned long>(MS_PRIVATE | MS_REC));
    EXPECT_EQ(as<Remount>(steps[2]).flags, static_cast<unsigned long>(MS_RDONLY));
    EXPECT_EQ(as<SetRecursiveAttr>(steps[3]).set, static_cast<uint64_t>(MOUNT_ATTR_NOSUID));
}

TEST(MountPlan, BindRemountsForClearedFlagsToo) {
    RootfsConfig c;
    c.mounts = {{"/data", "bind", "/host/data", {"rbind", "rw"}}};
    auto steps = planEntry(c, 0);
    ASSERT_EQ(steps.size(), 2u);
    EXPECT_EQ(as<Remount>(steps[1]).flags, 0u);
    EXPECT_EQ(as<Remount>(steps[1]).clearFlags, static_cast<unsigned long>(MS_RDONLY));
}

TEST(MountPlan, RefusedEntries) {
    RootfsConfig c;
    c.mounts = {{"/data", "bind", "relative/path", {"bind"}}};
    EXPECT_FALSE(planMountEntry(c, 0, {}).ok());
    c.mounts = {{"/data", "bind", "/host", {"bind", "idmap"}}};  // no mappings to use
    auto r = planMountEntry(c, 0, {});
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message().find("idmap"), std::string::npos);
    c.mounts = {{"", "tmpfs", "tmpfs", {}}};
    EXPECT_FALSE(planMountEntry(c, 0, {}).ok());
    c.mounts = {{"/x", "", "", {}}};
    EXPECT_FALSE(planMountEntry(c, 0, {}).ok());
    // planRootfs names the mount that failed.
    c.mounts = {{"/ok", "tmpfs", "tmpfs", {}}, {"/bad", "", "/h", {"ridmap"}}};
    auto all = planRootfs(c, {});
    ASSERT_FALSE(all.ok());
    EXPECT_NE(all.error().message().find("/bad"), std::string::npos) << all.error().what();
}

TEST(MountPlan, TmpCopyUpOnlyForTmpfs) {
    RootfsConfig c;
    c.mounts = {{"/etc", "tmpfs", "tmpfs", {"tmpcopyup"}},
                {"/x", "ext4", "/dev/sda", {"tmpcopyup"}}};
    EXPECT_TRUE(as<FsMount>(planEntry(c, 0)[0]).copyUp);
    EXPECT_FALSE(as<FsMount>(planEntry(c, 1)[0]).copyUp);
}

TEST(MountPlan, MountLabelOnlyWithSelinux) {
    RootfsConfig c;
    c.mountLabel = "system_u:object_r:container_file_t:s0";
    c.mounts = {{"/tmp", "tmpfs", "tmpfs", {"size=1m"}}, {"/proc", "proc", "proc", {}}};
    EXPECT_EQ(as<FsMount>(planEntry(c, 0)[0]).data, "size=1m");
    PlanInputs se;
    se.selinuxEnabled = true;
    EXPECT_EQ(as<FsMount>(planEntry(c, 0, se)[0]).data,
              "size=1m,context=\"system_u:object_r:container_file_t:s0\"");
    EXPECT_EQ(as<FsMount>(planEntry(c, 1, se)[0]).data, "");
}

TEST(MountPlan, DevicesAndLinksFollowTheMounts) {
    RootfsConfig c = defaultConfig();
    c.devices = {{'c', "/dev/fuse", 10, 229, 0600, 0, 0},
                 {'c', "/dev/null", 1, 3, 0640, 1, 1},
                 {'c', "/dev/ptmx", 5, 2, 0666, 0, 0}};
    auto steps = plan(c);
    auto devices = allOf<MakeDevice>(steps);
    ASSERT_EQ(devices.size(), 7u);  // 6 defaults (null overridden) + fuse; never ptmx
    EXPECT_EQ(devices[0].device.path, "/dev/null");
    EXPECT_EQ(devices[0].device.fileMode, 0640u);
    EXPECT_EQ(devices[6].device.path, "/dev/fuse");
    EXPECT_FALSE(devices[0].bindFromHost);
    auto links = allOf<MakeSymlink>(steps);
    std::vector<std::string> devLinks;
    for (const auto& l : links)
        if (l.linkPath.rfind("/dev/", 0) == 0) devLinks.push_back(l.linkPath + "->" + l.target);
    std::vector<std::string> want = {"/dev/ptmx->pts/ptmx",          "/dev/fd->/proc/self/fd",
                                     "/dev/stdin->/proc/self/fd/0",  "/dev/stdout->/proc/self/fd/1",
                                     "/dev/stderr->/proc/self/fd/2", "/dev/core->/proc/kcore"};
    EXPECT_EQ(devLinks, want);
    EXPECT_TRUE(links[2].replace);  // after the 2 cgroup links: /dev/ptmx
    // Devices come after every mount.
    size_t firstDevice = 0;
    while (!std::holds_alternative<MakeDevice>(steps[firstDevice].op)) ++firstDevice;
    for (size_t i = firstDevice; i < steps.size(); ++i) EXPECT_EQ(steps[i].entry, -1);
}

TEST(MountPlan, UserNamespaceBindsDevicesAndNoKcoreLink) {
    RootfsConfig c = defaultConfig();
    c.userNamespace = true;
    PlanInputs in;
    in.procKcoreExists = false;
    auto steps = plan(c, in);
    for (const auto& d : allOf<MakeDevice>(steps)) EXPECT_TRUE(d.bindFromHost);
    for (const auto& l : allOf<MakeSymlink>(steps)) EXPECT_NE(l.linkPath, "/dev/core");
}

TEST(MountPlan, BindOverDevSkipsDeviceSetup) {
    RootfsConfig c = defaultConfig();
    c.mounts[1] = {"/dev", "bind", "/dev", {"rbind"}};
    EXPECT_FALSE(needsDevSetup(c));
    auto steps = plan(c);
    EXPECT_TRUE(allOf<MakeDevice>(steps).empty());
    for (const auto& l : allOf<MakeSymlink>(steps)) EXPECT_NE(l.linkPath.rfind("/dev/", 0), 0u);
    EXPECT_TRUE(needsDevSetup(defaultConfig()));
}

TEST(MountPlan, InvalidDeviceIsRefused) {
    RootfsConfig c;
    c.devices = {{'x', "/dev/odd", 1, 1, 0666, 0, 0}};
    EXPECT_FALSE(planRootfs(c, {}).ok());
    c.devices = {{'c', "/dev/big", 4096, 1, 0666, 0, 0}};
    EXPECT_FALSE(planRootfs(c, {}).ok());
    // A relative path is taken from "/", as cleanPath does for mount destinations.
    c.devices = {{'c', "dev/rel", 1, 1, 0666, 0, 0}};
    EXPECT_EQ(containerDevices(c).back().path, "/dev/rel");
    c.devices = {{'p', "/dev/fifo", 0, 0, 0600, 0, 0}};
    EXPECT_TRUE(planRootfs(c, {}).ok());
}

TEST(MountPlan, FinalizeOrder) {
    RootfsConfig c = defaultConfig();
    c.readonly = true;
    c.rootfsPropagation = "rshared";
    auto steps = planFinalize(c, {});
    std::vector<std::string> got;
    for (const auto& s : steps) got.push_back(describe(s));
    ASSERT_EQ(steps.size(), 2u + 2u + 1u + 1u) << ::testing::PrintToString(got);
    EXPECT_EQ(as<ReadonlyPath>(steps[0]).path, "/proc/sys");
    EXPECT_EQ(as<ReadonlyPath>(steps[1]).path, "/proc/sysrq-trigger");
    EXPECT_EQ(as<MaskPath>(steps[2]).path, "/proc/kcore");
    EXPECT_EQ(as<MaskPath>(steps[3]).path, "/sys/firmware");
    EXPECT_EQ(as<Remount>(steps[4]).destination, "/");
    EXPECT_EQ(as<Remount>(steps[4]).flags, static_cast<unsigned long>(MS_RDONLY));
    EXPECT_EQ(as<SetPropagation>(steps[5]).flags, static_cast<unsigned long>(MS_SHARED | MS_REC));
}

TEST(MountPlan, FinalizeRemountsReadOnlyTmpfsButNotBinds) {
    RootfsConfig c;
    c.mounts = {{"/ro-tmp", "tmpfs", "tmpfs", {"ro", "nodev"}},
                {"/rw-tmp", "tmpfs", "tmpfs", {}},
                {"/ro-bind", "bind", "/x", {"bind", "ro"}}};
    auto remounts = allOf<Remount>(planFinalize(c, {}));
    ASSERT_EQ(remounts.size(), 1u);
    EXPECT_EQ(remounts[0].destination, "/ro-tmp");
    EXPECT_EQ(remounts[0].flags, static_cast<unsigned long>(MS_RDONLY | MS_NODEV));
}

TEST(MountPlan, ProcDestinations) {
    EXPECT_EQ(classifyProcDestination("/proc"), ProcDestination::ProcRoot);
    EXPECT_EQ(classifyProcDestination("/proc/meminfo"), ProcDestination::Allowed);
    EXPECT_EQ(classifyProcDestination("/proc/sys/kernel/ns_last_pid"), ProcDestination::Allowed);
    EXPECT_EQ(classifyProcDestination("/proc/sys"), ProcDestination::Forbidden);
    EXPECT_EQ(classifyProcDestination("/proc/1/root"), ProcDestination::Forbidden);
    EXPECT_EQ(classifyProcDestination("/procfoo"), ProcDestination::Outside);
    EXPECT_EQ(classifyProcDestination("/"), ProcDestination::Outside);
}
