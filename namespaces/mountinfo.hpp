// namespaces/mountinfo: /proc/self/mountinfo as data — the parser and the queries the rootfs
// setup needs (the mount a path lives on, whether it is shared, full proc/sysfs mounts).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace berth::namespaces {

struct MountInfo {
    int id = 0;
    int parentId = 0;
    std::string root;        // the path inside the filesystem that is mounted ("/" = full)
    std::string mountPoint;  // unescaped (\040 -> ' ')
    std::string options;     // per-mount options
    std::vector<std::string> optional;  // "shared:1", "master:2", ...
    std::string fsType;
    std::string source;
    std::string superOptions;

    bool shared() const;
};

// Parse mountinfo text; malformed lines are an error naming the line.
Result<std::vector<MountInfo>> parseMountInfo(const std::string& text);
Result<std::vector<MountInfo>> readMountInfo(const std::string& path = "/proc/self/mountinfo");

// The mount `path` (absolute, clean, symlink-free) lives on: the longest mount point that is
// `path` or one of its parents; the later one wins when mounts are stacked.
std::optional<MountInfo> mountContaining(const std::vector<MountInfo>& mounts,
                                         const std::string& path);

// True when `path` is `dir` or below it (component-wise: /a/bc is not below /a/b).
bool isPathWithin(const std::string& path, const std::string& dir);

}  // namespace berth::namespaces
