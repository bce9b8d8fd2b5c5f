#include "namespaces/detached_mount.hpp"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <map>

#include "namespaces/userns_fd.hpp"

namespace berth::namespaces {
namespace {

Status setAttr(int treeFd, const struct mount_attr& attr, bool recursive, const char* what) {
    unsigned flags = AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0);
    struct mount_attr a = attr;
    if (::syscall(SYS_mount_setattr, treeFd, "", flags, &a, sizeof a) < 0)
        return Error::fromErrno("mount_setattr ", what);
    return {};
}

// Enters another process's mount namespace for the life of the object; back in ours (root and
// cwd included, which setns resets) when it goes away.
class InMountNamespace {
  public:
    InMountNamespace() = default;
    InMountNamespace(const InMountNamespace&) = delete;
    InMountNamespace& operator=(const InMountNamespace&) = delete;
    ~InMountNamespace() {
        if (!own_) return;
        // Cannot fail for our own namespace while we hold root and cwd fds of it.
        (void)::setns(own_.get(), CLONE_NEWNS);
        (void)::fchdir(root_.get());
        (void)::chroot(".");
        (void)::fchdir(cwd_.get());
    }

    Status enter(pid_t pid) {
        UniqueFd target(::open(strCat("/proc/", pid, "/ns/mnt").c_str(), O_RDONLY | O_CLOEXEC));
        if (!target) return Error::fromErrno("open the mount namespace of process ", pid);
        UniqueFd own(::open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC));
        if (!own) return Error::fromErrno("open /proc/self/ns/mnt");
        if (sameNamespace(own.get(), target.get())) return {};
        root_.reset(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
        cwd_.reset(::open(".", O_PATH | O_DIRECTORY | O_CLOEXEC));
        if (!root_ || !cwd_) return Error::fromErrno("open / and . to come back to");
        if (::setns(target.get(), CLONE_NEWNS) < 0)
            return Error::fromErrno("enter the mount namespace of process ", pid);
        own_ = std::move(own);
        return {};
    }

  private:
    static bool sameNamespace(int a, int b) {
        struct stat sa, sb;
        return ::fstat(a, &sa) == 0 && ::fstat(b, &sb) == 0 && sa.st_ino == sb.st_ino &&
               sa.st_dev == sb.st_dev;
    }
    UniqueFd own_, root_, cwd_;
};

using MapKey = std::pair<std::string, std::string>;

Result<UniqueFd> openOne(const DetachedSource& d, const std::map<MapKey, UniqueFd>& userns) {
    ASSIGN_OR_RETURN(UniqueFd tree, cloneMountTree(AT_FDCWD, d.source, d.recursive));
    if (d.propagation != 0) TRY(setMountTreePropagation(tree.get(), d.propagation));
    if (d.uidMappings.empty()) return tree;
    const UniqueFd& ns = userns.at(MapKey{formatIdMap(d.uidMappings), formatIdMap(d.gidMappings)});
    TRY(idmapMountTree(tree.get(), ns.get(), d.recursiveIdmap));
    return tree;
}

}  // namespace

Result<UniqueFd> cloneMountTree(int dirfd, const std::string& path, bool recursive) {
    unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0);
    int fd = static_cast<int>(::syscall(SYS_open_tree, dirfd, path.c_str(), flags));
    if (fd < 0) return Error::fromErrno("open_tree ", recursive ? "(recursive) " : "", path);
    return UniqueFd(fd);
}

Status idmapMountTree(int treeFd, int usernsFd, bool recursive) {
    struct mount_attr attr = {};
    attr.attr_set = MOUNT_ATTR_IDMAP;
    attr.userns_fd = static_cast<uint64_t>(usernsFd);
    return setAttr(treeFd, attr, recursive, "idmap");
}

Status setMountTreePropagation(int treeFd, unsigned long propagation) {
    struct mount_attr attr = {};
    attr.propagation = propagation;
    return setAttr(treeFd, attr, true, "propagation");
}

Status moveMountTree(int treeFd, int targetFd, const std::string& what) {
    if (::syscall(SYS_move_mount, treeFd, "", targetFd, "",
                  MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
        return Error::fromErrno("move_mount ", what);
    return {};
}

Result<std::vector<UniqueFd>> openDetachedSourcesFromParent(const std::vector<DetachedSource>& plan,
                                                            pid_t child) {
    std::vector<UniqueFd> out;
    if (plan.empty()) return out;
    // Made before entering the init's namespace: the helper process must not start there.
    std::map<MapKey, UniqueFd> userns;
    for (const auto& d : plan) {
        if (d.uidMappings.empty()) continue;
        MapKey key{formatIdMap(d.uidMappings), formatIdMap(d.gidMappings)};
        if (userns.count(key)) continue;
        ASSIGN_OR_RETURN(UniqueFd ns, makeUserNamespaceFd(d.uidMappings, d.gidMappings));
        userns.emplace(key, std::move(ns));
    }
    InMountNamespace inChild;
    if (child > 0) TRY(inChild.enter(child));
    for (const auto& d : plan) {
        auto tree = openOne(d, userns);
        if (!tree.ok()) return std::move(tree.error().context(d.what));
        out.push_back(std::move(tree).value());
    }
    return out;
}

}  // namespace berth::namespaces
