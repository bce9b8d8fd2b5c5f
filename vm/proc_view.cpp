#include "vm/proc_view.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <map>

#include "common/fs.hpp"
#include "namespaces/mountinfo.hpp"

namespace berth::vm {
namespace {

// Node ids: FUSE_ROOT_ID for /proc; (pid << 8) | kind for a process's nodes; kGlobalStat for
// /proc/stat. Ids are their inode numbers too.
enum Kind : uint64_t { kPidDir = 1, kStat = 2, kStatus = 3, kCmdline = 4, kNsDir = 5, kNsPid = 6 };
constexpr uint64_t kGlobalStat = 0x10;

uint64_t nodeOf(pid_t pid, Kind k) { return (static_cast<uint64_t>(pid) << 8) | k; }
pid_t pidOf(uint64_t node) { return static_cast<pid_t>(node >> 8); }
uint64_t kindOf(uint64_t node) { return node & 0xff; }

// The snapshot's processes are sorted by pid, each once (wire::procSnapshotFromJson).
const wire::ProcFiles* findProc(const wire::ProcSnapshot& s, pid_t pid) {
    if (pid <= 0) return nullptr;
    auto it = std::lower_bound(s.procs.begin(), s.procs.end(), pid, [](const wire::ProcFiles& p, pid_t v) { return p.pid < v; });
    return it != s.procs.end() && it->pid == pid ? &*it : nullptr;
}

// Whether `node` names something in this snapshot.
bool exists(const wire::ProcSnapshot& s, uint64_t node) {
    if (node == FUSE_ROOT_ID || node == kGlobalStat) return true;
    uint64_t k = kindOf(node);
    return k >= kPidDir && k <= kNsPid && findProc(s, pidOf(node));
}

bool isDir(uint64_t node) { return node == FUSE_ROOT_ID || kindOf(node) == kPidDir || kindOf(node) == kNsDir; }

std::string contentOf(const wire::ProcSnapshot& s, uint64_t node) {
    if (node == kGlobalStat) return strCat("btime ", s.btime, "\n");
    const wire::ProcFiles* p = findProc(s, pidOf(node));
    if (!p) return "";
    switch (kindOf(node)) {
        case kStat: return p->stat;
        case kStatus: return p->status;
        case kCmdline: return p->cmdline;
        case kNsPid: return s.pidNs.empty() ? "pid:[0]" : s.pidNs;
        default: return "";
    }
}

struct fuse_attr attrOf(const wire::ProcSnapshot& s, uint64_t node) {
    struct fuse_attr a = {};
    a.ino = node;
    a.nlink = isDir(node) ? 2 : 1;
    a.mode = isDir(node) ? (S_IFDIR | 0555) : kindOf(node) == kNsPid && node != kGlobalStat ? (S_IFLNK | 0777) : (S_IFREG | 0444);
    // Files are read with direct I/O (OPEN's FOPEN_DIRECT_IO), so their size is what READ gives;
    // a link's is its text's.
    a.size = (a.mode & S_IFMT) == S_IFLNK ? contentOf(s, node).size() : 0;
    a.atime = a.mtime = a.ctime = s.btime;
    a.blksize = 4096;
    return a;
}

template <typename T>
std::string bytesOf(const T& v) {
    return std::string(reinterpret_cast<const char*>(&v), sizeof v);
}

std::string reply(uint64_t unique, int error, const std::string& payload = "") {
    struct fuse_out_header h = {};
    h.len = static_cast<uint32_t>(sizeof h + (error ? 0 : payload.size()));
    h.error = -error;
    h.unique = unique;
    return bytesOf(h) + (error ? "" : payload);
}

// A request's fixed-size argument after the header, when there is enough of it.
template <typename T>
bool argOf(const std::string& req, T* out) {
    if (req.size() < sizeof(struct fuse_in_header) + sizeof(T)) return false;
    std::memcpy(out, req.data() + sizeof(struct fuse_in_header), sizeof(T));
    return true;
}

struct Entry {
    std::string name;
    uint64_t node;
};

std::vector<Entry> entriesOf(const wire::ProcSnapshot& s, uint64_t dir) {
    std::vector<Entry> e = {{".", dir}, {"..", FUSE_ROOT_ID}};
    if (dir == FUSE_ROOT_ID) {
        e.push_back({"stat", kGlobalStat});
        for (auto& p : s.procs) e.push_back({std::to_string(p.pid), nodeOf(p.pid, kPidDir)});
    } else if (kindOf(dir) == kPidDir) {
        pid_t pid = pidOf(dir);
        e.push_back({"cmdline", nodeOf(pid, kCmdline)});
        e.push_back({"ns", nodeOf(pid, kNsDir)});
        e.push_back({"stat", nodeOf(pid, kStat)});
        e.push_back({"status", nodeOf(pid, kStatus)});
    } else if (kindOf(dir) == kNsDir) {
        e[1].node = nodeOf(pidOf(dir), kPidDir);
        e.push_back({"pid", nodeOf(pidOf(dir), kNsPid)});
    }
    return e;
}

uint64_t lookup(const wire::ProcSnapshot& s, uint64_t parent, const std::string& name) {
    if (!exists(s, parent) || !isDir(parent)) return 0;
    if (parent == FUSE_ROOT_ID) {
        if (name == "stat") return kGlobalStat;
        if (name.empty() || name.size() > 9 || !std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; }) || name[0] == '0') return 0;
        pid_t pid = static_cast<pid_t>(std::stol(name));
        return findProc(s, pid) ? nodeOf(pid, kPidDir) : 0;
    }
    for (auto& e : entriesOf(s, parent))
        if (e.name == name && e.name != "." && e.name != "..") return e.node;
    return 0;
}

