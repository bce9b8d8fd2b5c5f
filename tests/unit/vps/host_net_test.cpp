// vps host network logic: address parsing, names, guest files and anti-spoofing scripts.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "vps/antispoof.hpp"
#include "vps/guest_files.hpp"
#include "vps/ip_prefix.hpp"
#include "vps/network.hpp"

using namespace berth;
using namespace berth::vps;

namespace {

IpPrefix P(const std::string& s) {
    auto r = parseIpPrefix(s);
    EXPECT_TRUE(r.ok()) << s << ": " << (r.ok() ? "" : r.error().what());
    return r.ok() ? *r : IpPrefix{};
}

}  // namespace

TEST(VpsIpPrefix, ParsesIpv4AndIpv6Cidr) {
    auto a = P("10.0.0.2/24");
    EXPECT_EQ(a.addr.family, AF_INET);
    EXPECT_EQ(a.prefixLen, 24);
    EXPECT_EQ(a.str(), "10.0.0.2/24");
    auto b = P("2001:DB8::2/64");
    EXPECT_EQ(b.addr.family, AF_INET6);
    EXPECT_EQ(b.str(), "2001:db8::2/64");
    EXPECT_EQ(P("192.168.1.7/32").prefixLen, 32);
}

TEST(VpsIpPrefix, RefusesWhatCannotBeAVpsAddress) {
    for (const char* bad :
         {"10.0.0.2", "10.0.0.2/", "10.0.0.2/33", "10.0.0.2/0", "10.0.0.2/2x", "fd00::1/129",
          "999.1.1.1/24", "127.0.0.2/8", "0.0.0.0/8", "224.0.0.5/24", "169.254.1.1/16", "::1/128",
          "fe80::1/64", "ff02::1/64", "10.0.0.0/24", "10.0.0.255/24", "x/24"}) {
        auto r = parseIpPrefix(bad);
        EXPECT_FALSE(r.ok()) << bad;
        if (!r.ok()) {
            EXPECT_EQ(r.error().what().find('\n'), std::string::npos);
        }
    }
    auto noPrefix = parseIpPrefix("10.0.0.2");
    ASSERT_FALSE(noPrefix.ok());
    EXPECT_NE(noPrefix.error().message().find("no /prefix"), std::string::npos);
    // /31 and /32 have no network or broadcast address.
    EXPECT_TRUE(parseIpPrefix("10.0.0.0/31").ok());
}

TEST(VpsIpPrefix, DuplicatesAreRefused) {
    auto r = parseIpPrefixes({"10.0.0.2/24", "10.0.0.2/16"});
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message().find("given twice"), std::string::npos);
}

TEST(VpsIpPrefix, InNetwork) {
    auto gw = parseIpAddress("10.0.0.1");
    ASSERT_TRUE(gw.ok());
    EXPECT_TRUE(inNetwork(*gw, P("10.0.0.2/24")));
    EXPECT_FALSE(inNetwork(*gw, P("10.0.1.2/24")));
    EXPECT_TRUE(inNetwork(*gw, P("10.0.1.2/15")));
    auto gw6 = parseIpAddress("fd00:1::1");
    EXPECT_TRUE(inNetwork(*gw6, P("fd00:1::5/64")));
    EXPECT_FALSE(inNetwork(*gw6, P("10.0.0.2/24")));
}

TEST(VpsIpPrefix, MacAndLinkLocal) {
    auto mac = parseMac("02:b7:00:11:22:33");
    ASSERT_TRUE(mac.ok());
    EXPECT_EQ(macStr(*mac), "02:b7:00:11:22:33");
    EXPECT_EQ(linkLocalFromMac(*mac).str(), "fe80::b7:ff:fe11:2233");
    EXPECT_FALSE(parseMac("01:00:5e:00:00:01").ok());  // multicast
    EXPECT_FALSE(parseMac("02:b7:00:11:22").ok());
    EXPECT_FALSE(parseMac("02:b7:00:11:22:33:44").ok());
}

