// namespaces/namespaces: namespace kinds and their clone flags, joining a namespace by path,
// user-namespace id maps written from the parent, and time-namespace offsets.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/unique_fd.hpp"

namespace berth::namespaces {

struct Kind {
    const char* specName;  // "network" as config.json names it
    const char* procName;  // "net" as /proc/PID/ns names it
    int cloneFlag;
};
// In the order namespaces must be joined: user first (it grants the rights for the rest), mount
// last (it changes how later paths resolve).
const std::vector<Kind>& kinds();
const Kind* kindBySpecName(const std::string& name);

// Open a namespace file for setns, checking it is a namespace of the right kind.
Result<UniqueFd> openNamespace(const std::string& path, const Kind& kind);
Status joinNamespace(int fd, const Kind& kind);

struct IdMap {
    uint32_t containerID = 0, hostID = 0, size = 0;
};
std::string formatIdMap(const std::vector<IdMap>& maps);

// One step of writing a child's id maps from the parent: a file under /proc/PID (uid_map,
// setgroups, gid_map) written directly, or a setuid helper (newuidmap/newgidmap) run on it.
struct IdMapWrite {
    enum class How { File, Tool };
    How how = How::File;
    std::string target;         // "uid_map", "setgroups", "gid_map"; or "newuidmap", "newgidmap"
    std::string text;           // How::File: what is written (once: the kernel takes one write)
    std::vector<IdMap> maps;    // How::Tool: the ranges passed to the helper
    bool operator==(const IdMapWrite&) const = default;
};
bool operator==(const IdMap& a, const IdMap& b);
// Who writes what, in order, for a writer with effective ids euid/egid (pure). Root writes both
// files itself; unprivileged (rootless) only its own id, once — setgroups denied before the gid
// map — and anything more through newuidmap/newgidmap, as runc falls back to them.
std::vector<IdMapWrite> planIdMapWrites(const std::vector<IdMap>& uids,
                                        const std::vector<IdMap>& gids, uid_t euid, gid_t egid);
Status applyIdMapWritesFromParent(pid_t child, const std::vector<IdMapWrite>& writes);
// planIdMapWrites for this process's ids, applied.
Status writeIdMapsFromParent(pid_t child, const std::vector<IdMap>& uids,
                             const std::vector<IdMap>& gids);

struct TimeOffset {
    int64_t secs = 0;
    uint32_t nanosecs = 0;
};
// Create a time namespace for this process's future children and set its clock offsets. The
// offsets may only be written before a process lives in it, so this runs before the clone.
Status newTimeNamespaceForChildren(const std::map<std::string, TimeOffset>& offsets);

// pid and time namespaces apply only to a process's future children: a ForChildren enters them
// for a clone and, when it goes away, puts this process's children back in its own ones.
class ForChildren {
public:
    ForChildren() = default;
    ForChildren(const ForChildren&) = delete;
    ForChildren& operator=(const ForChildren&) = delete;
    ~ForChildren();
    Status join(int nsfd, const Kind& kind);  // kind is pid or time
    Status newTime(const std::map<std::string, TimeOffset>& offsets);

private:
    UniqueFd restorePid_, restoreTime_;
};

// Inode of /proc/PID/ns/NAME (0 if absent) — used to tell which namespaces a container shares.
uint64_t namespaceInode(pid_t pid, const char* procName);

}  // namespace berth::namespaces
