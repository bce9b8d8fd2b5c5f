// vps_host_tool: a test driver for the VPS host pieces (vps/network, vps/quota, vps/lxcfs), so the
// root tests exercise them for real before `berth vps` exists. One verb per call:
//
//   net-attach  --name N --pid PID [--bridge B] [--bridge-addr CIDR]... [--ip CIDR]...
//               [--gw4 A] [--gw6 A] [--mtu N]
//   net-detach  --name N
//   net-set-ip  --name N --pid PID [--old-ip CIDR]... [--ip CIDR]...   (now, new)
//   guest-files --rootfs DIR [--hostname H] [--ip CIDR]... [--nameserver A]... [--search D]...
//   quota-create  --image F --size S [--inodes N]      quota-mount --image F --mount DIR
//   quota-resize  --image F --mount DIR --size S       quota-usage --mount DIR
//   quota-unmount --mount DIR                          quota-destroy --image F --mount DIR
//   lxcfs-acquire --dir D --user NAME   lxcfs-release --dir D --user NAME   lxcfs-stop --dir D
//   lxcfs-mounts --dir D [--lxcfs DIR]   (D/mnt: berth's lxcfs mountpoint, D/state: its state)
//
// Errors: one line "vps_host_tool: <error>" on stderr, exit 1.
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "common/units.hpp"
#include "vps/guest_files.hpp"
#include "vps/lxcfs.hpp"
#include "vps/network.hpp"
#include "vps/quota.hpp"

using namespace berth;

namespace {

using Options = std::map<std::string, std::vector<std::string>>;

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 2; i < argc; i++) {
        std::string k = argv[i];
        if (k.rfind("--", 0) != 0 || i + 1 >= argc) {
            std::fprintf(stderr, "vps_host_tool: bad argument %s\n", k.c_str());
            std::exit(2);
        }
        o[k.substr(2)].push_back(argv[++i]);
    }
    return o;
}

std::string one(const Options& o, const std::string& k, const std::string& def = "") {
    auto it = o.find(k);
    return it == o.end() || it->second.empty() ? def : it->second.back();
}
std::vector<std::string> all(const Options& o, const std::string& k) {
    auto it = o.find(k);
    return it == o.end() ? std::vector<std::string>{} : it->second;
}

[[noreturn]] void die(const Error& e) {
    std::fprintf(stderr, "vps_host_tool: %s\n", e.what().c_str());
    std::exit(1);
}
template <typename T>
T must(Result<T> r) {
    if (!r) die(r.error());
    return std::move(r).value();
}
void must(Status s) {
    if (!s) die(s.error());
}

vps::NetworkConfig netConfig(const Options& o) {
    vps::NetworkConfig c;
    c.vpsName = one(o, "name");
    c.bridge = one(o, "bridge", vps::kDefaultBridge);
    c.bridgeAddresses = must(vps::parseIpPrefixes(all(o, "bridge-addr")));
    c.addresses = must(vps::parseIpPrefixes(all(o, "ip")));
    if (!one(o, "gw4").empty()) c.gateway4 = must(vps::parseIpAddress(one(o, "gw4")));
    if (!one(o, "gw6").empty()) c.gateway6 = must(vps::parseIpAddress(one(o, "gw6")));
    c.mtu = static_cast<uint32_t>(std::stoul(one(o, "mtu", "0")));
    return c;
}

int netVerb(const std::string& verb, const Options& o) {
    auto c = netConfig(o);
    pid_t pid = static_cast<pid_t>(std::stol(one(o, "pid", "0")));
    if (verb == "net-attach") {
        auto a = must(vps::attach(c, pid));
        std::printf("host-if %s\nmac %s\n", a.hostIfName.c_str(), vps::macStr(a.mac).c_str());
        for (const auto& g : a.gateways) std::printf("gateway %s\n", g.str().c_str());
    } else if (verb == "net-detach") {
        must(vps::detach(c));
    } else {
        auto next = c.addresses;
        c.addresses = must(vps::parseIpPrefixes(all(o, "old-ip")));
        must(vps::setAddresses(c, pid, next));
    }
    return 0;
}

int guestFiles(const Options& o) {
    vps::GuestNetworkFiles f;
    f.hostname = one(o, "hostname");
    f.addresses = must(vps::parseIpPrefixes(all(o, "ip")));
    for (const auto& n : all(o, "nameserver"))
        f.nameservers.push_back(must(vps::parseIpAddress(n)));
    f.searchDomains = all(o, "search");
    f.uid = static_cast<uid_t>(std::stoul(one(o, "uid", "0")));
    f.gid = static_cast<gid_t>(std::stoul(one(o, "gid", "0")));
    must(vps::writeGuestNetworkFiles(one(o, "rootfs"), f));
    return 0;
}

uint64_t bytes(const std::string& text) {
    auto v = must(units::parseBytes(text));
    if (v <= 0) die(Error(EINVAL, "size must be positive"));
    return static_cast<uint64_t>(v);
}

int quotaVerb(const std::string& verb, const Options& o) {
    std::string image = one(o, "image"), mnt = one(o, "mount");
    if (verb == "quota-create") {
        vps::QuotaSpec spec;
        spec.sizeBytes = bytes(one(o, "size"));
        spec.inodes = std::stoull(one(o, "inodes", "0"));
        must(vps::createQuotaImage(image, spec));
    } else if (verb == "quota-mount") {
        std::printf("%s\n", must(vps::mountQuotaImage(image, mnt)).c_str());
    } else if (verb == "quota-resize") {
        auto mode = must(vps::resizeQuota(image, mnt, bytes(one(o, "size"))));
        std::printf("%s\n", mode == vps::ResizeMode::Live ? "live" : "at next mount");
    } else if (verb == "quota-usage") {
        auto u = must(vps::quotaUsage(mnt));
        std::printf("used_bytes %llu\nlimit_bytes %llu\nused_inodes %llu\nlimit_inodes %llu\n",
                    (unsigned long long)u.usedBytes, (unsigned long long)u.limitBytes,
                    (unsigned long long)u.usedInodes, (unsigned long long)u.limitInodes);
    } else if (verb == "quota-unmount") {
        must(vps::unmountQuotaImage(mnt));
    } else {
        must(vps::destroyQuota(image, mnt));
    }
    return 0;
}

int lxcfsVerb(const std::string& verb, const Options& o) {
    vps::LxcfsConfig c;
    std::string dir = one(o, "dir");
    c.mountPoint = dir + "/mnt";
    c.stateDir = dir + "/state";
    if (verb == "lxcfs-acquire") {
        std::printf("%s\n", must(vps::acquireLxcfs(c, one(o, "user"))).c_str());
    } else if (verb == "lxcfs-release") {
        must(vps::releaseLxcfs(c, one(o, "user")));
    } else if (verb == "lxcfs-stop") {
        must(vps::stopLxcfs(c));
    } else {
        std::printf("%s\n",
                    vps::lxcfsMountsJson(vps::lxcfsMounts(one(o, "lxcfs", c.mountPoint))).c_str());
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: vps_host_tool VERB [--option value]...\n");
        return 2;
    }
    std::string verb = argv[1];
    Options o = parse(argc, argv);
    if (verb == "net-attach" || verb == "net-detach" || verb == "net-set-ip")
        return netVerb(verb, o);
    if (verb == "guest-files") return guestFiles(o);
    if (verb.rfind("quota-", 0) == 0) return quotaVerb(verb, o);
    if (verb.rfind("lxcfs-", 0) == 0) return lxcfsVerb(verb, o);
    std::fprintf(stderr, "vps_host_tool: unknown verb %s\n", verb.c_str());
    return 2;
}
