#include <sys/resource.h>

#include <optional>

#include "runtime/security/security.hpp"
#include "runtime/spec/names.hpp"

namespace berth::runtime::security {

Status applyRlimits(const std::vector<spec::Rlimit>& limits) {
    for (auto& l : limits) {
        std::optional<int> res = spec::rlimitResource(l.type);  // the one table (runtime/spec/names)
        if (!res) return Error::make("unknown rlimit ", l.type);
        struct rlimit rl = {static_cast<rlim_t>(l.soft), static_cast<rlim_t>(l.hard)};
        if (::setrlimit(*res, &rl) < 0)
            return Error::fromErrno("set ", l.type, " to soft=", l.soft, " hard=", l.hard);
    }
    return {};
}

}  // namespace berth::runtime::security
