// vps/network: attach/detach/setAddresses over rtnetlink (vps/netlink) and nft (vps/antispoof).
#include "vps/network.hpp"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/ip.h>

#include <algorithm>

#include "common/log.hpp"
#include "common/unique_fd.hpp"
#include "vps/antispoof.hpp"
#include "vps/netlink.hpp"

namespace berth::vps {
namespace {

uint64_t fnv1a(const std::string& s) {
    uint64_t h = 1469598103934665603ull;
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
    // splitmix64's finaliser: names that differ in one character differ in every output bit.
    h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
    h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
    return h ^ (h >> 31);
}

std::string hostIf(const NetworkConfig& c) {
    return c.hostIfName.empty() ? hostIfNameFor(c.vpsName) : c.hostIfName;
}
std::array<uint8_t, 6> vpsMac(const NetworkConfig& c) {
    return c.mac ? *c.mac : macFor(c.vpsName);
}

Result<UniqueFd> openNetns(pid_t pid) {
    std::string path = strCat("/proc/", pid, "/ns/net");
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return Error::fromErrno("open ", path);
    return fd;
}

// Give the bridge the configured addresses it lacks (made here, or reused with the admin's
// BRIDGE_ADDRESSES): the VPSes' gateway.
Status ensureBridgeAddresses(netlink::Socket& host, int br, const NetworkConfig& c) {
    if (c.bridgeAddresses.empty()) return {};
    ASSIGN_OR_RETURN(auto have, host.addresses(br));
    for (const auto& a : c.bridgeAddresses) {
        bool present = false;
        for (const auto& h : have) present = present || h.prefix.addr == a.addr;
        if (!present) TRY_CTX(host.addAddress(br, a), "bridge ", c.bridge);
    }
    return {};
}

// The bridge's index, creating it (up, with its addresses) when missing. `created` says which.
Result<int> ensureBridge(netlink::Socket& host, const NetworkConfig& c, bool& created,
                         std::optional<ScopeGuard>& undo) {
    created = false;
    auto idx = host.linkIndex(c.bridge);
    if (idx) {
        TRY(ensureBridgeAddresses(host, *idx, c));
        return *idx;
    }
    if (idx.error().err() != ENODEV)
        return std::move(idx.error()).context("look up bridge ", c.bridge);
    auto mac = macFor("bridge:" + c.bridge);
    TRY(host.createBridge(c.bridge, mac, c.mtu));
    ASSIGN_OR_RETURN(int br, host.linkIndex(c.bridge));
    created = true;
    undo.emplace([&host, br] { (void)host.deleteLink(br); });
    TRY(ensureBridgeAddresses(host, br, c));
    TRY_CTX(host.setLink(br, true, 0, 0), "bring up bridge ", c.bridge);
    return br;
}

// The gateway of `family`: the configured one, else a bridge address in a VPS network.
std::optional<IpAddress> gatewayFor(int family, const NetworkConfig& c,
                                    const std::vector<netlink::AddressEntry>& bridgeAddrs) {
    const auto& given = family == AF_INET ? c.gateway4 : c.gateway6;
    if (given) return given;
    for (const auto& own : c.addresses) {
        if (own.addr.family != family) continue;
        for (const auto& b : bridgeAddrs)
            if (inNetwork(b.prefix.addr, own)) return b.prefix.addr;
    }
    return std::nullopt;
}

// Removing an interface's primary IPv4 address takes its secondaries in the same network along,
// unless they are promoted: `set --ip` removing the first address must keep the others.
Status keepSecondaries(netlink::Socket& vps, int peer) {
    TRY_CTX(vps.setIpv4Conf(peer, IPV4_DEVCONF_PROMOTE_SECONDARIES, 1),
            "promote_secondaries in the VPS");
    return {};
}

// Inside the VPS: lo and the peer up, addresses, default routes.
Status configurePeer(netlink::Socket& vps, const NetworkConfig& c,
                     const std::vector<IpAddress>& gateways) {
    ASSIGN_OR_RETURN(int lo, vps.linkIndex("lo"));
    TRY_CTX(vps.setLink(lo, true, 0, 0), "bring up lo in the VPS");
    ASSIGN_OR_RETURN(int peer, vps.linkIndex(c.peerIfName));
    TRY(keepSecondaries(vps, peer));
    // The link-local address is berth's (the same EUI-64 one the kernel would make), added
    // without duplicate address detection like the others: every IPv6 address is usable at once
    // rather than "tentative" for a second after the link comes up.
    TRY_CTX(vps.setInet6AddrGenMode(peer, IN6_ADDR_GEN_MODE_NONE), "IPv6 address generation in the VPS");
    TRY(vps.addAddress(peer, IpPrefix{linkLocalFromMac(vpsMac(c)), 64}));
    for (const auto& a : c.addresses) TRY(vps.addAddress(peer, a));
    TRY_CTX(vps.setLink(peer, true, 0, 0), "bring up ", c.peerIfName, " in the VPS");
    for (const auto& gw : gateways) TRY(vps.addDefaultRoute(peer, gw));
    return {};
}

// The gateways `c` gives the VPS, the bridge's addresses looked up in this (the host's) netns.
Result<std::vector<IpAddress>> gatewaysOf(netlink::Socket& host, const NetworkConfig& c) {
    std::vector<netlink::AddressEntry> bridgeAddrs;
    if (auto br = host.linkIndex(c.bridge)) {
        ASSIGN_OR_RETURN(bridgeAddrs, host.addresses(*br));
    }
    for (const auto& a : c.bridgeAddresses) bridgeAddrs.push_back({0, a, true});
    std::vector<IpAddress> out;
    for (int family : {AF_INET, AF_INET6})
        if (auto gw = gatewayFor(family, c, bridgeAddrs)) out.push_back(*gw);
    return out;
}

bool contains(const std::vector<IpPrefix>& list, const IpPrefix& p) {
    return std::find(list.begin(), list.end(), p) != list.end();
}

// The VPS's default routes become `gateways` (one per family; a family without one has none).
Status replaceDefaultRoutes(netlink::Socket& vps, int peer, const std::vector<IpAddress>& gateways) {
    for (int family : {AF_INET, AF_INET6}) TRY(vps.deleteDefaultRoutes(peer, family));
    for (const auto& gw : gateways) TRY(vps.addDefaultRoute(peer, gw));
    return {};
}

}  // namespace

std::string hostIfNameFor(const std::string& vpsName) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "bv%08x", static_cast<unsigned>(fnv1a(vpsName) & 0xffffffffu));
    return buf;
}

