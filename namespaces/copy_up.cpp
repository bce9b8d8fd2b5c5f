#include "namespaces/copy_up.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "common/unique_fd.hpp"

namespace berth::namespaces {
namespace {

Result<std::vector<std::string>> listDir(int dirfd, const std::string& shown) {
    int dup = ::openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dup < 0) return Error::fromErrno("open ", shown);
    DIR* d = ::fdopendir(dup);
    if (!d) {
        Error e = Error::fromErrno("opendir ", shown);
        ::close(dup);
        return e;
    }
    std::vector<std::string> names;
    while (auto* ent = ::readdir(d)) {
        if (!std::strcmp(ent->d_name, ".") || !std::strcmp(ent->d_name, "..")) continue;
        names.emplace_back(ent->d_name);
    }
    ::closedir(d);
    return names;
}

Status copyFileData(int src, int dst, const std::string& shown) {
    for (;;) {
        ssize_t n = ::sendfile(dst, src, nullptr, 1 << 20);
        if (n < 0) {
            if (errno == EINTR) continue;
            return Error::fromErrno("copy ", shown);
        }
        if (n == 0) return {};
    }
}

Status copyRegular(int srcDir, int dstDir, const std::string& name, const struct stat& st,
                   const std::string& shown) {
    UniqueFd in(::openat(srcDir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!in) return Error::fromErrno("open ", shown);
    UniqueFd out(::openat(dstDir, name.c_str(),
                          O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                          st.st_mode & 07777));
    if (!out) return Error::fromErrno("create ", shown);
    return copyFileData(in.get(), out.get(), shown);
}

// Owner, mode and times, set last so a read-only mode does not stop the copy itself.
Status copyMetadata(int dstDir, const std::string& name, const struct stat& st,
                    const std::string& shown) {
    if (::fchownat(dstDir, name.c_str(), st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) < 0)
        return Error::fromErrno("chown ", shown);
    if (!S_ISLNK(st.st_mode) && ::fchmodat(dstDir, name.c_str(), st.st_mode & 07777, 0) < 0)
        return Error::fromErrno("chmod ", shown);
    struct timespec times[2] = {st.st_atim, st.st_mtim};
    if (::utimensat(dstDir, name.c_str(), times, AT_SYMLINK_NOFOLLOW) < 0)
        return Error::fromErrno("utimes ", shown);
    return {};
}

Status copyEntry(int srcDir, int dstDir, const std::string& name, const std::string& shown) {
    struct stat st;
    if (::fstatat(srcDir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0)
        return Error::fromErrno("stat ", shown);
    if (S_ISDIR(st.st_mode)) {
        if (::mkdirat(dstDir, name.c_str(), 0700) < 0) return Error::fromErrno("mkdir ", shown);
        UniqueFd from(
            ::openat(srcDir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        UniqueFd to(
            ::openat(dstDir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!from || !to) return Error::fromErrno("open ", shown);
        TRY(copyDirectoryContents(from.get(), to.get(), shown));
    } else if (S_ISREG(st.st_mode)) {
        TRY(copyRegular(srcDir, dstDir, name, st, shown));
    } else if (S_ISLNK(st.st_mode)) {
        std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
        ssize_t n = ::readlinkat(srcDir, name.c_str(), target.data(), target.size());
        if (n < 0) return Error::fromErrno("readlink ", shown);
        target.resize(static_cast<size_t>(n));
        if (::symlinkat(target.c_str(), dstDir, name.c_str()) < 0)
            return Error::fromErrno("symlink ", shown);
    } else if (S_ISSOCK(st.st_mode)) {
        return {};  // a socket means nothing without its listener
    } else if (::mknodat(dstDir, name.c_str(), st.st_mode, st.st_rdev) < 0) {
        return Error::fromErrno("mknod ", shown);
    }
    return copyMetadata(dstDir, name, st, shown);
}

}  // namespace

Status copyDirectoryContents(int srcDir, int dstDir, const std::string& shown) {
    ASSIGN_OR_RETURN(auto names, listDir(srcDir, shown));
    for (const auto& name : names) TRY(copyEntry(srcDir, dstDir, name, shown + "/" + name));
    return {};
}

}  // namespace berth::namespaces
