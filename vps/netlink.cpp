// vps/netlink: rtnetlink requests over a raw NETLINK_ROUTE socket.
#include "vps/netlink.hpp"

#include <linux/if.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/ip.h>
#include <linux/veth.h>
#include <sched.h>
#include <sys/socket.h>

#include <cstring>
#include <optional>
#include <thread>

namespace berth::vps::netlink {

Message::Message(uint16_t type, uint16_t flags) : buf_(NLMSG_HDRLEN, 0) {
    hdr()->nlmsg_type = type;
    hdr()->nlmsg_flags = static_cast<uint16_t>(flags | NLM_F_REQUEST);
}

void Message::put(uint16_t type, const void* data, size_t len) {
    size_t off = buf_.size();
    buf_.resize(off + RTA_SPACE(len), 0);
    auto* rta = reinterpret_cast<rtattr*>(buf_.data() + off);
    rta->rta_type = type;
    rta->rta_len = static_cast<unsigned short>(RTA_LENGTH(len));
    if (len) std::memcpy(RTA_DATA(rta), data, len);
}

size_t Message::beginNest(uint16_t type) {
    size_t off = buf_.size();
    put(type, nullptr, 0);
    return off;
}

void Message::endNest(size_t offset) {
    reinterpret_cast<rtattr*>(buf_.data() + offset)->rta_len =
        static_cast<unsigned short>(buf_.size() - offset);
}

std::vector<char>& Message::bytes() {
    hdr()->nlmsg_len = static_cast<uint32_t>(buf_.size());
    return buf_;
}

Result<Socket> Socket::open() {
    UniqueFd fd(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
    if (!fd) return Error::fromErrno("netlink socket");
    sockaddr_nl sa{};
    sa.nl_family = AF_NETLINK;
    if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0)
        return Error::fromErrno("bind netlink socket");
    int one = 1;
    ::setsockopt(fd.get(), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
    return Socket(std::move(fd));
}

Result<Socket> Socket::openInNetns(int nsFd) {
    Result<Socket> out = Error::make("netlink socket in netns not made");
    // setns(CLONE_NEWNET) changes only the calling thread; this thread ends right after.
    std::thread t([&] {
        if (::setns(nsFd, CLONE_NEWNET) < 0) {
            out = Error::fromErrno("join the VPS's network namespace");
            return;
        }
        out = open();
    });
    t.join();
    return out;
}

Status Socket::send(Message& msg) {
    msg.hdr()->nlmsg_seq = ++seq_;
    auto& b = msg.bytes();
    sockaddr_nl sa{};
    sa.nl_family = AF_NETLINK;
    if (::sendto(fd_.get(), b.data(), b.size(), 0, reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0)
        return Error::fromErrno("netlink send");
    return {};
}

namespace {

// The extended ack's message, when the kernel gave one.
std::string extAckText(const nlmsghdr* h) {
    if (!(h->nlmsg_flags & NLM_F_ACK_TLVS)) return "";
    auto* e = reinterpret_cast<const nlmsgerr*>(NLMSG_DATA(h));
    size_t off = NLMSG_HDRLEN + sizeof(nlmsgerr);
    if (!(h->nlmsg_flags & NLM_F_CAPPED)) off += e->msg.nlmsg_len - NLMSG_HDRLEN;
    auto* rta =
        reinterpret_cast<const rtattr*>(reinterpret_cast<const char*>(h) + NLMSG_ALIGN(off));
    int len = static_cast<int>(h->nlmsg_len) - static_cast<int>(NLMSG_ALIGN(off));
    for (; len > 0 && RTA_OK(rta, len); rta = RTA_NEXT(rta, len))
        if (rta->rta_type == NLMSGERR_ATTR_MSG) return static_cast<const char*>(RTA_DATA(rta));
    return "";
}

// Reads the replies on `fd` and hands each message of sequence `seq` to `visit` until it returns
// an answer (a std::optional<R> holding one).
template <class R, class Visit>
R readReplies(int fd, uint32_t seq, Visit&& visit) {
    std::vector<char> buf(65536);
    for (;;) {
        ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            return Error::fromErrno("netlink receive");
        }
        int len = static_cast<int>(n);
        for (auto* h = reinterpret_cast<nlmsghdr*>(buf.data()); NLMSG_OK(h, len);
             h = NLMSG_NEXT(h, len)) {
            if (h->nlmsg_seq != seq) continue;
            if (std::optional<R> r = visit(h)) return std::move(*r);
        }
    }
}

int replyErrno(const nlmsghdr* h) { return -reinterpret_cast<const nlmsgerr*>(NLMSG_DATA(h))->error; }

}  // namespace

Status Socket::request(Message& msg) {
    msg.hdr()->nlmsg_flags |= NLM_F_ACK;
    TRY(send(msg));
    return readReplies<Status>(fd_.get(), seq_, [](const nlmsghdr* h) -> std::optional<Status> {
        if (h->nlmsg_type != NLMSG_ERROR) return std::nullopt;
        if (replyErrno(h) == 0) return Status{};
        std::string why = extAckText(h);
        return Status(Error(replyErrno(h), why.empty() ? "netlink" : strCat("netlink: ", why)));
    });
}

Result<std::vector<std::vector<char>>> Socket::dump(Message& msg) {
    using Out = Result<std::vector<std::vector<char>>>;
    msg.hdr()->nlmsg_flags |= NLM_F_DUMP;
    TRY(send(msg));
    std::vector<std::vector<char>> out;
    return readReplies<Out>(fd_.get(), seq_, [&out](const nlmsghdr* h) -> std::optional<Out> {
        if (h->nlmsg_type == NLMSG_DONE) return Out(std::move(out));
        if (h->nlmsg_type == NLMSG_ERROR) return Out(Error(replyErrno(h), "netlink dump"));
        auto* p = reinterpret_cast<const char*>(h);
        out.emplace_back(p, p + h->nlmsg_len);
        return std::nullopt;
    });
}

Result<int> Socket::linkIndex(const std::string& name) {
    if (name.empty() || name.size() >= IFNAMSIZ)
        return Error(EINVAL, strCat("bad interface name \"", name, "\""));
    Message m(RTM_GETLINK, 0);
    m.addHeader<ifinfomsg>();
    m.putString(IFLA_IFNAME, name);
    TRY(send(m));
    return readReplies<Result<int>>(fd_.get(), seq_, [&name](const nlmsghdr* h) -> std::optional<Result<int>> {
        if (h->nlmsg_type == NLMSG_ERROR) return Result<int>(Error(replyErrno(h), strCat("link ", name)));
        if (h->nlmsg_type == RTM_NEWLINK) return Result<int>(reinterpret_cast<const ifinfomsg*>(NLMSG_DATA(h))->ifi_index);
        return std::nullopt;
    });
}

Status Socket::createBridge(const std::string& name, const std::array<uint8_t, 6>& mac,
                            uint32_t mtu) {
    Message m(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
    m.addHeader<ifinfomsg>();
    m.putString(IFLA_IFNAME, name);
    m.put(IFLA_ADDRESS, mac.data(), mac.size());
    if (mtu) m.putU32(IFLA_MTU, mtu);
    size_t info = m.beginNest(IFLA_LINKINFO);
    m.putString(IFLA_INFO_KIND, "bridge");
    m.endNest(info);
    TRY_CTX(request(m), "create bridge ", name);
    return {};
}

Status Socket::createVeth(const std::string& hostName, const std::string& peerName, int peerNsFd,
                          const std::array<uint8_t, 6>& peerMac, uint32_t mtu) {
    Message m(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
    m.addHeader<ifinfomsg>();
    m.putString(IFLA_IFNAME, hostName);
    if (mtu) m.putU32(IFLA_MTU, mtu);
    size_t info = m.beginNest(IFLA_LINKINFO);
    m.putString(IFLA_INFO_KIND, "veth");
    size_t data = m.beginNest(IFLA_INFO_DATA);
    size_t peer = m.beginNest(VETH_INFO_PEER);
    m.addHeader<ifinfomsg>();  // the peer's own ifinfomsg, zeroed
    m.putString(IFLA_IFNAME, peerName);
    m.put(IFLA_ADDRESS, peerMac.data(), peerMac.size());
    if (mtu) m.putU32(IFLA_MTU, mtu);
    m.putU32(IFLA_NET_NS_FD, static_cast<uint32_t>(peerNsFd));
    m.endNest(peer);
    m.endNest(data);
    m.endNest(info);
    TRY_CTX(request(m), "create veth ", hostName);
    return {};
}

Status Socket::setLink(int ifindex, bool up, int master, uint32_t mtu) {
    Message m(RTM_NEWLINK, 0);
    m.addHeader<ifinfomsg>();
    auto* ifi = m.header<ifinfomsg>();
    ifi->ifi_index = ifindex;
    ifi->ifi_change = IFF_UP;
    ifi->ifi_flags = up ? IFF_UP : 0;
    if (master) m.putU32(IFLA_MASTER, static_cast<uint32_t>(master));
    if (mtu) m.putU32(IFLA_MTU, mtu);
    return request(m);
}

Status Socket::setIpv4Conf(int ifindex, uint16_t devconf, uint32_t value) {
    Message m(RTM_NEWLINK, 0);
    m.addHeader<ifinfomsg>();
    m.header<ifinfomsg>()->ifi_index = ifindex;
    size_t spec = m.beginNest(IFLA_AF_SPEC);
    size_t inet = m.beginNest(AF_INET);
    size_t conf = m.beginNest(IFLA_INET_CONF);
    m.putU32(devconf, value);
    m.endNest(conf);
    m.endNest(inet);
    m.endNest(spec);
    return request(m);
}

Status Socket::setInet6AddrGenMode(int ifindex, uint8_t mode) {
    Message m(RTM_NEWLINK, 0);
    m.addHeader<ifinfomsg>();
    m.header<ifinfomsg>()->ifi_index = ifindex;
    size_t spec = m.beginNest(IFLA_AF_SPEC);
    size_t inet6 = m.beginNest(AF_INET6);
    m.putU8(IFLA_INET6_ADDR_GEN_MODE, mode);
    m.endNest(inet6);
    m.endNest(spec);
    return request(m);
}

Status Socket::deleteLink(int ifindex) {
    Message m(RTM_DELLINK, 0);
    m.addHeader<ifinfomsg>();
    m.header<ifinfomsg>()->ifi_index = ifindex;
    return request(m);
}

Status Socket::addressRequest(uint16_t type, uint16_t flags, int ifindex, const IpPrefix& p) {
    Message m(type, flags);
    m.addHeader<ifaddrmsg>();
    auto* ifa = m.header<ifaddrmsg>();
    ifa->ifa_family = static_cast<uint8_t>(p.addr.family);
    ifa->ifa_prefixlen = static_cast<uint8_t>(p.prefixLen);
    ifa->ifa_index = static_cast<uint32_t>(ifindex);
    ifa->ifa_scope = RT_SCOPE_UNIVERSE;
    m.put(IFA_LOCAL, p.addr.bytes.data(), p.addr.size());
    m.put(IFA_ADDRESS, p.addr.bytes.data(), p.addr.size());
    // No duplicate address detection: the address is usable at once, and berth already keeps
    // two VPSes from sharing one.
    if (type == RTM_NEWADDR && p.addr.family == AF_INET6) m.putU32(IFA_FLAGS, IFA_F_NODAD);
    return request(m);
}

Status Socket::addAddress(int ifindex, const IpPrefix& p) {
    TRY_CTX(addressRequest(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, ifindex, p), "add address ",
            p.str());
    return {};
}

Status Socket::deleteAddress(int ifindex, const IpPrefix& p) {
    TRY_CTX(addressRequest(RTM_DELADDR, 0, ifindex, p), "remove address ", p.str());
    return {};
}

Result<std::vector<AddressEntry>> Socket::addresses(int ifindex) {
    Message m(RTM_GETADDR, 0);
    m.addHeader<ifaddrmsg>();
    ASSIGN_OR_RETURN(auto msgs, dump(m));
    std::vector<AddressEntry> out;
    for (auto& raw : msgs) {
        auto* h = reinterpret_cast<nlmsghdr*>(raw.data());
        if (h->nlmsg_type != RTM_NEWADDR) continue;
        auto* ifa = reinterpret_cast<ifaddrmsg*>(NLMSG_DATA(h));
        if (ifindex && static_cast<int>(ifa->ifa_index) != ifindex) continue;
        AddressEntry e;
        e.ifindex = static_cast<int>(ifa->ifa_index);
        e.prefix.addr.family = ifa->ifa_family;
        e.prefix.prefixLen = ifa->ifa_prefixlen;
        e.permanent = ifa->ifa_flags & IFA_F_PERMANENT;
        int len = static_cast<int>(IFA_PAYLOAD(h));
        bool found = false;
        for (auto* rta = IFA_RTA(ifa); RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
            if ((rta->rta_type == IFA_LOCAL || (rta->rta_type == IFA_ADDRESS && !found)) &&
                RTA_PAYLOAD(rta) == e.prefix.addr.size()) {
                std::memcpy(e.prefix.addr.bytes.data(), RTA_DATA(rta), RTA_PAYLOAD(rta));
                found = true;
            }
            if (rta->rta_type == IFA_FLAGS)
                e.permanent = *static_cast<uint32_t*>(RTA_DATA(rta)) & IFA_F_PERMANENT;
        }
        if (found) out.push_back(e);
    }
    return out;
}

Status Socket::addDefaultRoute(int ifindex, const IpAddress& gateway) {
    Message m(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
    m.addHeader<rtmsg>();
    auto* rt = m.header<rtmsg>();
    rt->rtm_family = static_cast<uint8_t>(gateway.family);
    rt->rtm_table = RT_TABLE_MAIN;
    rt->rtm_protocol = RTPROT_STATIC;
    rt->rtm_scope = RT_SCOPE_UNIVERSE;
    rt->rtm_type = RTN_UNICAST;
    m.put(RTA_GATEWAY, gateway.bytes.data(), gateway.size());
    m.putU32(RTA_OIF, static_cast<uint32_t>(ifindex));
    TRY_CTX(request(m), "add default route via ", gateway.str());
    return {};
}

Status Socket::deleteDefaultRoutes(int ifindex, int family) {
    // One RTM_DELROUTE removes one matching route; a few at most exist (static, RA-learnt).
    for (int i = 0; i < 64; i++) {
        Message m(RTM_DELROUTE, 0);
        m.addHeader<rtmsg>();
        auto* rt = m.header<rtmsg>();
        rt->rtm_family = static_cast<uint8_t>(family);
        rt->rtm_table = RT_TABLE_MAIN;
        rt->rtm_scope = RT_SCOPE_NOWHERE;  // any scope, type and protocol: as `ip route del`
        m.putU32(RTA_OIF, static_cast<uint32_t>(ifindex));
        auto st = request(m);
        if (!st && st.error().err() == ESRCH) return {};
        TRY_CTX(st, "remove the default route");
    }
    return Error(EBUSY, "remove the default routes: too many");
}

}  // namespace berth::vps::netlink
