#include "common/log.hpp"

#include "common/clock.hpp"
#include "common/json.hpp"

#include <fcntl.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>

namespace berth::log {
namespace {
int gFd = -1;  // -1: stderr
Format gFormat = Format::Text;
bool gDebug = false;

const char* levelName(Level l) {
    switch (l) {
        case Level::Debug: return "debug";
        case Level::Info: return "info";
        case Level::Warning: return "warning";
        case Level::Error: return "error";
    }
    return "info";
}

}  // namespace

std::string jsonEscape(const std::string& s) {
    // common/json.cpp's writer (nlohmann's escapes). A message may carry bytes that are not
    // UTF-8 (a path from a spec): each such byte becomes U+FFFD, so the line stays JSON.
    std::string out;
    if (appendJsonString(out, s)) {
        std::string repaired;
        repaired.reserve(s.size() + 8);
        for (size_t i = 0; i < s.size();) {
            size_t n = static_cast<unsigned char>(s[i]) < 0x80 ? 1 : utf8SequenceLength(s, i);
            if (n == 0) {
                repaired += "\xEF\xBF\xBD";
                i++;
            } else {
                repaired.append(s, i, n);
                i += n;
            }
        }
        out.clear();
        (void)appendJsonString(out, repaired);
    }
    return out.size() >= 2 ? out.substr(1, out.size() - 2) : std::string();
}

Status configure(const std::string& path, Format format, bool debug) {
    gFormat = format;
    gDebug = debug;
    if (!path.empty()) {
        int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (fd < 0) return Error::fromErrno("open log file ", path);
        gFd = fd;
    }
    return {};
}

bool debugEnabled() { return gDebug; }
int fd() { return gFd; }
void setFd(int fd) { gFd = fd; }

void write(Level level, const std::string& msg) {
    std::string line;
    if (gFormat == Format::Json) {
        line = strCat("{\"level\":\"", levelName(level), "\",\"msg\":\"", jsonEscape(msg),
                      "\",\"time\":\"", rfc3339Now(), "\"}\n");
    } else if (gFd >= 0 || level == Level::Debug) {
        // logrus's text shape, as runc's --debug lines (an error on stderr stays "berth: MSG").
        line = strCat("time=\"", rfc3339Now(), "\" level=", levelName(level), " msg=\"",
                      jsonEscape(msg), "\"\n");
    } else {
        line = strCat("berth: ", level == Level::Error ? "" : strCat(levelName(level), ": "),
                      msg, "\n");
    }
    int fd = gFd >= 0 ? gFd : STDERR_FILENO;
    // One write per line so concurrent writers (parent and child) do not interleave.
    ssize_t r = ::write(fd, line.data(), line.size());
    (void)r;
}

}  // namespace berth::log
