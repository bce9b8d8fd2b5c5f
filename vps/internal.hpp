// vps/internal: helpers the verb files share — the template's layers, the runtime state of a
// VPS's container, and the lock + load every changing verb starts with.
#pragma once

#include <string>
#include <vector>

#include "common/unique_fd.hpp"
#include "vps/config.hpp"
#include "vps/rootfs.hpp"
#include "vps/store.hpp"
#include "vps/vps.hpp"

namespace berth::vps {

// The template's layer dirs (topmost first), snapshots unpacked; `word` an image name or digest.
struct Template {
    std::string name, digest;
    std::vector<std::string> lowers;
};
Result<Template> resolveTemplate(const Context& ctx, const std::string& word);

// The runtime's status of the VPS's container: "created", "running", "paused", "stopped",
// or "" when there is no container.
std::string containerState(const Context& ctx, const std::string& name, pid_t* pid = nullptr);
inline bool isUp(const std::string& st) { return st == "running" || st == "paused" || st == "created"; }

inline DataLayout layoutOf(const ConfigStore& s, const std::string& name) { return DataLayout{s.dataPath(name)}; }

// Take the container down (if any) and undo the host steps: after a stop, a failed start, or
// an init that exited on its own.
Status cleanupStopped(const Context& ctx, const ConfigStore& store, const Config& c);

// --userpasswd USER:PASS entries written into the VPS's /etc/shadow (vps/userpasswd.cpp): through
// its mounted rootfs when running, else with the rootfs (and disk) mounted for the edit.
Status applyUserPasswords(const Config& c, const DataLayout& d, const std::vector<std::string>& lowers,
                          const std::vector<std::string>& entries, bool running);

}  // namespace berth::vps
