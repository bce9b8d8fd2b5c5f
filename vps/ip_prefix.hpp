// vps/ip_prefix: the VPS's addresses as the user writes them (--ip 10.0.0.2/24, 2001:db8::2/64):
// parsed and checked once, then handed to netlink, nft and /etc/hosts in one typed form.
#pragma once

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "common/error.hpp"

namespace berth::vps {

struct IpAddress {
    int family = AF_INET;  // AF_INET or AF_INET6
    std::array<uint8_t, 16> bytes{};

    size_t size() const { return family == AF_INET ? 4 : 16; }
    std::string str() const;
    bool operator==(const IpAddress&) const = default;
};

struct IpPrefix {
    IpAddress addr;
    int prefixLen = 0;

    std::string str() const;  // "10.0.0.2/24"
    bool operator==(const IpPrefix&) const = default;
};

// A bare address ("10.0.0.1", "fe80::1").
Result<IpAddress> parseIpAddress(const std::string& text);
// A VPS address in CIDR form. Refused: no /prefix, a prefix out of range, the unspecified,
// loopback, multicast or link-local address, an IPv4 network or broadcast address.
Result<IpPrefix> parseIpPrefix(const std::string& text);
Result<std::vector<IpPrefix>> parseIpPrefixes(const std::vector<std::string>& texts);

// Whether `a` is inside the network of `net` (same family, first prefixLen bits equal).
bool inNetwork(const IpAddress& a, const IpPrefix& net);
// The IPv6 link-local address the kernel derives from a MAC (EUI-64: fe80::<mac with ff:fe>).
IpAddress linkLocalFromMac(const std::array<uint8_t, 6>& mac);
Result<std::array<uint8_t, 6>> parseMac(const std::string& text);
std::string macStr(const std::array<uint8_t, 6>& mac);

}  // namespace berth::vps
