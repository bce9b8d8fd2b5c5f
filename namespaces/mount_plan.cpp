#include "namespaces/mount_plan.hpp"

#include <sys/mount.h>

#include <algorithm>
#include <sstream>

#include "common/fs.hpp"
#include "namespaces/mountinfo.hpp"
#include "namespaces/userns_fd.hpp"

namespace berth::namespaces {
namespace {

// What runc gives the mounts it makes up itself (the cgroup tmpfs, cgroupfs in a cgroupns).
constexpr unsigned long kDefaultMountFlags = MS_NOEXEC | MS_NOSUID | MS_NODEV;

// Collects the steps of one config mount, each tagged with the entry it came from.
struct StepList {
    int entry;
    std::vector<MountStep> steps;
    void add(MountOp op) { steps.push_back(MountStep{std::move(op), entry}); }
};

std::string withLabel(const std::string& data, const RootfsConfig& cfg, const PlanInputs& in) {
    if (cfg.mountLabel.empty() || !in.selinuxEnabled) return data;
    std::string ctx = strCat("context=\"", cfg.mountLabel, "\"");
    return data.empty() ? ctx : data + "," + ctx;
}

void addPropagationAndAttrs(StepList& s, const std::string& dest, const MountOptions& o) {
    for (unsigned long p : o.propagationSteps) s.add(SetPropagation{dest, p});
    if (o.recAttrSet != 0 || o.recAttrClr != 0)
        s.add(SetRecursiveAttr{dest, o.recAttrSet, o.recAttrClr});
}

// A bind keeps the source mount's flags; only a remount applies the requested ones. Skipped
// when nothing was asked for, so a plain bind of a locked mount works in a user namespace.
void addBind(StepList& s, const std::string& dest, const std::string& source, bool recursive,
             const MountOptions& o, int detached = -1) {
    s.add(BindMount{dest, source, recursive, detached});
    for (unsigned long p : o.propagationSteps) s.add(SetPropagation{dest, p});
    unsigned long flags = o.flags & ~static_cast<unsigned long>(MS_REMOUNT);
    if (flags != 0 || o.clearFlags != 0) s.add(Remount{dest, flags, o.clearFlags});
    if (o.recAttrSet != 0 || o.recAttrClr != 0)
        s.add(SetRecursiveAttr{dest, o.recAttrSet, o.recAttrClr});
}

// Without a network namespace sysfs cannot be mounted, so the host's /sys is bound (runc).
// The ro/nosuid/nodev/noexec asked for are applied recursively too: a plain remount would
// leave the host's submounts (securityfs, debugfs, ...) writable inside the container.
void addHostSysBind(StepList& s, const std::string& dest, MountOptions o) {
    static constexpr struct {
        unsigned long ms;
        uint64_t attr;
    } pairs[] = {{MS_RDONLY, MOUNT_ATTR_RDONLY},
                 {MS_NOSUID, MOUNT_ATTR_NOSUID},
                 {MS_NODEV, MOUNT_ATTR_NODEV},
                 {MS_NOEXEC, MOUNT_ATTR_NOEXEC}};
    for (const auto& p : pairs)
        if (o.flags & p.ms) o.recAttrSet |= p.attr;
    addBind(s, dest, "/sys", true, o);
}

void addCgroupV1(StepList& s, const RootfsConfig& cfg, const std::string& dest,
                 const MountOptions& o, const PlanInputs& in) {
    const CgroupView& view = cfg.cgroups;
    s.add(FsMount{dest, "tmpfs", "tmpfs", kDefaultMountFlags, withLabel("mode=755", cfg, in)});
    for (unsigned long p : o.propagationSteps) s.add(SetPropagation{dest, p});
    for (const auto& h : view.v1) {
        std::string sub = fs::joinPath(dest, h.name);
        if (view.cgroupNamespace) {
            // A named hierarchy shows its name as the source, as the host's mount does.
            std::string source = "cgroup";
            for (const auto& opt : fs::split(h.options, ','))
                if (opt.rfind("name=", 0) == 0) source = opt.substr(5);
            s.add(FsMount{sub, "cgroup", source, kDefaultMountFlags | (o.flags & MS_RDONLY),
                          h.options});
        } else {
            addBind(s, sub, h.hostPath, true, o);
        }
    }
    for (const auto& [link, target] : view.symlinks)
        s.add(MakeSymlink{fs::joinPath(dest, link), target});
    // The tmpfs is written (mkdir, symlinks) above, so it turns read-only last.
    if (o.flags & MS_RDONLY) s.add(Remount{dest, kDefaultMountFlags | MS_RDONLY});
    if (o.recAttrSet != 0 || o.recAttrClr != 0)
        s.add(SetRecursiveAttr{dest, o.recAttrSet, o.recAttrClr});
}

void addCgroupV2(StepList& s, const RootfsConfig& cfg, const MountEntry& m, const std::string& dest,
                 const MountOptions& o) {
    const CgroupView& view = cfg.cgroups;
    if (view.cgroupNamespace) {
        s.add(FsMount{dest, "cgroup2", m.source.empty() ? "cgroup2" : m.source, o.flags, o.data});
        addPropagationAndAttrs(s, dest, o);
        return;
    }
    // Without a cgroup namespace a cgroup2 mount would show the host's whole tree.
    addBind(s, dest, view.v2HostPath.empty() ? "/sys/fs/cgroup" : view.v2HostPath, false, o);
}

void addFilesystem(StepList& s, const RootfsConfig& cfg, const MountEntry& m,
                   const std::string& dest, const MountOptions& o, const PlanInputs& in) {
    FsMount f;
    f.destination = dest;
    f.fsType = m.type;
    f.source = m.source.empty() ? m.type : m.source;
    f.flags = o.flags;
    bool tmpfs = m.type == "tmpfs";
    // Devices and modes are set up after the mount; finalize makes these read-only.
    if (tmpfs || dest == "/dev") f.flags &= ~static_cast<unsigned long>(MS_RDONLY);
    // proc and sysfs cannot be labeled; mqueue is labeled per file by runc, not at mount.
    bool labeled = m.type != "proc" && m.type != "sysfs" && m.type != "mqueue";
    f.data = labeled ? withLabel(o.data, cfg, in) : o.data;
    f.keepMode = tmpfs;
    f.copyUp = tmpfs && o.tmpCopyUp;
    f.noSymlinks = m.type == "proc" || m.type == "sysfs";
    s.add(std::move(f));
    addPropagationAndAttrs(s, dest, o);
}

DeviceEntry charDevice(const char* path, int64_t major, int64_t minor) {
    DeviceEntry d;
    d.type = 'c';
    d.path = path;
    d.major = major;
    d.minor = minor;
    d.fileMode = 0666;
    return d;
}

Status validateDevice(const DeviceEntry& d) {
    if (d.type != 'c' && d.type != 'b' && d.type != 'u' && d.type != 'p')
        return Error(EINVAL, strCat("device ", d.path, ": invalid type '", d.type, "'"));
    if (d.type != 'p' && (d.major < 0 || d.minor < 0 || d.major > 0xfff || d.minor > 0xfffff))
        return Error(EINVAL, strCat("device ", d.path, ": invalid number ", d.major, ":", d.minor));
    return {};
}

// Both maps or neither, only on a bind, ranges the kernel takes (runtime-spec "mounts").
Status checkIdmap(const MountEntry& m, const MountOptions& o) {
    bool maps = !m.uidMappings.empty() || !m.gidMappings.empty();
    if (!maps && !o.idmap) return {};
    if (!isBindMount(m))
        return Error(EINVAL, "an idmapped mount (uidMappings, gidMappings, idmap, ridmap) must be "
                             "a bind mount");
    if (m.uidMappings.empty() != m.gidMappings.empty())
        return Error(EINVAL, m.uidMappings.empty() ? "gidMappings given without uidMappings"
                                                   : "uidMappings given without gidMappings");
    if (!maps)
        return Error(EINVAL, strCat("option ", o.recursiveIdmap ? "ridmap" : "idmap",
                                    " needs uidMappings and gidMappings, or a user namespace "
                                    "whose mappings it takes"));
    TRY(validateIdMaps(m.uidMappings, "uidMappings"));
    return validateIdMaps(m.gidMappings, "gidMappings");
}

Status checkBindSource(const MountEntry& m) {
    if (m.source.empty() || m.source[0] != '/')
        return Error(EINVAL, strCat("bind source '", m.source, "' is not an absolute path"));
    return {};
}

// The index `entry` has in planDetachedSources, or -1.
int detachedIndex(const RootfsConfig& cfg, size_t entry) {
    if (!bindFromDetached(cfg, cfg.mounts[entry])) return -1;
    int n = 0;
    for (size_t i = 0; i < entry; ++i) n += bindFromDetached(cfg, cfg.mounts[i]) ? 1 : 0;
    return n;
}

}  // namespace

bool bindFromDetached(const RootfsConfig& cfg, const MountEntry& m) {
    if (!isBindMount(m)) return false;
    if (!m.uidMappings.empty() || !m.gidMappings.empty()) return true;
    if (cfg.userNamespace && !cfg.unprivileged) return true;
    return parseMountOptions(m.options).idmap;
}

Result<std::vector<DetachedSource>> planDetachedSources(const RootfsConfig& cfg) {
    std::vector<DetachedSource> out;
    // Binds made inside the container are slaves of the host's mounts ("/" is made rslave
    // first), or private ones when the rootfs propagation is private.
    unsigned long prop = (propagationFlags(cfg.rootfsPropagation) & MS_PRIVATE) ? MS_PRIVATE
                                                                               : MS_SLAVE;
    for (size_t i = 0; i < cfg.mounts.size(); ++i) {
        const MountEntry& m = cfg.mounts[i];
        const MountOptions o = parseMountOptions(m.options);
        // Every entry: an idmap on a mount that is no bind is refused here, before the clone.
        Status st = checkIdmap(m, o);
        if (st.ok() && bindFromDetached(cfg, m)) st = checkBindSource(m);
        if (!st.ok()) return std::move(st.error().context(describeEntry(cfg, i)));
        if (!bindFromDetached(cfg, m)) continue;
        DetachedSource d;
        d.entry = i;
        d.what = describeEntry(cfg, i);
        d.source = m.source;
        d.recursive = o.recursiveBind;
        d.propagation = prop;
        d.uidMappings = m.uidMappings;
        d.gidMappings = m.gidMappings;
        // ridmap: every mount; idmap: the top one; neither: as the bind (rbind: every mount).
        d.recursiveIdmap = o.recursiveIdmap || (o.recursiveBind && !o.idmap);
        out.push_back(std::move(d));
    }
    return out;
}

bool isBindMount(const MountEntry& m) {
    if (m.type == "bind") return true;
    for (const auto& o : m.options)
        if (o == "bind" || o == "rbind") return true;
    return false;
}

bool needsDevSetup(const RootfsConfig& cfg) {
    for (const auto& m : cfg.mounts)
        if (isBindMount(m) && fs::cleanPath(m.destination) == "/dev") return false;
    return true;
}

std::vector<DeviceEntry> containerDevices(const RootfsConfig& cfg) {
    std::vector<DeviceEntry> out = {
        charDevice("/dev/null", 1, 3),    charDevice("/dev/zero", 1, 5),
        charDevice("/dev/full", 1, 7),    charDevice("/dev/random", 1, 8),
        charDevice("/dev/urandom", 1, 9), charDevice("/dev/tty", 5, 0),
    };
    for (DeviceEntry d : cfg.devices) {
        if (d.path.empty()) continue;
        d.path = fs::cleanPath(d.path);
        if (d.path == "/dev/ptmx") continue;
        auto same = std::find_if(out.begin(), out.end(),
                                 [&](const DeviceEntry& e) { return e.path == d.path; });
        if (same != out.end())
            *same = d;
        else
            out.push_back(d);
    }
    return out;
}

Result<std::vector<MountStep>> planMountEntry(const RootfsConfig& cfg, size_t entry,
                                              const PlanInputs& in) {
    const MountEntry& m = cfg.mounts.at(entry);
    if (m.destination.empty()) return Error(EINVAL, "mount destination is empty");
    const MountOptions o = parseMountOptions(m.options);
    TRY(checkIdmap(m, o));
    const std::string dest = fs::cleanPath(m.destination);
    StepList s{static_cast<int>(entry), {}};
    if (isBindMount(m)) {
        TRY(checkBindSource(m));
        addBind(s, dest, m.source, o.recursiveBind, o, detachedIndex(cfg, entry));
    } else if (m.type == "cgroup") {
        if (cfg.cgroups.unified)
            addCgroupV2(s, cfg, m, dest, o);
        else
            addCgroupV1(s, cfg, dest, o, in);
    } else if (m.type == "sysfs" && !cfg.netNamespace) {
        addHostSysBind(s, dest, o);
    } else {
        if (m.type.empty()) return Error(EINVAL, "mount type is empty and it is not a bind mount");
        addFilesystem(s, cfg, m, dest, o, in);
    }
    return std::move(s.steps);
}

Result<std::vector<MountStep>> planRootfs(const RootfsConfig& cfg, const PlanInputs& in) {
    std::vector<MountStep> out;
    for (size_t i = 0; i < cfg.mounts.size(); ++i) {
        auto steps = planMountEntry(cfg, i, in);
        if (!steps.ok()) return std::move(steps.error().context(describeEntry(cfg, i)));
        for (auto& st : *steps) out.push_back(std::move(st));
    }
    if (!needsDevSetup(cfg)) return out;
    for (const auto& d : containerDevices(cfg)) {
        TRY(validateDevice(d));
        out.push_back(MountStep{MakeDevice{d, cfg.userNamespace}});
    }
    out.push_back(MountStep{MakeSymlink{"/dev/ptmx", "pts/ptmx", true}});
    std::vector<std::pair<const char*, const char*>> links = {
        {"/dev/fd", "/proc/self/fd"},
        {"/dev/stdin", "/proc/self/fd/0"},
        {"/dev/stdout", "/proc/self/fd/1"},
        {"/dev/stderr", "/proc/self/fd/2"},
    };
    if (in.procKcoreExists) links.emplace_back("/dev/core", "/proc/kcore");
    for (const auto& [link, target] : links) out.push_back(MountStep{MakeSymlink{link, target}});
    return out;
}

std::vector<MountStep> planFinalize(const RootfsConfig& cfg, const PlanInputs& in) {
    std::vector<MountStep> out;
    for (const auto& p : cfg.readonlyPaths)
        out.push_back(MountStep{ReadonlyPath{fs::cleanPath(p)}});
    for (const auto& p : cfg.maskedPaths)
        out.push_back(MountStep{MaskPath{fs::cleanPath(p), withLabel("", cfg, in)}});
    for (size_t i = 0; i < cfg.mounts.size(); ++i) {
        const MountEntry& m = cfg.mounts[i];
        std::string dest = fs::cleanPath(m.destination);
        if (isBindMount(m) || (m.type != "tmpfs" && dest != "/dev")) continue;
        MountOptions o = parseMountOptions(m.options);
        if (!(o.flags & MS_RDONLY)) continue;
        unsigned long flags = o.flags & ~static_cast<unsigned long>(MS_REMOUNT);
        out.push_back(MountStep{Remount{dest, flags, o.clearFlags}, static_cast<int>(i)});
    }
    if (cfg.readonly) out.push_back(MountStep{Remount{"/", MS_RDONLY}});
    if (unsigned long p = propagationFlags(cfg.rootfsPropagation); p != 0)
        out.push_back(MountStep{SetPropagation{"/", p}});
    return out;
}

ProcDestination classifyProcDestination(const std::string& dest) {
    if (!isPathWithin(dest, "/proc")) return ProcDestination::Outside;
    if (dest == "/proc") return ProcDestination::ProcRoot;
    // What lxcfs emulates, and what CRIU restores through (runc's list).
    static const char* const allowed[] = {
        "/proc/cpuinfo", "/proc/diskstats",
        "/proc/meminfo", "/proc/stat",
        "/proc/swaps",   "/proc/uptime",
        "/proc/loadavg", "/proc/slabinfo",
        "/proc/net/dev", "/proc/sys/kernel/ns_last_pid",
    };
    for (const char* a : allowed)
        if (dest == a) return ProcDestination::Allowed;
    return ProcDestination::Forbidden;
}

namespace {

struct Describer {
    std::string operator()(const FsMount& f) const {
        return strCat("mount ", f.fsType, " (source ", f.source, ") on ", f.destination,
                      " flags=0x", std::hex, f.flags, std::dec,
                      f.data.empty() ? "" : " data=", f.data, f.copyUp ? " copyup" : "");
    }
    std::string operator()(const BindMount& b) const {
        return strCat(b.recursive ? "rbind " : "bind ", b.source, " on ", b.destination,
                      b.detached >= 0 ? strCat(" (detached #", b.detached, ")") : "");
    }
    std::string operator()(const Remount& r) const {
        return strCat("remount ", r.destination, " flags=0x", std::hex, r.flags, " clear=0x",
                      r.clearFlags);
    }
    std::string operator()(const SetPropagation& p) const {
        return strCat("propagation ", p.destination, " flags=0x", std::hex, p.flags);
    }
    std::string operator()(const SetRecursiveAttr& a) const {
        return strCat("setattr ", a.destination, " set=0x", std::hex, a.set, " clr=0x", a.clr);
    }
    std::string operator()(const MakeSymlink& l) const {
        return strCat("symlink ", l.linkPath, " -> ", l.target, l.replace ? " (replace)" : "");
    }
    std::string operator()(const MakeDevice& d) const {
        return strCat(d.bindFromHost ? "bind device " : "mknod ", d.device.path, " ", d.device.type,
                      " ", d.device.major, ":", d.device.minor, " mode 0", std::oct,
                      d.device.fileMode);
    }
    std::string operator()(const ReadonlyPath& r) const { return strCat("readonly ", r.path); }
    std::string operator()(const MaskPath& m) const { return strCat("mask ", m.path); }
};

}  // namespace

std::string describe(const MountStep& step) {
    return std::visit(Describer{}, step.op);
}

std::string describeEntry(const RootfsConfig& cfg, size_t entry) {
    const MountEntry& m = cfg.mounts.at(entry);
    std::string type = m.type.empty() ? (isBindMount(m) ? "bind" : "none") : m.type;
    return strCat("mounts[", entry, "] ", m.destination, " (type ", type, ", source ", m.source,
                  ")");
}

}  // namespace berth::namespaces
