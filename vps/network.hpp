// vps/network: a VPS's place on the host network — its veth into a host bridge berth creates or
// reuses, its static addresses and default routes, the anti-spoofing filter on its host veth.
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "vps/ip_prefix.hpp"

namespace berth::vps {

inline constexpr const char* kDefaultBridge = "berthbr0";

struct NetworkConfig {
    std::string vpsName;  // names the host veth and the MAC unless given
    std::string bridge = kDefaultBridge;
    // Given to the bridge where it lacks them (made by berth, or reused): the VPSes' gateway.
    std::vector<IpPrefix> bridgeAddresses;
    std::string hostIfName;                     // empty: hostIfNameFor(vpsName)
    std::string peerIfName = "eth0";            // the interface's name inside the VPS
    std::optional<std::array<uint8_t, 6>> mac;  // the VPS's MAC; empty: macFor(vpsName)
    std::vector<IpPrefix> addresses;
    // Default routes. Unset: the bridge's address of that family in a VPS address's network,
    // if the bridge has one; else the VPS gets no default route of that family.
    std::optional<IpAddress> gateway4, gateway6;
    uint32_t mtu = 0;  // 0: the kernel's default (1500)
};

struct AttachedNetwork {
    std::string hostIfName;
    std::string peerIfName;
    std::array<uint8_t, 6> mac{};
    std::vector<IpAddress> gateways;
    bool bridgeCreated = false;
};

// "bv" + 8 hex digits of a hash of the name: fits IFNAMSIZ for any VPS name, same every start.
std::string hostIfNameFor(const std::string& vpsName);
// A locally administered unicast MAC derived from the name (02:b7:...), stable across starts.
std::array<uint8_t, 6> macFor(const std::string& vpsName);
// Checks that need no kernel: names fit, addresses unique, gateways of a family the VPS has.
Status validateNetworkConfig(const NetworkConfig& c);

// The VPS's default gateways, one per family: gateway4/6, else an address of the bridge (as it
// is in this netns, or as c.bridgeAddresses will make it) inside a VPS address's network.
Result<std::vector<IpAddress>> plannedGateways(const NetworkConfig& c);

// Wire a running VPS (its init `vpsInitPid`) to the bridge: veth pair (peer moved into
// /proc/PID/ns/net), anti-spoofing rules, addresses, routes, lo up. On failure nothing made here
// is left (the bridge too, when it was made here).
Result<AttachedNetwork> attach(const NetworkConfig& c, pid_t vpsInitPid);
// Remove the VPS's veth and rules. Idempotent: what is already gone (the VPS's netns died and
// took the veth with it) is not an error.
Status detach(const NetworkConfig& c);
// Live `set`: the VPS wired as `now` becomes `next` (same VPS, veth and bridge): new addresses
// added, dropped ones removed, the filter following (widened first, narrowed last), the default
// routes replaced by next's gateways. Run in the host netns the VPS was attached in. On failure
// the added addresses are removed and the filter is back to now.addresses.
Status update(const NetworkConfig& now, const NetworkConfig& next, pid_t vpsInitPid);
// `update` with only the addresses changed: `c` holds the VPS's addresses now (as attached), `addresses` the new set.
// New ones are added, dropped ones removed, the filter follows (widened first, narrowed last).
// On failure the added addresses are removed and the filter is back to c.addresses.
Status setAddresses(const NetworkConfig& c, pid_t vpsInitPid,
                    const std::vector<IpPrefix>& addresses);

}  // namespace berth::vps
