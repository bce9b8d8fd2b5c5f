#include "namespaces/namespaces.hpp"

#include <fcntl.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/fs.hpp"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif

namespace berth::namespaces {

const std::vector<Kind>& kinds() {
    static const std::vector<Kind> k = {
        {"user", "user", CLONE_NEWUSER},     {"ipc", "ipc", CLONE_NEWIPC},
        {"uts", "uts", CLONE_NEWUTS},        {"network", "net", CLONE_NEWNET},
        {"pid", "pid", CLONE_NEWPID},        {"cgroup", "cgroup", CLONE_NEWCGROUP},
        {"time", "time", CLONE_NEWTIME},     {"mount", "mnt", CLONE_NEWNS},
    };
    return k;
}

const Kind* kindBySpecName(const std::string& name) {
    for (auto& k : kinds())
        if (name == k.specName) return &k;
    return nullptr;
}

Result<UniqueFd> openNamespace(const std::string& path, const Kind& kind) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return Error::fromErrno("open ", kind.specName, " namespace ", path);
    struct statfs sfs;
    if (::fstatfs(fd.get(), &sfs) < 0) return Error::fromErrno("statfs ", path);
    if (sfs.f_type != NSFS_MAGIC && sfs.f_type != 0x9fa0 /* procfs */)
        return Error::make(kind.specName, " namespace path ", path, " is not a namespace file");
    int type = ::ioctl(fd.get(), NS_GET_NSTYPE);
    if (type >= 0 && type != kind.cloneFlag)
        return Error::make(kind.specName, " namespace path ", path,
                           " is a namespace of another kind");
    return fd;
}

Status joinNamespace(int fd, const Kind& kind) {
    if (::setns(fd, kind.cloneFlag) < 0) return Error::fromErrno("join ", kind.specName, " namespace");
    return {};
}

std::string formatIdMap(const std::vector<IdMap>& maps) {
    std::string out;
    for (auto& m : maps) out += strCat(m.containerID, " ", m.hostID, " ", m.size, "\n");
    return out;
}

namespace {

// Only our own id, once: what an unprivileged process may map by writing the map file itself.
bool onlySelf(const std::vector<IdMap>& maps, uint32_t self) {
    return maps.size() == 1 && maps[0].hostID == self && maps[0].size == 1;
}

// newuidmap/newgidmap (setuid, from shadow's uidmap package) write maps the user's
// /etc/subuid and /etc/subgid ranges allow, as runc falls back to them.
Status runMapTool(const char* tool, pid_t child, const std::vector<IdMap>& maps) {
    std::vector<std::string> args = {tool, std::to_string(child)};
    for (auto& m : maps) {
        args.push_back(std::to_string(m.containerID));
        args.push_back(std::to_string(m.hostID));
        args.push_back(std::to_string(m.size));
    }
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = ::fork();
    if (pid < 0) return Error::fromErrno("fork for ", tool);
    if (pid == 0) {
        ::execvp(tool, argv.data());
        _exit(127);
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return Error::fromErrno("waitpid ", tool);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
        return Error::make("rootless: mapping more than the user's own id needs ", tool,
                           " (Debian's uidmap package)");
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return Error::make("rootless: ", tool, " failed (are the ids in /etc/sub", tool[3] == 'u' ? "uid" : "gid",
                           " for this user?)");
    return {};
}

}  // namespace

bool operator==(const IdMap& a, const IdMap& b) {
    return a.containerID == b.containerID && a.hostID == b.hostID && a.size == b.size;
}

std::vector<IdMapWrite> planIdMapWrites(const std::vector<IdMap>& uids,
                                        const std::vector<IdMap>& gids, uid_t euid, gid_t egid) {
    using How = IdMapWrite::How;
    std::vector<IdMapWrite> out;
    if (euid == 0) {
        // One write each: the kernel accepts a map file exactly once.
        if (!uids.empty()) out.push_back({How::File, "uid_map", formatIdMap(uids), {}});
        if (!gids.empty()) out.push_back({How::File, "gid_map", formatIdMap(gids), {}});
        return out;
    }
    // Unprivileged (rootless): our own id is ours to map, with setgroups denied first for the
    // gid; more goes through the setuid helpers.
    if (!uids.empty()) {
        if (onlySelf(uids, euid)) out.push_back({How::File, "uid_map", formatIdMap(uids), {}});
        else out.push_back({How::Tool, "newuidmap", "", uids});
    }
    if (!gids.empty()) {
        if (onlySelf(gids, egid)) {
            out.push_back({How::File, "setgroups", "deny", {}});
            out.push_back({How::File, "gid_map", formatIdMap(gids), {}});
        } else {
            out.push_back({How::Tool, "newgidmap", "", gids});
        }
    }
    return out;
}

Status applyIdMapWritesFromParent(pid_t child, const std::vector<IdMapWrite>& writes) {
    std::string base = "/proc/" + std::to_string(child) + "/";
    for (auto& w : writes) {
        if (w.how == IdMapWrite::How::Tool) {
            TRY(runMapTool(w.target.c_str(), child, w.maps));
            continue;
        }
        const char* what = w.target == "uid_map"   ? "write uid map"
                           : w.target == "gid_map" ? "write gid map"
                                                   : "deny setgroups";
        TRY_CTX(fs::writeFile(base + w.target, w.text), what);
    }
    return {};
}

Status writeIdMapsFromParent(pid_t child, const std::vector<IdMap>& uids,
                             const std::vector<IdMap>& gids) {
    return applyIdMapWritesFromParent(child, planIdMapWrites(uids, gids, ::geteuid(), ::getegid()));
}

Status newTimeNamespaceForChildren(const std::map<std::string, TimeOffset>& offsets) {
    if (::unshare(CLONE_NEWTIME) < 0) return Error::fromErrno("create time namespace");
    std::string text;
    for (auto& [clock, off] : offsets) text += strCat(clock, " ", off.secs, " ", off.nanosecs, "\n");
    if (!text.empty())
        TRY_CTX(fs::writeFileOnFs("/proc/self/timens_offsets", text, PROC_SUPER_MAGIC, "procfs"),
                "set time namespace offsets");
    return {};
}

ForChildren::~ForChildren() {
    if (restorePid_) ::setns(restorePid_.get(), CLONE_NEWPID);
    if (restoreTime_) ::setns(restoreTime_.get(), CLONE_NEWTIME);
}

Status ForChildren::join(int nsfd, const Kind& kind) {
    UniqueFd& restore = kind.cloneFlag == CLONE_NEWPID ? restorePid_ : restoreTime_;
    UniqueFd own(::open(strCat("/proc/self/ns/", kind.procName).c_str(), O_RDONLY | O_CLOEXEC));
    if (!own) return Error::fromErrno("open /proc/self/ns/", kind.procName);
    TRY(joinNamespace(nsfd, kind));
    if (!restore) restore = std::move(own);
    return {};
}

Status ForChildren::newTime(const std::map<std::string, TimeOffset>& offsets) {
    UniqueFd own(::open("/proc/self/ns/time", O_RDONLY | O_CLOEXEC));
    if (!own) return Error::fromErrno("open /proc/self/ns/time");
    TRY(newTimeNamespaceForChildren(offsets));
    if (!restoreTime_) restoreTime_ = std::move(own);
    return {};
}

uint64_t namespaceInode(pid_t pid, const char* procName) {
    struct stat st;
    std::string p = strCat("/proc/", pid, "/ns/", procName);
    if (::stat(p.c_str(), &st) < 0) return 0;
    return st.st_ino;
}

}  // namespace berth::namespaces
