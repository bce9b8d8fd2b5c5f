#include "vps/spec.hpp"

namespace berth::vps {

using json = nlohmann::json;

namespace {

// LXC's unprivileged default minus what this host's bounding set lacks (CAP_SYS_RESOURCE) and
// what is host-wide whatever the user namespace (modules, raw I/O, the clock, MAC policy).
const char* const kCaps[] = {
    "CAP_CHOWN",        "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER",         "CAP_FSETID",
    "CAP_KILL",         "CAP_SETGID",       "CAP_SETUID",          "CAP_SETPCAP",        "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN",  "CAP_NET_RAW",        "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",    "CAP_SYS_CHROOT",   "CAP_SYS_PTRACE",      "CAP_SYS_ADMIN",      "CAP_SYS_BOOT",
    "CAP_SYS_NICE",     "CAP_SYS_TTY_CONFIG", "CAP_MKNOD",         "CAP_LEASE",          "CAP_AUDIT_WRITE",
    "CAP_SETFCAP",      "CAP_CHECKPOINT_RESTORE",
};

json deviceRules() {
    json rules = json::array({{{"allow", false}, {"access", "rwm"}}});
    auto allow = [&](int major, int minor) {
        json r = {{"allow", true}, {"type", "c"}, {"major", major}, {"access", "rwm"}};
        if (minor >= 0) r["minor"] = minor;
        rules.push_back(r);
    };
    for (int minor : {3, 5, 7, 8, 9}) allow(1, minor);  // null zero full random urandom
    for (int minor : {0, 1, 2}) allow(5, minor);        // tty console ptmx
    allow(136, -1);                                     // pts
    return rules;
}

// What an init that manages cgroups and expects a fresh /run (systemd) gets, as LXC's
// lxc.mount.auto=cgroup:mixed and podman --systemd=always give it: /sys/fs/cgroup read-write
// (a cgroup namespace: the VPS sees its own cgroup as the root, and berth hands that cgroup's
// dirs to the VPS's root between create and start, see delegateCgroups), /run and /run/lock on
// tmpfs (no stale pid files or sockets from the last boot).
void systemMounts(json& mounts, const Config& c) {
    for (auto& m : mounts)
        if (m.value("destination", "") == "/sys/fs/cgroup") {
            json opts = json::array();
            for (const auto& o : m.value("options", json::array()))
                if (o != "ro") opts.push_back(o);
            opts.push_back("rw");
            m["options"] = opts;
        }
    if (c.init.kind != "systemd") return;
    mounts.push_back({{"destination", "/run"}, {"type", "tmpfs"}, {"source", "tmpfs"},
                      {"options", {"nosuid", "nodev", "mode=755", "size=20%"}}});
    mounts.push_back({{"destination", "/run/lock"}, {"type", "tmpfs"}, {"source", "tmpfs"},
                      {"options", {"nosuid", "nodev", "noexec", "mode=1777", "size=5m"}}});
}

json idMap(const IdRange& ids) { return json::array({{{"containerID", 0}, {"hostID", ids.base}, {"size", ids.size}}}); }

}  // namespace

std::string containerId(const std::string& name) { return "vps-" + name; }

Result<json> buildSpec(const Config& c, const std::string& rootfs, const HostCaps& caps, json spec) {
    json caplist = json::array();
    for (const char* cap : kCaps) caplist.push_back(cap);
    json& p = spec["process"];
    p["terminal"] = false;
    p["args"] = json::array({c.init.path});
    p["env"] = json::array({"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=linux",
                            "container=berth"});
    p["cwd"] = "/";
    p["user"] = {{"uid", 0}, {"gid", 0}};
    p["capabilities"] = {{"bounding", caplist}, {"effective", caplist}, {"permitted", caplist}};
    p.erase("rlimits");  // inherit berth's: hard limits cannot be raised on every host
    p["noNewPrivileges"] = false;  // setuid programs (su, passwd) work inside
    spec["root"] = {{"path", rootfs}, {"readonly", false}};
    spec["hostname"] = c.hostname.empty() ? c.name : c.hostname;
    if (!spec.contains("mounts")) spec["mounts"] = json::array();
    systemMounts(spec["mounts"], c);
    json& l = spec["linux"];
    l["namespaces"] = json::array();
    for (const char* t : {"pid", "network", "ipc", "uts", "mount", "user", "cgroup"})
        l["namespaces"].push_back({{"type", t}});
    l["uidMappings"] = idMap(c.ids);
    l["gidMappings"] = idMap(c.ids);
    ASSIGN_OR_RETURN(json res, resourcesFor(c.limits, caps));
    res["devices"] = deviceRules();
    l["resources"] = res;
    spec["annotations"] = {{kNameAnnotation, c.name}};
    return spec;
}

}  // namespace berth::vps
