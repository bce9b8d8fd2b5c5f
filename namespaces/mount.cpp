#include "namespaces/mount.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>

#include "common/fs.hpp"
#include "common/log.hpp"
#include "common/unique_fd.hpp"
#include "namespaces/mount_apply.hpp"
#include "namespaces/mount_plan.hpp"
#include "namespaces/mountinfo.hpp"
#include "namespaces/rootfs_path.hpp"

namespace berth::namespaces {
namespace {

constexpr long kSelinuxMagic = 0xf97cff8c;

// Host facts, gathered once before pivot_root (the container's /proc and /sys are not the
// host's) and reused by finalize, which runs in the same process.
const PlanInputs& hostFacts() {
    static const PlanInputs facts = [] {
        PlanInputs in;
        struct stat st;
        in.procKcoreExists = ::stat("/proc/kcore", &st) == 0;
        struct statfs sfs;
        in.selinuxEnabled = ::statfs("/sys/fs/selinux", &sfs) == 0 &&
                            static_cast<long>(sfs.f_type) == kSelinuxMagic;
        return in;
    }();
    return facts;
}

Error& addEntryContext(Error& e, const RootfsConfig& cfg, const MountStep& step) {
    if (step.entry < 0) return e;
    return e.context(describeEntry(cfg, static_cast<size_t>(step.entry)));
}

Status applyAll(const ApplyContext& given, const RootfsConfig& cfg,
                const std::vector<MountStep>& steps) {
    ParentDirCache parents;  // a run of device nodes and symlinks resolves /dev once
    ApplyContext ctx = given;
    ctx.parents = &parents;
    mode_t savedUmask = 0;
    bool umaskChanged = false;
    // Device nodes get exactly the requested modes (runc creates them under umask 0).
    ScopeGuard restoreUmask([&] {
        if (umaskChanged) ::umask(savedUmask);
    });
    for (const auto& step : steps) {
        if (std::holds_alternative<MakeDevice>(step.op) && !umaskChanged) {
            savedUmask = ::umask(0);
            umaskChanged = true;
        }
        // describe() builds a string per step (~4 k instructions): only when it is logged.
        if (log::debugEnabled()) log::debug("rootfs: ", describe(step));
        Status st = applyStep(ctx, step);
        if (!st.ok()) return std::move(addEntryContext(st.error(), cfg, step));
    }
    return {};
}

// pivot_root(2) refuses a shared parent, and a shared parent would carry the rootfs bind
// back to the host: make the mount holding the rootfs private when it is shared (runc).
Status makeRootfsParentPrivate(const std::string& rootfs) {
    char real[PATH_MAX];
    if (!::realpath(rootfs.c_str(), real)) return Error::fromErrno("realpath ", rootfs);
    ASSIGN_OR_RETURN(auto mounts, readMountInfo());
    auto parent = mountContaining(mounts, real);
    if (!parent || !parent->shared()) return {};
    if (::mount(nullptr, parent->mountPoint.c_str(), nullptr, MS_PRIVATE, nullptr) < 0)
        return Error::fromErrno("make ", parent->mountPoint, " private");
    return {};
}

// runc's --no-pivot safety net: the host's full proc and sysfs mounts stay reachable in this
// mount namespace after chroot, and their presence lets the container mount new ones. Detach
// them (or cover them when that is refused) before moving the rootfs onto "/".
Status hideHostProcAndSys(const std::string& rootfsReal) {
    ASSIGN_OR_RETURN(auto mounts, readMountInfo());
    for (const auto& m : mounts) {
        if (m.root != "/" || (m.fsType != "proc" && m.fsType != "sysfs")) continue;
        if (isPathWithin(m.mountPoint, rootfsReal)) continue;
        const char* p = m.mountPoint.c_str();
        if (::mount(nullptr, p, nullptr, MS_SLAVE | MS_REC, nullptr) < 0) {
            if (errno == ENOENT) continue;  // under something detached already
            return Error::fromErrno("make ", m.mountPoint, " rslave");
        }
        if (::umount2(p, MNT_DETACH) == 0) continue;
        if (errno != EINVAL && errno != EPERM) return Error::fromErrno("unmount ", m.mountPoint);
        if (::mount("tmpfs", p, "tmpfs", 0, nullptr) < 0)
            return Error::fromErrno("mount tmpfs over ", m.mountPoint);
    }
    return {};
}

Status moveRoot(const std::string& rootfs) {
    char real[PATH_MAX];
    if (!::realpath(rootfs.c_str(), real)) return Error::fromErrno("realpath ", rootfs);
    if (::chdir(real) < 0) return Error::fromErrno("chdir ", rootfs);
    TRY(hideHostProcAndSys(real));
    if (::mount(real, "/", nullptr, MS_MOVE, nullptr) < 0)
        return Error::fromErrno("move mount ", rootfs, " to /");
    if (::chroot(".") < 0) return Error::fromErrno("chroot ", rootfs);
    if (::chdir("/") < 0) return Error::fromErrno("chdir /");
    return {};
}

// pivot_root(".", ".") stacks the old root on top of the new one at "/", so no directory has
// to be made for it in the rootfs (the LXC trick runc uses); the old root is then detached.
Status pivotRoot(const std::string& rootfs) {
    UniqueFd oldRoot(::open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC));
    if (!oldRoot) return Error::fromErrno("open /");
    UniqueFd newRoot(::open(rootfs.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
    if (!newRoot) return Error::fromErrno("open ", rootfs);
    if (::fchdir(newRoot.get()) < 0) return Error::fromErrno("chdir ", rootfs);
    if (::syscall(SYS_pivot_root, ".", ".") < 0) return Error::fromErrno("pivot_root ", rootfs);
    // Where cwd is after pivot_root is not promised; the old root is explicitly reached.
    if (::fchdir(oldRoot.get()) < 0) return Error::fromErrno("chdir to the old root");
    // rslave, not rprivate: the unmount must not reach the host, while the host may still
    // hold references that rprivate would race with (runc's reasoning).
    if (::mount(nullptr, ".", nullptr, MS_SLAVE | MS_REC, nullptr) < 0)
        return Error::fromErrno("make the old root rslave");
    if (::umount2(".", MNT_DETACH) < 0) return Error::fromErrno("detach the old root");
    if (::chdir("/") < 0) return Error::fromErrno("chdir /");
    return {};
}

// In the runtime's mount namespace pivot_root would swap the host's root and MS_MOVE would move
// a host mount: a chroot changes this process alone (runc does the same without a mount
// namespace). It is no isolation against a process that keeps CAP_SYS_CHROOT.
Status chrootIntoRootfs(const std::string& rootfs) {
    if (::chdir(rootfs.c_str()) < 0) return Error::fromErrno("chdir ", rootfs);
    if (::chroot(".") < 0) return Error::fromErrno("chroot ", rootfs);
    if (::chdir("/") < 0) return Error::fromErrno("chdir /");
    return {};
}

// stdio that was the host's /dev/null becomes the container's, so nothing keeps a host file
// open (runc's reOpenDevNull).
Status reopenDevNull() {
    UniqueFd null(::open("/dev/null", O_RDWR | O_CLOEXEC));
    if (!null) return Error::fromErrno("open /dev/null in the container");
    struct stat nullSt;
    if (::fstat(null.get(), &nullSt) < 0) return Error::fromErrno("stat /dev/null");
    for (int fd = 0; fd < 3; ++fd) {
        struct stat st;
        if (::fstat(fd, &st) < 0) {
            if (errno == EBADF) continue;
            return Error::fromErrno("stat fd ", fd);
        }
        if (S_ISCHR(st.st_mode) && st.st_rdev == nullSt.st_rdev && ::dup3(null.get(), fd, 0) < 0)
            return Error::fromErrno("dup /dev/null onto fd ", fd);
    }
    return {};
}

}  // namespace

Status prepareRootfsInChild(const RootfsConfig& cfg, const std::vector<int>& detachedFds) {
    if (cfg.rootfs.empty() || cfg.rootfs[0] != '/')
        return Error(EINVAL, strCat("rootfs '", cfg.rootfs, "' is not an absolute path"));
    if (!cfg.mountNamespace) return {};  // the host's mount table: nothing may be mounted in it
    unsigned long rootProp = MS_SLAVE | MS_REC;
    if (!cfg.rootfsPropagation.empty()) {
        rootProp = propagationFlags(cfg.rootfsPropagation);
        if (rootProp == 0)
            return Error(EINVAL, strCat("invalid rootfsPropagation '", cfg.rootfsPropagation, "'"));
        // An unbindable "/" would refuse the rootfs self-bind below (runc fails here); the new
        // root is made unbindable in finalize instead.
        if (rootProp & MS_UNBINDABLE) rootProp = MS_SLAVE | MS_REC;
    }
    if (::mount(nullptr, "/", nullptr, rootProp, nullptr) < 0)
        return Error::fromErrno("set propagation of / to ",
                                cfg.rootfsPropagation.empty() ? "rslave" : cfg.rootfsPropagation);
    // After a recursive slave or private "/", no mount of this namespace is shared: the
    // parent check (a read of the whole mount table) can only find nothing to do.
    bool noneShared = (rootProp & MS_REC) && (rootProp & (MS_SLAVE | MS_PRIVATE));
    if (!noneShared) TRY(makeRootfsParentPrivate(cfg.rootfs));
    if (::mount(cfg.rootfs.c_str(), cfg.rootfs.c_str(), "bind", MS_BIND | MS_REC, nullptr) < 0)
        return Error::fromErrno("bind rootfs ", cfg.rootfs, " onto itself");
    ASSIGN_OR_RETURN(RootDir root, RootDir::open(cfg.rootfs));
    ASSIGN_OR_RETURN(auto steps, planRootfs(cfg, hostFacts()));
    ApplyContext ctx{root, /*checkProc=*/true, /*procFdUsable=*/true, &detachedFds};
    return applyAll(ctx, cfg, steps);
}

Status pivotRootInChild(const RootfsConfig& cfg) {
    if (!cfg.mountNamespace) return chrootIntoRootfs(cfg.rootfs);
    if (cfg.noPivot)
        TRY(moveRoot(cfg.rootfs));
    else
        TRY(pivotRoot(cfg.rootfs));
    if (needsDevSetup(cfg)) TRY(reopenDevNull());
    return {};
}

Status finalizeRootfsInChild(const RootfsConfig& cfg) {
    if (!cfg.mountNamespace) return {};
    ASSIGN_OR_RETURN(RootDir root, RootDir::open("/"));
    bool procFd = ::access("/proc/self/fd", X_OK) == 0;
    ApplyContext ctx{root, /*checkProc=*/false, procFd};
    return applyAll(ctx, cfg, planFinalize(cfg, hostFacts()));
}

}  // namespace berth::namespaces
