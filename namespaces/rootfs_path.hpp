// namespaces/rootfs_path: paths inside the container's rootfs resolved as if it were "/" —
// no symlink in the image can lead a mkdir, mknod or mount out of it (openat2 RESOLVE_IN_ROOT).
#pragma once

#include <deque>
#include <string>
#include <utility>
#include <vector>

#include "common/error.hpp"
#include "common/unique_fd.hpp"

namespace berth::namespaces {

// What resolve() creates when a path component is missing.
enum class Create { Nothing, Directory, File };

class RootDir {
  public:
    // Open `path` (an existing directory) as the root of every later resolution.
    static Result<RootDir> open(const std::string& path);

    int fd() const { return fd_.get(); }
    // The root as the kernel names it (symlinks resolved), e.g. for /proc/self/fd checks.
    const std::string& realPath() const { return realPath_; }

    // An O_PATH fd for `path` (absolute inside the root). Symlinks — dangling ones too — are
    // followed inside the root, never out of it. With Directory or File, missing components
    // are created as directories (0755) and a missing last one as asked, like runc's
    // SecureJoin+MkdirAll. With noSymlinks any symlink on the way is an error (proc, sysfs).
    // `created`, when given, says whether the path was missing (something was created, or
    // the walk found it made meanwhile): what a new mount point's mode depends on.
    Result<UniqueFd> resolve(const std::string& path, Create create = Create::Nothing,
                             bool noSymlinks = false, bool* created = nullptr) const;
    // The parent directory of `path` (created when `create`) and the last component.
    Result<std::pair<UniqueFd, std::string>> resolveParent(const std::string& path,
                                                           bool create) const;

    // Where `fd` is, as a path inside the root; an error when it is not inside — a rename
    // race moved it out between resolve() and use.
    Result<std::string> pathInside(int fd) const;

  private:
    RootDir(UniqueFd fd, std::string realPath)
        : fd_(std::move(fd)), realPath_(std::move(realPath)) {}
    Result<UniqueFd> walk(const std::string& rel, Create create, bool noSymlinks) const;
    // The walk from `cur` (the directory `done` names, every component resolved).
    Result<UniqueFd> walkFrom(UniqueFd cur, std::vector<std::string> done,
                              std::deque<std::string> todo, Create create, bool noSymlinks,
                              const std::string& path) const;
    Result<UniqueFd> reopen(const std::string& rel) const;

    UniqueFd fd_;
    std::string realPath_;
};

// "/proc/self/fd/N": how mount(2) is pointed at an fd (runc's approach).
std::string procFdPath(int fd);

// openat2(2) through syscall(2) (glibc 2.36 has no wrapper).
int openat2(int dirfd, const std::string& path, uint64_t flags, uint64_t resolve, mode_t mode = 0);

}  // namespace berth::namespaces
