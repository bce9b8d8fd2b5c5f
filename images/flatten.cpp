// The full-copy rootfs for hosts where overlayfs cannot be mounted (no overlay module, or an
// upper dir on a filesystem overlay refuses): the layer snapshots are copied bottom-up into one
// private directory, applying their overlay-format whiteouts (0:0 char devices) and opaque
// markers as overlayfs would. Costs a copy per container; only used when overlay fails.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstring>

#include "common/fs.hpp"
#include "common/unique_fd.hpp"
#include "images/snapshot.hpp"

namespace berth::images {
namespace {

bool isWhiteout(const struct stat& st) {
    return S_ISCHR(st.st_mode) && major(st.st_rdev) == 0 && minor(st.st_rdev) == 0;
}

bool isOpaque(const std::string& dir) {
    char v[2] = {};
    return ::lgetxattr(dir.c_str(), "trusted.overlay.opaque", v, 1) == 1 && v[0] == 'y';
}

Status copyXattrs(const std::string& from, const std::string& to) {
    ssize_t n = ::llistxattr(from.c_str(), nullptr, 0);
    if (n <= 0) return {};
    std::string names(static_cast<size_t>(n), '\0');
    n = ::llistxattr(from.c_str(), names.data(), names.size());
    for (size_t i = 0; n > 0 && i < static_cast<size_t>(n); i += std::strlen(names.c_str() + i) + 1) {
        const char* key = names.c_str() + i;
        if (std::string(key).rfind("trusted.overlay.", 0) == 0) continue;
        ssize_t len = ::lgetxattr(from.c_str(), key, nullptr, 0);
        if (len < 0) continue;
        std::string val(static_cast<size_t>(len), '\0');
        len = ::lgetxattr(from.c_str(), key, val.data(), val.size());
        if (len >= 0 && ::lsetxattr(to.c_str(), key, val.data(), static_cast<size_t>(len), 0) < 0)
            return Error::fromErrno("copy xattr ", key, " to ", to);
    }
    return {};
}

Status copyMeta(const std::string& from, const std::string& to, const struct stat& st) {
    if (::lchown(to.c_str(), st.st_uid, st.st_gid) < 0) return Error::fromErrno("chown ", to);
    if (!S_ISLNK(st.st_mode) && ::chmod(to.c_str(), st.st_mode & 07777) < 0) return Error::fromErrno("chmod ", to);
    TRY(copyXattrs(from, to));
    struct timespec times[2] = {st.st_atim, st.st_mtim};
    if (::utimensat(AT_FDCWD, to.c_str(), times, AT_SYMLINK_NOFOLLOW) < 0) return Error::fromErrno("utimes ", to);
    return {};
}

Status copyFile(const std::string& from, const std::string& to) {
    UniqueFd in(::open(from.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!in) return Error::fromErrno("open ", from);
    UniqueFd out(::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!out) return Error::fromErrno("create ", to);
    char buf[1 << 16];
    ssize_t n;
    while ((n = ::read(in.get(), buf, sizeof buf)) > 0)
        if (::write(out.get(), buf, static_cast<size_t>(n)) != n) return Error::fromErrno("write ", to);
    if (n < 0) return Error::fromErrno("read ", from);
    return {};
}

// Merge the layer dir `from` into `to` (which exists as a directory).
Status mergeDir(const std::string& from, const std::string& to) {
    DIR* d = ::opendir(from.c_str());
    if (!d) return Error::fromErrno("open ", from);
    std::vector<std::string> names;
    while (struct dirent* e = ::readdir(d))
        if (std::strcmp(e->d_name, ".") && std::strcmp(e->d_name, "..")) names.push_back(e->d_name);
    ::closedir(d);
    for (auto& name : names) {
        std::string src = from + "/" + name, dst = to + "/" + name;
        struct stat st, cur;
        if (::lstat(src.c_str(), &st) < 0) return Error::fromErrno("stat ", src);
        bool exists = ::lstat(dst.c_str(), &cur) == 0;
        if (isWhiteout(st)) {
            if (exists) TRY(fs::removeAll(dst));
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            if (exists && (!S_ISDIR(cur.st_mode) || isOpaque(src))) {
                TRY(fs::removeAll(dst));
                exists = false;
            }
            if (!exists && ::mkdir(dst.c_str(), 0700) < 0) return Error::fromErrno("mkdir ", dst);
            TRY(mergeDir(src, dst));
            TRY(copyMeta(src, dst, st));  // after the children, so the mtime sticks
            continue;
        }
        if (exists) TRY(fs::removeAll(dst));
        if (S_ISREG(st.st_mode)) {
            TRY(copyFile(src, dst));
        } else if (S_ISLNK(st.st_mode)) {
            std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
            ssize_t n = ::readlink(src.c_str(), target.data(), target.size());
            if (n < 0) return Error::fromErrno("readlink ", src);
            target.resize(static_cast<size_t>(n));
            if (::symlink(target.c_str(), dst.c_str()) < 0) return Error::fromErrno("symlink ", dst);
        } else if (::mknod(dst.c_str(), st.st_mode, st.st_rdev) < 0) {
            return Error::fromErrno("mknod ", dst);
        }
        TRY(copyMeta(src, dst, st));
    }
    return {};
}

}  // namespace

Status copyLayers(const std::vector<std::string>& lowers, const std::string& target) {
    // lowers is topmost first, as for overlay: copy from the bottom up.
    for (auto it = lowers.rbegin(); it != lowers.rend(); ++it) {
        TRY_CTX(mergeDir(*it, target), "copy image layers into ", target);
        struct stat st;
        if (::lstat(it->c_str(), &st) == 0) TRY(copyMeta(*it, target, st));
    }
    return {};
}

}  // namespace berth::images