std::array<uint8_t, 6> macFor(const std::string& vpsName) {
    uint64_t h = fnv1a("mac:" + vpsName);
    return {0x02,
            0xb7,
            static_cast<uint8_t>(h >> 24),
            static_cast<uint8_t>(h >> 16),
            static_cast<uint8_t>(h >> 8),
            static_cast<uint8_t>(h)};
}

Status validateNetworkConfig(const NetworkConfig& c) {
    if (c.vpsName.empty() && (c.hostIfName.empty() || !c.mac))
        return Error(EINVAL, "network: a VPS name (or host interface name and MAC) is needed");
    for (const auto& name : {c.bridge, hostIf(c), c.peerIfName})
        if (name.empty() || name.size() >= IFNAMSIZ ||
            name.find_first_of("/: \t") != std::string::npos)
            return Error(EINVAL, strCat("network: bad interface name \"", name,
                                        "\" (1..15 characters, no / or :)"));
    for (size_t i = 0; i < c.addresses.size(); i++)
        for (size_t j = i + 1; j < c.addresses.size(); j++)
            if (c.addresses[i].addr == c.addresses[j].addr)
                return Error(EINVAL, strCat("network: address ", c.addresses[i].addr.str(),
                                            " is given twice"));
    if (c.gateway4 && c.gateway4->family != AF_INET)
        return Error(EINVAL, "network: the IPv4 gateway is not IPv4");
    if (c.gateway6 && c.gateway6->family != AF_INET6)
        return Error(EINVAL, "network: the IPv6 gateway is not IPv6");
    if (c.mtu && (c.mtu < 576 || c.mtu > 65535))
        return Error(EINVAL, strCat("network: MTU ", c.mtu, " out of range 576..65535"));
    return {};
}

Result<AttachedNetwork> attach(const NetworkConfig& c, pid_t vpsInitPid) {
    TRY(validateNetworkConfig(c));
    AttachedNetwork out{hostIf(c), c.peerIfName, vpsMac(c), {}, false};
    ASSIGN_OR_RETURN(UniqueFd nsFd, openNetns(vpsInitPid));
    ASSIGN_OR_RETURN(auto host, netlink::Socket::open());
    std::optional<ScopeGuard> undoBridge;
    ASSIGN_OR_RETURN(int br, ensureBridge(host, c, out.bridgeCreated, undoBridge));

    TRY(host.createVeth(out.hostIfName, c.peerIfName, nsFd.get(), out.mac, c.mtu));
    ASSIGN_OR_RETURN(int hv, host.linkIndex(out.hostIfName));
    // Deleting one end of a veth deletes both, wherever the peer is.
    ScopeGuard undoVeth([&host, hv] { (void)host.deleteLink(hv); });
    AntiSpoofRules rules{out.hostIfName, out.mac, c.addresses};
    TRY(installAntiSpoof(rules));
    ScopeGuard undoRules([&] { (void)removeAntiSpoof(out.hostIfName); });
    // Only now the port goes up: no frame passes before the filter is in place.
    TRY_CTX(host.setLink(hv, true, br, 0), "attach ", out.hostIfName, " to bridge ", c.bridge);

    ASSIGN_OR_RETURN(out.gateways, gatewaysOf(host, c));
    ASSIGN_OR_RETURN(auto vps, netlink::Socket::openInNetns(nsFd.get()));
    TRY_CTX(configurePeer(vps, c, out.gateways), "VPS network");

    undoRules.dismiss();
    undoVeth.dismiss();
    if (undoBridge) undoBridge->dismiss();
    log::debug("vps network: ", out.hostIfName, " on ", c.bridge, " for pid ", vpsInitPid);
    return out;
}

