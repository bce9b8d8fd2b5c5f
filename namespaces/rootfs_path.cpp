#include "namespaces/rootfs_path.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <deque>
#include <vector>

#include "common/fs.hpp"

namespace berth::namespaces {
namespace {

constexpr int kMaxSymlinks = 40;  // the kernel's MAXSYMLINKS
constexpr int kMaxSteps = 4096;   // bounds create-and-look-again races

// Path components without empty ones and "." ("..", kept, is resolved by the walk).
std::deque<std::string> components(const std::string& path) {
    std::deque<std::string> out;
    for (auto& c : fs::split(path, '/'))
        if (!c.empty() && c != ".") out.push_back(std::move(c));
    return out;
}

std::string joinComponents(const std::vector<std::string>& parts) {
    std::string out;
    for (const auto& p : parts) out += "/" + p;
    return out.empty() ? "/" : out;
}

Result<std::string> readLinkAt(int dirfd, const std::string& name, const std::string& shown) {
    std::string buf(4096, '\0');
    ssize_t n = ::readlinkat(dirfd, name.c_str(), buf.data(), buf.size());
    if (n < 0) return Error::fromErrno("readlink ", shown);
    buf.resize(static_cast<size_t>(n));
    return buf;
}

// Create a missing component; EEXIST means someone else did, and the caller looks again.
Status createEntry(int dirfd, const std::string& name, bool file, const std::string& shown) {
    if (file) {
        int fd = ::openat(dirfd, name.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC,
                          0644);
        if (fd < 0 && errno != EEXIST) return Error::fromErrno("create ", shown);
        if (fd >= 0) ::close(fd);
        return {};
    }
    if (::mkdirat(dirfd, name.c_str(), 0755) < 0 && errno != EEXIST)
        return Error::fromErrno("mkdir ", shown);
    return {};
}

}  // namespace

int openat2(int dirfd, const std::string& path, uint64_t flags, uint64_t resolve, mode_t mode) {
    struct open_how how = {};
    how.flags = flags;
    how.mode = mode;
    how.resolve = resolve;
    return static_cast<int>(::syscall(SYS_openat2, dirfd, path.c_str(), &how, sizeof how));
}

std::string procFdPath(int fd) {
    return strCat("/proc/self/fd/", fd);
}

Result<RootDir> RootDir::open(const std::string& path) {
    UniqueFd fd(::open(path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!fd) return Error::fromErrno("open ", path);
    if (fs::cleanPath(path) == "/") return RootDir(std::move(fd), "/");
    std::string real(4096, '\0');
    ssize_t n = ::readlink(procFdPath(fd.get()).c_str(), real.data(), real.size());
    if (n < 0) return Error::fromErrno("readlink ", procFdPath(fd.get()), " (", path, ")");
    real.resize(static_cast<size_t>(n));
    return RootDir(std::move(fd), real);
}

Result<UniqueFd> RootDir::reopen(const std::string& rel) const {
    // The walk resolved every symlink itself, so any symlink found now is a race: refuse it.
    int fd = openat2(fd_.get(), rel.empty() ? "." : rel, O_PATH | O_DIRECTORY | O_CLOEXEC,
                     RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
    if (fd < 0) return Error::fromErrno("openat2 ", "/", rel, " in ", realPath_);
    return UniqueFd(fd);
}

Result<UniqueFd> RootDir::resolve(const std::string& path, Create create, bool noSymlinks,
                                  bool* created) const {
    std::string rel = fs::cleanPath("/" + path).substr(1);
    uint64_t how = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | (noSymlinks ? RESOLVE_NO_SYMLINKS : 0);
    if (created) *created = false;
    int fd = openat2(fd_.get(), rel.empty() ? "." : rel, O_PATH | O_CLOEXEC, how);
    if (fd >= 0) return UniqueFd(fd);
    if (errno == ENOSYS) return Error::fromErrno("openat2 (needs Linux 5.6)");
    if (errno == ELOOP && noSymlinks)
        return Error(ELOOP, strCat("/", rel, " must not contain symlinks"));
    if (errno != ENOENT || create == Create::Nothing)
        return Error::fromErrno("openat2 ", "/", rel, " in ", realPath_);
    if (created) *created = true;
    // Something is missing. Most often only the last component (dev/pts, a cgroup controller's
    // directory under a fresh tmpfs): when the parent resolves without a symlink, its lexical
    // components are its real ones and the walk starts there (one openat2 instead of a stat
    // and an open per component from the root).
    size_t slash = rel.rfind('/');
    if (slash != std::string::npos) {
        int parent = openat2(fd_.get(), rel.substr(0, slash), O_PATH | O_DIRECTORY | O_CLOEXEC,
                             RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS);
        if (parent >= 0) {
            std::vector<std::string> done;
            for (auto& c : components(rel.substr(0, slash))) done.push_back(std::move(c));
            return walkFrom(UniqueFd(parent), std::move(done), components(rel.substr(slash + 1)),
                            create, noSymlinks, rel);
        }
    }
    return walk(rel, create, noSymlinks);
}

Result<UniqueFd> RootDir::walk(const std::string& path, Create create, bool noSymlinks) const {
    ASSIGN_OR_RETURN(UniqueFd cur, reopen(""));
    return walkFrom(std::move(cur), {}, components(path), create, noSymlinks, path);
}

Result<UniqueFd> RootDir::walkFrom(UniqueFd cur, std::vector<std::string> done,
                                   std::deque<std::string> todo, Create create, bool noSymlinks,
                                   const std::string& path) const {
    int links = 0;
    for (int steps = 0; !todo.empty(); ++steps) {
        if (steps > kMaxSteps)
            return Error(ELOOP, strCat("resolving ", path, " does not settle"));
        std::string c = std::move(todo.front());
        todo.pop_front();
        if (c == "..") {
            if (!done.empty()) done.pop_back();
            ASSIGN_OR_RETURN(cur, reopen(joinComponents(done).substr(1)));
            continue;
        }
        const bool last = todo.empty();
        const std::string shown = fs::joinPath(joinComponents(done), c);
        struct stat st;
        if (::fstatat(cur.get(), c.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) {
            if (errno != ENOENT || create == Create::Nothing)
                return Error::fromErrno("stat ", shown);
            TRY(createEntry(cur.get(), c, last && create == Create::File, shown));
            todo.push_front(std::move(c));  // look again: what is there now decides
            continue;
        }
        if (S_ISLNK(st.st_mode)) {
            if (noSymlinks) return Error(ELOOP, strCat(shown, " is a symlink"));
            if (++links > kMaxSymlinks) return Error(ELOOP, strCat("too many symlinks in ", path));
            ASSIGN_OR_RETURN(std::string target, readLinkAt(cur.get(), c, shown));
            auto more = components(target);
            todo.insert(todo.begin(), more.begin(), more.end());
            if (!target.empty() && target[0] == '/') {
                done.clear();
                ASSIGN_OR_RETURN(cur, reopen(""));
            }
            continue;
        }
        if (!last && !S_ISDIR(st.st_mode))
            return Error(ENOTDIR, strCat(shown, " is not a directory"));
        UniqueFd next(::openat(cur.get(), c.c_str(),
                               O_PATH | O_NOFOLLOW | O_CLOEXEC | (last ? 0 : O_DIRECTORY)));
        if (!next) return Error::fromErrno("open ", shown);
        cur = std::move(next);
        done.push_back(std::move(c));
    }
    return cur;
}

Result<std::pair<UniqueFd, std::string>> RootDir::resolveParent(const std::string& path,
                                                                bool create) const {
    std::string clean = fs::cleanPath("/" + path);
    if (clean == "/") return Error(EINVAL, "\"/\" has no parent");
    size_t slash = clean.rfind('/');
    std::string parent = clean.substr(0, slash);
    ASSIGN_OR_RETURN(UniqueFd fd, resolve(parent.empty() ? "/" : parent,
                                          create ? Create::Directory : Create::Nothing));
    struct stat st;
    if (::fstat(fd.get(), &st) < 0) return Error::fromErrno("stat ", parent);
    if (!S_ISDIR(st.st_mode)) return Error(ENOTDIR, strCat(parent, " is not a directory"));
    return std::make_pair(std::move(fd), clean.substr(slash + 1));
}

Result<std::string> RootDir::pathInside(int fd) const {
    std::string link(4096, '\0');
    ssize_t n = ::readlink(procFdPath(fd).c_str(), link.data(), link.size());
    if (n < 0) return Error::fromErrno("readlink ", procFdPath(fd));
    link.resize(static_cast<size_t>(n));
    if (realPath_ == "/") return link;
    if (link == realPath_) return std::string("/");
    if (link.size() > realPath_.size() && link.compare(0, realPath_.size(), realPath_) == 0 &&
        link[realPath_.size()] == '/')
        return link.substr(realPath_.size());
    return Error(EXDEV, strCat(link, " is outside the rootfs ", realPath_));
}

}  // namespace berth::namespaces
