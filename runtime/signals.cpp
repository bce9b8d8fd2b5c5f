// Signal names as runc accepts them: with or without SIG, any case, or a number.
#include <signal.h>

#include <algorithm>
#include <cctype>
#include <cstring>

#include "runtime/runtime.hpp"

namespace berth::runtime {

Result<int> parseSignal(const std::string& raw) {
    if (raw.empty()) return Error::make("invalid signal \"\"");
    if (std::all_of(raw.begin(), raw.end(), [](unsigned char c) { return std::isdigit(c); })) {
        long n = raw.size() > 3 ? -1 : std::stol(raw);
        // 0 is valid, as with runc and kill(1): it probes the process without signalling it.
        if (n < 0 || n >= NSIG) return Error::make("invalid signal number ", raw);
        return static_cast<int>(n);
    }
    std::string name = raw;
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return std::toupper(c); });
    if (name.rfind("SIG", 0) == 0) name = name.substr(3);
    if (name.rfind("RTMIN", 0) == 0 || name.rfind("RTMAX", 0) == 0) {
        bool min = name[3] == 'I';
        std::string off = name.substr(5);
        int n = min ? SIGRTMIN : SIGRTMAX;
        if (!off.empty()) {
            if ((off[0] != '+' && off[0] != '-') || off.size() < 2 ||
                !std::all_of(off.begin() + 1, off.end(), [](unsigned char c) { return std::isdigit(c); }))
                return Error::make("invalid signal \"", raw, "\"");
            n += std::stoi(off);
        }
        if (n < SIGRTMIN || n > SIGRTMAX) return Error::make("invalid signal \"", raw, "\"");
        return n;
    }
    for (int s = 1; s < 32; s++) {
        const char* abbrev = ::sigabbrev_np(s);
        if (abbrev && name == abbrev) return s;
    }
    if (name == "IOT") return SIGABRT;
    if (name == "POLL") return SIGIO;
    return Error::make("invalid signal \"", raw, "\"");
}

}  // namespace berth::runtime
