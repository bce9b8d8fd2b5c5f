#include "vm/wire/guest_mounts.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>

#include "common/fs.hpp"
#include "common/unique_fd.hpp"
#include "vm/wire/shares.hpp"

namespace berth::vm::wire {
namespace {

constexpr const char* kShm = "/dev/shm";

// A bind's options that still mean something on a tmpfs of the guest's own.
std::vector<std::string> tmpfsOptionsOfBind(const std::vector<std::string>& opts) {
    std::vector<std::string> out;
    for (const auto& o : opts)
        if (o == "ro" || o == "rw" || o == "nosuid" || o == "nodev" || o == "noexec" || o == "suid" || o == "dev" ||
            o == "exec")
            out.push_back(o);
    return out;
}

// /dev/shm bound from a host tmpfs (podman's, containerd's sandbox shm): a guest tmpfs of the
// same size. A source that is not a tmpfs gives the tmpfs default (half the guest's RAM).
Result<GuestFsMount> shmFromBind(const runtime::spec::Mount& m, const std::string& bundle) {
    GuestFsMount g{kShm, "tmpfs", "shm", tmpfsOptionsOfBind(m.options), 0};
    std::string source = m.source.empty() || m.source[0] == '/' ? m.source : fs::joinPath(bundle, m.source);
    struct statfs sfs;
    if (source.empty() || ::statfs(source.c_str(), &sfs) < 0)
        return Error::fromErrno("bind mount source ", m.source, " (for ", m.destination, ")");
    if (sfs.f_type == TMPFS_MAGIC)
        g.options.push_back(strCat("size=", static_cast<uint64_t>(sfs.f_blocks) * static_cast<uint64_t>(sfs.f_bsize)));
    g.options.push_back("mode=1777");
    return g;
}

bool guestProvides(const std::string& dst) {
    for (const char* p : {"/proc", "/sys", "/dev"})
        if (dst == p || dst.rfind(std::string(p) + "/", 0) == 0) return true;
    return false;
}

// What is at `dst` inside the rootfs (the last component not followed); false when nothing.
bool statInRoot(int rootFd, const std::string& dst, struct stat& st) {
    struct open_how how = {};
    how.flags = O_PATH | O_NOFOLLOW | O_CLOEXEC;
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
    std::string rel = dst.substr(1).empty() ? "." : dst.substr(1);
    UniqueFd fd(static_cast<int>(::syscall(SYS_openat2, rootFd, rel.c_str(), &how, sizeof how)));
    return fd && ::fstat(fd.get(), &st) == 0;
}

}  // namespace

Status checkBindDestinations(const std::vector<runtime::spec::Mount>& mounts, const std::string& bundle,
                             const std::string& rootfs) {
    UniqueFd root(::open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root) return {};  // the rootfs's own checks say what is wrong with it
    for (const auto& m : mounts) {
        std::string dst = fs::cleanPath(m.destination);
        if (!isBindMount(m) || guestProvides(dst)) continue;
        std::string source = m.source.empty() || m.source[0] == '/' ? m.source : fs::joinPath(bundle, m.source);
        struct stat src, at;
        if (source.empty() || ::stat(source.c_str(), &src) < 0 || !statInRoot(root.get(), dst, at) || S_ISLNK(at.st_mode))
            continue;  // a missing source is planShares's error; a missing destination is made
        if (!S_ISDIR(src.st_mode) && S_ISDIR(at.st_mode))
            return Error(ENOTDIR, strCat("bind mount source ", m.source, " (for ", m.destination,
                                         "): a file onto a directory of the rootfs"));
        if (S_ISDIR(src.st_mode) && !S_ISDIR(at.st_mode))
            return Error(ENOTDIR, strCat("bind mount source ", m.source, " (for ", m.destination,
                                         "): a directory onto a file of the rootfs"));
    }
    return {};
}

Result<std::vector<GuestFsMount>> planGuestFsMounts(const std::vector<runtime::spec::Mount>& mounts,
                                                    const std::string& bundle) {
    std::vector<GuestFsMount> out;
    for (size_t i = 0; i < mounts.size(); i++) {
        const runtime::spec::Mount& m = mounts[i];
        std::string dst = fs::cleanPath(m.destination);  // relative is under "/", as runc reads it
        if (isBindMount(m)) {
            if (dst == kShm) {
                ASSIGN_OR_RETURN(GuestFsMount g, shmFromBind(m, bundle));
                g.index = i;
                out.push_back(std::move(g));
            }
            continue;
        }
        // The guest's cgroup view is the container's own cgroup, mounted by the agent in the
        // workload's cgroup namespace (guest_cgroup.cpp). Mounted here first and read-only, the
        // guest's one cgroup2 superblock would be created read-only for the agent too.
        if (m.type == "proc" || m.type == "cgroup" || m.type == "cgroup2") continue;
        out.push_back(GuestFsMount{dst, m.type, m.source.empty() ? m.type : m.source, m.options, i});
    }
    return out;
}

bool hasFsMount(const std::vector<GuestFsMount>& mounts, const std::string& destination) {
    return std::any_of(mounts.begin(), mounts.end(), [&](const GuestFsMount& m) { return m.destination == destination; });
}

nlohmann::json toJson(const std::vector<GuestFsMount>& mounts) {
    nlohmann::json a = nlohmann::json::array();
    for (auto& m : mounts)
        a.push_back({{"destination", m.destination}, {"type", m.type}, {"source", m.source}, {"options", m.options}, {"index", m.index}});
    return a;
}

Result<std::vector<GuestFsMount>> guestFsMountsFromJson(const nlohmann::json& j) {
    std::vector<GuestFsMount> out;
    if (j.is_null()) return out;
    if (!j.is_array()) return Error(EINVAL, "guest config: filesystems must be an array");
    for (auto& e : j) {
        if (!e.is_object()) return Error(EINVAL, "guest config: a filesystem must be an object");
        GuestFsMount m{e.value("destination", std::string()), e.value("type", std::string()),
                       e.value("source", std::string()), e.value("options", std::vector<std::string>{}),
                       e.value("index", size_t{0})};
        if (m.type.empty() || m.destination.empty() || m.destination[0] != '/' || fs::cleanPath(m.destination) != m.destination)
            return Error(EINVAL, strCat("guest config: bad filesystem ", e.dump()));
        out.push_back(std::move(m));
    }
    return out;
}

nlohmann::json toJson(const std::vector<runtime::spec::Device>& devices) {
    nlohmann::json a = nlohmann::json::array();
    for (auto& d : devices) {
        nlohmann::json e = {{"type", d.type}, {"path", d.path}, {"major", d.major}, {"minor", d.minor}};
        if (d.fileMode) e["fileMode"] = *d.fileMode;
        if (d.uid) e["uid"] = *d.uid;
        if (d.gid) e["gid"] = *d.gid;
        a.push_back(std::move(e));
    }
    return a;
}

Result<std::vector<runtime::spec::Device>> guestDevicesFromJson(const nlohmann::json& j) {
    std::vector<runtime::spec::Device> out;
    if (j.is_null()) return out;
    if (!j.is_array()) return Error(EINVAL, "guest config: devices must be an array");
    for (auto& e : j) {  // type mismatches throw; guestProcessFromJson turns them into an Error
        runtime::spec::Device d;
        d.type = e.at("type").get<std::string>();
        d.path = e.at("path").get<std::string>();
        d.major = e.value("major", int64_t{0});
        d.minor = e.value("minor", int64_t{0});
        if (e.contains("fileMode")) d.fileMode = e["fileMode"].get<uint32_t>();
        if (e.contains("uid")) d.uid = e["uid"].get<uint32_t>();
        if (e.contains("gid")) d.gid = e["gid"].get<uint32_t>();
        out.push_back(std::move(d));
    }
    return out;
}

Result<std::string> sysctlPath(const std::string& key) {
    size_t first = key.find_first_of("./");
    char sep = first != std::string::npos && key[first] == '/' ? '/' : '.';
    std::string out;
    for (std::string part : fs::split(key, sep)) {
        // Dotted, a '/' stands for a dot in a name (runc's "net.ipv4.conf.eth0/100.forwarding").
        if (sep == '.') std::replace(part.begin(), part.end(), '/', '.');
        if (part.empty() || part == "." || part == "..")
            return Error(EINVAL, strCat("sysctl \"", key, "\": not a sysctl name")).hideErrno();
        if (!out.empty()) out += '/';
        out += part;
    }
    if (out.empty()) return Error(EINVAL, "sysctl \"\": not a sysctl name").hideErrno();
    return out;
}

}  // namespace berth::vm::wire