Status detach(const NetworkConfig& c) {
    TRY(validateNetworkConfig(c));
    std::string name = hostIf(c);
    ASSIGN_OR_RETURN(auto host, netlink::Socket::open());
    auto idx = host.linkIndex(name);
    if (idx) {
        auto del = host.deleteLink(*idx);
        if (!del && del.error().err() != ENODEV)
            return std::move(del.error()).context("remove veth ", name);
    } else if (idx.error().err() != ENODEV) {
        return std::move(idx.error()).context("look up veth ", name);
    }
    TRY(removeAntiSpoof(name));
    return {};
}

Status update(const NetworkConfig& now, const NetworkConfig& next, pid_t vpsInitPid) {
    TRY(validateNetworkConfig(next));
    std::string hv = hostIf(now);
    ASSIGN_OR_RETURN(auto host, netlink::Socket::open());
    auto hvIdx = host.linkIndex(hv);
    if (!hvIdx && hvIdx.error().err() == ENODEV)
        return Error(ENODEV, strCat("the VPS's veth ", hv,
                                    " is not in this network namespace (run berth vps in the "
                                    "one the VPS was started in)"))
            .hideErrno();
    if (!hvIdx) return std::move(hvIdx).error();
    if (auto br = host.linkIndex(next.bridge)) TRY(ensureBridgeAddresses(host, *br, next));
    ASSIGN_OR_RETURN(auto gateways, gatewaysOf(host, next));
    ASSIGN_OR_RETURN(UniqueFd nsFd, openNetns(vpsInitPid));
    ASSIGN_OR_RETURN(auto vps, netlink::Socket::openInNetns(nsFd.get()));
    ASSIGN_OR_RETURN(int peer, vps.linkIndex(now.peerIfName));
    TRY(keepSecondaries(vps, peer));
    ASSIGN_OR_RETURN(auto current, vps.addresses(peer));
    std::vector<IpPrefix> present;
    for (const auto& e : current) present.push_back(e.prefix);
    // now.addresses is what the filter allows. Widen it to old + new, add the new addresses,
    // remove the dropped ones, then narrow it to the new set: no moment where a kept address is
    // filtered, and an address the VPS added by itself is never let through.
    std::vector<IpPrefix> widened = now.addresses;
    for (const auto& p : next.addresses)
        if (!contains(widened, p)) widened.push_back(p);
    auto mac = vpsMac(now);
    TRY(updateAntiSpoofAddresses({hv, mac, widened}));
    std::vector<IpPrefix> added;
    ScopeGuard undo([&] {
        for (const auto& p : added) (void)vps.deleteAddress(peer, p);
        (void)updateAntiSpoofAddresses({hv, mac, now.addresses});
    });
    for (const auto& p : next.addresses)
        if (!contains(present, p)) {
            TRY(vps.addAddress(peer, p));
            added.push_back(p);
        }
    for (const auto& p : now.addresses)
        if (!contains(next.addresses, p) && contains(present, p)) TRY(vps.deleteAddress(peer, p));
    TRY_CTX(replaceDefaultRoutes(vps, peer, gateways), "VPS network");
    undo.dismiss();
    TRY(updateAntiSpoofAddresses({hv, mac, next.addresses}));
    return {};
}

Result<std::vector<IpAddress>> plannedGateways(const NetworkConfig& c) {
    ASSIGN_OR_RETURN(auto host, netlink::Socket::open());
    return gatewaysOf(host, c);
}

Status setAddresses(const NetworkConfig& c, pid_t vpsInitPid,
                    const std::vector<IpPrefix>& addresses) {
    NetworkConfig next = c;
    next.addresses = addresses;
    return update(c, next, vpsInitPid);
}

}  // namespace berth::vps
