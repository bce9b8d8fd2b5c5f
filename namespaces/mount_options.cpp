#include "namespaces/mount_options.hpp"

#include <sys/mount.h>
#include <sys/statvfs.h>

#include <map>
#include <string>

#include "common/error.hpp"
#include "namespaces/mount.hpp"

namespace berth::namespaces {
namespace {

// The kernel does not export ST_NOSYMFOLLOW through glibc 2.36's <sys/statvfs.h>.
constexpr unsigned long kStNoSymFollow = 0x2000;
constexpr unsigned long kAtimeModes = MS_NOATIME | MS_RELATIME | MS_STRICTATIME;
constexpr unsigned long kAtimeFlags = kAtimeModes | MS_NODIRATIME;

struct FlagOption {
    bool clear;
    unsigned long flag;
};

// runc's table (libcontainer/specconv), which mirrors mount(8)'s option names.
const std::map<std::string, FlagOption>& flagOptions() {
    static const std::map<std::string, FlagOption> table = {
        {"acl", {false, MS_POSIXACL}},
        {"noacl", {true, MS_POSIXACL}},
        {"async", {true, MS_SYNCHRONOUS}},
        {"sync", {false, MS_SYNCHRONOUS}},
        {"atime", {true, MS_NOATIME}},
        {"noatime", {false, MS_NOATIME}},
        {"dev", {true, MS_NODEV}},
        {"nodev", {false, MS_NODEV}},
        {"diratime", {true, MS_NODIRATIME}},
        {"nodiratime", {false, MS_NODIRATIME}},
        {"dirsync", {false, MS_DIRSYNC}},
        {"exec", {true, MS_NOEXEC}},
        {"noexec", {false, MS_NOEXEC}},
        {"iversion", {false, MS_I_VERSION}},
        {"noiversion", {true, MS_I_VERSION}},
        {"lazytime", {false, MS_LAZYTIME}},
        {"nolazytime", {true, MS_LAZYTIME}},
        {"loud", {true, MS_SILENT}},
        {"silent", {false, MS_SILENT}},
        {"mand", {false, MS_MANDLOCK}},
        {"nomand", {true, MS_MANDLOCK}},
        {"relatime", {false, MS_RELATIME}},
        {"norelatime", {true, MS_RELATIME}},
        {"strictatime", {false, MS_STRICTATIME}},
        {"nostrictatime", {true, MS_STRICTATIME}},
        {"suid", {true, MS_NOSUID}},
        {"nosuid", {false, MS_NOSUID}},
        {"nosymfollow", {false, MS_NOSYMFOLLOW}},
        {"remount", {false, MS_REMOUNT}},
        {"ro", {false, MS_RDONLY}},
        {"rw", {true, MS_RDONLY}},
    };
    return table;
}

struct AttrOption {
    bool clear;
    uint64_t attr;
};

const std::map<std::string, AttrOption>& recursiveAttrOptions() {
    static const std::map<std::string, AttrOption> table = {
        {"rro", {false, MOUNT_ATTR_RDONLY}},
        {"rrw", {true, MOUNT_ATTR_RDONLY}},
        {"rnosuid", {false, MOUNT_ATTR_NOSUID}},
        {"rsuid", {true, MOUNT_ATTR_NOSUID}},
        {"rnodev", {false, MOUNT_ATTR_NODEV}},
        {"rdev", {true, MOUNT_ATTR_NODEV}},
        {"rnoexec", {false, MOUNT_ATTR_NOEXEC}},
        {"rexec", {true, MOUNT_ATTR_NOEXEC}},
        {"rnodiratime", {false, MOUNT_ATTR_NODIRATIME}},
        {"rdiratime", {true, MOUNT_ATTR_NODIRATIME}},
        {"rrelatime", {false, MOUNT_ATTR_RELATIME}},
        {"rnorelatime", {true, MOUNT_ATTR_RELATIME}},
        {"rnoatime", {false, MOUNT_ATTR_NOATIME}},
        {"ratime", {true, MOUNT_ATTR_NOATIME}},
        {"rstrictatime", {false, MOUNT_ATTR_STRICTATIME}},
        {"rnostrictatime", {true, MOUNT_ATTR_STRICTATIME}},
        {"rnosymfollow", {false, MOUNT_ATTR_NOSYMFOLLOW}},
        {"rsymfollow", {true, MOUNT_ATTR_NOSYMFOLLOW}},
    };
    return table;
}

void applyFlagOption(MountOptions& out, const FlagOption& f) {
    if (f.clear) {
        out.flags &= ~f.flag;
        out.clearFlags |= f.flag;
    } else {
        out.flags |= f.flag;
        out.clearFlags &= ~f.flag;
    }
}

// The atime modes (MOUNT_ATTR_RELATIME is 0, NOATIME, STRICTATIME) are an enum inside the
// MOUNT_ATTR__ATIME field, not bits.
bool isAtimeMode(uint64_t attr) {
    return (attr & MOUNT_ATTR__ATIME) == attr;
}

void applyAttrOption(MountOptions& out, const AttrOption& a) {
    if (isAtimeMode(a.attr)) {
        // mount_setattr(2) changes the atime mode only with all of MOUNT_ATTR__ATIME in
        // attr_clr (a partial field is EINVAL), so a cleared mode ("ratime") falls back to
        // the kernel default, relatime, rather than failing as runc's table would.
        out.recAttrSet &= ~static_cast<uint64_t>(MOUNT_ATTR__ATIME);
        out.recAttrClr |= MOUNT_ATTR__ATIME;
        if (!a.clear) out.recAttrSet |= a.attr;
        return;
    }
    if (a.clear) {
        out.recAttrClr |= a.attr;
        out.recAttrSet &= ~a.attr;
    } else {
        out.recAttrSet |= a.attr;
        out.recAttrClr &= ~a.attr;
    }
}

}  // namespace

unsigned long propagationFlags(const std::string& name) {
    static const std::map<std::string, unsigned long> table = {
        {"private", MS_PRIVATE},       {"rprivate", MS_PRIVATE | MS_REC},
        {"slave", MS_SLAVE},           {"rslave", MS_SLAVE | MS_REC},
        {"shared", MS_SHARED},         {"rshared", MS_SHARED | MS_REC},
        {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
    };
    auto it = table.find(name);
    return it == table.end() ? 0 : it->second;
}

MountOptions parseMountOptions(const std::vector<std::string>& options) {
    MountOptions out;
    std::string data;
    for (const auto& o : options) {
        if (o == "defaults") continue;
        if (o == "bind") {
            out.bind = true;
        } else if (o == "rbind") {
            out.recursiveBind = true;
        } else if (auto f = flagOptions().find(o); f != flagOptions().end()) {
            applyFlagOption(out, f->second);
        } else if (unsigned long p = propagationFlags(o); p != 0) {
            out.propagation = p;
            out.propagationSteps.push_back(p);
        } else if (auto a = recursiveAttrOptions().find(o); a != recursiveAttrOptions().end()) {
            applyAttrOption(out, a->second);
        } else if (o == "tmpcopyup") {
            out.tmpCopyUp = true;
        } else if (o == "idmap" || o == "ridmap") {
            out.idmap = true;
            out.recursiveIdmap = o == "ridmap";
        } else {
            if (!data.empty()) data += ',';
            data += o;
        }
    }
    out.data = std::move(data);
    return out;
}

unsigned long statfsToMountFlags(unsigned long st) {
    struct Pair {
        unsigned long st, ms;
    };
    // See calculate_f_flags() in fs/statfs.c.
    static constexpr Pair pairs[] = {
        {ST_RDONLY, MS_RDONLY},     {ST_NOSUID, MS_NOSUID},
        {ST_NODEV, MS_NODEV},       {ST_NOEXEC, MS_NOEXEC},
        {ST_MANDLOCK, MS_MANDLOCK}, {ST_SYNCHRONOUS, MS_SYNCHRONOUS},
        {ST_NOATIME, MS_NOATIME},   {ST_NODIRATIME, MS_NODIRATIME},
        {ST_RELATIME, MS_RELATIME}, {kStNoSymFollow, MS_NOSYMFOLLOW},
    };
    unsigned long flags = 0;
    for (const auto& p : pairs)
        if ((st & p.st) == p.st) flags |= p.ms;
    if ((flags & kAtimeModes) == 0) flags |= MS_STRICTATIME;
    return flags;
}

std::string mountFlagNames(unsigned long flags) {
    static constexpr struct {
        unsigned long flag;
        const char* name;
    } names[] = {
        {MS_BIND, "bind"},
        {MS_MOVE, "move"},
        {MS_REMOUNT, "remount"},
        {MS_RDONLY, "ro"},
        {MS_NOSUID, "nosuid"},
        {MS_NODEV, "nodev"},
        {MS_NOEXEC, "noexec"},
        {MS_SYNCHRONOUS, "sync"},
        {MS_MANDLOCK, "mand"},
        {MS_DIRSYNC, "dirsync"},
        {MS_NOSYMFOLLOW, "nosymfollow"},
        {MS_NOATIME, "noatime"},
        {MS_NODIRATIME, "nodiratime"},
        {MS_RELATIME, "relatime"},
        {MS_STRICTATIME, "strictatime"},
        {MS_LAZYTIME, "lazytime"},
        {MS_SILENT, "silent"},
        {MS_POSIXACL, "acl"},
        {MS_I_VERSION, "iversion"},
    };
    constexpr unsigned long kPropagation = MS_SHARED | MS_SLAVE | MS_PRIVATE | MS_UNBINDABLE;
    std::string out;
    auto add = [&](const std::string& n) { out += (out.empty() ? "" : ",") + n; };
    if (flags & kPropagation) {
        const char* kind = (flags & MS_SHARED)    ? "shared"
                           : (flags & MS_SLAVE)   ? "slave"
                           : (flags & MS_PRIVATE) ? "private"
                                                  : "unbindable";
        add(strCat((flags & MS_REC) ? "r" : "", kind));
        flags &= ~(kPropagation | static_cast<unsigned long>(MS_REC));
    }
    for (const auto& n : names)
        if (flags & n.flag) {
            add(n.name);
            flags &= ~n.flag;
        }
    if (flags & MS_REC) add("rec");
    flags &= ~static_cast<unsigned long>(MS_REC);
    if (flags != 0) add(strCat("0x", std::hex, flags));
    return out.empty() ? "rw" : out;
}

unsigned long lockableMountFlags() {
    return MS_RDONLY | MS_NODEV | MS_NOEXEC | MS_NOSUID | kAtimeFlags;
}

std::optional<unsigned long> remountRetryFlags(unsigned long requested, unsigned long cleared,
                                               unsigned long current) {
    const unsigned long locked = lockableMountFlags();
    if (current & cleared & locked) return std::nullopt;
    // Kernel quirks (MS_STRICTATIME overriding, MS_NOATIME swallowing MS_RELATIME) would turn a
    // mismatched atime request into a silently different mount: refuse instead.
    if ((requested & kAtimeFlags) != 0 && (requested & kAtimeFlags) != (current & kAtimeFlags))
        return std::nullopt;
    return requested | (current & locked);
}

}  // namespace berth::namespaces
