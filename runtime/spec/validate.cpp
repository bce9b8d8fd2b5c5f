// runtime/spec/validate: checks that span sections, after runc's libcontainer/configs/validate —
// a setting that needs a namespace the config does not ask for would otherwise change the host
// (hostname, sysctls) or fail deep inside create with a bare errno.
#include <algorithm>

#include "runtime/spec/sections.hpp"

namespace berth::runtime::spec::detail {

namespace {

bool hasNamespace(const Spec& s, const char* type) {
    return s.linux && s.linux->findNamespace(type) != nullptr;
}

size_t namespaceIndex(const Linux& l, const char* type) {
    for (size_t i = 0; i < l.namespaces.size(); ++i)
        if (l.namespaces[i].type == type) return i;
    return l.namespaces.size();
}

Status checkUts(const Ctx& c, const Spec& s) {
    if (!s.hostname.empty() && !hasNamespace(s, "uts"))
        return fail(c, "hostname", "setting the hostname requires a uts namespace");
    if (!s.domainname.empty() && !hasNamespace(s, "uts"))
        return fail(c, "domainname", "setting the domainname requires a uts namespace");
    return {};
}

Status checkUserNamespace(const Ctx& c, const Linux& l) {
    const Namespace* user = l.findNamespace("user");
    bool mapped = !l.uidMappings.empty() || !l.gidMappings.empty();
    if (!user) {
        if (!l.uidMappings.empty())
            return fail(c, "linux.uidMappings", "id mappings require a user namespace");
        if (!l.gidMappings.empty())
            return fail(c, "linux.gidMappings", "id mappings require a user namespace");
        return {};
    }
    // Joining by path takes the namespace's own mappings; containerd and CRI-O also repeat
    // them in the config, which runc tolerates, so both together are accepted here.
    if (!user->path.empty()) return {};
    std::string path = strCat("linux.namespaces[", namespaceIndex(l, "user"), "]");
    if (!mapped)
        return fail(c, path,
                    "a new user namespace requires linux.uidMappings and "
                    "linux.gidMappings");
    if (l.uidMappings.empty())
        return fail(c, path, "a new user namespace requires linux.uidMappings");
    if (l.gidMappings.empty())
        return fail(c, path, "a new user namespace requires linux.gidMappings");
    return {};
}

// Without a mount namespace the container shares the runtime's (the spec: an absent type is
// inherited). Anything berth would mount there would land in the host's mount table and outlive
// the container (runc 1.1 leaves them all behind), so every setting that mounts or changes the
// rootfs's files is refused; the init only chroots into root.path.
Status checkMountNamespace(const Ctx& c, const Spec& s, const Linux& l) {
    if (l.findNamespace("mount")) return {};
    if (!l.maskedPaths.empty())
        return fail(c, "linux.maskedPaths", "masking paths requires a mount namespace");
    if (!l.readonlyPaths.empty())
        return fail(c, "linux.readonlyPaths", "read-only paths require a mount namespace");
    const char* why = " (without one they would change the host's)";
    if (!s.mounts.empty()) return fail(c, "mounts", "mounts require a mount namespace", why);
    if (s.root.readonly) return fail(c, "root.readonly", "a read-only rootfs requires a mount namespace", why);
    if (!l.rootfsPropagation.empty())
        return fail(c, "linux.rootfsPropagation", "rootfs propagation requires a mount namespace", why);
    if (!l.devices.empty())
        return fail(c, "linux.devices", "creating devices requires a mount namespace", why);
    return {};
}

Status checkTimeNamespace(const Ctx& c, const Linux& l) {
    if (!l.timeOffsets.empty() && !l.findNamespace("time"))
        return fail(c, "linux.timeOffsets", "time offsets require a time namespace");
    return {};
}

// sysctl(8) accepts '/' as the separator too; runc normalises "net/ipv4/conf/eth0.100/x" to
// "net.ipv4.conf.eth0/100.x" before judging it, and so do we.
std::string dottedSysctl(const std::string& name) {
    size_t first = name.find_first_of("./");
    if (first == std::string::npos || name[first] == '.') return name;
    std::string out = name;
    for (char& ch : out) {
        if (ch == '.')
            ch = '/';
        else if (ch == '/')
            ch = '.';
    }
    return out;
}

bool isIpcSysctl(const std::string& name) {
    static const char* const kIpc[] = {"kernel.msgmax", "kernel.msgmnb",         "kernel.msgmni",
                                       "kernel.sem",    "kernel.shmall",         "kernel.shmmax",
                                       "kernel.shmmni", "kernel.shm_rmid_forced"};
    return std::find(std::begin(kIpc), std::end(kIpc), name) != std::end(kIpc) ||
           name.starts_with("fs.mqueue.");
}

// /proc/sys is only partly namespaced: a sysctl outside the container's own ipc, net or uts
// namespace would be written to the host's.
Status checkSysctl(const Ctx& c, const Linux& l, const std::string& key) {
    std::string path = atKey("linux.sysctl", key);
    std::string name = dottedSysctl(key);
    if (isIpcSysctl(name)) {
        if (l.findNamespace("ipc")) return {};
        return fail(c, path, "not allowed without an ipc namespace");
    }
    if (name.starts_with("net.")) {
        // A net namespace joined by path may still be the host's; the runtime compares inodes.
        if (l.findNamespace("network")) return {};
        return fail(c, path, "not allowed without a network namespace");
    }
    if (l.findNamespace("uts")) {
        if (name == "kernel.domainname") return {};
        if (name == "kernel.hostname")
            return fail(c, path, "conflicts with the \"hostname\" field; set that instead");
    }
    return fail(c, path, "not in a namespace of the container, so it would change the host");
}

}  // namespace

Status validateSpec(const Ctx& c, const Spec& s) {
    TRY(checkUts(c, s));
    if (!s.linux) return {};
    const Linux& l = *s.linux;
    TRY(checkUserNamespace(c, l));
    TRY(checkMountNamespace(c, s, l));
    TRY(checkTimeNamespace(c, l));
    for (const auto& [key, value] : l.sysctl) TRY(checkSysctl(c, l, key));
    return {};
}

}  // namespace berth::runtime::spec::detail