std::string direntsFrom(const std::vector<Entry>& entries, uint64_t offset, uint32_t size) {
    std::string out;
    for (uint64_t i = offset; i < entries.size(); i++) {
        const Entry& e = entries[i];
        struct fuse_dirent d = {};
        d.ino = e.node;
        d.off = i + 1;
        d.namelen = static_cast<uint32_t>(e.name.size());
        d.type = isDir(e.node) ? DT_DIR : kindOf(e.node) == kNsPid && e.node != kGlobalStat ? DT_LNK : DT_REG;
        std::string rec = std::string(reinterpret_cast<const char*>(&d), FUSE_NAME_OFFSET) + e.name;
        rec.resize(FUSE_DIRENT_ALIGN(rec.size()), '\0');
        if (out.size() + rec.size() > size) break;
        out += rec;
    }
    return out;
}

}  // namespace

bool ProcFs::needsSnapshot(const std::string& request) {
    struct fuse_in_header h;
    if (request.size() < sizeof h) return false;
    std::memcpy(&h, request.data(), sizeof h);
    switch (h.opcode) {
        case FUSE_LOOKUP: case FUSE_GETATTR: case FUSE_READ: case FUSE_READDIR: case FUSE_READLINK:
        case FUSE_OPEN: case FUSE_OPENDIR: return true;
        default: return false;
    }
}

