// vps/spec: a VPS config as an OCI spec — the "system container" preset (init as PID 1, own
// user/pid/net/ipc/uts/mount/cgroup namespaces, the VPS's id range, a wide but not host-wide
// capability set, the limits of vps/limits). Pure: unit-tested without root.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "common/error.hpp"
#include "vps/config.hpp"
#include "vps/limits.hpp"

namespace berth::vps {

inline constexpr const char* kNameAnnotation = "org.berth.vps.name";

// The runtime's container id for a VPS.
std::string containerId(const std::string& name);

// `base` is the runtime's default spec (runtime::spec::defaultSpec) the preset starts from.
Result<nlohmann::json> buildSpec(const Config& c, const std::string& rootfs, const HostCaps& caps,
                                 nlohmann::json base);

}  // namespace berth::vps
