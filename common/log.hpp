// common/log: the process-wide logger. Library code logs at debug level only; the CLI owns
// the user-facing words and chooses the sink (--log FILE, --log-format text|json, --debug).
#pragma once

#include <string>

#include "common/error.hpp"

namespace berth::log {

enum class Level { Debug, Info, Warning, Error };
enum class Format { Text, Json };

// Configure once at start-up. An empty path means stderr.
Status configure(const std::string& path, Format format, bool debug);
void write(Level level, const std::string& msg);
bool debugEnabled();
// The fd log lines go to (so a child can keep writing after clone); -1 when stderr.
int fd();
// A child that renumbered its fds: where the log file is now (-1: stderr).
void setFd(int fd);

template <typename... Args>
void debug(Args&&... args) {
    if (debugEnabled()) write(Level::Debug, strCat(std::forward<Args>(args)...));
}
template <typename... Args>
void warn(Args&&... args) {
    write(Level::Warning, strCat(std::forward<Args>(args)...));
}
template <typename... Args>
void error(Args&&... args) {
    write(Level::Error, strCat(std::forward<Args>(args)...));
}

// The inside of a JSON string for `s` (no quotes), as common/json.cpp writes strings; bytes
// that are not UTF-8 become U+FFFD. Shared by the logger and hand-written JSON writers.
std::string jsonEscape(const std::string& s);

}  // namespace berth::log
