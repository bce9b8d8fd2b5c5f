#include "common/log.hpp"

#include "common/clock.hpp"

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
    std::string out;
    out.reserve(s.size() + 2);
    for (unsigned char c : s) {
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                if (c < 0x20) {
                    char buf[8];
                    snprintf(buf, sizeof buf, "\\u%04x", c);
                    out += buf;
                } else {
                    out += static_cast<char>(c);
                }
        }
    }
    return out;
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
