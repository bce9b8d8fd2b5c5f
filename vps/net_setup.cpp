// vps/net_setup: the VPS config's network applied through vps/network and vps/guest_files.
#include "vps/net_setup.hpp"

#include <net/if.h>

#include <algorithm>

#include "common/log.hpp"
#include "vps/guest_files.hpp"

namespace berth::vps {
namespace {

bool insideAny(const IpAddress& a, const std::vector<IpPrefix>& nets) {
    for (const auto& n : nets)
        if (inNetwork(a, n)) return true;
    return false;
}

Result<std::vector<IpAddress>> parseAddresses(const std::vector<std::string>& texts) {
    std::vector<IpAddress> out;
    for (const auto& t : texts) {
        ASSIGN_OR_RETURN(IpAddress a, parseIpAddress(t));
        out.push_back(a);
    }
    return out;
}

// hostname, hosts, resolv.conf, and the template's own network config, into the VPS's rootfs.
Status writeGuestFiles(const Config& c, const std::string& rootfs, const NetworkConfig& nc) {
    GuestNetworkFiles f;
    f.hostname = c.hostname.empty() ? c.name : c.hostname;
    f.addresses = nc.addresses;
    ASSIGN_OR_RETURN(f.nameservers, parseAddresses(c.network.nameservers));
    f.searchDomains = c.network.searchdomains;
    f.uid = static_cast<uid_t>(c.ids.base);
    f.gid = static_cast<gid_t>(c.ids.base);
    TRY(writeGuestNetworkFiles(rootfs, f));
    if (nc.addresses.empty()) return {};
    GuestInterface gi;
    gi.name = nc.peerIfName;
    gi.addresses = nc.addresses;
    ASSIGN_OR_RETURN(gi.gateways, plannedGateways(nc));
    gi.nameservers = f.nameservers;
    gi.searchDomains = f.searchDomains;
    return writeGuestNetworkConfig(rootfs, gi, f.uid, f.gid);
}

// --ip, --gateway, --nameserver, --searchdomain: the VPS's veth on the host bridge (network.conf's
// BRIDGE, $BERTH_VPS_BRIDGE over it, else berthbr0; made when missing) in berth's own network
// namespace, its addresses and routes once the init runs (the netns berth runs in is the host's
// side: tests run berth in one they made), and the guest's files written into its rootfs.
class NetworkStep : public HostStep {
public:
    const char* name() const override { return "network"; }
    Status prepare(const StepContext& c, nlohmann::json&) override {
        const Network& n = c.config.network;
        if (n.ips.empty() && n.nameservers.empty()) return {};
        ASSIGN_OR_RETURN(HostNetworkConf h, loadHostNetworkConf(c.configDir));
        ASSIGN_OR_RETURN(NetworkConfig nc, networkConfigFor(c.config, h));
        return writeGuestFiles(c.config, c.data.rootfs(), nc);
    }
    Status started(const StepContext& c, pid_t initPid) override {
        if (c.config.network.ips.empty()) return {};
        ASSIGN_OR_RETURN(HostNetworkConf h, loadHostNetworkConf(c.configDir));
        ASSIGN_OR_RETURN(NetworkConfig nc, networkConfigFor(c.config, h));
        auto attached = attach(nc, initPid);
        if (!attached) return std::move(attached).error();
        return {};
    }
    Status stopped(const StepContext& c) override {
        NetworkConfig nc;
        nc.vpsName = c.config.name;
        // Nothing attached (no --ip, or the veth went with the VPS's netns and no rules were
        // made). The veth is found by its name alone: the config may be gone or broken.
        if (c.config.network.ips.empty() && ::if_nametoindex(hostIfNameFor(nc.vpsName).c_str()) == 0)
            return {};
        return detach(nc);
    }
};

}  // namespace

Result<NetworkConfig> networkConfigFor(const Config& c, const HostNetworkConf& h) {
    NetworkConfig nc;
    nc.vpsName = c.name;
    nc.bridge = h.bridge.empty() ? kDefaultBridge : h.bridge;
    nc.bridgeAddresses = h.bridgeAddresses;
    nc.mtu = h.mtu;
    ASSIGN_OR_RETURN(nc.addresses, parseIpPrefixes(c.network.ips));
    TRY(gatewaysByFamily(c.network.gateways, "--gateway", nc.gateway4, nc.gateway6));
    // A VPS gateway of a family the VPS has no address of now is kept in its config, unused.
    if (nc.gateway4 && !insideAny(*nc.gateway4, nc.addresses)) nc.gateway4.reset();
    if (nc.gateway6 && !insideAny(*nc.gateway6, nc.addresses)) nc.gateway6.reset();
    if (!nc.gateway4 && h.gateway4 && insideAny(*h.gateway4, nc.addresses)) nc.gateway4 = h.gateway4;
    if (!nc.gateway6 && h.gateway6 && insideAny(*h.gateway6, nc.addresses)) nc.gateway6 = h.gateway6;
    return nc;
}

std::unique_ptr<HostStep> makeNetworkStep() { return std::make_unique<NetworkStep>(); }

Status checkAddressesFree(const ConfigStore& store, const Config& c,
                          const std::vector<std::string>& oldIps) {
    ASSIGN_OR_RETURN(auto mine, parseIpPrefixes(c.network.ips));
    ASSIGN_OR_RETURN(auto old, parseIpPrefixes(oldIps));
    std::erase_if(mine, [&](const IpPrefix& p) {
        return std::any_of(old.begin(), old.end(), [&](const IpPrefix& o) { return o.addr == p.addr; });
    });
    if (mine.empty()) return {};
    ASSIGN_OR_RETURN(HostNetworkConf h, loadHostNetworkConf(store.paths().configDir));
    for (const auto& p : mine) {
        for (const auto& b : h.bridgeAddresses)
            if (b.addr == p.addr)
                return Error::make("--ip ", p.addr.str(), ": it is the bridge's address (",
                                   store.paths().configDir, "/", kHostNetworkConfFile, ")");
        for (const auto& g : {h.gateway4, h.gateway6})
            if (g && *g == p.addr)
                return Error::make("--ip ", p.addr.str(), ": it is the host's GATEWAY (",
                                   store.paths().configDir, "/", kHostNetworkConfFile, ")");
    }
    ASSIGN_OR_RETURN(auto names, store.names());
    for (const auto& other : names) {
        if (other == c.name) continue;
        auto oc = store.load(other);
        if (!oc) {  // a broken config is reported by the verbs that use it
            log::debug("address check: skip ", other, ": ", oc.error().what());
            continue;
        }
        for (const auto& text : oc->network.ips) {
            auto theirs = parseIpPrefix(text);
            if (!theirs) continue;
            for (const auto& p : mine)
                if (theirs->addr == p.addr)
                    return Error(EADDRINUSE, strCat("--ip ", p.addr.str(), ": already used by VPS \"",
                                                    other, "\""))
                        .hideErrno();
        }
    }
    return {};
}

Result<std::vector<std::string>> applyNetworkLive(const Config& before, const Config& after,
                                                  const DataLayout& d,
                                                  const std::string& configDir, pid_t pid) {
    const Network &was = before.network, &now = after.network;
    std::vector<std::string> applied;
    if (was.ips != now.ips) applied.push_back("ip");
    if (was.gateways != now.gateways) applied.push_back("gateway");
    if (was.nameservers != now.nameservers) applied.push_back("nameserver");
    if (was.searchdomains != now.searchdomains) applied.push_back("searchdomain");
    if (applied.empty()) return applied;
    ASSIGN_OR_RETURN(HostNetworkConf h, loadHostNetworkConf(configDir));
    ASSIGN_OR_RETURN(NetworkConfig from, networkConfigFor(before, h));
    ASSIGN_OR_RETURN(NetworkConfig to, networkConfigFor(after, h));
    if (was.ips.empty() && !now.ips.empty()) {
        auto attached = attach(to, pid);
        if (!attached) return std::move(attached).error();
    } else if (!was.ips.empty() && now.ips.empty()) {
        TRY(detach(from));
    } else if (!now.ips.empty() && (was.ips != now.ips || was.gateways != now.gateways)) {
        TRY(update(from, to, pid));
    }
    TRY_CTX(writeGuestFiles(after, d.rootfs(), to), "the VPS's network files");
    return applied;
}

Result<std::vector<std::string>> editIpList(const std::vector<std::string>& ips,
                                            const std::optional<std::vector<std::string>>& set,
                                            const std::optional<std::vector<std::string>>& del,
                                            const std::optional<std::vector<std::string>>& add) {
    std::vector<std::string> out = set ? *set : ips;
    auto addrOf = [](const std::string& t) { return parseIpAddress(t.substr(0, t.find('/'))); };
    for (const auto& d : del ? *del : std::vector<std::string>{}) {
        if (d == "all") {
            out.clear();
            continue;
        }
        auto a = addrOf(d);
        if (!a) return Error::make("--ipdel \"", d, "\": not an IPv4 or IPv6 address (or \"all\")");
        auto n = std::erase_if(out, [&](const std::string& t) {
            auto b = addrOf(t);
            return b && *b == *a;
        });
        if (n == 0) return Error::make("--ipdel ", a->str(), ": not an address of the VPS");
    }
    for (const auto& t : add ? *add : std::vector<std::string>{}) {
        auto a = addrOf(t);
        for (const auto& have : out)
            if (a && addrOf(have) && *addrOf(have) == *a)
                return Error::make("--ipadd ", a->str(), ": the VPS has it already");
        out.push_back(t);
    }
    return out;
}

}  // namespace berth::vps
