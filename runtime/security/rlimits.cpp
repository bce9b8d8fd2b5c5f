#include <sys/resource.h>

#include <cstring>

#include "runtime/security/security.hpp"

namespace berth::security {

int rlimitResource(const std::string& name) {
    static const struct {
        const char* name;
        int res;
    } kTable[] = {
        {"RLIMIT_CPU", RLIMIT_CPU},         {"RLIMIT_FSIZE", RLIMIT_FSIZE},
        {"RLIMIT_DATA", RLIMIT_DATA},       {"RLIMIT_STACK", RLIMIT_STACK},
        {"RLIMIT_CORE", RLIMIT_CORE},       {"RLIMIT_RSS", RLIMIT_RSS},
        {"RLIMIT_NPROC", RLIMIT_NPROC},     {"RLIMIT_NOFILE", RLIMIT_NOFILE},
        {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK}, {"RLIMIT_AS", RLIMIT_AS},
        {"RLIMIT_LOCKS", RLIMIT_LOCKS},     {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
        {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE}, {"RLIMIT_NICE", RLIMIT_NICE},
        {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},   {"RLIMIT_RTTIME", RLIMIT_RTTIME},
    };
    for (auto& e : kTable)
        if (name == e.name) return e.res;
    return -1;
}

Status applyRlimits(const std::vector<spec::Rlimit>& limits) {
    for (auto& l : limits) {
        int res = rlimitResource(l.type);
        if (res < 0) return Error::make("unknown rlimit ", l.type);
        struct rlimit rl = {static_cast<rlim_t>(l.soft), static_cast<rlim_t>(l.hard)};
        if (::setrlimit(res, &rl) < 0)
            return Error::fromErrno("set ", l.type, " to soft=", l.soft, " hard=", l.hard);
    }
    return {};
}

}  // namespace berth::security
