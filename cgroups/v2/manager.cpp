#include "cgroups/v2/manager.hpp"

namespace berth::cgroups::v2 {

Result<std::unique_ptr<Manager>> newManager(const std::string& root, const std::string&) {
    return Error::make("cgroup: ", root, " is a unified (v2-only) hierarchy, and the cgroup v2 "
                       "manager is not built yet");
}

}  // namespace berth::cgroups::v2
