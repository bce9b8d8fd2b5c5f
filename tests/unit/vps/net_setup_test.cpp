// vps network set-up logic: network.conf, --ipadd/--ipdel, the address-in-use rule, the guest's
// own network config (systemd-networkd file, ifupdown edits).
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "common/fs.hpp"
#include "vps/guest_files.hpp"
#include "vps/host_net_conf.hpp"
#include "vps/net_setup.hpp"

using namespace berth;
using namespace berth::vps;

namespace {

IpPrefix Pfx(const std::string& s) { return *parseIpPrefix(s); }

struct TempDir {
    std::string path;
    TempDir() {
        char tmpl[] = "/tmp/berth-vps-net-XXXXXX";
        path = mkdtemp(tmpl);
    }
    ~TempDir() { (void)fs::removeAll(path); }
};

std::string slurp(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

Config vpsWith(const std::string& name, uint32_t base, std::vector<std::string> ips) {
    Config c;
    c.name = name;
    c.templateName = "bb";
    c.templateDigest = "sha256:1";
    c.init = InitInfo{"/sbin/init", "busybox", "SIGUSR2"};
    c.ids = IdRange{base, 65536};
    c.network.ips = std::move(ips);
    return c;
}

}  // namespace

TEST(VpsHostNetworkConf, ParsesKeysQuotesAndComments) {
    auto c = parseHostNetworkConf(
        "# the VPS network\nBRIDGE=br-vps\nBRIDGE_ADDRESSES=\"10.88.0.1/24 fd88::1/64\"\n\n"
        "  GATEWAY='10.88.0.254'  \nMTU=1450\n",
        "network.conf");
    ASSERT_TRUE(c.ok()) << c.error().what();
    EXPECT_EQ(c->bridge, "br-vps");
    ASSERT_EQ(c->bridgeAddresses.size(), 2u);
    EXPECT_EQ(c->bridgeAddresses[1].str(), "fd88::1/64");
    ASSERT_TRUE(c->gateway4);
    EXPECT_EQ(c->gateway4->str(), "10.88.0.254");
    EXPECT_FALSE(c->gateway6);
    EXPECT_EQ(c->mtu, 1450u);
    EXPECT_TRUE(parseHostNetworkConf("", "x")->bridge.empty());
}

TEST(VpsHostNetworkConf, BadLinesNameFileAndLine) {
    struct Case {
        const char* text;
        const char* error;
    } cases[] = {
        {"BRIDGE=br0\nBRDGE=x\n", "f:2: unknown key \"BRDGE\""},
        {"BRIDGE_ADDRESSES=10.0.0.1\n", "f:1: address \"10.0.0.1\" has no /prefix"},
        {"GATEWAY=10.0.0.1 10.0.0.2\n", "f:1: GATEWAY: two IPv4 gateways"},
        {"MTU=12\n", "f:1: MTU \"12\": must be 576..65535"},
        {"just words\n", "f:1: expected KEY=value"},
        {"BRIDGE=\"br0\n", "f:1: unterminated quote"},
        {"BRIDGE=a/b\n", "f:1: BRIDGE \"a/b\": not an interface name"},
    };
    for (const auto& k : cases) {
        auto c = parseHostNetworkConf(k.text, "f");
        ASSERT_FALSE(c.ok()) << k.text;
        EXPECT_EQ(c.error().what().rfind(k.error, 0), 0u) << c.error().what();
    }
}

TEST(VpsHostNetworkConf, LoadsFromTheConfigDirAndTheEnvironmentWins) {
    TempDir d;
    ::unsetenv("BERTH_VPS_BRIDGE");
    EXPECT_TRUE(loadHostNetworkConf(d.path)->bridge.empty());  // no file: defaults
    ASSERT_TRUE(fs::writeFileAtomic(d.path + "/network.conf", "BRIDGE=br9\n").ok());
    EXPECT_EQ(loadHostNetworkConf(d.path)->bridge, "br9");
    ::setenv("BERTH_VPS_BRIDGE", "brenv", 1);
    EXPECT_EQ(loadHostNetworkConf(d.path)->bridge, "brenv");
    ::unsetenv("BERTH_VPS_BRIDGE");
}

TEST(VpsNetSetup, NetworkConfigTakesGatewaysFromVpsThenHost) {
    HostNetworkConf h;
    h.bridge = "brx";
    h.bridgeAddresses = {Pfx("10.88.0.1/24")};
    h.gateway4 = *parseIpAddress("10.88.0.254");
    h.gateway6 = *parseIpAddress("fd99::1");  // outside the VPS's IPv6 network: not used
    h.mtu = 1400;
    Config c = vpsWith("web", 1000000, {"10.88.0.2/24", "fd88::2/64"});
    auto nc = networkConfigFor(c, h);
    ASSERT_TRUE(nc.ok()) << nc.error().what();
    EXPECT_EQ(nc->bridge, "brx");
    EXPECT_EQ(nc->mtu, 1400u);
    ASSERT_TRUE(nc->gateway4);
    EXPECT_EQ(nc->gateway4->str(), "10.88.0.254");
    EXPECT_FALSE(nc->gateway6);
    c.network.gateways = {"10.88.0.9"};
    EXPECT_EQ(networkConfigFor(c, h)->gateway4->str(), "10.88.0.9");
    EXPECT_EQ(networkConfigFor(c, HostNetworkConf{})->bridge, kDefaultBridge);
}

TEST(VpsNetSetup, IpAddAndDelEditTheList) {
    std::vector<std::string> ips = {"10.0.0.2/24", "fd00::2/64"};
    EXPECT_EQ(*editIpList(ips, std::nullopt, std::vector<std::string>{"10.0.0.2"},
                          std::vector<std::string>{"10.0.0.3/24"}),
              (std::vector<std::string>{"fd00::2/64", "10.0.0.3/24"}));
    // --ipdel takes the address with or without its prefix, in any spelling.
    EXPECT_EQ(*editIpList(ips, std::nullopt, std::vector<std::string>{"fd00:0::2/64"}, std::nullopt),
              (std::vector<std::string>{"10.0.0.2/24"}));
    EXPECT_TRUE(editIpList(ips, std::nullopt, std::vector<std::string>{"all"}, std::nullopt)->empty());
    // --ip replaces first, then the edits apply.
    EXPECT_EQ(*editIpList(ips, std::vector<std::string>{"10.0.0.7/24"}, std::nullopt,
                          std::vector<std::string>{"10.0.0.8/24"}),
              (std::vector<std::string>{"10.0.0.7/24", "10.0.0.8/24"}));
    auto e = editIpList(ips, std::nullopt, std::vector<std::string>{"10.0.0.9"}, std::nullopt);
    ASSERT_FALSE(e.ok());
    EXPECT_EQ(e.error().what(), "--ipdel 10.0.0.9: not an address of the VPS");
    e = editIpList(ips, std::nullopt, std::nullopt, std::vector<std::string>{"10.0.0.2/16"});
    ASSERT_FALSE(e.ok());
    EXPECT_EQ(e.error().what(), "--ipadd 10.0.0.2: the VPS has it already");
}

TEST(VpsNetSetup, AnAddressOfAnotherVpsOrTheBridgeIsRefused) {
    TempDir d;
    ConfigStore store(Paths{d.path + "/etc", d.path + "/data", {}});
    ASSERT_TRUE(fs::mkdirAll(d.path + "/etc", 0700).ok());
    ASSERT_TRUE(store.save(vpsWith("a", 1000000, {"10.0.0.2/24", "fd00::2/64"})).ok());
    Config b = vpsWith("b", 1065536, {"10.0.0.3/24", "fd00:0:0::2/48"});
    auto st = checkAddressesFree(store, b, {});
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().what(), "--ip fd00::2: already used by VPS \"a\"");
    // An address the VPS already had is not checked again (set of other fields).
    EXPECT_TRUE(checkAddressesFree(store, b, {"fd00::2/64"}).ok());
    // Its own stored config does not count against it.
    EXPECT_TRUE(checkAddressesFree(store, vpsWith("a", 1000000, {"10.0.0.2/24"}), {}).ok());
    ASSERT_TRUE(fs::writeFileAtomic(d.path + "/etc/network.conf",
                                    "BRIDGE_ADDRESSES=10.0.0.1/24\n").ok());
    st = checkAddressesFree(store, vpsWith("c", 1131072, {"10.0.0.1/24"}), {});
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.error().what().find("--ip 10.0.0.1: it is the bridge's address"), std::string::npos);
    // A broken config elsewhere does not block everyone else's addresses.
    ASSERT_TRUE(fs::writeFileAtomic(d.path + "/etc/x.json", "{").ok());
    EXPECT_TRUE(checkAddressesFree(store, vpsWith("c", 1131072, {"10.0.0.9/24"}), {}).ok());
}

