// The guest side of the spec's bind mounts: each 9p share (vm/wire/shares) mounted once outside
// the rootfs, then its directory — or one file of it, for a file bind such as /etc/hosts —
// bind-mounted onto the destination in the rootfs, then remounted with the bind's own options
// (ro, nosuid, noexec, atime modes and their r* forms) and given its propagation.
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <set>

#include "common/fs.hpp"
#include "common/unique_fd.hpp"
#include "namespaces/mount.hpp"
#include "namespaces/mount_options.hpp"
#include "vm/agent/agent.hpp"

namespace berth::vm::agent {
namespace {

constexpr const char* kSharesDir = "/run/berth/shares";
// cache=none (the default) so each side sees the other's writes at once; a 512 KiB msize for
// fewer round trips per read and write.
constexpr const char* k9pOptions = "trans=virtio,version=9p2000.L,msize=524288,cache=none";
// What a share is mounted with, and so what its binds start with.
constexpr unsigned long kShareFlags = MS_NOSUID | MS_NODEV;
// The per-mount flags a bind remount can set or clear.
constexpr unsigned long kBindFlags =
    MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME | MS_RELATIME | MS_STRICTATIME | MS_NOSYMFOLLOW;

Status mountShare(const std::string& tag, std::set<std::string>& mounted) {
    if (!mounted.insert(tag).second) return {};
    std::string at = strCat(kSharesDir, "/", tag);
    TRY(fs::mkdirAll(at, 0700));
    if (::mount(tag.c_str(), at.c_str(), "9p", MS_NOSUID | MS_NODEV, k9pOptions) < 0)
        return Error::fromErrno("mount the 9p share ", tag, " on ", at);
    return {};
}

// The rootfs is the guest's own copy: a symlink at the destination (Debian's resolv.conf) is
// replaced by the file or directory the bind needs rather than followed out of the rootfs.
Status makeDestination(const std::string& dst, bool file) {
    struct stat st;
    if (::lstat(dst.c_str(), &st) == 0 && S_ISLNK(st.st_mode) && ::unlink(dst.c_str()) < 0)
        return Error::fromErrno("remove the symlink ", dst);
    TRY(fs::mkdirAll(dst.substr(0, dst.rfind('/')), 0755));
    if (!file) return fs::mkdirAll(dst, 0755);
    if (::lstat(dst.c_str(), &st) == 0) return {};
    UniqueFd fd(::open(dst.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
    if (!fd) return Error::fromErrno("create ", dst);
    return {};
}

// mount_setattr's attributes (rro, rnoexec, ...) as the MS_* flag of the same meaning: a share
// has no submounts in the guest, so recursive and plain are the same here.
unsigned long attrsAsFlags(uint64_t attrs) {
    unsigned long f = 0;
    for (auto [attr, flag] : {std::pair<uint64_t, unsigned long>{MOUNT_ATTR_RDONLY, MS_RDONLY}, {MOUNT_ATTR_NOSUID, MS_NOSUID},
                              {MOUNT_ATTR_NODEV, MS_NODEV}, {MOUNT_ATTR_NOEXEC, MS_NOEXEC}, {MOUNT_ATTR_NOATIME, MS_NOATIME},
                              {MOUNT_ATTR_STRICTATIME, MS_STRICTATIME}, {MOUNT_ATTR_NODIRATIME, MS_NODIRATIME}})
        if (attrs & attr) f |= flag;
    return f;
}

// The bind's options over the share's nosuid,nodev — one remount, only when the spec names
// a flag — then each propagation option in order, as runc applies them.
Status applyBindOptions(const wire::GuestMount& m, const std::string& dst) {
    namespaces::MountOptions o = namespaces::parseMountOptions(m.options);
    unsigned long set = (o.flags | attrsAsFlags(o.recAttrSet) | (m.readonly ? MS_RDONLY : 0)) & kBindFlags;
    unsigned long clear = (o.clearFlags | attrsAsFlags(o.recAttrClr)) & kBindFlags & ~set;
    if (set || clear) {
        unsigned long flags = (kShareFlags & ~clear) | set;
        if (::mount(nullptr, dst.c_str(), nullptr, MS_REMOUNT | MS_BIND | flags, nullptr) < 0)
            return Error::fromErrno("remount the bind ", m.destination, " ", namespaces::mountFlagNames(flags));
    }
    for (unsigned long p : o.propagationSteps)
        if (::mount(nullptr, dst.c_str(), nullptr, p, nullptr) < 0)
            return Error::fromErrno("set the propagation of ", m.destination, " to ", namespaces::mountFlagNames(p));
    return {};
}

}  // namespace

Status mountShares(const std::vector<wire::GuestMount>& mounts, const std::string& rootfs, const std::string& sharesDir) {
    std::set<std::string> mounted;
    for (const auto& m : mounts) {
        if (sharesDir.empty()) TRY(mountShare(m.tag, mounted));
        std::string src = strCat(sharesDir.empty() ? kSharesDir : sharesDir, "/", m.tag, m.file.empty() ? "" : "/" + m.file);
        std::string dst = rootfs + m.destination;
        TRY_CTX(makeDestination(dst, !m.file.empty()), "bind mount ", m.destination);
        if (::mount(src.c_str(), dst.c_str(), nullptr, MS_BIND | MS_REC, nullptr) < 0)
            return Error::fromErrno("bind mount ", m.destination, " from share ", m.tag);
        TRY(applyBindOptions(m, dst));
    }
    return {};
}

Status loadOptionalModules() {
    if (kernelParam("berth.rootfs") == "block" && fs::exists("/lib/modules/load-block"))
        TRY(loadModules("/lib/modules/load-block"));
    if (kernelParam("berth.net") == "1" && fs::exists("/lib/modules/load-net")) TRY(loadModules("/lib/modules/load-net"));
    if (kernelParam("berth.balloon") == "1" && fs::exists("/lib/modules/load-balloon"))
        TRY(loadModules("/lib/modules/load-balloon"));
    if (kernelParam("berth.shares") == "1") {
        if (!fs::exists("/lib/modules/load-shares")) return Error(ENOTSUP, "this guest kernel has no 9p modules");
        TRY(loadModules("/lib/modules/load-shares"));
    }
    return {};
}

}  // namespace berth::vm::agent
