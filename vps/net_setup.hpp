// vps/net_setup: a VPS's network as its config and the host's network.conf give it — the host
// step that wires it at start and unwires it at stop, `set` applied live, and the rule that no
// two VPSes share an address. Over vps/network (netlink, nft) and vps/guest_files.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "vps/config.hpp"
#include "vps/host_net_conf.hpp"
#include "vps/host_setup.hpp"
#include "vps/network.hpp"
#include "vps/store.hpp"

namespace berth::vps {

// vps/network's view of a VPS: its addresses and --gateway, the bridge, its addresses, MTU and the
// default GATEWAY from network.conf (a host gateway outside every VPS network is not used).
Result<NetworkConfig> networkConfigFor(const Config& c, const HostNetworkConf& h);

// The network host step (4th in start order, see host_setup.hpp).
std::unique_ptr<HostStep> makeNetworkStep();

// Refuses an address of `c` (one not in `oldIps`, the VPS's before this change) that another
// VPS in the store has, or that the bridge or a host gateway in network.conf has.
Status checkAddressesFree(const ConfigStore& store, const Config& c,
                          const std::vector<std::string>& oldIps);

// `set` on a running VPS (init `pid`): the network fields that changed from `before` to `after`
// (ip, gateway, nameserver, searchdomain) applied now — addresses and filter, routes, the guest's
// files in its mounted rootfs. Returns the names of those fields.
Result<std::vector<std::string>> applyNetworkLive(const Config& before, const Config& after,
                                                  const DataLayout& d,
                                                  const std::string& configDir, pid_t pid);

// ch's --ip (replacing), then --ipdel, then --ipadd applied to `ips`.
Result<std::vector<std::string>> editIpList(const std::vector<std::string>& ips,
                                            const std::optional<std::vector<std::string>>& set,
                                            const std::optional<std::vector<std::string>>& del,
                                            const std::optional<std::vector<std::string>>& add);

}  // namespace berth::vps
