// common/fs: small filesystem helpers every module uses — whole-file reads, atomic writes
// (write, fsync, rename), mkdir -p — all returning Result with the path in the error.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/error.hpp"

namespace berth::fs {

Result<std::string> readFile(const std::string& path);
// Everything fd yields until EOF (or a read error: what came before it), EINTR retried: the
// report a child writes on a close-on-exec pipe before it execs or exits.
std::string readUntilEof(int fd);
// Write to path.tmp, fsync, rename over path: readers see the old or the new file, never a mix.
Status writeFileAtomic(const std::string& path, const std::string& data, mode_t mode = 0644);
// Plain write (O_WRONLY|O_TRUNC), as used for cgroup and /proc knobs.
Status writeFile(const std::string& path, const std::string& data);
// All of `data` to `fd` (EINTR retried); `path` names it in the error.
Status writeAll(int fd, const std::string& data, const std::string& path);
// writeFile that first checks the opened file is on the filesystem `fsMagic` (PROC_SUPER_MAGIC,
// SYSFS_MAGIC...): a mount over a /proc or /sys file cannot redirect a runtime's write.
Status writeFileOnFs(const std::string& path, const std::string& data, long fsMagic, const char* fsName);
Status mkdirAll(const std::string& path, mode_t mode = 0755);
// rm -rf that never crosses into a mount (used for state dirs).
Status removeAll(const std::string& path);
bool exists(const std::string& path);
// Names in a directory (no "." or ".."), unsorted.
Result<std::vector<std::string>> listDir(const std::string& path);
std::string joinPath(const std::string& a, const std::string& b);
// Lexically clean an absolute path: collapse //, ., and .. (never above /).
std::string cleanPath(const std::string& path);
std::vector<std::string> split(const std::string& s, char sep);
std::string trim(const std::string& s);

}  // namespace berth::fs
