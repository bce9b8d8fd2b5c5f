#include "images/unpack.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <set>

#include "common/fs.hpp"
#include "images/dynlib.hpp"
#include "common/log.hpp"
#include "common/unique_fd.hpp"
#include "images/layer_path.hpp"

namespace berth::images {

namespace {

// Every lookup stays inside the snapshot (RESOLVE_IN_ROOT) and refuses any symlink on the way
// (RESOLVE_NO_SYMLINKS): a layer's own symlink is data, never a path to write through.
constexpr uint64_t kResolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS;

int openIn(int root, const std::string& path, int flags) {
    struct open_how how = {};
    how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
    how.resolve = kResolve;
    return static_cast<int>(::syscall(SYS_openat2, root, path.empty() ? "." : path.c_str(), &how, sizeof how));
}

Error resolveError(const std::string& path) {
    if (errno == ELOOP || errno == EXDEV) return Error::make("path goes through a symlink (", path, ")");
    if (errno == ENOTDIR) return Error::make("a parent of it is not a directory");
    return Error::fromErrno("open parent ", path);
}

using ArchivePtr = std::unique_ptr<archive, decltype(&archive_read_free)>;

class Unpacker {
public:
    explicit Unpacker(int root) : root_(root) {
        umask_ = ::umask(0);
        ::umask(umask_);
    }
    Status entry(archive* a, archive_entry* e, const std::string& path);
    Status finish();
    std::vector<std::string> implicitDirs() const { return {implicit_.begin(), implicit_.end()}; }

private:
    Result<int> parentFd(const std::string& parent);
    Status removeExisting(int pfd, const std::string& name, bool keepDir, bool* isDir);
    Status regular(archive* a, archive_entry* e, int pfd, const std::string& name);
    Status directory(archive_entry* e, int pfd, const std::string& name, const std::string& path);
    Status hardlink(archive_entry* e, int pfd, const std::string& name);
    Status whiteout(const Whiteout& w);
    Status metadataAt(archive_entry* e, int pfd, const std::string& name);

