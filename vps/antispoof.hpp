// vps/antispoof: the nftables rules that keep a VPS to its own MAC and IP addresses — one
// netdev-family table per VPS, its chain hooked at ingress of the VPS's host-side veth.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "vps/ip_prefix.hpp"

namespace berth::vps {

struct AntiSpoofRules {
    std::string hostIf;               // the VPS's veth on the host (the hook's device)
    std::array<uint8_t, 6> mac{};     // the VPS's own MAC (its veth peer)
    std::vector<IpPrefix> addresses;  // the VPS's own addresses
};

// The table's name for a host veth: "berth_<hostIf>".
std::string antiSpoofTable(const std::string& hostIf);
// An nft script that (re)creates the VPS's table in one transaction.
std::string renderAntiSpoofRules(const AntiSpoofRules& r);
// An nft script that swaps the allowed addresses in one transaction (`set --ip`).
std::string renderAntiSpoofAddresses(const AntiSpoofRules& r);
// An nft script that removes the table, and succeeds when it is already gone.
std::string renderAntiSpoofRemoval(const std::string& hostIf);

// Run the scripts with nft(8) (`nft -f -`: the whole script is one kernel transaction).
Status installAntiSpoof(const AntiSpoofRules& r);
Status updateAntiSpoofAddresses(const AntiSpoofRules& r);
Status removeAntiSpoof(const std::string& hostIf);

}  // namespace berth::vps
