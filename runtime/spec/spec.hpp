// runtime/spec: the typed model of an OCI runtime-spec (1.0–1.2) config.json, its parser and
// validator (errors name the JSON path), and the default config `berth spec` writes.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"

namespace berth::runtime::spec {

struct Root {
    std::string path;
    bool readonly = false;
};

struct User {
    uint32_t uid = 0;
    uint32_t gid = 0;
    std::optional<uint32_t> umask;
    std::vector<uint32_t> additionalGids;
    std::string username;  // windows-only in the spec; kept for completeness
};

struct Rlimit {
    std::string type;  // "RLIMIT_NOFILE"
    uint64_t hard = 0;
    uint64_t soft = 0;
};

struct Capabilities {
    std::vector<std::string> bounding, effective, inheritable, permitted, ambient;
};

struct ConsoleSize {
    unsigned height = 0;
    unsigned width = 0;
};

struct IoPriority {
    std::string ioClass;  // IOPRIO_CLASS_RT | BE | IDLE
    int priority = 0;
};

struct Scheduler {
    std::string policy;  // SCHED_OTHER ...
    int nice = 0;
    int priority = 0;
    std::vector<std::string> flags;
    uint64_t runtime = 0, deadline = 0, period = 0;
};

// process.execCPUAffinity (runtime-spec 1.2): CPU lists ("0-3,7") for an exec'd process —
// `initial` before it joins the container's cgroup, `final` just before its execve.
struct CpuAffinity {
    std::string initial;
    std::string final;
};

struct Process {
    bool terminal = false;
    std::optional<ConsoleSize> consoleSize;
    User user;
    std::vector<std::string> args;
    std::string commandLine;
    std::vector<std::string> env;
    std::string cwd = "/";
    std::optional<Capabilities> capabilities;
    std::vector<Rlimit> rlimits;
    bool noNewPrivileges = false;
    std::string apparmorProfile;
    std::optional<int> oomScoreAdj;
    std::string selinuxLabel;
    std::optional<IoPriority> ioPriority;
    std::optional<Scheduler> scheduler;
    std::optional<CpuAffinity> execCPUAffinity;
    // Accepted-but-ignored input (e.g. unknown capability names, which runc 1.1 also drops
    // with a warning), as "<what>: <path>: ..." lines for the CLI to print.
    std::vector<std::string> warnings;
};

struct IdMapping {
    uint32_t containerID = 0;
    uint32_t hostID = 0;
    uint32_t size = 0;
};

struct Mount {
    std::string destination;
    std::string type;
    std::string source;
    std::vector<std::string> options;
    // Idmapped-mount mappings (runtime-spec 1.1), checked further by the mount plan.
    std::vector<IdMapping> uidMappings, gidMappings;
};

struct Hook {
    std::string path;
    std::vector<std::string> args;
    std::vector<std::string> env;
    std::optional<int> timeout;  // seconds
};

struct Hooks {
    std::vector<Hook> prestart, createRuntime, createContainer, startContainer, poststart,
        poststop;
    bool empty() const {
        return prestart.empty() && createRuntime.empty() && createContainer.empty() &&
               startContainer.empty() && poststart.empty() && poststop.empty();
    }
};

struct Namespace {
    std::string type;  // pid network mount ipc uts user cgroup time
    std::string path;  // empty: create a new one
};

struct Device {
    std::string type;  // c, b, u, p
    std::string path;
    int64_t major = 0, minor = 0;
    std::optional<uint32_t> fileMode;
    std::optional<uint32_t> uid, gid;
};

struct TimeOffset {
    int64_t secs = 0;
    uint32_t nanosecs = 0;
};

// Resources are kept mostly as raw JSON: the cgroups module is the only place OCI values become
// knob values (cgroups/resources.cpp), so the spec layer does not pre-digest them.
struct Linux {
    std::vector<Namespace> namespaces;
    std::vector<IdMapping> uidMappings, gidMappings;
    std::map<std::string, TimeOffset> timeOffsets;  // "monotonic", "boottime"
    std::vector<Device> devices;
    std::string cgroupsPath;
    nlohmann::json resources;  // null when absent
    std::string rootfsPropagation;
    nlohmann::json seccomp;  // null when absent
    std::map<std::string, std::string> sysctl;
    std::vector<std::string> maskedPaths;
    std::vector<std::string> readonlyPaths;
    std::string mountLabel;
    nlohmann::json personality;  // null when absent
    nlohmann::json intelRdt;     // null when absent

    const Namespace* findNamespace(const std::string& type) const {
        for (auto& ns : namespaces)
            if (ns.type == type) return &ns;
        return nullptr;
    }
};

struct Spec {
    std::string ociVersion;
    std::optional<Process> process;
    Root root;
    std::string hostname;
    std::string domainname;
    std::vector<Mount> mounts;
    Hooks hooks;
    std::map<std::string, std::string> annotations;
    std::optional<Linux> linux;
    // The document as parsed: what the state record keeps of the config (one read of the file,
    // so the record is always the config that was validated).
    nlohmann::json document;
    // The text the document was parsed from, byte for byte (loadFromBundle; empty from parse):
    // the state store keeps this copy of the config without dumping the document again.
    std::string sourceText;
    // Everything accepted-but-adjusted or ignored while parsing (process warnings included),
    // as "<what>: <path>: ..." lines for the CLI to print.
    std::vector<std::string> warnings;
};

// Parse and validate. Errors read "<what>: <json.path>: <problem>", e.g.
// "config.json: process.args: must be a non-empty array of strings". `what` names the source.
Result<Spec> parse(const std::string& text, const std::string& what = "config.json");
// Reads <bundleDir>/config.json and parses it; root.path comes back absolute and canonical
// (realpath, resolved against the bundle when relative) and is checked to be a directory.
Result<Spec> loadFromBundle(const std::string& bundleDir);
// A standalone process object (exec --process FILE).
Result<Process> parseProcess(const std::string& text, const std::string& what = "process.json");
// The same from a parsed JSON value (the VM guest's config holds the process as an object).
Result<Process> parseProcessValue(const nlohmann::json& value, const std::string& what);
// The process as OCI JSON; parseProcess reads back the same process (less its warnings).
nlohmann::json processToJson(const Process& p);
// Parse a hooks object (used by the state store to keep poststop hooks). Errors read
// "<what>: <event>[i].<field>: <problem>".
Result<Hooks> parseHooks(const nlohmann::json& j, const std::string& what);
nlohmann::json hooksToJson(const Hooks& h);
// The hooks of a config kept in the state store (start runs poststart, delete poststop from it).
Result<Hooks> hooksOfConfig(const nlohmann::json& config, const std::string& what);

// The config runc writes for `runc spec` (and `--rootless`), as pretty JSON. Identical to
// runc 1.1.5's output except ociVersion, which is kSpecVersion; rootless maps the caller's
// euid/egid, as runc does.
nlohmann::json defaultSpec(bool rootless);
// The same document as text, byte for byte in runc's key order and tab indentation (no trailing
// newline, like runc) — what `berth spec` writes to config.json.
std::string defaultSpecText(bool rootless);

// The OCI runtime-spec version berth implements.
inline constexpr const char* kSpecVersion = "1.2.0";

}  // namespace berth::runtime::spec