    int root_;
    mode_t umask_ = 022;
    std::string cachedPath_;
    UniqueFd cached_;
    struct DirTime {
        std::string path;
        struct timespec times[2];
    };
    std::vector<DirTime> dirTimes_;
    // Parents the layer did not list: their metadata must come from the layers below.
    std::set<std::string> implicit_;
};

Result<int> Unpacker::parentFd(const std::string& parent) {
    if (cached_ && cachedPath_ == parent) return cached_.get();
    cached_.reset();
    int fd = openIn(root_, parent, O_PATH | O_DIRECTORY);
    if (fd < 0 && errno == ENOENT) {
        // Missing parents are made as tar does (0755, root): walk and create one at a time.
        UniqueFd cur(::dup(root_));
        std::string prefix;
        for (const auto& comp : fs::split(parent, '/')) {
            if (comp.empty()) continue;
            prefix += (prefix.empty() ? "" : "/") + comp;
            if (::mkdirat(cur.get(), comp.c_str(), 0755) == 0) implicit_.insert(prefix);
            else if (errno != EEXIST) return resolveError(parent);
            int next = openIn(cur.get(), comp, O_PATH | O_DIRECTORY);
            if (next < 0) return resolveError(parent);
            cur.reset(next);
        }
        fd = cur.release();
    }
    if (fd < 0) return resolveError(parent);
    cached_.reset(fd);
    cachedPath_ = parent;
    return fd;
}

Status Unpacker::removeExisting(int pfd, const std::string& name, bool keepDir, bool* isDir) {
    struct stat st;
    *isDir = false;
    if (::fstatat(pfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) return {};
    if (S_ISDIR(st.st_mode)) {
        if (keepDir) {
            *isDir = true;
            return {};
        }
        cached_.reset();  // the cached parent may be inside what goes away
        std::string tmpPath = strCat("/proc/self/fd/", pfd, "/", name);
        return fs::removeAll(tmpPath);
    }
    if (::unlinkat(pfd, name.c_str(), 0) < 0) return Error::fromErrno("remove existing");
    return {};
}

Status Unpacker::metadataAt(archive_entry* e, int pfd, const std::string& name) {
    if (::fchownat(pfd, name.c_str(), la().archive_entry_uid(e), la().archive_entry_gid(e), AT_SYMLINK_NOFOLLOW) < 0)
        return Error::fromErrno("chown");
    if (la().archive_entry_filetype(e) != AE_IFLNK &&
        ::fchmodat(pfd, name.c_str(), la().archive_entry_perm(e) & 07777, 0) < 0)
        return Error::fromErrno("chmod");
    struct timespec ts[2] = {{la().archive_entry_mtime(e), la().archive_entry_mtime_nsec(e)},
                             {la().archive_entry_mtime(e), la().archive_entry_mtime_nsec(e)}};
    if (::utimensat(pfd, name.c_str(), ts, AT_SYMLINK_NOFOLLOW) < 0) return Error::fromErrno("set times");
    return {};
}

Status applyXattrs(archive_entry* e, int fd) {
    const char* key;
    const void* value;
    size_t size;
    la().archive_entry_xattr_reset(e);
    while (la().archive_entry_xattr_next(e, &key, &value, &size) == ARCHIVE_OK) {
        // A layer must not forge overlay's own metadata (whiteouts come only from .wh. names).
        if (std::string(key).rfind("trusted.overlay.", 0) == 0) continue;
        if (::fsetxattr(fd, key, value, size, 0) < 0) return Error::fromErrno("set xattr ", key);
    }
    return {};
}

Status Unpacker::regular(archive* a, archive_entry* e, int pfd, const std::string& name) {
    // Created with its final permission bits when the umask leaves them alone (the common
    // case), which saves the fchmod; set-id bits always need it, after the chown.
    mode_t perm = la().archive_entry_perm(e) & 07777;
    bool exact = (perm & ~0777) == 0 && (perm & umask_) == 0;
    UniqueFd fd(::openat(pfd, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, exact ? perm : 0600));
    if (!fd) return Error::fromErrno("create");
    const void* buf;
    size_t size;
    la_int64_t offset, end = 0;
    for (;;) {
        int r = la().archive_read_data_block(a, &buf, &size, &offset);
        if (r == ARCHIVE_EOF) break;
        if (r != ARCHIVE_OK) return Error::make("read data: ", la().archive_error_string(a));
        const char* p = static_cast<const char*>(buf);
        while (size > 0) {
            ssize_t n = ::pwrite(fd.get(), p, size, offset);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) return Error::fromErrno("write");
            p += n, offset += n, size -= static_cast<size_t>(n);
        }
        end = std::max(end, offset);
    }
    // A sparse file may end in a hole.
    if (end < la().archive_entry_size(e) && ::ftruncate(fd.get(), la().archive_entry_size(e)) < 0)
        return Error::fromErrno("truncate");
    if (::fchown(fd.get(), la().archive_entry_uid(e), la().archive_entry_gid(e)) < 0) return Error::fromErrno("chown");
    TRY(applyXattrs(e, fd.get()));
    // After chown, which clears set-id bits.
    if (!exact && ::fchmod(fd.get(), perm) < 0) return Error::fromErrno("chmod");
    struct timespec ts[2] = {{la().archive_entry_mtime(e), la().archive_entry_mtime_nsec(e)},
                             {la().archive_entry_mtime(e), la().archive_entry_mtime_nsec(e)}};
    if (::futimens(fd.get(), ts) < 0) return Error::fromErrno("set times");
    return {};
}

Status Unpacker::directory(archive_entry* e, int pfd, const std::string& name, const std::string& path) {
    if (::mkdirat(pfd, name.c_str(), 0700) < 0 && errno != EEXIST) return Error::fromErrno("mkdir");
    UniqueFd fd(::openat(pfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) return Error::fromErrno("open directory");
    if (::fchown(fd.get(), la().archive_entry_uid(e), la().archive_entry_gid(e)) < 0) return Error::fromErrno("chown");
    TRY(applyXattrs(e, fd.get()));
    if (::fchmod(fd.get(), la().archive_entry_perm(e) & 07777) < 0) return Error::fromErrno("chmod");
    // Its mtime changes as entries land in it: set it once the layer is done.
    implicit_.erase(path);
    dirTimes_.push_back({path, {{la().archive_entry_mtime(e), la().archive_entry_mtime_nsec(e)},
                                {la().archive_entry_mtime(e), la().archive_entry_mtime_nsec(e)}}});
    return {};
}

Status Unpacker::hardlink(archive_entry* e, int pfd, const std::string& name) {
    std::string raw = la().archive_entry_hardlink(e);
    auto target = cleanEntryPath(raw);
    if (!target) return Error::make("hardlink target \"", raw, "\": ", target.error().message());
    auto [tparent, tname] = splitParent(*target);
    UniqueFd tfd(openIn(root_, tparent, O_PATH | O_DIRECTORY));
    if (!tfd) return resolveError(tparent).context("hardlink target \"", raw, "\"");
    struct stat st;
    if (::fstatat(tfd.get(), tname.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0)
        return Error::make("hardlink target \"", raw, "\" is not in this layer");
    if (S_ISDIR(st.st_mode)) return Error::make("hardlink target \"", raw, "\" is a directory");
    if (::linkat(tfd.get(), tname.c_str(), pfd, name.c_str(), 0) < 0) return Error::fromErrno("link to ", raw);
    return {};
}

Status Unpacker::whiteout(const Whiteout& w) {
    auto [parent, name] = splitParent(w.target);
    if (w.kind == WhiteoutKind::Opaque) {
        UniqueFd fd(openIn(root_, w.target, O_RDONLY | O_DIRECTORY));
        if (!fd && errno == ENOENT) {
            ASSIGN_OR_RETURN(int pfd, parentFd(parent));
            if (::mkdirat(pfd, name.c_str(), 0755) < 0) return Error::fromErrno("mkdir opaque dir");
            implicit_.insert(w.target);
            fd.reset(openIn(root_, w.target, O_RDONLY | O_DIRECTORY));
        }
        if (!fd) return resolveError(w.target);
        if (::fsetxattr(fd.get(), "trusted.overlay.opaque", "y", 1, 0) < 0)
            return Error::fromErrno("mark opaque");
        return {};
    }
    ASSIGN_OR_RETURN(int pfd, parentFd(parent));
    bool dir;
    TRY(removeExisting(pfd, name, false, &dir));
    ASSIGN_OR_RETURN(pfd, parentFd(parent));
    if (::mknodat(pfd, name.c_str(), S_IFCHR | 0, makedev(0, 0)) < 0) return Error::fromErrno("make whiteout");
    return {};
}

Status Unpacker::entry(archive* a, archive_entry* e, const std::string& path) {
    Whiteout w = classifyWhiteout(path);
    if (w.kind == WhiteoutKind::Meta) return {};
    if (w.kind != WhiteoutKind::None) return whiteout(w);
    auto type = la().archive_entry_filetype(e);
    if (path.empty()) {  // the layer's root: only its metadata
        if (type != AE_IFDIR) return Error::make("the root is not a directory");
        return directory(e, root_, ".", "");
    }
    auto [parent, name] = splitParent(path);
    ASSIGN_OR_RETURN(int pfd, parentFd(parent));
    bool keptDir = false;
    TRY(removeExisting(pfd, name, type == AE_IFDIR && !la().archive_entry_hardlink(e), &keptDir));
    ASSIGN_OR_RETURN(pfd, parentFd(parent));
    if (la().archive_entry_hardlink(e)) return hardlink(e, pfd, name);
    switch (type) {
    case AE_IFREG:
        return regular(a, e, pfd, name);
    case AE_IFDIR:
        return directory(e, pfd, name, path);
    case AE_IFLNK:
        if (::symlinkat(la().archive_entry_symlink(e), pfd, name.c_str()) < 0) return Error::fromErrno("symlink");
        return metadataAt(e, pfd, name);
    case AE_IFCHR:
    case AE_IFBLK:
    case AE_IFIFO:
        if (::mknodat(pfd, name.c_str(), type | (la().archive_entry_perm(e) & 07777), la().archive_entry_rdev(e)) < 0)
            return Error::fromErrno("mknod");
        return metadataAt(e, pfd, name);
    default:
        return Error::make("unsupported file type ", std::oct, type);
    }
}

Status Unpacker::finish() {
    for (auto it = dirTimes_.rbegin(); it != dirTimes_.rend(); ++it) {
        UniqueFd fd(openIn(root_, it->path, O_RDONLY | O_DIRECTORY));
        if (fd && ::futimens(fd.get(), it->times) < 0) return Error::fromErrno("set times of ", it->path);
    }
    return {};
}

}  // namespace

Result<std::vector<std::string>> unpackLayer(const std::string& blobPath, const std::string& destDir) {
    TRY(loadArchiveApi());
    UniqueFd root(::open(destDir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!root) return Error::fromErrno("open ", destDir);
    UniqueFd in(::open(blobPath.c_str(), O_RDONLY | O_CLOEXEC));
    if (!in) return Error::fromErrno("open ", blobPath);
    ArchivePtr a(la().archive_read_new(), la().archive_read_free);
    la().archive_read_support_filter_gzip(a.get());
    la().archive_read_support_filter_zstd(a.get());
    la().archive_read_support_format_tar(a.get());
    if (la().archive_read_open_fd(a.get(), in.get(), 1 << 20) != ARCHIVE_OK)
        return Error::make("open layer: ", la().archive_error_string(a.get()));
    Unpacker u(root.get());
    archive_entry* e;
    for (;;) {
        int r = la().archive_read_next_header(a.get(), &e);
        if (r == ARCHIVE_EOF) break;
        if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
            return Error::make("corrupt layer: ", la().archive_error_string(a.get()));
        std::string raw = la().archive_entry_pathname(e) ? la().archive_entry_pathname(e) : "";
        auto path = cleanEntryPath(raw);
        if (!path) return Error::make("refusing layer entry \"", raw, "\": ", path.error().message());
        Status st = u.entry(a.get(), e, *path);
        if (!st) return std::move(st).error().context("layer entry \"", raw, "\"");
    }
    TRY(u.finish());
    return u.implicitDirs();
}

Status inheritDirMetadata(const std::vector<std::string>& lowers, const std::string& dir, const std::string& path) {
    UniqueFd droot(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!droot) return Error::fromErrno("open ", dir);
    UniqueFd dst(openIn(droot.get(), path, O_RDONLY | O_DIRECTORY));
    if (!dst) return resolveError(path);
    for (const auto& lower : lowers) {
        UniqueFd lroot(::open(lower.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
        if (!lroot) return Error::fromErrno("open ", lower);
        UniqueFd src(openIn(lroot.get(), path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW));
        if (!src) {
            if (errno == ENOENT) continue;
            return {};  // a non-directory or symlink below: overlay shows this layer's dir as is
        }
        struct stat st;
        if (::fstat(src.get(), &st) < 0) return Error::fromErrno("stat ", lower, "/", path);
        if (::fchown(dst.get(), st.st_uid, st.st_gid) < 0 || ::fchmod(dst.get(), st.st_mode & 07777) < 0)
            return Error::fromErrno("copy owner and mode to ", path);
        std::string names(65536, '\0');
        ssize_t n = ::flistxattr(src.get(), names.data(), names.size());
        for (ssize_t i = 0; n > 0 && i < n; i += static_cast<ssize_t>(std::strlen(names.data() + i)) + 1) {
            const char* key = names.data() + i;
            if (std::string(key).rfind("trusted.overlay.", 0) == 0) continue;
            std::string value(65536, '\0');
            ssize_t vn = ::fgetxattr(src.get(), key, value.data(), value.size());
            if (vn >= 0 && ::fsetxattr(dst.get(), key, value.data(), static_cast<size_t>(vn), 0) < 0)
                return Error::fromErrno("copy xattr ", key, " to ", path);
        }
        struct timespec ts[2] = {st.st_atim, st.st_mtim};
        if (::futimens(dst.get(), ts) < 0) return Error::fromErrno("set times of ", path);
        return {};
    }
    return {};
}

}  // namespace berth::images
