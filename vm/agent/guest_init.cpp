// The guest side of booting: the few mounts PID 1 needs, the virtio modules the host packed
// into the initramfs (the cloud kernel builds them as modules), the channel and the rootfs.
#include <dirent.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "common/fs.hpp"
#include "common/unique_fd.hpp"
#include "vm/agent/agent.hpp"
#include "vm/agent/timing.hpp"

namespace berth::vm::agent {
namespace {

Status mountIf(const char* src, const std::string& dst, const char* type, unsigned long flags,
               const char* data = nullptr) {
    ::mkdir(dst.c_str(), 0755);
    if (::mount(src, dst.c_str(), type, flags, data) < 0) return Error::fromErrno("mount ", type, " on ", dst);
    return {};
}

bool waitForPath(const std::string& path, int timeoutMs) {
    auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs);
    while (!fs::exists(path)) {
        if (std::chrono::steady_clock::now() > end) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
}

}  // namespace

Status mountEarly() {
    TRY(mountIf("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC));
    TRY(mountIf("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC));
    // The cloud kernel does not auto-mount devtmpfs; the device nodes of virtio come from it.
    TRY(mountIf("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755"));
    return {};
}

Status loadModules(const std::string& listFile) {
    ASSIGN_OR_RETURN(std::string list, fs::readFile(listFile));
    for (auto& name : fs::split(list, '\n')) {
        if (fs::trim(name).empty()) continue;
        std::string path = "/lib/modules/" + fs::trim(name);
        UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
        if (!fd) return Error::fromErrno("open module ", path);
        if (::syscall(SYS_finit_module, fd.get(), "", 0) < 0 && errno != EEXIST)
            return Error::fromErrno("finit_module ", path);
    }
    return {};
}

Result<std::string> findAgentPort(int timeoutMs) {
    // virtio_console names the port after QEMU's name=; the node is /dev/vportNpM.
    auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs);
    for (;;) {
        auto ports = fs::listDir("/sys/class/virtio-ports");
        if (ports)
            for (auto& p : *ports) {
                auto name = fs::readFile("/sys/class/virtio-ports/" + p + "/name");
                if (name && fs::trim(*name) == "berth.agent" && waitForPath("/dev/" + p, 1000)) return "/dev/" + p;
            }
        if (std::chrono::steady_clock::now() > end)
            return Error(ENODEV, "no virtio-serial port named berth.agent");
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
}

std::string kernelParam(const std::string& name) {
    // Read once: PID 1 asks ~8 times on the way to its port, and it does not change.
    static const std::string cmdline = [] {
        auto text = fs::readFile("/proc/cmdline");
        return text ? fs::trim(*text) : std::string();
    }();
    for (auto& w : fs::split(cmdline, ' '))
        if (w.rfind(name + "=", 0) == 0) return w.substr(name.size() + 1);
    return "";
}

Status mountRootfs(const std::string& mode) {
    if (mode == "initramfs") return {};  // unpacked by the kernel into /rootfs already
    if (!waitForPath("/dev/vda", 5000)) return Error(ENODEV, "rootfs disk /dev/vda did not appear");
    return mountIf("/dev/vda", "/rootfs", "ext4", 0);
}

Status prepareRootfs(const wire::GuestProcess& p) {
    // The container sees its own proc. The spec's other mounts (/dev, devpts, /dev/shm, mqueue,
    // sysfs, cgroup, tmpfs...) are made with the native path's mount plan (mountFilesystems);
    // what the spec leaves out gets the guest's defaults: devtmpfs on /dev, sysfs (ro), devpts
    // and /dev/shm. Binds come from the 9p shares (mountShares).
    const std::string r = "/rootfs";
    const auto& fsm = p.filesystems;
    if (fs::exists(r + "/proc")) TRY(mountIf("proc", r + "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC));
    if (fs::exists(r + "/sys") && !wire::hasFsMount(fsm, "/sys"))
        TRY(mountIf("sysfs", r + "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY));
    bool devDir = fs::exists(r + "/dev");
    if (devDir && !wire::hasFsMount(fsm, "/dev")) TRY(mountIf("devtmpfs", r + "/dev", "devtmpfs", MS_NOSUID, "mode=0755"));
    timing::mark("cfg.proc_sys_dev");
    TRY(mountFilesystems(p, r));
    timing::mark("cfg.spec_mounts");
    if (devDir && !wire::hasFsMount(fsm, "/dev/pts"))
        (void)mountIf("devpts", r + "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666");
    if (devDir && !wire::hasFsMount(fsm, "/dev/shm"))
        (void)mountIf("shm", r + "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777");
    TRY(applySysctls(p.sysctl));
    if (!p.hostname.empty() && ::sethostname(p.hostname.data(), p.hostname.size()) < 0)
        return Error::fromErrno("sethostname ", p.hostname);
    if (p.dropLostFound) ::rmdir((r + "/lost+found").c_str());
    TRY(mountShares(p.mounts, r, p.member.empty() ? "" : strCat(kPodDir, "/", p.member)));
    timing::mark("cfg.shares");
    TRY(finishFilesystems(p, r));
    timing::mark("cfg.ro_mounts");
    // A pod member's root is a bind mount of the shared 9p tree: only the bind may become
    // read-only (a remount of the superblock would be every member's).
    if (p.readonlyRoot && (!p.member.empty() || ::mount(nullptr, r.c_str(), nullptr, MS_REMOUNT | MS_RDONLY, nullptr) < 0)) {
        if (p.member.empty() && errno != EINVAL) return Error::fromErrno("remount the rootfs read-only");
        // EINVAL: the initramfs's /rootfs is a directory, not a mount of its own. A bind mount of
        // it onto itself (with what is mounted below) is, and that one can be made read-only.
        if (::mount(r.c_str(), r.c_str(), nullptr, MS_BIND | MS_REC, nullptr) < 0 ||
            ::mount(nullptr, r.c_str(), nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr) < 0)
            return Error::fromErrno("make the rootfs read-only");
    }
    return {};
}

}  // namespace berth::vm::agent