TEST(VpsNetwork, NamesAreStableAndFitIfnamsiz) {
    EXPECT_EQ(hostIfNameFor("web1"), hostIfNameFor("web1"));
    EXPECT_NE(hostIfNameFor("web1"), hostIfNameFor("web2"));
    EXPECT_EQ(hostIfNameFor(std::string(200, 'x')).size(), 10u);
    auto mac = macFor("web1");
    EXPECT_EQ(mac[0], 0x02);  // locally administered, unicast
    EXPECT_EQ(mac, macFor("web1"));
    EXPECT_NE(mac, macFor("web2"));
}

TEST(VpsNetwork, ValidateConfig) {
    NetworkConfig c;
    c.vpsName = "web1";
    c.addresses = {P("10.0.0.2/24")};
    EXPECT_TRUE(validateNetworkConfig(c).ok());
    auto bad = c;
    bad.bridge = "a-very-long-bridge-name";
    EXPECT_FALSE(validateNetworkConfig(bad).ok());
    bad = c;
    bad.addresses.push_back(P("10.0.0.2/16"));
    EXPECT_FALSE(validateNetworkConfig(bad).ok());
    bad = c;
    bad.gateway4 = *parseIpAddress("fd00::1");
    EXPECT_FALSE(validateNetworkConfig(bad).ok());
    bad = c;
    bad.mtu = 100;
    EXPECT_FALSE(validateNetworkConfig(bad).ok());
    bad = c;
    bad.vpsName = "";
    EXPECT_FALSE(validateNetworkConfig(bad).ok());
}

TEST(VpsGuestFiles, Render) {
    GuestNetworkFiles f;
    f.hostname = "web1.example.org";
    f.addresses = {P("10.0.0.2/24"), P("fd00::2/64")};
    f.nameservers = {*parseIpAddress("10.0.0.1"), *parseIpAddress("fd00::1")};
    f.searchDomains = {"example.org", "corp.example"};
    EXPECT_EQ(renderHostname(f), "web1.example.org\n");
    std::string hosts = renderHosts(f);
    EXPECT_NE(hosts.find("127.0.0.1\tlocalhost\n"), std::string::npos);
    EXPECT_NE(hosts.find("10.0.0.2\tweb1.example.org web1\n"), std::string::npos);
    EXPECT_NE(hosts.find("fd00::2\tweb1.example.org web1\n"), std::string::npos);
    EXPECT_EQ(hosts.find("127.0.1.1"), std::string::npos);
    EXPECT_EQ(renderResolvConf(f),
              "# written by berth from the VPS's config\nsearch example.org corp.example\n"
              "nameserver 10.0.0.1\nnameserver fd00::1\n");
    f.addresses.clear();
    f.hostname = "box";
    EXPECT_NE(renderHosts(f).find("127.0.1.1\tbox\n"), std::string::npos);
}

TEST(VpsGuestFiles, ValidateNames) {
    EXPECT_TRUE(validateHostname("web-1.example.org").ok());
    for (const char* bad : {"", "-web", "web-", "a..b", "we_b", "web/1", "a b"})
        EXPECT_FALSE(validateHostname(bad).ok()) << bad;
    EXPECT_FALSE(validateHostname(std::string(65, 'a')).ok());
    EXPECT_TRUE(validateDomain("example.org").ok());
}

