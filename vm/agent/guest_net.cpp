// The guest's network: lo up, and each NIC the host mirrors configured as its twin in the
// container's netns (found by MAC, renamed, MTU, addresses, routes) — with ioctls, as the
// initramfs has no ip(8) and the guest needs nothing netlink does beyond them.
#include <arpa/inet.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <thread>

#include "common/fs.hpp"
#include "common/unique_fd.hpp"
#include "vm/agent/agent.hpp"

namespace berth::vm::agent {
namespace {

struct In6Ifreq {  // linux/ipv6.h's in6_ifreq (that header clashes with glibc's netinet/in.h)
    struct in6_addr addr;
    uint32_t prefixlen;
    int ifindex;
};

struct Prefix {
    int family = AF_INET;
    unsigned char bytes[16] = {};
    int len = 32;
};

Result<Prefix> parsePrefix(const std::string& text) {
    Prefix p;
    auto slash = text.find('/');
    std::string addr = text.substr(0, slash);
    p.family = addr.find(':') == std::string::npos ? AF_INET : AF_INET6;
    int max = p.family == AF_INET ? 32 : 128;
    p.len = slash == std::string::npos ? max : std::atoi(text.c_str() + slash + 1);
    if (::inet_pton(p.family, addr.c_str(), p.bytes) != 1 || p.len < 0 || p.len > max)
        return Error(EINVAL, strCat("bad address \"", text, "\""));
    return p;
}

sockaddr_in v4(const unsigned char* b) {
    sockaddr_in sa = {};
    sa.sin_family = AF_INET;
    std::memcpy(&sa.sin_addr, b, 4);
    return sa;
}

sockaddr_in v4mask(int len) {
    sockaddr_in sa = {};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = len == 0 ? 0 : htonl(~uint32_t{0} << (32 - len));
    return sa;
}

Status setFlagsUp(int sock, const std::string& name) {
    struct ifreq ifr = {};
    name.copy(ifr.ifr_name, IFNAMSIZ - 1);
    if (::ioctl(sock, SIOCGIFFLAGS, &ifr) < 0) return Error::fromErrno("flags of ", name);
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
    if (::ioctl(sock, SIOCSIFFLAGS, &ifr) < 0) return Error::fromErrno("set ", name, " up");
    return {};
}

// The guest's interface with this MAC (virtio_net probed it when its module loaded).
Result<std::string> linkByMac(const std::string& mac) {
    std::string want = mac;
    std::transform(want.begin(), want.end(), want.begin(), ::tolower);
    for (int i = 0; i < 400; i++) {
        if (auto names = fs::listDir("/sys/class/net"))
            for (auto& n : *names) {
                auto a = fs::readFile("/sys/class/net/" + n + "/address");
                if (a && fs::trim(*a) == want) return n;
            }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return Error(ENODEV, strCat("no network interface with MAC ", mac));
}

Status addAddress(int sock4, int sock6, const std::string& dev, int& v4count,
                  const std::string& text) {
    ASSIGN_OR_RETURN(Prefix p, parsePrefix(text));
    if (p.family == AF_INET6) {
        In6Ifreq r = {};
        std::memcpy(&r.addr, p.bytes, 16);
        r.prefixlen = static_cast<uint32_t>(p.len);
        r.ifindex = static_cast<int>(::if_nametoindex(dev.c_str()));
        if (sock6 < 0 || ::ioctl(sock6, SIOCSIFADDR, &r) < 0)
            return Error::fromErrno("add ", text, " to ", dev);
        return {};
    }
    // A second IPv4 address goes on an alias label (dev:1), as ioctls know one per label.
    std::string label = v4count == 0 ? dev : strCat(dev, ":", v4count);
    v4count++;
    struct ifreq ifr = {};
    label.copy(ifr.ifr_name, IFNAMSIZ - 1);
    sockaddr_in sa = v4(p.bytes);
    std::memcpy(&ifr.ifr_addr, &sa, sizeof sa);
    if (::ioctl(sock4, SIOCSIFADDR, &ifr) < 0) return Error::fromErrno("add ", text, " to ", dev);
    sa = v4mask(p.len);
    std::memcpy(&ifr.ifr_netmask, &sa, sizeof sa);
    if (::ioctl(sock4, SIOCSIFNETMASK, &ifr) < 0)
        return Error::fromErrno("netmask of ", text, " on ", dev);
    return {};
}

Status addRoute(int sock4, int sock6, const std::string& dev, const wire::GuestRoute& r) {
    ASSIGN_OR_RETURN(
        Prefix dst,
        parsePrefix(r.dst == "default"
                        ? (r.gateway.find(':') == std::string::npos ? "0.0.0.0/0" : "::/0")
                        : r.dst));
    Prefix gw;
    if (!r.gateway.empty()) {
        ASSIGN_OR_RETURN(gw, parsePrefix(r.gateway));
    }
    std::string what =
        strCat("route ", r.dst, r.gateway.empty() ? "" : " via " + r.gateway, " dev ", dev);
    if (dst.family == AF_INET6) {
        struct in6_rtmsg m = {};
        std::memcpy(&m.rtmsg_dst, dst.bytes, 16);
        m.rtmsg_dst_len = static_cast<uint16_t>(dst.len);
        if (!r.gateway.empty()) std::memcpy(&m.rtmsg_gateway, gw.bytes, 16);
        m.rtmsg_metric = 1024;
        m.rtmsg_flags = RTF_UP | (r.gateway.empty() ? 0 : RTF_GATEWAY);
        m.rtmsg_ifindex = static_cast<int>(::if_nametoindex(dev.c_str()));
        if (sock6 < 0 || ::ioctl(sock6, SIOCADDRT, &m) < 0) return Error::fromErrno("add ", what);
        return {};
    }
    struct rtentry rt = {};
    sockaddr_in sa = v4(dst.bytes);
    std::memcpy(&rt.rt_dst, &sa, sizeof sa);
    sa = v4mask(dst.len);
    std::memcpy(&rt.rt_genmask, &sa, sizeof sa);
    rt.rt_flags = RTF_UP | (dst.len == 32 ? RTF_HOST : 0);
    if (!r.gateway.empty()) {
        sa = v4(gw.bytes);
        std::memcpy(&rt.rt_gateway, &sa, sizeof sa);
        rt.rt_flags |= RTF_GATEWAY;
    }
    std::string devCopy = dev;
    rt.rt_dev = devCopy.data();
    if (::ioctl(sock4, SIOCADDRT, &rt) < 0) return Error::fromErrno("add ", what);
    return {};
}

Status renameLink(int sock, const std::string& from, const std::string& to) {
    struct ifreq ifr = {};
    from.copy(ifr.ifr_name, IFNAMSIZ - 1);
    to.copy(ifr.ifr_newname, IFNAMSIZ - 1);
    if (::ioctl(sock, SIOCSIFNAME, &ifr) < 0) return Error::fromErrno("rename ", from, " to ", to);
    return {};
}

// Each NIC (found by MAC) under the host side's name. Through a temporary name first: the
// guest's probe order need not be the host's, so a wanted name can still be another NIC's.
Result<std::vector<std::string>> nameNics(int sock, const std::vector<wire::GuestNic>& nics) {
    std::vector<std::string> devs;
    for (size_t i = 0; i < nics.size(); i++) {
        ASSIGN_OR_RETURN(std::string dev, linkByMac(nics[i].mac));
        std::string tmp = strCat("berthnic", i);
        TRY(renameLink(sock, dev, tmp));  // still down: it can be renamed
        devs.push_back(tmp);
    }
    for (size_t i = 0; i < nics.size(); i++) {
        if (nics[i].name.empty() || nics[i].name.size() >= IFNAMSIZ) continue;
        TRY(renameLink(sock, devs[i], nics[i].name));
        devs[i] = nics[i].name;
    }
    return devs;
}

Status configureNic(int sock4, int sock6, const wire::GuestNic& nic, const std::string& dev) {
    struct ifreq ifr = {};
    dev.copy(ifr.ifr_name, IFNAMSIZ - 1);
    ifr.ifr_mtu = nic.mtu;
    if (::ioctl(sock4, SIOCSIFMTU, &ifr) < 0)
        return Error::fromErrno("set the MTU of ", dev, " to ", nic.mtu);
    // The address is the host's, already checked there: no duplicate detection delay.
    (void)fs::writeFile("/proc/sys/net/ipv6/conf/" + dev + "/accept_dad", "0");
    TRY(setFlagsUp(sock4, dev));
    int v4count = 0;
    for (auto& a : nic.addresses) TRY(addAddress(sock4, sock6, dev, v4count, a));
    // On-link routes first: a gateway must be reachable when its route is added.
    for (bool gateways : {false, true})
        for (auto& r : nic.routes)
            if (r.gateway.empty() != gateways) TRY(addRoute(sock4, sock6, dev, r));
    return {};
}

}  // namespace

Status configureNetwork(const std::vector<wire::GuestNic>& nics) {
    UniqueFd sock4(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!sock4) return Error::fromErrno("socket");
    // none without IPv6; none needed without a NIC (lo's ::1 comes with lo up)
    UniqueFd sock6(nics.empty() ? -1 : ::socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    TRY(setFlagsUp(sock4.get(), "lo"));
    ASSIGN_OR_RETURN(auto devs, nameNics(sock4.get(), nics));
    for (size_t i = 0; i < nics.size(); i++)
        TRY_CTX(configureNic(sock4.get(), sock6.get(), nics[i], devs[i]), "network interface ",
                nics[i].name);
    return {};
}

}  // namespace berth::vm::agent
