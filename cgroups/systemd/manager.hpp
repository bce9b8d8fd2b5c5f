// cgroups/systemd: the systemd driver — the container's cgroup is a transient scope unit
// (Delegate=yes) made over sd-bus, with the resources as unit properties.
#pragma once

#include <memory>

#include "cgroups/manager.hpp"

namespace berth::cgroups::systemd {

// systemd is PID 1 (sd_booted(): /run/systemd/system exists).
bool isRunning();
Result<std::unique_ptr<Manager>> newManager(const Config& cfg, HostLayout layout);
Result<std::unique_ptr<Manager>> loadManager(const Saved& saved);

}  // namespace berth::cgroups::systemd
