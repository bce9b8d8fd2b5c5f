// runtime/spec/linux: the linux section of config.json — namespaces, id mappings, devices,
// time offsets, sysctls, paths; resources/seccomp/personality/intelRdt stay raw JSON for the
// modules that own them, only checked to be objects here.
#include <set>

#include "runtime/spec/sections.hpp"

namespace berth::runtime::spec::detail {

namespace {

const std::set<std::string> kNamespaceTypes = {"pid", "network", "mount",  "ipc",
                                               "uts", "user",    "cgroup", "time"};

Status parseNamespace(const Ctx& c, const json& v, const std::string& path, Namespace& ns) {
    TRY(expectObject(c, v, path));
    TRY(requireString(c, v, "type", path, ns.type));
    if (!kNamespaceTypes.count(ns.type))
        return fail(c, at(path, "type"), "unknown namespace type ", describe(ns.type));
    TRY(readString(c, v, "path", path, ns.path));
    // The spec says the path MUST be absolute in the runtime's mount namespace; a relative one
    // would silently depend on berth's working directory.
    if (!ns.path.empty() && !isAbsolute(ns.path))
        return fail(c, at(path, "path"), "must be an absolute path, got ", describe(ns.path));
    return {};
}

Status parseNamespaces(const Ctx& c, const json& v, const std::string& path, Linux& l) {
    TRY(expectArray(c, v, path));
    l.namespaces.resize(v.size());
    std::set<std::string> seen;
    for (size_t i = 0; i < v.size(); ++i) {
        TRY(parseNamespace(c, v[i], at(path, i), l.namespaces[i]));
        if (!seen.insert(l.namespaces[i].type).second)
            return fail(c, at(at(path, i), "type"), "duplicate namespace type ",
                        describe(l.namespaces[i].type));
    }
    return {};
}

Status parseIdMapping(const Ctx& c, const json& v, const std::string& path, IdMapping& m) {
    TRY(expectObject(c, v, path));
    TRY(requireInt(c, v, "containerID", path, m.containerID));
    TRY(requireInt(c, v, "hostID", path, m.hostID));
    TRY(requireInt(c, v, "size", path, m.size));
    // The kernel refuses an empty range in uid_map with a bare EINVAL.
    if (m.size == 0) return fail(c, at(path, "size"), "must be greater than zero");
    return {};
}

Status parseTimeOffsets(const Ctx& c, const json& v, const std::string& path, Linux& l) {
    TRY(expectObject(c, v, path));
    for (auto it = v.begin(); it != v.end(); ++it) {
        std::string kp = at(path, it.key());
        if (it.key() != "monotonic" && it.key() != "boottime")
            return fail(c, kp, "unknown clock ", describe(it.key()),
                        " (expected monotonic or boottime)");
        TRY(expectObject(c, *it, kp));
        TimeOffset& off = l.timeOffsets[it.key()];
        TRY(readInt(c, *it, "secs", kp, off.secs));
        TRY(readInt(c, *it, "nanosecs", kp, off.nanosecs));
        // /proc/<pid>/timens_offsets refuses a nanosecond part of a second or more.
        if (off.nanosecs >= 1000000000u)
            return fail(c, at(kp, "nanosecs"), "must be less than 1000000000, got ", off.nanosecs);
    }
    return {};
}

Status parseDevice(const Ctx& c, const json& v, const std::string& path, Device& d) {
    TRY(expectObject(c, v, path));
    TRY(requireString(c, v, "type", path, d.type));
    if (d.type != "c" && d.type != "b" && d.type != "u" && d.type != "p")
        return fail(c, at(path, "type"), "unknown device type ", describe(d.type),
                    " (expected c, b, u or p)");
    TRY(requireString(c, v, "path", path, d.path));
    if (!isAbsolute(d.path))
        return fail(c, at(path, "path"), "must be an absolute path, got ", describe(d.path));
    // A fifo has no device number; for the others mknod(2) needs one, and 0:0 is never meant.
    if (d.type == "p") {
        TRY(readInt(c, v, "major", path, d.major));
        TRY(readInt(c, v, "minor", path, d.minor));
    } else {
        TRY(requireInt(c, v, "major", path, d.major));
        TRY(requireInt(c, v, "minor", path, d.minor));
    }
    TRY(readInt(c, v, "fileMode", path, d.fileMode));
    TRY(readInt(c, v, "uid", path, d.uid));
    return readInt(c, v, "gid", path, d.gid);
}

Status parseDevices(const Ctx& c, const json& v, const std::string& path, Linux& l) {
    TRY(expectArray(c, v, path));
    l.devices.resize(v.size());
    for (size_t i = 0; i < v.size(); ++i) TRY(parseDevice(c, v[i], at(path, i), l.devices[i]));
    return {};
}

// Kept raw for cgroups/, security/ and friends; only the shape is checked here.
Status readRawObject(const Ctx& c, const json& v, std::string_view key, const std::string& path,
                     json& out) {
    if (const json* o = find(v, key)) {
        TRY(expectObject(c, *o, at(path, key)));
        out = *o;
    }
    return {};
}

const std::set<std::string> kPropagations = {
    "", "shared", "rshared", "slave", "rslave", "private", "rprivate", "unbindable", "runbindable"};

Status parseScalars(const Ctx& c, const json& v, const std::string& path, Linux& l) {
    TRY(readString(c, v, "cgroupsPath", path, l.cgroupsPath));
    TRY(readString(c, v, "rootfsPropagation", path, l.rootfsPropagation));
    if (!kPropagations.count(l.rootfsPropagation))
        return fail(c, at(path, "rootfsPropagation"), "unknown propagation ",
                    describe(l.rootfsPropagation));
    TRY(readStringMap(c, v, "sysctl", path, l.sysctl));
    TRY(readStringArray(c, v, "maskedPaths", path, l.maskedPaths));
    TRY(readStringArray(c, v, "readonlyPaths", path, l.readonlyPaths));
    return readString(c, v, "mountLabel", path, l.mountLabel);
}

}  // namespace

Status parseIdMappings(const Ctx& c, const json& v, const std::string& path,
                       std::vector<IdMapping>& out) {
    TRY(expectArray(c, v, path));
    out.resize(v.size());
    for (size_t i = 0; i < v.size(); ++i) TRY(parseIdMapping(c, v[i], at(path, i), out[i]));
    return {};
}

Result<Linux> parseLinuxAt(const Ctx& c, const json& v, const std::string& path) {
    Linux l;
    TRY(expectObject(c, v, path));
    if (const json* n = find(v, "namespaces"))
        TRY(parseNamespaces(c, *n, at(path, "namespaces"), l));
    if (const json* m = find(v, "uidMappings"))
        TRY(parseIdMappings(c, *m, at(path, "uidMappings"), l.uidMappings));
    if (const json* m = find(v, "gidMappings"))
        TRY(parseIdMappings(c, *m, at(path, "gidMappings"), l.gidMappings));
    if (const json* t = find(v, "timeOffsets"))
        TRY(parseTimeOffsets(c, *t, at(path, "timeOffsets"), l));
    if (const json* d = find(v, "devices")) TRY(parseDevices(c, *d, at(path, "devices"), l));
    TRY(parseScalars(c, v, path, l));
    TRY(readRawObject(c, v, "resources", path, l.resources));
    TRY(readRawObject(c, v, "seccomp", path, l.seccomp));
    TRY(readRawObject(c, v, "personality", path, l.personality));
    TRY(readRawObject(c, v, "intelRdt", path, l.intelRdt));
    return l;
}

}  // namespace berth::runtime::spec::detail
