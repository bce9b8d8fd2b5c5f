// vps/netlink: a small rtnetlink client (links, addresses, routes) — what the VPS network needs
// from the kernel, without iproute2 or libmnl. A socket is bound to one network namespace.
#pragma once

#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "common/unique_fd.hpp"
#include "vps/ip_prefix.hpp"

namespace berth::vps::netlink {

// One request being built: nlmsghdr, the family header, then attributes (nests allowed).
class Message {
  public:
    Message(uint16_t type, uint16_t flags);
    template <typename T>
    T* header() {
        return reinterpret_cast<T*>(buf_.data() + NLMSG_HDRLEN);
    }
    // Append a zeroed family header (first after nlmsghdr; or inside a nest, e.g. veth's peer).
    template <typename T>
    void addHeader() {
        buf_.resize(buf_.size() + NLMSG_ALIGN(sizeof(T)), 0);
    }
    void put(uint16_t type, const void* data, size_t len);
    void putString(uint16_t type, const std::string& s) { put(type, s.c_str(), s.size() + 1); }
    void putU32(uint16_t type, uint32_t v) { put(type, &v, sizeof v); }
    void putU8(uint16_t type, uint8_t v) { put(type, &v, sizeof v); }
    size_t beginNest(uint16_t type);
    void endNest(size_t offset);

    nlmsghdr* hdr() { return reinterpret_cast<nlmsghdr*>(buf_.data()); }
    std::vector<char>& bytes();

  private:
    std::vector<char> buf_;
};

struct AddressEntry {
    int ifindex = 0;
    IpPrefix prefix;
    bool permanent = false;  // set by us (or an admin), not by the kernel (SLAAC/link-local)
};

class Socket {
  public:
    // A socket in the caller's network namespace.
    static Result<Socket> open();
    // A socket in the network namespace `nsFd` refers to (made in a short-lived thread that
    // joins it: a socket stays in the namespace it was created in).
    static Result<Socket> openInNetns(int nsFd);

    // Send one request with NLM_F_ACK; the kernel's errno when it refuses.
    Status request(Message& msg);
    // A dump request: every reply message's bytes.
    Result<std::vector<std::vector<char>>> dump(Message& msg);

    // ENODEV when there is no such link.
    Result<int> linkIndex(const std::string& name);
    Status createBridge(const std::string& name, const std::array<uint8_t, 6>& mac, uint32_t mtu);
    // A veth pair: `hostName` here, `peerName` with `peerMac` created directly in `peerNsFd`.
    Status createVeth(const std::string& hostName, const std::string& peerName, int peerNsFd,
                      const std::array<uint8_t, 6>& peerMac, uint32_t mtu);
    // master: 0 leaves it; mtu: 0 leaves it.
    Status setLink(int ifindex, bool up, int master, uint32_t mtu);
    Status deleteLink(int ifindex);
    // An IPv4 per-interface setting (IPV4_DEVCONF_*, as net.ipv4.conf.IF.*), by IFLA_INET_CONF.
    Status setIpv4Conf(int ifindex, uint16_t devconf, uint32_t value);
    // IPv6 link-local address generation (IN6_ADDR_GEN_MODE_*), set while the link is down.
    Status setInet6AddrGenMode(int ifindex, uint8_t mode);
    Status addAddress(int ifindex, const IpPrefix& p);
    Status deleteAddress(int ifindex, const IpPrefix& p);
    // Every address of `ifindex` (0: of every link).
    Result<std::vector<AddressEntry>> addresses(int ifindex);
    // Default route via `gateway` (IPv4 or IPv6) out of `ifindex`.
    Status addDefaultRoute(int ifindex, const IpAddress& gateway);
    // Every default route of `family` (AF_INET/AF_INET6) out of `ifindex` in the main table.
    Status deleteDefaultRoutes(int ifindex, int family);

  private:
    explicit Socket(UniqueFd fd) : fd_(std::move(fd)) {}
    Status send(Message& msg);
    Status addressRequest(uint16_t type, uint16_t flags, int ifindex, const IpPrefix& p);

    UniqueFd fd_;
    uint32_t seq_ = 1;
};

}  // namespace berth::vps::netlink
