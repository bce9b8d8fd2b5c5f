#include "namespaces/mount_apply.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>

#include "common/fs.hpp"
#include "namespaces/copy_up.hpp"
#include "namespaces/detached_mount.hpp"
#include "namespaces/devices.hpp"
#include "namespaces/mount_options.hpp"

namespace berth::namespaces {
namespace {

// What mount(2) is given as the target for `fd`, after checking the fd is still inside.
Result<std::string> mountTarget(const ApplyContext& ctx, int fd, const std::string& dest) {
    if (!ctx.procFdUsable) return dest;
    TRY(ctx.root.pathInside(fd));
    return procFdPath(fd);
}

// What a bind mounts: a host path, or a detached mount the parent made (sourceFd >= 0).
struct BindSource {
    const std::string& path;
    int fd = -1;
};

Status statfsSource(const BindSource& src, struct statfs* st) {
    int r = src.fd >= 0 ? ::fstatfs(src.fd, st) : ::statfs(src.path.c_str(), st);
    if (r < 0) return Error::fromErrno("statfs ", src.path);
    return {};
}

// Checked on the destination as written (before anything is created under /proc) and again
// on where it resolved to (a symlink may lead there). `bindSource` is null for a new filesystem.
Status checkProcDestination(const ApplyContext& ctx, const std::string& inside,
                            const std::string& fsType, const BindSource* bindSource) {
    if (!ctx.checkProc) return {};
    switch (classifyProcDestination(inside)) {
        case ProcDestination::Outside:
        case ProcDestination::Allowed:
            return {};
        case ProcDestination::Forbidden:
            return Error(EPERM, strCat(inside, " cannot be mounted because it is inside /proc"));
        case ProcDestination::ProcRoot:
            break;
    }
    if (!bindSource) {
        if (fsType == "proc") return {};
    } else {
        struct statfs st;
        TRY(statfsSource(*bindSource, &st));
        if (st.f_type == PROC_SUPER_MAGIC) return {};
    }
    return Error(EPERM, strCat(inside, " cannot be mounted because it is not of type proc"));
}

// What mount(2) is given as the target for `fd`, after checking it is still inside and, on
// where it resolved to, the /proc rules: one readlink for both.
Result<std::string> checkedMountTarget(const ApplyContext& ctx, int fd, const std::string& dest,
                                       const std::string& fsType, const BindSource* bindSource) {
    if (!ctx.checkProc) return mountTarget(ctx, fd, dest);
    ASSIGN_OR_RETURN(std::string inside, ctx.root.pathInside(fd));
    TRY(checkProcDestination(ctx, inside, fsType, bindSource));
    return ctx.procFdUsable ? procFdPath(fd) : dest;
}

// The tmpfs root starts with the mode of the directory it covers (runc); an explicit mode=
// later in the data wins. A directory created just now keeps tmpfs's default instead.
Result<UniqueFd> resolveFsMountpoint(const ApplyContext& ctx, const FsMount& f, std::string& data) {
    bool created = false;
    auto existing = ctx.root.resolve(f.destination, Create::Directory, f.noSymlinks, &created);
    // runc's words (users grep them), with berth's reason after them.
    if (!existing.ok() && existing.error().err() == ELOOP && f.noSymlinks)
        return Error(ELOOP, strCat(f.fsType, " must be mounted on ordinary directory: ", existing.error().what()))
            .hideErrno();
    if (!existing.ok()) return std::move(existing).error();
    if (created) return std::move(existing).value();
    struct stat st;
    if (::fstat(existing->get(), &st) < 0) return Error::fromErrno("stat ", f.destination);
    if (f.noSymlinks && !S_ISDIR(st.st_mode))
        return Error(ENOTDIR, strCat(f.fsType, " must be mounted on ordinary directory: ", f.destination,
                                     " is not a directory"));
    if (f.keepMode && S_ISDIR(st.st_mode)) {
        char mode[16];
        std::snprintf(mode, sizeof mode, "mode=%04o", st.st_mode & 07777);
        data = data.empty() ? std::string(mode) : strCat(mode, ",", data);
    }
    return std::move(existing).value();
}

Status copyUp(const ApplyContext& ctx, const FsMount& f, int lower) {
    ASSIGN_OR_RETURN(UniqueFd upperPath, ctx.root.resolve(f.destination));
    UniqueFd upper(::openat(upperPath.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!upper) return Error::fromErrno("open ", f.destination);
    struct stat st;
    if (::fstat(lower, &st) == 0 && ::fchown(upper.get(), st.st_uid, st.st_gid) < 0)
        return Error::fromErrno("chown ", f.destination);
    TRY_CTX(copyDirectoryContents(lower, upper.get(), f.destination), "tmpcopyup");
    return {};
}

Status apply(const ApplyContext& ctx, const FsMount& f) {
    TRY(checkProcDestination(ctx, f.destination, f.fsType, nullptr));
    std::string data = f.data;
    ASSIGN_OR_RETURN(UniqueFd fd, resolveFsMountpoint(ctx, f, data));
    ASSIGN_OR_RETURN(std::string target, checkedMountTarget(ctx, fd.get(), f.destination, f.fsType, nullptr));
    UniqueFd lower;  // opened before the mount: afterwards the path shows the tmpfs
    if (f.copyUp) {
        lower.reset(::openat(fd.get(), ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (!lower) return Error::fromErrno("open ", f.destination);
    }
    if (::mount(f.source.c_str(), target.c_str(), f.fsType.c_str(), f.flags,
                data.empty() ? nullptr : data.c_str()) < 0)
        return Error::fromErrno("mount ", f.fsType, " on ", f.destination, " (",
                                mountFlagNames(f.flags), data.empty() ? "" : ",", data, ")");
    if (f.copyUp) TRY(copyUp(ctx, f, lower.get()));
    return {};
}

Result<int> detachedFd(const ApplyContext& ctx, const BindMount& b) {
    if (b.detached < 0) return -1;
    if (!ctx.detachedFds || static_cast<size_t>(b.detached) >= ctx.detachedFds->size())
        return Error(EINVAL, strCat("no detached mount was passed for ", b.source));
    return (*ctx.detachedFds)[static_cast<size_t>(b.detached)];
}

// A detached mount is moved into place; it was made by the parent, which can reach sources
// the container's root cannot (a directory only host root may enter).
Status apply(const ApplyContext& ctx, const BindMount& b) {
    ASSIGN_OR_RETURN(int treeFd, detachedFd(ctx, b));
    BindSource src{b.source, treeFd};
    struct stat st;
    int r = treeFd >= 0 ? ::fstat(treeFd, &st) : ::stat(b.source.c_str(), &st);
    if (r < 0) return Error::fromErrno("stat bind source ", b.source);
    TRY(checkProcDestination(ctx, b.destination, "", &src));
    Create kind = S_ISDIR(st.st_mode) ? Create::Directory : Create::File;
    ASSIGN_OR_RETURN(UniqueFd fd, ctx.root.resolve(b.destination, kind));
    if (treeFd >= 0) {
        ASSIGN_OR_RETURN(std::string inside, ctx.root.pathInside(fd.get()));
        TRY(checkProcDestination(ctx, inside, "", &src));
        return moveMountTree(treeFd, fd.get(), strCat(b.source, " on ", b.destination));
    }
    ASSIGN_OR_RETURN(std::string target, checkedMountTarget(ctx, fd.get(), b.destination, "", &src));
    unsigned long flags = MS_BIND | (b.recursive ? MS_REC : 0);
    if (::mount(b.source.c_str(), target.c_str(), nullptr, flags, nullptr) < 0)
        return Error::fromErrno(b.recursive ? "rbind " : "bind ", b.source, " on ", b.destination);
    return {};
}

// A bind remount sets exactly the given flags. In a user namespace the kernel refuses to drop
// flags it locked on the source (ro, nosuid, ...): retry keeping them, as runc does, unless
// that contradicts what was asked. Atime is left alone unless asked: the kernel keeps it.
Status apply(const ApplyContext& ctx, const Remount& r) {
    ASSIGN_OR_RETURN(UniqueFd fd, ctx.root.resolve(r.destination));
    ASSIGN_OR_RETURN(std::string target, mountTarget(ctx, fd.get(), r.destination));
    const unsigned long base = MS_BIND | MS_REMOUNT;
    if (::mount(nullptr, target.c_str(), nullptr, base | r.flags, nullptr) == 0) return {};
    Error first = Error::fromErrno("remount ", r.destination, " ", mountFlagNames(base | r.flags));
    struct statfs st;
    if (::fstatfs(fd.get(), &st) < 0) return first;
    auto retry = remountRetryFlags(r.flags, r.clearFlags, statfsToMountFlags(st.f_flags));
    if (!retry || *retry == r.flags) return first;
    if (::mount(nullptr, target.c_str(), nullptr, base | *retry, nullptr) < 0)
        return Error::fromErrno("remount ", r.destination, " ", mountFlagNames(base | *retry),
                                " (keeping its locked flags)");
    return {};
}

Status apply(const ApplyContext& ctx, const SetPropagation& p) {
    ASSIGN_OR_RETURN(UniqueFd fd, ctx.root.resolve(p.destination));
    ASSIGN_OR_RETURN(std::string target, mountTarget(ctx, fd.get(), p.destination));
    if (::mount(nullptr, target.c_str(), nullptr, p.flags, nullptr) < 0)
        return Error::fromErrno("make ", p.destination, " ", mountFlagNames(p.flags));
    return {};
}

Status apply(const ApplyContext& ctx, const SetRecursiveAttr& a) {
    ASSIGN_OR_RETURN(UniqueFd fd, ctx.root.resolve(a.destination));
    TRY(ctx.root.pathInside(fd.get()));
    struct mount_attr attr = {};
    attr.attr_set = a.set;
    attr.attr_clr = a.clr;
    if (::syscall(SYS_mount_setattr, fd.get(), "", AT_EMPTY_PATH | AT_RECURSIVE, &attr,
                  sizeof attr) < 0)
        return Error::fromErrno("mount_setattr ", a.destination, " set 0x", std::hex, a.set,
                                " clear 0x", a.clr);
    return {};
}

// The parent directory of `path` (created when missing) and the last component, through the
// context's cache when the previous device or symlink step went into the same directory
// (`own` holds it when the context has no cache).
Result<std::pair<int, std::string>> cachedParent(const ApplyContext& ctx, const std::string& path,
                                                 ParentDirCache& own) {
    ParentDirCache& cache = ctx.parents ? *ctx.parents : own;
    std::string clean = fs::cleanPath("/" + path);
    size_t slash = clean.rfind('/');
    std::string dir = slash == 0 ? "/" : clean.substr(0, slash);
    if (cache.fd && cache.path == dir) return std::make_pair(cache.fd.get(), clean.substr(slash + 1));
    ASSIGN_OR_RETURN(auto parent, ctx.root.resolveParent(path, true));
    cache = ParentDirCache{dir, std::move(parent.first)};
    return std::make_pair(cache.fd.get(), std::move(parent.second));
}

Status apply(const ApplyContext& ctx, const MakeSymlink& l) {
    ParentDirCache own;
    ASSIGN_OR_RETURN(auto parent, cachedParent(ctx, l.linkPath, own));
    auto& [dir, name] = parent;
    if (l.replace && ::unlinkat(dir, name.c_str(), 0) < 0 && errno != ENOENT)
        return Error::fromErrno("remove ", l.linkPath);
    if (::symlinkat(l.target.c_str(), dir, name.c_str()) < 0 && errno != EEXIST)
        return Error::fromErrno("symlink ", l.linkPath, " -> ", l.target);
    return {};
}

Status apply(const ApplyContext& ctx, const MakeDevice& d) {
    ParentDirCache own;
    ASSIGN_OR_RETURN(auto parent, cachedParent(ctx, d.device.path, own));
    return makeDeviceIn(ctx.root, parent.first, parent.second, d);
}

// Missing paths are skipped: the default lists name files not every kernel has.
Result<UniqueFd> resolveOptional(const ApplyContext& ctx, const std::string& path) {
    auto fd = ctx.root.resolve(path);
    if (!fd.ok() && fd.error().err() == ENOENT) return UniqueFd();
    return fd;
}

Status apply(const ApplyContext& ctx, const ReadonlyPath& r) {
    ASSIGN_OR_RETURN(UniqueFd fd, resolveOptional(ctx, r.path));
    if (!fd) return {};
    ASSIGN_OR_RETURN(std::string target, mountTarget(ctx, fd.get(), r.path));
    if (::mount(target.c_str(), target.c_str(), nullptr, MS_BIND | MS_REC, nullptr) < 0)
        return Error::fromErrno("bind ", r.path, " onto itself");
    // The bind's own mount now sits at the path: resolve again to reach it.
    return apply(ctx, Remount{r.path, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC});
}

Status apply(const ApplyContext& ctx, const MaskPath& m) {
    ASSIGN_OR_RETURN(UniqueFd fd, resolveOptional(ctx, m.path));
    if (!fd) return {};
    struct stat st;
    if (::fstat(fd.get(), &st) < 0) return Error::fromErrno("stat ", m.path);
    ASSIGN_OR_RETURN(std::string target, mountTarget(ctx, fd.get(), m.path));
    if (S_ISDIR(st.st_mode)) {
        const char* data = m.tmpfsData.empty() ? nullptr : m.tmpfsData.c_str();
        if (::mount("tmpfs", target.c_str(), "tmpfs", MS_RDONLY, data) < 0)
            return Error::fromErrno("mount tmpfs on ", m.path, " to mask it");
        return {};
    }
    if (::mount("/dev/null", target.c_str(), nullptr, MS_BIND, nullptr) < 0)
        return Error::fromErrno("bind /dev/null on ", m.path, " to mask it");
    return {};
}

}  // namespace

Status applyStep(const ApplyContext& ctx, const MountStep& step) {
    // Only a run of device nodes and symlinks shares the cached parent: any other step may
    // mount over it or move it.
    bool keepsParent = std::holds_alternative<MakeDevice>(step.op) || std::holds_alternative<MakeSymlink>(step.op);
    if (ctx.parents && !keepsParent) ctx.parents->fd.reset();
    return std::visit([&](const auto& op) { return apply(ctx, op); }, step.op);
}

}  // namespace berth::namespaces