std::string ProcFs::answer(const std::string& req, const wire::ProcSnapshot& s) const {
    struct fuse_in_header h;
    if (req.size() < sizeof h) return "";
    std::memcpy(&h, req.data(), sizeof h);
    switch (h.opcode) {
        case FUSE_INIT: {
            // Kernels before 7.36 (5.17) send the 16 bytes up to flags2; older minors take a
            // shorter answer (24 bytes before 7.23, 8 before 7.5), or refuse it as too long.
            struct fuse_init_in in = {};
            size_t have = req.size() - sizeof h;
            if (have < offsetof(struct fuse_init_in, flags2)) return reply(h.unique, EINVAL);
            std::memcpy(&in, req.data() + sizeof h, std::min(have, sizeof in));
            if (in.major != FUSE_KERNEL_VERSION) return reply(h.unique, EPROTO);
            struct fuse_init_out out = {};
            out.major = FUSE_KERNEL_VERSION;
            out.minor = std::min<uint32_t>(in.minor, FUSE_KERNEL_MINOR_VERSION);
            out.max_readahead = in.max_readahead;
            out.max_background = 4;
            out.congestion_threshold = 3;
            out.max_write = 4096;  // nothing is written here
            out.time_gran = 1;
            std::string o = bytesOf(out);
            if (out.minor < 5) o.resize(8);
            else if (out.minor < 23) o.resize(FUSE_COMPAT_22_INIT_OUT_SIZE);
            return reply(h.unique, 0, o);
        }
        case FUSE_FORGET: case FUSE_BATCH_FORGET: case FUSE_INTERRUPT: return "";
        case FUSE_LOOKUP: {
            size_t at = sizeof h;
            std::string name = req.substr(at, req.find('\0', at) == std::string::npos ? std::string::npos : req.find('\0', at) - at);
            uint64_t node = lookup(s, h.nodeid, name);
            if (!node) return reply(h.unique, ENOENT);
            struct fuse_entry_out e = {};
            e.nodeid = node;
            e.generation = 1;
            e.attr = attrOf(s, node);  // entry_valid and attr_valid 0: the kernel asks every time
            return reply(h.unique, 0, bytesOf(e));
        }
        case FUSE_GETATTR: {
            if (!exists(s, h.nodeid)) return reply(h.unique, ENOENT);
            struct fuse_attr_out a = {};
            a.attr = attrOf(s, h.nodeid);
            return reply(h.unique, 0, bytesOf(a));
        }
        case FUSE_OPEN: case FUSE_OPENDIR: {
            if (!exists(s, h.nodeid)) return reply(h.unique, ENOENT);
            bool dir = isDir(h.nodeid);
            if (dir != (h.opcode == FUSE_OPENDIR)) return reply(h.unique, dir ? EISDIR : ENOTDIR);
            struct fuse_open_in in;
            if (argOf(req, &in) && (in.flags & O_ACCMODE) != O_RDONLY) return reply(h.unique, EROFS);
            struct fuse_open_out o = {};
            o.open_flags = dir ? 0 : FOPEN_DIRECT_IO;
            return reply(h.unique, 0, bytesOf(o));
        }
        case FUSE_READ: case FUSE_READDIR: {
            struct fuse_read_in in;
            if (!argOf(req, &in)) return reply(h.unique, EINVAL);
            if (!exists(s, h.nodeid)) return reply(h.unique, ENOENT);
            if (h.opcode == FUSE_READDIR) {
                if (!isDir(h.nodeid)) return reply(h.unique, ENOTDIR);
                return reply(h.unique, 0, direntsFrom(entriesOf(s, h.nodeid), in.offset, in.size));
            }
            if (isDir(h.nodeid)) return reply(h.unique, EISDIR);
            std::string c = contentOf(s, h.nodeid);
            return reply(h.unique, 0, in.offset >= c.size() ? "" : c.substr(in.offset, in.size));
        }
        case FUSE_READLINK:
            if (!exists(s, h.nodeid) || kindOf(h.nodeid) != kNsPid || h.nodeid == kGlobalStat) return reply(h.unique, EINVAL);
            return reply(h.unique, 0, contentOf(s, h.nodeid));
        case FUSE_STATFS: {
            struct fuse_statfs_out o = {};
            o.st.bsize = o.st.frsize = 4096;
            o.st.namelen = 255;
            return reply(h.unique, 0, bytesOf(o));
        }
        case FUSE_RELEASE: case FUSE_RELEASEDIR: case FUSE_FLUSH: case FUSE_DESTROY: return reply(h.unique, 0);
        default: return reply(h.unique, ENOSYS);
    }
}

std::vector<std::string> mountsToDetach(const std::vector<std::string>& mountPoints, const std::vector<std::string>& keep) {
    auto under = namespaces::isPathWithin;
    std::vector<std::string> out;
    for (auto& mp : mountPoints) {
        if (mp == "/" || under(mp, "/proc") || under(mp, "/dev") || under(mp, "/sys")) continue;
        if (std::any_of(keep.begin(), keep.end(), [&](const std::string& k) { return under(k, mp); })) continue;
        out.push_back(mp);
    }
    // Deepest first (a child before its parent); equal depths keep mountinfo's order reversed.
    std::reverse(out.begin(), out.end());
    std::stable_sort(out.begin(), out.end(), [](const std::string& a, const std::string& b) {
        return std::count(a.begin(), a.end(), '/') > std::count(b.begin(), b.end(), '/');
    });
    return out;  // a point listed twice (stacked mounts) is detached twice, the top one first
}

Result<UniqueFd> mountProcView(const std::vector<std::string>& keep) {
    if (::unshare(CLONE_NEWNS) < 0) return Error::fromErrno("unshare the mount namespace");
    if (::mount(nullptr, "/", nullptr, MS_REC | MS_SLAVE, nullptr) < 0) return Error::fromErrno("make the mounts slaves");
    ASSIGN_OR_RETURN(auto mounts, namespaces::readMountInfo());
    std::vector<std::string> points;
    for (auto& m : mounts) points.push_back(m.mountPoint);
    for (auto& mp : mountsToDetach(points, keep)) (void)::umount2(mp.c_str(), MNT_DETACH);  // gone with a parent: fine
    UniqueFd fuse(::open("/dev/fuse", O_RDWR | O_CLOEXEC | O_NONBLOCK));
    if (!fuse) return Error::fromErrno("open /dev/fuse");
    std::string opts = strCat("fd=", fuse.get(), ",rootmode=40555,user_id=0,group_id=0,allow_other,default_permissions");
    if (::mount("berth-proc", "/proc", "fuse", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, opts.c_str()) < 0)
        return Error::fromErrno("mount the container's /proc");
    return fuse;
}

}  // namespace berth::vm