TEST(VpsGuestNetconf, NetworkdFileSaysWhatBerthSet) {
    GuestInterface i;
    i.addresses = {Pfx("10.0.0.2/24"), Pfx("fd00::2/64")};
    i.gateways = {*parseIpAddress("10.0.0.1"), *parseIpAddress("fd00::1")};
    i.nameservers = {*parseIpAddress("10.0.0.53")};
    i.searchDomains = {"example.org", "example.net"};
    std::string f = renderNetworkdFile(i);
    for (const char* want :
         {"[Match]\nName=eth0\n", "DHCP=no\n", "IPv6AcceptRA=no\n", "KeepConfiguration=static\n",
          "Gateway=10.0.0.1\nGateway=fd00::1\n", "DNS=10.0.0.53\n",
          "Domains=example.org example.net\n",
          "[Address]\nAddress=fd00::2/64\nDuplicateAddressDetection=none\n"})
        EXPECT_NE(f.find(want), std::string::npos) << want << " in\n" << f;
}

TEST(VpsGuestNetconf, IfupdownStanzasForTheInterfaceAreDisabled) {
    std::string in =
        "source /etc/network/interfaces.d/*\n"
        "auto lo eth0\n"
        "iface lo inet loopback\n"
        "\n"
        "allow-hotplug eth0\n"
        "iface eth0 inet dhcp\n"
        "    hostname web\n"
        "# a comment\n"
        "iface eth0 inet6 auto\n"
        "iface eth1 inet static\n"
        "    address 192.168.9.2/24\n";
    std::string out = disableIfupdownStanzas(in, "eth0", true);
    EXPECT_EQ(out,
              "source /etc/network/interfaces.d/*\n"
              "#berth-disabled: auto lo eth0\n"
              "auto lo\n"
              "iface lo inet loopback\n"
              "\n"
              "#berth-disabled: allow-hotplug eth0\n"
              "#berth-disabled: iface eth0 inet dhcp\n"
              "#berth-disabled:     hostname web\n"
              "# a comment\n"
              "#berth-disabled: iface eth0 inet6 auto\n"
              "iface eth1 inet static\n"
              "    address 192.168.9.2/24\n"
              "# --- berth: begin (written at every start and set) ---\n"
              "# eth0 is configured from the host (berth vps set --ip); ifupdown leaves it alone.\n"
              "iface eth0 inet manual\n"
              "# --- berth: end ---\n");
    // Running it again changes nothing (the block is replaced, not added twice).
    EXPECT_EQ(disableIfupdownStanzas(out, "eth0", true), out);
    EXPECT_EQ(disableIfupdownStanzas("iface eth1 inet dhcp\n", "eth0", false), "iface eth1 inet dhcp\n");
}

