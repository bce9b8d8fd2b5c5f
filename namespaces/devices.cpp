#include "namespaces/devices.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

namespace berth::namespaces {
namespace {

mode_t typeBits(char type) {
    switch (type) {
        case 'b':
            return S_IFBLK;
        case 'p':
            return S_IFIFO;
        default:
            return S_IFCHR;  // 'c' and 'u' (unbuffered character device)
    }
}

Status bindHostDevice(const RootDir& root, int parent, const std::string& name,
                      const DeviceEntry& dev) {
    int created = ::openat(parent, name.c_str(), O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0);
    if (created < 0 && errno != EEXIST) return Error::fromErrno("create ", dev.path);
    if (created >= 0) ::close(created);
    UniqueFd target(::openat(parent, name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
    if (!target) return Error::fromErrno("open ", dev.path);
    struct stat st;
    if (::fstat(target.get(), &st) < 0) return Error::fromErrno("stat ", dev.path);
    if (S_ISLNK(st.st_mode) || S_ISDIR(st.st_mode))
        return Error(EEXIST, strCat(dev.path, " exists and is not a file"));
    TRY(root.pathInside(target.get()));
    if (::mount(dev.path.c_str(), procFdPath(target.get()).c_str(), nullptr, MS_BIND, nullptr) < 0)
        return Error::fromErrno("bind device ", dev.path, " from the host");
    return {};
}

Status mknodDevice(int parent, const std::string& name, const DeviceEntry& dev) {
    const mode_t perm = dev.fileMode & 07777;
    dev_t num = dev.type == 'p' ? 0 : makedev(dev.major, dev.minor);
    if (::mknodat(parent, name.c_str(), typeBits(dev.type) | perm, num) < 0)
        return Error::fromErrno("mknod ", dev.path, " ", dev.type, " ", dev.major, ":", dev.minor);
    // The node was just made by us, so following a symlink is not possible here.
    if (::fchmodat(parent, name.c_str(), perm, 0) < 0) return Error::fromErrno("chmod ", dev.path);
    if (::fchownat(parent, name.c_str(), dev.uid, dev.gid, AT_SYMLINK_NOFOLLOW) < 0)
        return Error::fromErrno("chown ", dev.path, " to ", dev.uid, ":", dev.gid);
    return {};
}

}  // namespace

Status makeDevice(const RootDir& root, const MakeDevice& d) {
    ASSIGN_OR_RETURN(auto parent, root.resolveParent(d.device.path, true));
    auto& [dirFd, name] = parent;
    return makeDeviceIn(root, dirFd.get(), name, d);
}

Status makeDeviceIn(const RootDir& root, int dirFd, const std::string& name, const MakeDevice& d) {
    if (d.bindFromHost) return bindHostDevice(root, dirFd, name, d.device);
    Status made = mknodDevice(dirFd, name, d.device);
    if (made.ok()) return {};
    if (made.error().err() == EEXIST) return {};
    if (made.error().err() == EPERM) return bindHostDevice(root, dirFd, name, d.device);
    return made;
}

}  // namespace berth::namespaces
