// cgroups/manager: where a container's processes are accounted and limited. One Manager
// interface (v1, v2, systemd implementations); detection of the host's cgroup layout.
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.hpp"

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
    std::string cgroupsPath;  // linux.cgroupsPath; empty: default "/berth/<id>"-style
    std::string id;           // container id, for the default path
    bool systemd = false;     // --systemd-cgroup (accepted; the cgroups issue implements it)
    std::string rootDir;      // cgroupfs root; "" = /sys/fs/cgroup (tests point elsewhere)
};

class Manager {
public:
    virtual ~Manager() = default;
    // Make the directories. Undo with destroy().
    virtual Status create() = 0;
    // Write the linux.resources object's values into the knobs.
    virtual Status apply(const nlohmann::json& resources) = 0;
    virtual Status addProcess(pid_t pid) = 0;
    virtual Result<std::vector<pid_t>> pids() const = 0;
    virtual Status freeze(bool frozen) = 0;
    // Kill what is left, remove the directories bottom-up (retrying EBUSY briefly).
    virtual Status destroy() = 0;
    // hierarchy mount point -> the container's directory in it; persisted in the state.
    virtual std::map<std::string, std::string> paths() const = 0;
    virtual const HostLayout& layout() const = 0;
};

Result<std::unique_ptr<Manager>> newManager(const Config& cfg);
// Rebuild a manager from paths saved in the state store.
Result<std::unique_ptr<Manager>> loadManager(const std::map<std::string, std::string>& paths);

}  // namespace berth::cgroups
