// vps/ip_prefix: inet_pton/inet_ntop plus the checks a VPS address must pass.
#include "vps/ip_prefix.hpp"

#include <arpa/inet.h>

#include <cstdio>

namespace berth::vps {

std::string IpAddress::str() const {
    char buf[INET6_ADDRSTRLEN] = {};
    ::inet_ntop(family, bytes.data(), buf, sizeof buf);
    return buf;
}

std::string IpPrefix::str() const {
    return strCat(addr.str(), "/", prefixLen);
}

Result<IpAddress> parseIpAddress(const std::string& text) {
    IpAddress a;
    if (::inet_pton(AF_INET, text.c_str(), a.bytes.data()) == 1) {
        a.family = AF_INET;
        return a;
    }
    if (::inet_pton(AF_INET6, text.c_str(), a.bytes.data()) == 1) {
        a.family = AF_INET6;
        return a;
    }
    return Error(EINVAL, strCat("\"", text, "\" is not an IPv4 or IPv6 address"));
}

bool inNetwork(const IpAddress& a, const IpPrefix& net) {
    if (a.family != net.addr.family) return false;
    int bits = net.prefixLen;
    for (size_t i = 0; i < a.size() && bits > 0; i++, bits -= 8) {
        uint8_t mask = bits >= 8 ? 0xff : static_cast<uint8_t>(0xff << (8 - bits));
        if ((a.bytes[i] & mask) != (net.addr.bytes[i] & mask)) return false;
    }
    return true;
}

namespace {

// Why `a` cannot be a VPS's own address, or "" when it can.
std::string unusable(const IpAddress& a) {
    const auto& b = a.bytes;
    if (a.family == AF_INET) {
        if (b[0] == 0) return "an unspecified address";
        if (b[0] == 127) return "a loopback address";
        if (b[0] >= 224) return "a multicast or reserved address";
        if (b[0] == 169 && b[1] == 254) return "a link-local address";
        return "";
    }
    bool zero = true;
    for (size_t i = 0; i < 15; i++) zero = zero && b[i] == 0;
    if (zero && (b[15] == 0 || b[15] == 1))
        return b[15] ? "a loopback address" : "an unspecified address";
    if (b[0] == 0xff) return "a multicast address";
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return "a link-local address";
    return "";
}

// For IPv4 prefixes up to /30: the host part all zeros or all ones.
bool networkOrBroadcast(const IpPrefix& p) {
    if (p.addr.family != AF_INET || p.prefixLen > 30) return false;
    uint32_t v = (uint32_t(p.addr.bytes[0]) << 24) | (uint32_t(p.addr.bytes[1]) << 16) |
                 (uint32_t(p.addr.bytes[2]) << 8) | p.addr.bytes[3];
    uint32_t host = 0xffffffffu >> p.prefixLen;
    return (v & host) == 0 || (v & host) == host;
}

}  // namespace

Result<IpPrefix> parseIpPrefix(const std::string& text) {
    auto slash = text.find('/');
    if (slash == std::string::npos)
        return Error(EINVAL,
                     strCat("address \"", text, "\" has no /prefix (CIDR form, e.g. 10.0.0.2/24)"));
    auto addr = parseIpAddress(text.substr(0, slash));
    if (!addr) return Error(EINVAL, strCat("address \"", text, "\": ", addr.error().message()));
    IpPrefix p{*addr, 0};
    std::string len = text.substr(slash + 1);
    int max = addr->family == AF_INET ? 32 : 128;
    if (len.empty() || len.size() > 3 || len.find_first_not_of("0123456789") != std::string::npos ||
        (p.prefixLen = std::stoi(len)) > max || p.prefixLen == 0)
        return Error(EINVAL, strCat("address \"", text, "\": prefix length must be 1..", max));
    std::string why = unusable(p.addr);
    if (!why.empty()) return Error(EINVAL, strCat("address \"", text, "\" is ", why));
    if (networkOrBroadcast(p))
        return Error(
            EINVAL, strCat("address \"", text, "\" is the network's network or broadcast address"));
    return p;
}

Result<std::vector<IpPrefix>> parseIpPrefixes(const std::vector<std::string>& texts) {
    std::vector<IpPrefix> out;
    for (const auto& t : texts) {
        ASSIGN_OR_RETURN(IpPrefix p, parseIpPrefix(t));
        for (const auto& q : out)
            if (q.addr == p.addr)
                return Error(EINVAL, strCat("address ", p.addr.str(), " is given twice"));
        out.push_back(p);
    }
    return out;
}

IpAddress linkLocalFromMac(const std::array<uint8_t, 6>& mac) {
    IpAddress a;
    a.family = AF_INET6;
    a.bytes = {
        0xfe,   0x80,   0,    0,    0,      0,      0,     0, static_cast<uint8_t>(mac[0] ^ 0x02),
        mac[1], mac[2], 0xff, 0xfe, mac[3], mac[4], mac[5]};
    return a;
}

Result<std::array<uint8_t, 6>> parseMac(const std::string& text) {
    std::array<unsigned, 6> v{};
    char tail = 0;
    if (text.size() != 17 || std::sscanf(text.c_str(), "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1],
                                         &v[2], &v[3], &v[4], &v[5], &tail) != 6)
        return Error(EINVAL, strCat("\"", text, "\" is not a MAC address (xx:xx:xx:xx:xx:xx)"));
    std::array<uint8_t, 6> mac{};
    for (size_t i = 0; i < 6; i++) mac[i] = static_cast<uint8_t>(v[i]);
    if (mac[0] & 0x01)
        return Error(EINVAL, strCat("MAC address ", text, " is a multicast address"));
    return mac;
}

std::string macStr(const std::array<uint8_t, 6>& mac) {
    char buf[18];
    std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3],
                  mac[4], mac[5]);
    return buf;
}

}  // namespace berth::vps
