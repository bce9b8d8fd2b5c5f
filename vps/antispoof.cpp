// vps/antispoof: nft scripts for the per-VPS ingress filter, and running them.
#include "vps/antispoof.hpp"

#include <cctype>
#include <cstdio>

#include "common/command.hpp"

namespace berth::vps {
namespace {

// "elements = { a, b }" for the VPS's addresses of one family (the VPS's EUI-64 link-local
// address is always allowed for IPv6: neighbour discovery and router solicitation use it).
std::string elements(const AntiSpoofRules& r, int family) {
    std::vector<IpAddress> addrs;
    if (family == AF_INET6) addrs.push_back(linkLocalFromMac(r.mac));
    for (const auto& p : r.addresses)
        if (p.addr.family == family) addrs.push_back(p.addr);
    if (addrs.empty()) return "";
    std::string out = "elements = { ";
    for (size_t i = 0; i < addrs.size(); i++) out += (i ? ", " : "") + addrs[i].str();
    return out + " }";
}

// The same IPv6 addresses as 128-bit integers, "{ 0xfe80..., 0xfd00... }": the elements of a set
// keyed by a raw payload (nft 1.0.6 has no named ND target field to match an ipv6_addr set with).
std::string targetElements(const AntiSpoofRules& r) {
    std::string out = "{ ";
    auto add = [&](const IpAddress& a) {
        char hex[3];
        out += out.size() > 2 ? ", 0x" : "0x";
        for (size_t i = 0; i < 16; i++) {
            std::snprintf(hex, sizeof hex, "%02x", a.bytes[i]);
            out += hex;
        }
    };
    add(linkLocalFromMac(r.mac));
    for (const auto& p : r.addresses)
        if (p.addr.family == AF_INET6) add(p.addr);
    return out + " }";
}

std::string setDefinitions(const AntiSpoofRules& r) {
    std::string e4 = elements(r, AF_INET), e6 = elements(r, AF_INET6);
    return "\tset addrs4 { type ipv4_addr; " + (e4.empty() ? "" : e4 + "; ") + "}\n" +
           "\tset addrs6 { type ipv6_addr; " + (e6.empty() ? "" : e6 + "; ") + "}\n" +
           // Neighbour advertisements' target address (ICMPv6 bytes 8..23).
           "\tset targets6 { typeof @th,64,128; elements = " + targetElements(r) + "; }\n";
}

}  // namespace

std::string antiSpoofTable(const std::string& hostIf) {
    std::string t = "berth_" + hostIf;
    for (char& c : t)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') c = '_';
    return t;
}

std::string renderAntiSpoofRules(const AntiSpoofRules& r) {
    std::string t = antiSpoofTable(r.hostIf), mac = macStr(r.mac);
    // Declare-then-delete makes the script replace a stale table (from a crash) in the same
    // transaction instead of failing on it.
    return "table netdev " + t + " {}\n" + "delete table netdev " + t + "\n" + "table netdev " + t +
           " {\n" + setDefinitions(r) +
           "\tchain guard {\n"
           "\t\ttype filter hook ingress device \"" +
           r.hostIf +
           "\" priority -500; policy drop;\n"
           "\t\tether saddr != " +
           mac +
           " drop\n"
           "\t\tether type arp arp saddr ether != " +
           mac +
           " drop\n"
           "\t\tether type arp arp saddr ip @addrs4 accept\n"
           // RFC 5227 address probes carry 0.0.0.0 as the sender.
           "\t\tether type arp arp saddr ip 0.0.0.0 accept\n"
           "\t\tether type ip ip saddr @addrs4 accept\n"
           // An advertisement for an address that is not the VPS's would take another's
           // traffic even from the VPS's own source address.
           "\t\tether type ip6 icmpv6 type nd-neighbor-advert @th,64,128 != @targets6 drop\n"
           // RA guard: a VPS is no router on the bridge (others would route IPv6 through it).
           "\t\tether type ip6 icmpv6 type { nd-router-advert, nd-redirect } drop\n"
           "\t\tether type ip6 ip6 saddr @addrs6 accept\n"
           // Duplicate address detection and MLD reports before an address is up use ::.
           "\t\tether type ip6 ip6 saddr :: icmpv6 type { nd-neighbor-solicit, "
           "mld2-listener-report } accept\n"
           "\t}\n"
           "}\n";
}

std::string renderAntiSpoofAddresses(const AntiSpoofRules& r) {
    std::string t = antiSpoofTable(r.hostIf);
    std::string out = "flush set netdev " + t + " addrs4\nflush set netdev " + t + " addrs6\n" +
                      "flush set netdev " + t + " targets6\n";
    std::string e4 = elements(r, AF_INET), e6 = elements(r, AF_INET6);
    // elements(...) is "elements = { ... }"; add element wants just "{ ... }".
    if (!e4.empty()) out += "add element netdev " + t + " addrs4 " + e4.substr(e4.find('{')) + "\n";
    if (!e6.empty()) out += "add element netdev " + t + " addrs6 " + e6.substr(e6.find('{')) + "\n";
    out += "add element netdev " + t + " targets6 " + targetElements(r) + "\n";
    return out;
}

std::string renderAntiSpoofRemoval(const std::string& hostIf) {
    std::string t = antiSpoofTable(hostIf);
    return "table netdev " + t + " {}\ndelete table netdev " + t + "\n";
}

Status installAntiSpoof(const AntiSpoofRules& r) {
    auto out = runCommand({"nft", "-f", "-"}, renderAntiSpoofRules(r));
    if (!out) return std::move(out.error()).context("anti-spoofing rules for ", r.hostIf);
    return {};
}

Status updateAntiSpoofAddresses(const AntiSpoofRules& r) {
    auto out = runCommand({"nft", "-f", "-"}, renderAntiSpoofAddresses(r));
    if (!out) return std::move(out.error()).context("anti-spoofing addresses for ", r.hostIf);
    return {};
}

Status removeAntiSpoof(const std::string& hostIf) {
    auto out = runCommand({"nft", "-f", "-"}, renderAntiSpoofRemoval(hostIf));
    if (!out) return std::move(out.error()).context("remove anti-spoofing rules for ", hostIf);
    return {};
}

}  // namespace berth::vps