TEST(VpsGuestFiles, WritesIntoRootfsReplacingSymlinks) {
    char tmpl[] = "/tmp/berth-guestfiles-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    std::string dir = tmpl, rootfs = dir + "/rootfs";
    ASSERT_EQ(std::system(("mkdir -p " + rootfs + "/etc && echo keep > " + dir +
                           "/outside && ln -s " + dir + "/outside " + rootfs + "/etc/hosts")
                              .c_str()),
              0);
    GuestNetworkFiles f;
    f.hostname = "box";
    f.uid = ::getuid();
    f.gid = ::getgid();
    ASSERT_TRUE(writeGuestNetworkFiles(rootfs, f).ok());
    std::ifstream outside(dir + "/outside");
    std::stringstream ss;
    ss << outside.rdbuf();
    EXPECT_EQ(ss.str(), "keep\n");
    std::ifstream hosts(rootfs + "/etc/hosts");
    std::stringstream hs;
    hs << hosts.rdbuf();
    EXPECT_NE(hs.str().find("127.0.1.1\tbox"), std::string::npos);
    EXPECT_FALSE(std::ifstream(rootfs + "/etc/resolv.conf").good());  // nothing to say: left alone
    std::system(("rm -rf " + dir).c_str());
}

TEST(VpsAntiSpoof, RulesNameTheVethMacAndAddresses) {
    AntiSpoofRules r{
        "bv12345678", *parseMac("02:b7:00:11:22:33"), {P("10.0.0.2/24"), P("fd00::2/64")}};
    std::string s = renderAntiSpoofRules(r);
    EXPECT_EQ(antiSpoofTable("bv12345678"), "berth_bv12345678");
    EXPECT_NE(s.find("table netdev berth_bv12345678 {}\ndelete table netdev berth_bv12345678\n"),
              std::string::npos);
    EXPECT_NE(s.find("hook ingress device \"bv12345678\" priority -500; policy drop;"),
              std::string::npos);
    EXPECT_NE(s.find("ether saddr != 02:b7:00:11:22:33 drop"), std::string::npos);
    EXPECT_NE(s.find("arp saddr ether != 02:b7:00:11:22:33 drop"), std::string::npos);
    EXPECT_NE(s.find("set addrs4 { type ipv4_addr; elements = { 10.0.0.2 }; }"), std::string::npos);
    EXPECT_NE(
        s.find("set addrs6 { type ipv6_addr; elements = { fe80::b7:ff:fe11:2233, fd00::2 }; }"),
        std::string::npos);
    EXPECT_NE(s.find("ip saddr @addrs4 accept"), std::string::npos);
    EXPECT_NE(s.find("ip6 saddr @addrs6 accept"), std::string::npos);
    // Neighbour advertisements only for the VPS's own addresses (its link-local included).
    EXPECT_NE(s.find("set targets6 { typeof @th,64,128; elements = { "
                     "0xfe8000000000000000b700fffe112233, 0xfd000000000000000000000000000002 }; }"),
              std::string::npos);
    EXPECT_LT(s.find("nd-neighbor-advert @th,64,128 != @targets6 drop"), s.find("ip6 saddr @addrs6 accept"));
    EXPECT_LT(s.find("icmpv6 type { nd-router-advert, nd-redirect } drop"), s.find("ip6 saddr @addrs6 accept"));
}

TEST(VpsAntiSpoof, EmptyFamiliesAndUpdates) {
    AntiSpoofRules r{"bv1", *parseMac("02:b7:00:11:22:33"), {P("fd00::2/64")}};
    std::string s = renderAntiSpoofRules(r);
    EXPECT_NE(s.find("set addrs4 { type ipv4_addr; }"), std::string::npos);  // no "elements = { }"
    std::string u = renderAntiSpoofAddresses(r);
    EXPECT_EQ(u,
              "flush set netdev berth_bv1 addrs4\nflush set netdev berth_bv1 addrs6\n"
              "flush set netdev berth_bv1 targets6\n"
              "add element netdev berth_bv1 addrs6 { fe80::b7:ff:fe11:2233, fd00::2 }\n"
              "add element netdev berth_bv1 targets6 { 0xfe8000000000000000b700fffe112233, "
              "0xfd000000000000000000000000000002 }\n");
    EXPECT_EQ(renderAntiSpoofRemoval("bv1"),
              "table netdev berth_bv1 {}\ndelete table netdev berth_bv1\n");
}
