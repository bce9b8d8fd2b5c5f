#include "vm/network.hpp"

#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <functional>

#include "common/command.hpp"
#include "common/fs.hpp"
#include "common/json.hpp"
#include "common/log.hpp"
#include "namespaces/namespaces.hpp"

namespace berth::vm {
namespace {

constexpr const char* kRecord = "/net.json";

bool hasGlobalAddress(const nlohmann::json& link) {
    for (auto& a : link.value("addr_info", nlohmann::json::array()))
        if (a.value("scope", "") == "global") return true;
    return false;
}

// Routes through `dev` that someone added (the default route of CNI/netavark, extra subnets):
// the connected routes the kernel makes for each address come back by themselves in the guest.
std::vector<wire::GuestRoute> routesVia(const nlohmann::json& routes, const std::string& dev) {
    std::vector<wire::GuestRoute> out;
    for (auto& r : routes) {
        if (!r.is_object() || r.value("dev", "") != dev || r.value("protocol", "") == "kernel")
            continue;
        if (r.contains("type")) continue;  // unreachable, blackhole, multicast...
        std::string dst = r.value("dst", "");
        if (dst.empty() || dst.rfind("fe80:", 0) == 0 || dst.rfind("ff00:", 0) == 0) continue;
        out.push_back({dst, r.value("gateway", "")});
    }
    return out;
}

// Run fn with this thread in the network namespace at `path` (children it forks are there too),
// then back in our own.
Status inNetns(const std::string& path, const std::function<Status()>& fn) {
    const namespaces::Kind* net = namespaces::kindBySpecName("network");
    ASSIGN_OR_RETURN(UniqueFd target, namespaces::openNamespace(path, *net));
    UniqueFd back(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
    if (!back) return Error::fromErrno("open /proc/thread-self/ns/net");
    if (::setns(target.get(), CLONE_NEWNET) < 0)
        return Error::fromErrno("setns to the network namespace ", path);
    Status st = fn();
    if (::setns(back.get(), CLONE_NEWNET) < 0) {
        // Staying in the container's netns would put the shim and QEMU there: never go on.
        log::error("setns back to our network namespace: ", std::strerror(errno));
        ::abort();
    }
    return st;
}

// A tap in the current netns, up, with the mirrored link's MTU. No TUNSETPERSIST: it dies
// with its last fd (QEMU's), so a killed VM cannot leave it behind. IFF_VNET_HDR lets QEMU
// pass the guest's offloads (checksums, GSO) through.
Result<UniqueFd> openTap(const std::string& name, int mtu) {
    UniqueFd fd(::open("/dev/net/tun", O_RDWR | O_CLOEXEC));
    if (!fd) return Error::fromErrno("open /dev/net/tun");
    struct ifreq ifr = {};
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
    name.copy(ifr.ifr_name, IFNAMSIZ - 1);
    if (::ioctl(fd.get(), TUNSETIFF, &ifr) < 0) return Error::fromErrno("create tap ", name);
    UniqueFd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!sock) return Error::fromErrno("socket");
    ifr.ifr_mtu = mtu;
    if (::ioctl(sock.get(), SIOCSIFMTU, &ifr) < 0)
        return Error::fromErrno("set the MTU of ", name, " to ", mtu);
    if (::ioctl(sock.get(), SIOCGIFFLAGS, &ifr) < 0) return Error::fromErrno("flags of ", name);
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
    if (::ioctl(sock.get(), SIOCSIFFLAGS, &ifr) < 0) return Error::fromErrno("set ", name, " up");
    return fd;
}

// Everything arriving on one goes out of the other, both ways: the guest is the interface.
std::string mirrorCommands(const std::string& dev, const std::string& tap) {
    std::string out;
    for (auto [from, to] : {std::pair{dev, tap}, std::pair{tap, dev}}) {
        out += strCat("qdisc add dev ", from, " ingress\n");
        out +=
            strCat("filter add dev ", from,
                   " parent ffff: protocol all u32 match u8 0 0 action mirred egress redirect dev ",
                   to, "\n");
    }
    return out;
}

Result<nlohmann::json> ipJson(const std::vector<std::string>& args, bool optional = false) {
    auto out = runCommand(args);
    if (!out) {
        if (optional) return nlohmann::json::array();  // e.g. -6 on a kernel without IPv6
        return out.error();
    }
    return parseJson(*out, args[0] + " -j");
}

// What the netns has to mirror (set in w.nics), and the taps and filters that mirror it.
Status wireInNetns(const std::string& netns, const std::string& stateDir, NetWiring& w) {
    ASSIGN_OR_RETURN(nlohmann::json addrs, ipJson({"ip", "-j", "addr", "show"}));
    ASSIGN_OR_RETURN(nlohmann::json routes, ipJson({"ip", "-j", "-4", "route", "show"}));
    ASSIGN_OR_RETURN(nlohmann::json routes6, ipJson({"ip", "-j", "-6", "route", "show"}, true));
    for (auto& r : routes6) routes.push_back(r);
    // One VM per netns until pods share one (the interface's ingress can redirect to one tap).
    for (auto& link : addrs)
        if (link.is_object() && link.value("ifname", "").rfind("berth-tap", 0) == 0) {
            w.warning =
                strCat("vm: network namespace ", netns, " is already mirrored into another VM (",
                       link.value("ifname", ""), "): this VM gets no network interface, only lo");
            return {};
        }
    ASSIGN_OR_RETURN(w.nics, nicsFromIp(addrs, routes));
    if (w.nics.empty()) return {};
    nlohmann::json links = nlohmann::json::array();
    for (size_t i = 0; i < w.nics.size(); i++)
        links.push_back({{"dev", w.nics[i].name}, {"tap", tapName(i)}});
    // Recorded before anything is made, so a delete after a crash here still finds it.
    TRY(fs::writeFileAtomic(stateDir + kRecord,
                            nlohmann::json{{"netns", netns}, {"links", links}}.dump(), 0600));
    std::string tc;
    for (size_t i = 0; i < w.nics.size(); i++) {
        ASSIGN_OR_RETURN(UniqueFd tap, openTap(tapName(i), w.nics[i].mtu));
        w.taps.push_back(std::move(tap));
        tc += mirrorCommands(w.nics[i].name, tapName(i));
    }
    ASSIGN_OR_RETURN(std::string out, runCommand({"tc", "-batch", "-"}, tc));
    (void)out;
    return {};
}

}  // namespace

std::string tapName(size_t i) {
    return strCat("berth-tap", i);
}

Result<std::vector<wire::GuestNic>> nicsFromIp(const nlohmann::json& addrs,
                                         const nlohmann::json& routes) {
    if (!addrs.is_array() || !routes.is_array()) return Error(EINVAL, "ip -j: expected arrays");
    std::vector<wire::GuestNic> out;
    try {
        for (auto& link : addrs) {
            std::string name = link.value("ifname", "");
            if (link.value("link_type", "") != "ether" || name.rfind("berth-tap", 0) == 0 ||
                !hasGlobalAddress(link))
                continue;
            wire::GuestNic nic;
            nic.name = name;
            nic.mac = link.value("address", "");
            nic.mtu = link.value("mtu", 1500);
            for (auto& a : link.value("addr_info", nlohmann::json::array()))
                if (a.value("scope", "") == "global")
                    nic.addresses.push_back(
                        strCat(a.value("local", ""), "/", a.value("prefixlen", 0)));
            nic.routes = routesVia(routes, name);
            out.push_back(std::move(nic));
        }
    } catch (const std::exception& e) {
        return Error(EINVAL, strCat("ip -j: ", e.what()));
    }
    return out;
}

Status checkNetwork(const runtime::spec::Spec& s) {
    const runtime::spec::Namespace* ns = s.linux ? s.linux->findNamespace("network") : nullptr;
    if (!ns || ns->path.empty()) return {};
    auto fd = namespaces::openNamespace(ns->path, *namespaces::kindBySpecName("network"));
    if (!fd) return Error(fd.error()).context("vm");
    return {};
}

Result<NetWiring> wireNetwork(const runtime::spec::Spec& s, const std::string& stateDir) {
    NetWiring w;
    const runtime::spec::Namespace* ns = s.linux ? s.linux->findNamespace("network") : nullptr;
    if (!ns || (!ns->path.empty() && isHostNetns(ns->path))) {
        w.warning =
            "vm: the container shares the host's network namespace, which a VM cannot: it gets no "
            "network interface, only lo";
        return w;
    }
    // A new, empty network namespace: only lo, as a container on the namespaces path gets.
    if (ns->path.empty()) return w;
    Status st = inNetns(ns->path, [&] { return wireInNetns(ns->path, stateDir, w); });
    if (!st) {
        w.taps.clear();  // the taps go with their fds; then the filters on the other side
        unwireNetwork(stateDir);
        return Error(st.error()).context(strCat("vm: network namespace ", ns->path));
    }
    if (w.nics.empty() && w.warning.empty())
        w.warning = strCat("vm: network namespace ", ns->path,
                           " has no interface with an address to mirror: the VM gets no network "
                           "interface, only lo");
    return w;
}

bool isHostNetns(const std::string& path) {
    struct stat target;
    if (::stat(path.c_str(), &target) < 0) return false;
    for (const char* host : {"/proc/self/ns/net", "/proc/1/ns/net"}) {
        struct stat st;
        if (::stat(host, &st) == 0 && st.st_dev == target.st_dev && st.st_ino == target.st_ino) return true;
    }
    return false;
}

void unwireNetwork(const std::string& stateDir) {
    auto text = fs::readFile(stateDir + kRecord);
    if (!text) return;
    auto rec = parseJson(*text, "net.json");
    if (rec && rec->is_object()) {
        std::string netns = rec->value("netns", "");
        // A netns already gone (podman tears it down after the container stops) took it all.
        Status st = inNetns(netns, [&]() -> Status {
            for (auto& l : rec->value("links", nlohmann::json::array())) {
                std::string dev = l.value("dev", ""), tap = l.value("tap", "");
                if (!dev.empty()) (void)runCommand({"tc", "qdisc", "del", "dev", dev, "ingress"});
                // Normally gone with QEMU's fd; only a VMM still alive would keep it.
                if (!tap.empty() && ::if_nametoindex(tap.c_str()) > 0)
                    (void)runCommand({"ip", "link", "del", tap});
            }
            return {};
        });
        if (!st) log::debug("vm: unwire ", netns, ": ", st.error().what());
    }
    ::unlink((stateDir + kRecord).c_str());
}

}  // namespace berth::vm
