// cgroups/manager: where a container's processes are accounted and limited. One Manager
// interface (v1, v2, systemd implementations); detection of the host's cgroup layout.
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cgroups/stats.hpp"
#include "common/error.hpp"
#include "common/unique_fd.hpp"

namespace berth::cgroups {

enum class Layout { V1, Hybrid, Unified };

// One mounted hierarchy, from /proc/self/mountinfo.
struct Hierarchy {
    std::string mountPoint;               // /sys/fs/cgroup/memory
    std::vector<std::string> controllers; // {"memory"} or {"cpu","cpuacct"} or {"name=systemd"}
    bool v2 = false;
};

struct HostLayout {
    Layout layout = Layout::V1;
    std::vector<Hierarchy> hierarchies;
};

// Parse mountinfo text (unit-testable) and the caller's /proc/self/cgroup text.
HostLayout parseMountInfo(const std::string& mountinfo);
Result<HostLayout> detectLayout();
// hierarchy-id:controllers:path lines → controller list → path ("" key for the v2 entry).
std::map<std::string, std::string> parseProcCgroup(const std::string& text);

struct Config {
    std::string cgroupsPath;  // linux.cgroupsPath; empty: "<caller's cgroup>/<id>"
    std::string id;           // container id, for the default path
    bool systemd = false;     // --systemd-cgroup: "slice:prefix:name", a transient scope unit
    std::string rootDir;      // cgroupfs root; "" = /sys/fs/cgroup (tests point at a fake tree)
    // For a fake root: the caller's /proc/self/cgroup text (relative paths nest under it).
    std::string selfCgroup;
    // Rootless mode: no cgroup where this user may not make one (cgroups/rootless.hpp).
    bool rootless = false;
};

// What the state store keeps so later commands find the same cgroup.
struct Saved {
    std::string driver;                        // "cgroupfs" or "systemd"
    std::map<std::string, std::string> paths;  // hierarchy mount point -> container's directory
    std::string unit;                          // systemd: the scope unit's name
    std::vector<std::string> madeParents;      // cgroupfs: ancestors create made (delete removes them)
};

// Becomes readable when the kernel OOM-kills a process of the cgroup; consume() clears that
// and says whether an OOM kill happened since the last call.
class OomNotifier {
public:
    virtual ~OomNotifier() = default;
    virtual int fd() const = 0;
    virtual Result<bool> consume() = 0;
};

class Manager {
public:
    virtual ~Manager() = default;
    // Make the directories (or the unit). Undo with destroy().
    virtual Status create() = 0;
    // Write the linux.resources object's values into the knobs. Also what `update` calls on a
    // live cgroup, so value order must work against current values (memory limit vs. swap).
    virtual Status apply(const nlohmann::json& resources) = 0;
    virtual Status addProcess(pid_t pid) = 0;
    // Before anything is made or placed: fails when the cgroup (or the ancestor it would be
    // made under) is frozen, where a new process would hang before exec (see tree.hpp).
    virtual Status refuseFrozen() const = 0;
    virtual Result<std::vector<pid_t>> pids() const = 0;
    virtual Status freeze(bool frozen) = 0;
    virtual Result<Stats> stats() const = 0;
    virtual Result<std::unique_ptr<OomNotifier>> oomNotifier() const = 0;
    // Kill what is left, remove the directories bottom-up (retrying EBUSY briefly).
    virtual Status destroy() = 0;
    // hierarchy mount point -> the container's directory in it.
    virtual std::map<std::string, std::string> paths() const = 0;
    virtual Saved saved() const = 0;
    virtual const HostLayout& layout() const = 0;
};

Result<std::unique_ptr<Manager>> newManager(const Config& cfg);
// Rebuild a manager from what the state store kept.
Result<std::unique_ptr<Manager>> loadManager(const Saved& saved);

// cgroup v1 (cgroups/v1/manager.cpp): a non-blocking eventfd registered on memoryDir's
// memory.oom_control (cgroup.event_control), as containerd's runc shim and conmon register
// theirs: signalled on every OOM of that memory cgroup, and once more when it is removed. The
// registration lives as long as the eventfd.
Result<UniqueFd> registerV1OomEventfd(const std::string& memoryDir);

}  // namespace berth::cgroups
