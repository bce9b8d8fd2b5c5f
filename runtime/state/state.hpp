// runtime/state: the per-container record under --root (one directory per container, written
// atomically), its lock, and how a live status is derived from it and the kernel.
#pragma once

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cgroups/manager.hpp"
#include "common/error.hpp"
#include "common/unique_fd.hpp"

namespace berth::runtime::state {

enum class ContainerStatus { Creating, Created, Running, Paused, Stopped };
const char* statusName(ContainerStatus s);

struct ContainerState {
    std::string id;
    pid_t pid = 0;                  // the container's init (host pid); 0 while creating
    uint64_t pidStartTime = 0;      // /proc/PID/stat field 22: guards against pid reuse
    pid_t creatorPid = 0;           // the runtime that is creating it (for half-created cleanup)
    uint64_t creatorStartTime = 0;
    std::string bundle;
    std::string rootfs;
    std::string created;            // RFC 3339, UTC
    std::string owner;
    std::map<std::string, std::string> annotations;
    ContainerStatus saved = ContainerStatus::Creating;  // last lifecycle step recorded by the runtime
    cgroups::Saved cgroup;          // where the container's cgroup is (driver, paths, unit)
    bool systemdCgroup = false;
    bool noPivot = false;
    bool noNewKeyring = false;      // created with --no-new-keyring: exec joins no keyring either
    std::string imageBundle;        // a bundle `run --image` made: delete unmounts and removes it
    std::string handler;            // empty: namespaces on this kernel; else a registered Handler
    // The config.json the container was created from. Kept in the state dir's config.json,
    // written once by create (Store::saveConfig) and by update, not in state.json: the record is
    // saved three times per create and stays small (bench/README.md, issue 17).
    nlohmann::json config;
    // Loaded from a record of a build before that split (the config inside state.json, no
    // config.json beside it): the next save writes config.json first, so nothing is lost.
    bool configInRecord = false;
};

nlohmann::json toJson(const ContainerState& s);
Result<ContainerState> fromJson(const nlohmann::json& j);
// The text Store::save writes to state.json: toJson(s) without the config member, dumped, byte
// for byte; written directly. A string member that is not valid UTF-8 (a bundle path can be any
// bytes; JSON cannot hold them) is an error naming it.
Result<std::string> stateText(const ContainerState& s);
// The text of a state.json to the record; a record of an older build holds its config as the
// member "config" (then configInRecord is set).
Result<ContainerState> parseState(const std::string& text);
// The same without the cgroup paths (empty) and an older record's config copy (`config` stays
// null): what state and list show. Those are most of the record; skipping them unparsed makes
// `list` of many containers several times cheaper (bench/README.md).
Result<ContainerState> parseStateSummary(const std::string& text);
// The JSON `berth state` prints (runc's shape) with the live status.
nlohmann::json publicJson(const ContainerState& s, ContainerStatus live);

// Start time of a process in clock ticks since boot (zombies included), 0 if it does not exist.
uint64_t processStartTime(pid_t pid, bool* zombie = nullptr);
// The process that had `startTime` still exists and is not a zombie. An unknown (0) start time
// never matches: without it a recycled pid could be taken for the container.
bool processAlive(pid_t pid, uint64_t startTime);

Status validateId(const std::string& id);

class Store;

// A held lock on one container's directory; released on destruction.
class Lock {
public:
    Lock() = default;
    explicit Lock(UniqueFd fd) : fd_(std::move(fd)) {}
    int dirFd() const { return fd_.get(); }

private:
    UniqueFd fd_;
};

class Store {
public:
    explicit Store(std::string root) : root_(std::move(root)) {}
    const std::string& root() const { return root_; }
    std::string dir(const std::string& id) const { return root_ + "/" + id; }
    std::string fifoPath(const std::string& id) const { return dir(id) + "/exec.fifo"; }
    std::string configPath(const std::string& id) const { return dir(id) + "/config.json"; }

    // Make the container's directory (fails with "already exists") and lock it.
    Result<Lock> createAndLock(const std::string& id);
    // Lock an existing container (fails with "does not exist").
    Result<Lock> lock(const std::string& id);
    // The record and its config: config.json of the state dir, else (an older build's record)
    // the config inside state.json.
    Result<ContainerState> load(const std::string& id) const;
    // load with only the config's hooks (its other top-level values come back empty, cut out
    // unparsed): for start and delete, which run hooks from it. An older record's config (inside
    // state.json) is loaded whole, so the save that moves it to config.json loses nothing.
    // Such a config must never be written back with saveConfig.
    Result<ContainerState> loadWithHooksOnly(const std::string& id) const;
    // The whole record without reading config.json (config stays null, unless an older build's
    // record holds it): for kill, which needs the pid, the cgroup paths and the handler only.
    Result<ContainerState> loadRecord(const std::string& id) const;
    // load without the config (null) and the cgroup paths (empty), skipped unparsed
    // (parseStateSummary): for read-only views.
    Result<ContainerState> loadSummary(const std::string& id) const;
    // Writes state.json (atomically, fsynced) without the config; a record loaded with
    // configInRecord gets its config.json written first.
    Status save(const ContainerState& s) const;
    // Writes the container's config.json (atomically, fsynced): once per create, and by update.
    Status saveConfig(const std::string& id, const std::string& configText) const;
    Status remove(const std::string& id) const;
    // withRecord false: every directory under the root (a caller that loads each record skips
    // those without one itself; no stat per entry).
    Result<std::vector<std::string>> list(bool withRecord = true) const;

    // The live status: the saved step checked against the kernel (is init alive, is the
    // exec fifo still there, is the freezer frozen).
    ContainerStatus liveStatus(const ContainerState& s) const;

private:
    std::string root_;
};

}  // namespace berth::runtime::state
