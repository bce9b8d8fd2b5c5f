// runtime/spec/default_spec: the config `berth spec` writes — runc 1.1.5's `runc spec` example,
// key for key and in runc's order, with berth's ociVersion; `--rootless` applies runc's
// ToRootless transformation to it.
#include <unistd.h>

#include <string>

#include "runtime/spec/spec.hpp"

namespace berth::runtime::spec {

namespace {

using ojson = nlohmann::ordered_json;

const char* const kDefaultCaps[] = {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"};

ojson defaultProcess() {
    ojson caps = ojson::array();
    for (const char* cap : kDefaultCaps) caps.push_back(cap);
    return ojson{
        {"terminal", true},
        {"user", {{"uid", 0}, {"gid", 0}}},
        {"args", ojson::array({"sh"})},
        {"env", ojson::array({"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                              "TERM=xterm"})},
        {"cwd", "/"},
        {"capabilities",
         {{"bounding", caps}, {"effective", caps}, {"permitted", caps}, {"ambient", caps}}},
        {"rlimits", ojson::array({{{"type", "RLIMIT_NOFILE"}, {"hard", 1024}, {"soft", 1024}}})},
        {"noNewPrivileges", true},
    };
}

ojson mount(const char* dst, const char* type, const char* src,
            std::initializer_list<const char*> options) {
    ojson m = {{"destination", dst}, {"type", type}, {"source", src}};
    if (options.size() != 0) {
        ojson opts = ojson::array();
        for (const char* o : options) opts.push_back(o);
        m["options"] = std::move(opts);
    }
    return m;
}

ojson defaultMounts() {
    return ojson::array({
        mount("/proc", "proc", "proc", {}),
        mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}),
        mount("/dev/pts", "devpts", "devpts",
              {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}),
        mount("/dev/shm", "tmpfs", "shm",
              {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}),
        mount("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}),
        mount("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}),
        mount("/sys/fs/cgroup", "cgroup", "cgroup",
              {"nosuid", "noexec", "nodev", "relatime", "ro"}),
    });
}

ojson defaultLinux() {
    ojson namespaces = ojson::array();
    for (const char* t : {"pid", "network", "ipc", "uts", "mount"})
        namespaces.push_back({{"type", t}});
    return ojson{
        {"resources", {{"devices", ojson::array({{{"allow", false}, {"access", "rwm"}}})}}},
        {"namespaces", std::move(namespaces)},
        {"maskedPaths",
         ojson::array({"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                       "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                       "/proc/sched_debug", "/sys/firmware", "/proc/scsi"})},
        {"readonlyPaths",
         ojson::array({"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"})},
    };
}

ojson idMapping(unsigned hostId) {
    return ojson::array({{{"containerID", 0}, {"hostID", hostId}, {"size", 1}}});
}

// runc's specconv.ToRootless: no network namespace, a user namespace mapping the caller to
// root, /sys bind-mounted (sysfs cannot be mounted without owning the net namespace), no
// uid=/gid= mount options (unmapped ids), no cgroup resources (no permission to set them).
void toRootless(ojson& spec) {
    ojson& linux = spec["linux"];
    ojson namespaces = ojson::array();
    for (auto& ns : linux["namespaces"])
        if (ns["type"] != "network" && ns["type"] != "user") namespaces.push_back(ns);
    namespaces.push_back({{"type", "user"}});
    ojson rebuilt = ojson::object();
    // Insert the mappings first so the key order matches runc's Linux struct.
    rebuilt["uidMappings"] = idMapping(::geteuid());
    rebuilt["gidMappings"] = idMapping(::getegid());
    for (auto it = linux.begin(); it != linux.end(); ++it) {
        if (it.key() == "resources") continue;
        rebuilt[it.key()] = it.key() == "namespaces" ? namespaces : it.value();
    }
    linux = std::move(rebuilt);

    for (auto& m : spec["mounts"]) {
        if (m["destination"] == "/sys") {
            m = mount("/sys", "none", "/sys", {"rbind", "nosuid", "noexec", "nodev", "ro"});
            continue;
        }
        if (!m.contains("options")) continue;
        ojson kept = ojson::array();
        for (auto& o : m["options"]) {
            const auto& s = o.get_ref<const std::string&>();
            if (!s.starts_with("uid=") && !s.starts_with("gid=")) kept.push_back(o);
        }
        m["options"] = std::move(kept);
    }
}

ojson buildDefault(bool rootless) {
    ojson spec = {
        // runc 1.1.5 writes "1.0.2-dev" here; berth writes the spec version it implements.
        {"ociVersion", kSpecVersion},
        {"process", defaultProcess()},
        {"root", {{"path", "rootfs"}, {"readonly", true}}},
        {"hostname", "runc"},
        {"mounts", defaultMounts()},
        {"linux", defaultLinux()},
    };
    if (rootless) toRootless(spec);
    return spec;
}

}  // namespace

nlohmann::json defaultSpec(bool rootless) {
    return nlohmann::json(buildDefault(rootless));  // ordered → plain: same values, sorted keys
}

// Go's json.MarshalIndent(spec, "", "\t") is what runc writes: tab indentation, ": " after
// keys, no trailing newline.
std::string defaultSpecText(bool rootless) {
    return buildDefault(rootless).dump(1, '\t');
}

}  // namespace berth::runtime::spec
