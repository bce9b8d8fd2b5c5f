#include "vps/rootfs.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <climits>

#include "common/fs.hpp"
#include "images/snapshot.hpp"
#include "namespaces/detached_mount.hpp"
#include "namespaces/userns_fd.hpp"

namespace berth::vps {

Status prepareDataDir(const DataLayout& d, const IdRange& ids) {
    // 0711: the VPS's root (an unmapped-to-host-root uid) must pass through to its rootfs.
    TRY(fs::mkdirAll(d.dir, 0711));
    if (::chmod(d.dir.c_str(), 0711) < 0) return Error::fromErrno("chmod ", d.dir);
    for (const std::string& sub : {d.upper(), d.work()}) {
        if (::mkdir(sub.c_str(), 0755) < 0 && errno != EEXIST) return Error::fromErrno("mkdir ", sub);
        if (::chown(sub.c_str(), ids.base, ids.base) < 0) return Error::fromErrno("chown ", sub);
    }
    // The overlay's root dir takes its mode from upper: a root dir is 0755.
    if (::chmod(d.upper().c_str(), 0755) < 0) return Error::fromErrno("chmod ", d.upper());
    return {};
}

Status ensureReachable(const std::string& dataDir, const std::string& storeRoot) {
    std::string store = fs::cleanPath(storeRoot);
    std::string p;
    for (const auto& comp : fs::split(fs::cleanPath(dataDir), '/')) {
        if (comp.empty()) continue;
        p += "/" + comp;
        struct stat st;
        if (::stat(p.c_str(), &st) < 0) {
            if (errno == ENOENT) return {};  // made later, 0711
            return Error::fromErrno("stat ", p);
        }
        if (st.st_mode & S_IXOTH) continue;
        bool ours = p == dataDir || p == store || p.rfind(store + "/", 0) == 0;
        if (!ours)
            return Error::make("VPS data dir ", dataDir, ": ", p, " is not searchable by other users (mode 0",
                               std::oct, st.st_mode & 07777, "); a VPS's root is an unprivileged host uid that must "
                               "reach its rootfs: chmod o+x ", p, " or choose another --data-dir");
        if (::chmod(p.c_str(), (st.st_mode & 07777) | S_IXOTH) < 0) return Error::fromErrno("chmod o+x ", p);
    }
    return {};
}

bool isMountPoint(const std::string& path) {
    struct stat a, b;
    if (::lstat(path.c_str(), &a) < 0 || !S_ISDIR(a.st_mode)) return false;
    if (::lstat((path + "/..").c_str(), &b) < 0) return false;
    if (a.st_dev != b.st_dev) return true;
    // A bind of a dir of the same filesystem: ask statx for the mount root attribute.
    struct statx sx;
    if (::statx(AT_FDCWD, path.c_str(), AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &sx) == 0 &&
        (sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT))
        return sx.stx_attributes & STATX_ATTR_MOUNT_ROOT;
    return false;
}

namespace {

// open_tree(CLONE) + mount_setattr(IDMAP) + move_mount: `src` shown with the namespace's ids at `dst`.
Status mountIdmapped(const std::string& src, const std::string& dst, int usernsFd) {
    ASSIGN_OR_RETURN(UniqueFd tree, namespaces::cloneMountTree(AT_FDCWD, src, false));
    TRY_CTX(namespaces::idmapMountTree(tree.get(), usernsFd, false), "template layer ", src);
    if (::mkdir(dst.c_str(), 0700) < 0 && errno != EEXIST) return Error::fromErrno("mkdir ", dst);
    UniqueFd target(::open(dst.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!target) return Error::fromErrno("open ", dst);
    return namespaces::moveMountTree(tree.get(), target.get(), dst);
}

void detachLowers(const DataLayout& d) {
    auto entries = fs::listDir(d.lowerRoot());
    if (!entries) return;
    for (const auto& e : *entries) {
        std::string p = d.lowerRoot() + "/" + e;
        while (isMountPoint(p) && ::umount2(p.c_str(), MNT_DETACH) == 0) {
        }
        ::rmdir(p.c_str());
    }
    ::rmdir(d.lowerRoot().c_str());
}

}  // namespace

Status mountRootfs(const DataLayout& d, const std::vector<std::string>& lowers, const IdRange& ids) {
    if (lowers.empty()) return Error::make("the template has no layers");
    if (isMountPoint(d.rootfs())) return Error::make(d.rootfs(), " is already mounted");
    // The VPS's ids: 0..size-1 inside are base..base+size-1 on the host, uids and gids alike.
    std::vector<namespaces::IdMap> map = {{0, ids.base, ids.size}};
    ASSIGN_OR_RETURN(UniqueFd userns, namespaces::makeUserNamespaceFd(map, map));
    detachLowers(d);  // a crash's leftovers
    TRY(fs::mkdirAll(d.lowerRoot(), 0700));
    ScopeGuard lowersGuard([&] { detachLowers(d); });
    std::vector<std::string> mapped;
    for (size_t i = 0; i < lowers.size(); i++) {
        std::string dst = strCat(d.lowerRoot(), "/", i);
        TRY(mountIdmapped(lowers[i], dst, userns.get()));
        mapped.push_back(dst);
    }
    if (::mkdir(d.rootfs().c_str(), 0755) < 0 && errno != EEXIST) return Error::fromErrno("mkdir ", d.rootfs());
    TRY_CTX(images::mountOverlay(mapped, d.upper(), d.work(), d.rootfs()), "VPS rootfs");
    // The overlay keeps private clones of its layers: the idmapped mounts can go.
    return {};
}

Status unmountRootfs(const DataLayout& d) {
    detachLowers(d);
    while (isMountPoint(d.rootfs())) {
        if (::umount2(d.rootfs().c_str(), MNT_DETACH) < 0) return Error::fromErrno("unmount ", d.rootfs());
    }
    return {};
}

InitInfo initFor(const std::string& path, const std::string& resolved) {
    InitInfo i;
    i.path = path;
    std::string base = resolved.substr(resolved.rfind('/') + 1);
    if (base == "busybox" || resolved.find("busybox") != std::string::npos) {
        i.kind = "busybox";
        i.stopSignal = "SIGUSR2";
    } else if (base == "systemd" || resolved.find("/systemd/") != std::string::npos) {
        i.kind = "systemd";
        i.stopSignal = "SIGRTMIN+4";
    } else {
        i.kind = "sysvinit";
        i.stopSignal = "SIGPWR";
    }
    return i;
}

namespace {

bool isWhiteout(const struct stat& st) { return S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0); }

// The first layer (topmost first) holding `rel` (an absolute path inside the image), without
// following its last component; "" when missing or whited out.
std::string findInLayers(const std::vector<std::string>& lowers, const std::string& rel, struct stat& st) {
    for (const auto& l : lowers) {
        std::string p = l + rel;
        if (::lstat(p.c_str(), &st) == 0) return isWhiteout(st) ? "" : p;
    }
    return "";
}

}  // namespace

Result<InitInfo> detectInit(const std::vector<std::string>& lowers, const std::string& initPath) {
    // Resolve component by component, following symlinks inside the image (merged /usr:
    // /sbin -> usr/sbin, then /usr/sbin/init -> ../lib/systemd/systemd).
    std::vector<std::string> todo = fs::split(initPath, '/');
    std::string cur;
    int hops = 0;
    for (size_t i = 0; i < todo.size(); i++) {
        const std::string& comp = todo[i];
        if (comp.empty() || comp == ".") continue;
        if (comp == "..") {
            cur = cur.substr(0, cur.rfind('/'));
            continue;
        }
        std::string next = cur + "/" + comp;
        struct stat st;
        std::string host = findInLayers(lowers, next, st);
        if (host.empty()) return Error::make("the template has no ", initPath, " (", next, " is missing)");
        if (S_ISLNK(st.st_mode)) {
            if (++hops > 40) return Error::make("the template's ", initPath, ": too many symlinks");
            char buf[PATH_MAX];
            ssize_t n = ::readlink(host.c_str(), buf, sizeof buf - 1);
            if (n < 0) return Error::fromErrno("readlink ", host);
            std::string target(buf, static_cast<size_t>(n));
            std::vector<std::string> rest(todo.begin() + static_cast<long>(i) + 1, todo.end());
            std::vector<std::string> expanded = fs::split(target, '/');
            if (!target.empty() && target[0] == '/') cur.clear();
            expanded.insert(expanded.end(), rest.begin(), rest.end());
            todo = std::move(expanded);
            i = static_cast<size_t>(-1);
            continue;
        }
        cur = next;
    }
    struct stat st;
    std::string host = findInLayers(lowers, cur, st);
    if (host.empty() || !S_ISREG(st.st_mode) || !(st.st_mode & 0111))
        return Error::make("the template's ", initPath, " (", cur, ") is not an executable file");
    return initFor(initPath, cur);
}

}  // namespace berth::vps
