// vps/host_net_conf: the host admin's network settings for every VPS — CONFIG_DIR/network.conf,
// vzctl's vz.conf style (KEY=value): the bridge's name and addresses (the VPSes' gateway), default
// gateways, the MTU.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "vps/ip_prefix.hpp"

namespace berth::vps {

inline constexpr const char* kHostNetworkConfFile = "network.conf";

struct HostNetworkConf {
    std::string bridge;                     // empty: kDefaultBridge
    std::vector<IpPrefix> bridgeAddresses;  // given to the bridge where it lacks them
    std::optional<IpAddress> gateway4, gateway6;  // for VPSes without --gateway of that family
    uint32_t mtu = 0;                             // 0: the kernel's default
};

// Lines "KEY=value" (value optionally in "" or ''), '#' comments, blank lines. Keys: BRIDGE,
// BRIDGE_ADDRESSES (CIDR list), GATEWAY (at most one address per family), MTU. An unknown key or
// bad value is one error naming `source` and the line.
Result<HostNetworkConf> parseHostNetworkConf(const std::string& text, const std::string& source);
// CONFIG_DIR/network.conf (all defaults when there is none); $BERTH_VPS_BRIDGE names the bridge
// over BRIDGE (tests point it at a bridge of their own).
Result<HostNetworkConf> loadHostNetworkConf(const std::string& configDir);

// One address per family from `texts` ("10.0.0.1", "fd00::1"); `what` names the setting.
Status gatewaysByFamily(const std::vector<std::string>& texts, const std::string& what,
                        std::optional<IpAddress>& v4, std::optional<IpAddress>& v6);

}  // namespace berth::vps
