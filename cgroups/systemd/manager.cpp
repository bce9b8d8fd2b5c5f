#include "cgroups/systemd/manager.hpp"

#include "common/fs.hpp"

namespace berth::cgroups::systemd {

bool isRunning() { return fs::exists("/run/systemd/system"); }

Result<std::unique_ptr<Manager>> newManager(const Config&, HostLayout) {
    return Error::make("cgroup: the systemd cgroup driver is not built yet");
}

Result<std::unique_ptr<Manager>> loadManager(const Saved&) {
    return Error::make("cgroup: the systemd cgroup driver is not built yet");
}

}  // namespace berth::cgroups::systemd