TEST(VpsGuestNetconf, WritesOnlyWhatTheTemplateHas) {
    TempDir d;
    std::string root = d.path + "/rootfs";
    ASSERT_TRUE(fs::mkdirAll(root + "/etc", 0755).ok());
    GuestInterface i;
    i.addresses = {Pfx("10.0.0.2/24")};
    // A template with neither systemd nor ifupdown gets nothing.
    ASSERT_TRUE(writeGuestNetworkConfig(root, i, ::getuid(), ::getgid()).ok());
    EXPECT_FALSE(fs::exists(root + "/etc/systemd"));
    EXPECT_FALSE(fs::exists(root + "/etc/network"));
    ASSERT_TRUE(fs::mkdirAll(root + "/etc/systemd", 0755).ok());
    ASSERT_TRUE(fs::mkdirAll(root + "/etc/network/interfaces.d", 0755).ok());
    ASSERT_TRUE(fs::writeFileAtomic(root + "/etc/network/interfaces", "auto eth0\niface eth0 inet dhcp\n").ok());
    ASSERT_TRUE(fs::writeFileAtomic(root + "/etc/network/interfaces.d/50-cloud", "iface eth0 inet dhcp\n").ok());
    // A planted symlink is not followed out of the rootfs.
    ASSERT_TRUE(fs::writeFileAtomic(d.path + "/outside", "iface eth0 inet dhcp\n").ok());
    ASSERT_EQ(::symlink((d.path + "/outside").c_str(), (root + "/etc/network/interfaces.d/link").c_str()), 0);
    ASSERT_TRUE(writeGuestNetworkConfig(root, i, ::getuid(), ::getgid()).ok());
    EXPECT_NE(slurp(root + "/etc/systemd/network/10-berth-eth0.network").find("Address=10.0.0.2/24"),
              std::string::npos);
    EXPECT_NE(slurp(root + "/etc/network/interfaces").find("iface eth0 inet manual\n"), std::string::npos);
    EXPECT_EQ(slurp(root + "/etc/network/interfaces.d/50-cloud"), "#berth-disabled: iface eth0 inet dhcp\n");
    EXPECT_EQ(slurp(d.path + "/outside"), "iface eth0 inet dhcp\n");
}
