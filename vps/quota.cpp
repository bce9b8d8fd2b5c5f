// vps/quota: the per-VPS ext4 image: create (mkfs.ext4), loop attach + mount, online grow,
// usage, destroy.
#include "vps/quota.hpp"

#include <fcntl.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <climits>
#include <cstring>

#include "common/fs.hpp"
#include "common/log.hpp"
#include "common/unique_fd.hpp"
#include "namespaces/mountinfo.hpp"
#include "common/command.hpp"

namespace berth::vps {
namespace {

constexpr long kExt4Magic = 0xEF53;
constexpr int kLoopAttempts = 16;
constexpr int kClearWaitSteps = 500;  // x 10 ms

std::string mib(uint64_t bytes) {
    return strCat(bytes >> 20, "M");
}

Result<std::string> realPath(const std::string& path) {
    char buf[PATH_MAX];
    if (!::realpath(path.c_str(), buf)) return Error::fromErrno("resolve ", path);
    return std::string(buf);
}

// The loop device mounted on mountPoint, or "" when nothing is mounted there.
Result<std::string> mountedDevice(const std::string& mountPoint) {
    auto real = realPath(mountPoint);
    if (!real) return std::string();
    ASSIGN_OR_RETURN(auto mounts, namespaces::readMountInfo());
    std::string dev;
    for (const auto& m : mounts)
        if (m.mountPoint == *real) dev = m.fsType == "ext4" ? m.source : "";
    return dev;
}

// Open /dev/loopN, making the node when devtmpfs lacks it.
Result<UniqueFd> openLoop(int n) {
    std::string path = strCat("/dev/loop", n);
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
    if (!fd && errno == ENOENT) {
        if (::mknod(path.c_str(), S_IFBLK | 0600, makedev(7, static_cast<unsigned>(n))) < 0 &&
            errno != EEXIST)
            return Error::fromErrno("mknod ", path);
        fd.reset(::open(path.c_str(), O_RDWR | O_CLOEXEC));
    }
    if (!fd) return Error::fromErrno("open ", path);
    return fd;
}

// A free loop device bound to imageFd with autoclear. Retries when another process takes the
// free device between LOOP_CTL_GET_FREE and LOOP_CONFIGURE.
Result<std::pair<UniqueFd, std::string>> attachLoop(int imageFd, const std::string& image) {
    UniqueFd ctl(::open("/dev/loop-control", O_RDWR | O_CLOEXEC));
    if (!ctl) return Error::fromErrno("open /dev/loop-control");
    for (int attempt = 0; attempt < kLoopAttempts; attempt++) {
        int n = ::ioctl(ctl.get(), LOOP_CTL_GET_FREE);
        if (n < 0) return Error::fromErrno("LOOP_CTL_GET_FREE");
        ASSIGN_OR_RETURN(UniqueFd loop, openLoop(n));
        loop_config cfg{};
        cfg.fd = static_cast<uint32_t>(imageFd);
        cfg.info.lo_flags = LO_FLAGS_AUTOCLEAR;
        std::strncpy(reinterpret_cast<char*>(cfg.info.lo_file_name), image.c_str(),
                     LO_NAME_SIZE - 1);
        if (::ioctl(loop.get(), LOOP_CONFIGURE, &cfg) == 0)
            return std::make_pair(std::move(loop), strCat("/dev/loop", n));
        if (errno != EBUSY) return Error::fromErrno("LOOP_CONFIGURE /dev/loop", n, " with ", image);
    }
    return Error(EBUSY, "no free loop device after several attempts");
}

Status fsckImage(const std::string& image) {
    // 1 and 2: errors found and corrected (e.g. summary counters); 4 and up: not corrected.
    auto r = runCommand({"e2fsck", "-f", "-p", image}, "", 2);
    if (!r) return std::move(r.error()).context("check ", image);
    return {};
}

// ext4's online resize ioctl checks CAP_SYS_RESOURCE (machines that drop it from the bounding set
// cannot grow a mounted ext4 at all).
bool canResizeOnline() {
    auto status = fs::readFile("/proc/self/status");
    if (!status) return false;
    auto pos = status->find("CapEff:");
    if (pos == std::string::npos) return false;
    uint64_t caps = std::strtoull(status->c_str() + pos + 7, nullptr, 16);
    return caps & (1ull << 24);  // CAP_SYS_RESOURCE
}

// The ext4 filesystem's size in bytes, from its superblock (offset 1024 of the image).
Result<uint64_t> fsBytes(int imageFd) {
    unsigned char sb[1024];
    if (::pread(imageFd, sb, sizeof sb, 1024) != static_cast<ssize_t>(sizeof sb))
        return Error::fromErrno("read superblock");
    auto le32 = [&](size_t off) {
        return uint32_t(sb[off]) | uint32_t(sb[off + 1]) << 8 | uint32_t(sb[off + 2]) << 16 |
               uint32_t(sb[off + 3]) << 24;
    };
    if ((sb[0x38] | sb[0x39] << 8) != kExt4Magic) return Error(EINVAL, "not an ext4 image");
    uint64_t blocks = le32(0x4);
    if (le32(0x60) & 0x80) blocks |= uint64_t(le32(0x150)) << 32;  // INCOMPAT_64BIT
    return blocks << (10 + le32(0x18));
}

// Grow the filesystem to its file's size when a grow was left for this mount.
Status growPending(int imageFd, const std::string& image) {
    struct stat st;
    if (::fstat(imageFd, &st) < 0) return Error::fromErrno("stat ", image);
    ASSIGN_OR_RETURN(uint64_t fsSize, fsBytes(imageFd));
    if (fsSize + (1 << 20) > static_cast<uint64_t>(st.st_size)) return {};
    TRY(fsckImage(image));
    auto r = runCommand({"resize2fs", image});
    if (!r) return std::move(r.error()).context("grow the filesystem in ", image);
    return {};
}

Result<ResizeMode> growMounted(const std::string& image, const std::string& dev, uint64_t oldSize,
                               uint64_t newSize) {
    if (::truncate(image.c_str(), static_cast<off_t>(newSize)) < 0)
        return Error::fromErrno("grow ", image);
    if (!canResizeOnline()) {
        log::debug("vps quota: no CAP_SYS_RESOURCE; ", image, " grows at the next mount");
        return ResizeMode::AtNextMount;
    }
    ScopeGuard restore([&] { (void)::truncate(image.c_str(), static_cast<off_t>(oldSize)); });
    UniqueFd loop(::open(dev.c_str(), O_RDWR | O_CLOEXEC));
    if (!loop) return Error::fromErrno("open ", dev);
    if (::ioctl(loop.get(), LOOP_SET_CAPACITY, 0) < 0)
        return Error::fromErrno("LOOP_SET_CAPACITY ", dev);
    auto r = runCommand({"resize2fs", dev});
    if (!r) {
        restore.dismiss();
        (void)::truncate(image.c_str(), static_cast<off_t>(oldSize));
        (void)::ioctl(loop.get(), LOOP_SET_CAPACITY, 0);
        return std::move(r.error()).context("grow the filesystem on ", dev);
    }
    restore.dismiss();
    return ResizeMode::Live;
}

Status resizeOffline(const std::string& image, uint64_t oldSize, uint64_t newSize) {
    TRY(fsckImage(image));
    if (newSize > oldSize) {
        if (::truncate(image.c_str(), static_cast<off_t>(newSize)) < 0)
            return Error::fromErrno("grow ", image);
        auto r = runCommand({"resize2fs", image});
        if (!r) {
            (void)::truncate(image.c_str(), static_cast<off_t>(oldSize));
            return std::move(r.error()).context("grow the filesystem in ", image);
        }
        return {};
    }
    auto r = runCommand({"resize2fs", image, strCat(newSize >> 10, "K")});
    if (!r)
        return Error(ENOSPC, strCat("cannot shrink the disk to ", mib(newSize),
                                    ": it holds more than that (", r.error().message(), ")"));
    if (::truncate(image.c_str(), static_cast<off_t>(newSize)) < 0)
        return Error::fromErrno("shrink ", image);
    return {};
}

}  // namespace

std::string quotaUpperDir(const std::string& mountPoint) {
    return fs::joinPath(mountPoint, "upper");
}
std::string quotaWorkDir(const std::string& mountPoint) {
    return fs::joinPath(mountPoint, "work");
}

std::vector<std::string> mkfsArgs(const std::string& image, const QuotaSpec& spec) {
    // -m 0: the VPS's root is not uid 0 on the host, so reserved blocks would only hide space.
    std::vector<std::string> a = {"mkfs.ext4",
                                  "-q",
                                  "-F",
                                  "-m",
                                  "0",
                                  "-E",
                                  strCat("lazy_itable_init=1,lazy_journal_init=1,root_owner=",
                                         spec.ownerUid, ":", spec.ownerGid)};
    if (spec.inodes) {
        a.push_back("-N");
        a.push_back(std::to_string(spec.inodes));
    }
    a.push_back(image);
    return a;
}

Status createQuotaImage(const std::string& image, const QuotaSpec& spec) {
    if (spec.sizeBytes < kMinQuotaBytes)
        return Error(EINVAL, strCat("disk space ", spec.sizeBytes,
                                    " bytes is below the minimum of ", mib(kMinQuotaBytes)));
    UniqueFd fd(::open(image.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!fd) return Error::fromErrno("create disk image ", image);
    ScopeGuard remove([&] { ::unlink(image.c_str()); });
    if (::ftruncate(fd.get(), static_cast<off_t>(spec.sizeBytes)) < 0)
        return Error::fromErrno("size ", image);
    fd.reset();
    auto r = runCommand(mkfsArgs(image, spec));
    if (!r) return std::move(r.error()).context("make the filesystem in ", image);
    remove.dismiss();
    return {};
}

Result<std::string> mountQuotaImage(const std::string& image, const std::string& mountPoint,
                                    uid_t ownerUid, gid_t ownerGid) {
    ASSIGN_OR_RETURN(std::string already, mountedDevice(mountPoint));
    if (!already.empty()) return already;
    ASSIGN_OR_RETURN(std::string img, realPath(image));
    UniqueFd imageFd(::open(img.c_str(), O_RDWR | O_CLOEXEC));
    if (!imageFd) return Error::fromErrno("open disk image ", img);
    TRY(growPending(imageFd.get(), img));
    TRY(fs::mkdirAll(mountPoint, 0700));
    // Closing the loop fd (when this returns) leaves the mount as the only user: with autoclear
    // the device detaches at unmount, or right away if the mount below fails.
    ASSIGN_OR_RETURN(auto loop, attachLoop(imageFd.get(), img));
    if (::mount(loop.second.c_str(), mountPoint.c_str(), "ext4", MS_NODEV, nullptr) < 0)
        return Error::fromErrno("mount ", loop.second, " (", img, ") on ", mountPoint);
    ScopeGuard unmount([&] { ::umount2(mountPoint.c_str(), 0); });
    for (const auto& dir : {quotaUpperDir(mountPoint), quotaWorkDir(mountPoint)}) {
        if (::mkdir(dir.c_str(), 0755) < 0 && errno != EEXIST)
            return Error::fromErrno("mkdir ", dir);
        if (::chown(dir.c_str(), ownerUid, ownerGid) < 0) return Error::fromErrno("chown ", dir);
    }
    unmount.dismiss();
    log::debug("vps quota: ", img, " on ", loop.second, " at ", mountPoint);
    return loop.second;
}

Status unmountQuotaImage(const std::string& mountPoint) {
    ASSIGN_OR_RETURN(std::string dev, mountedDevice(mountPoint));
    if (::umount2(mountPoint.c_str(), UMOUNT_NOFOLLOW) < 0 && errno != EINVAL && errno != ENOENT)
        return Error::fromErrno("unmount the disk at ", mountPoint);
    // The kernel clears an autoclear loop device in a work queue after the last close: wait for
    // it, so that "unmounted" also means "no loop device left" to whoever checks next.
    if (dev.rfind("/dev/loop", 0) == 0) {
        std::string bound = "/sys/block/" + dev.substr(5) + "/loop";
        for (int i = 0; i < kClearWaitSteps && fs::exists(bound); i++) ::usleep(10 * 1000);
        if (fs::exists(bound)) log::debug("vps quota: ", dev, " still bound after unmount");
    }
    return {};
}

Result<ResizeMode> resizeQuota(const std::string& image, const std::string& mountPoint,
                               uint64_t newSizeBytes) {
    if (newSizeBytes < kMinQuotaBytes)
        return Error(EINVAL, strCat("disk space ", newSizeBytes, " bytes is below the minimum of ",
                                    mib(kMinQuotaBytes)));
    newSizeBytes = (newSizeBytes + (1 << 20) - 1) & ~uint64_t((1 << 20) - 1);  // whole MiB
    struct stat st;
    if (::stat(image.c_str(), &st) < 0) return Error::fromErrno("disk image ", image);
    uint64_t oldSize = static_cast<uint64_t>(st.st_size);
    if (newSizeBytes == oldSize) return ResizeMode::Live;
    ASSIGN_OR_RETURN(std::string dev, mountedDevice(mountPoint));
    if (dev.empty()) {
        TRY(resizeOffline(image, oldSize, newSizeBytes));
        return ResizeMode::Live;
    }
    if (newSizeBytes > oldSize) return growMounted(image, dev, oldSize, newSizeBytes);
    ASSIGN_OR_RETURN(QuotaUsage u, quotaUsage(mountPoint));
    if (u.usedBytes > newSizeBytes)
        return Error(ENOSPC, strCat("cannot shrink the disk to ", mib(newSizeBytes), ": ",
                                    mib(u.usedBytes), " is in use"));
    return Error(EBUSY, strCat("cannot shrink the disk to ", mib(newSizeBytes),
                               " while it is mounted (stop the VPS first)"));
}

Result<QuotaUsage> quotaUsage(const std::string& mountPoint) {
    struct statfs s;
    if (::statfs(mountPoint.c_str(), &s) < 0) return Error::fromErrno("statfs ", mountPoint);
    if (s.f_type != kExt4Magic)
        return Error(EINVAL, strCat("no VPS disk is mounted at ", mountPoint));
    QuotaUsage u;
    uint64_t bs = static_cast<uint64_t>(s.f_frsize ? s.f_frsize : s.f_bsize);
    u.limitBytes = s.f_blocks * bs;
    u.usedBytes = (s.f_blocks - s.f_bfree) * bs;
    u.limitInodes = s.f_files;
    u.usedInodes = s.f_files - s.f_ffree;
    return u;
}

Status destroyQuota(const std::string& image, const std::string& mountPoint) {
    TRY(unmountQuotaImage(mountPoint));
    if (::unlink(image.c_str()) < 0 && errno != ENOENT)
        return Error::fromErrno("remove disk image ", image);
    if (::rmdir(mountPoint.c_str()) < 0 && errno != ENOENT)
        return Error::fromErrno("remove ", mountPoint);
    return {};
}

}  // namespace berth::vps
