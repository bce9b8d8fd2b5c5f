#include <gtest/gtest.h>

#include "vps/config.hpp"
#include "vps/vps.hpp"

using namespace berth;
using namespace berth::vps;

namespace {

Config sample() {
    Config c;
    c.name = "web1";
    c.templateName = "localhost/bb:v1";
    c.templateDigest = "sha256:abc";
    c.hostname = "web1.example.org";
    c.onboot = true;
    c.limits.ram = 256 << 20;
    c.limits.swap = 64 << 20;
    c.limits.cpulimit = 150;
    c.limits.cpuunits = 2000;
    c.limits.pids = 500;
    c.network.ips = {"10.0.0.2/24", "fd00::2/64"};
    c.network.nameservers = {"10.0.0.1"};
    c.init = InitInfo{"/sbin/init", "busybox", "SIGUSR2"};
    c.ids = IdRange{1000000, 65536};
    return c;
}

}  // namespace

TEST(VpsName, RefusesSlashDotsEmptyOverlongAndOptions) {
    EXPECT_TRUE(validateName("web-1.example_2").ok());
    EXPECT_FALSE(validateName("").ok());
    EXPECT_FALSE(validateName("a/b").ok());
    EXPECT_FALSE(validateName("..").ok());
    EXPECT_FALSE(validateName("a..b").ok());
    EXPECT_FALSE(validateName(".hidden").ok());
    EXPECT_FALSE(validateName("-rf").ok());
    EXPECT_FALSE(validateName("a b").ok());
    EXPECT_TRUE(validateName(std::string(63, 'a')).ok());
    auto e = validateName(std::string(64, 'a'));
    ASSERT_FALSE(e.ok());
    EXPECT_NE(e.error().what().find("too long"), std::string::npos);
}

TEST(VpsSize, TakesVzctlSuffixes) {
    EXPECT_EQ(**parseSize("1024"), 1024);
    EXPECT_EQ(**parseSize("512K"), 512 << 10);
    EXPECT_EQ(**parseSize("256m"), 256 << 20);
    EXPECT_EQ(**parseSize("2G"), int64_t{2} << 30);
    EXPECT_EQ(**parseSize("1T"), int64_t{1} << 40);
    EXPECT_EQ(**parseSize("1GB"), int64_t{1} << 30);
    EXPECT_EQ(**parseSize("1MiB"), 1 << 20);
    EXPECT_FALSE(parseSize("unlimited")->has_value());
    for (const char* bad : {"", "M", "1.5G", "-1", "12Q", "1 G", "99999999999999999999T", "8388608T"})
        EXPECT_FALSE(parseSize(bad).ok()) << bad;
}

TEST(VpsConfig, RoundTripsThroughJson) {
    Config c = sample();
    auto back = fromJson(nlohmann::json::parse(toJson(c).dump()));
    ASSERT_TRUE(back.ok()) << back.error().what();
    EXPECT_EQ(toJson(*back), toJson(c));
    EXPECT_EQ(toJson(c).begin().key(), "version");
    EXPECT_EQ(back->limits.ram, c.limits.ram);
    EXPECT_FALSE(back->limits.cpus.has_value());
    EXPECT_EQ(back->network.ips, c.network.ips);
    EXPECT_EQ(toJson(c)["version"], kConfigVersion);
}

TEST(VpsConfig, CorruptedFileIsOneErrorNamingTheFile) {
    auto r = parseConfig("{\"version\": 1, \"name\": ", "/etc/berth/vps/web1.json");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().what().rfind("/etc/berth/vps/web1.json: invalid JSON", 0), 0u) << r.error().what();
    EXPECT_EQ(r.error().what().find('\n'), std::string::npos);
}

TEST(VpsConfig, RefusesUnknownFieldsWrongTypesAndNewerVersions) {
    auto j = nlohmann::json::parse(toJson(sample()).dump());
    j["limits"]["rma"] = 5;
    auto r = fromJson(j);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().what().find("limits.rma: unknown field"), std::string::npos);
    j = nlohmann::json::parse(toJson(sample()).dump());
    j["limits"]["ram"] = "lots";
    EXPECT_NE(fromJson(j).error().what().find("limits.ram: wrong type"), std::string::npos);
    j = nlohmann::json::parse(toJson(sample()).dump());
    j["version"] = 2;
    EXPECT_NE(fromJson(j).error().what().find("version 2 is not supported"), std::string::npos);
    j = nlohmann::json::parse(toJson(sample()).dump());
    j.erase("idmap");
    EXPECT_FALSE(fromJson(j).ok());
    j = nlohmann::json::parse(toJson(sample()).dump());
    j["name"] = "../etc";
    EXPECT_FALSE(fromJson(j).ok());
}

TEST(VpsConfig, ValidatesLimitsAndNetwork) {
    Limits l;
    l.cpuunits = 7;
    EXPECT_FALSE(validateLimits(l).ok());
    l.cpuunits = 500000;
    EXPECT_TRUE(validateLimits(l).ok());
    l.swap = 1 << 20;
    EXPECT_FALSE(validateLimits(l).ok());  // swap without ram
    l = {};
    l.ram = 1024;
    EXPECT_FALSE(validateLimits(l).ok());  // too small to hold an init
    Network n;
    n.ips = {"10.0.0.2/24", "fd00::1/64"};
    EXPECT_TRUE(validateNetwork(n).ok());
    // CIDR only (start needs the prefix), and what vps/ip_prefix refuses, with --ip's name.
    for (const char* bad : {"10.0.0.300/24", "10.0.0.2/33", "fd00::1/129", "host", "10.0.0.2/",
                            "fd00::1", "127.0.0.2/8"}) {
        n.ips = {bad};
        EXPECT_FALSE(validateNetwork(n).ok()) << bad;
    }
    n.ips = {"10.0.0.2/24", "10.0.0.2/16"};
    EXPECT_FALSE(validateNetwork(n).ok());
    n.ips = {"fd00::2/64", "fd00:0::2/48"};  // the same address written twice
    EXPECT_FALSE(validateNetwork(n).ok());
    auto st = validateNetwork(Network{{"127.0.0.2/8"}, {}, {}, {}});
    EXPECT_EQ(st.error().message(), "--ip \"127.0.0.2/8\" is a loopback address");
    // --gateway: one per family, inside a network of the VPS's addresses.
    n = {};
    n.ips = {"10.0.0.2/24", "fd00::2/64"};
    n.gateways = {"10.0.0.1", "fd00::1"};
    EXPECT_TRUE(validateNetwork(n).ok());
    n.gateways = {"10.0.0.1", "10.0.0.254"};
    EXPECT_FALSE(validateNetwork(n).ok());
    n.gateways = {"10.1.0.1"};
    st = validateNetwork(n);
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().message(), "--gateway 10.1.0.1: not inside the network of any --ip of the VPS");
    n.gateways = {"gw"};
    EXPECT_FALSE(validateNetwork(n).ok());
    n = {};
    n.nameservers = {"8.8.8.8", "not-an-ip"};
    EXPECT_FALSE(validateNetwork(n).ok());
    EXPECT_TRUE(validateUserPasswd("root:secret").ok());
    EXPECT_FALSE(validateUserPasswd("root").ok());
    EXPECT_FALSE(validateUserPasswd(":x").ok());
    EXPECT_FALSE(validateHostnameOption("-bad").ok());
    EXPECT_TRUE(validateHostnameOption("a.b-c.d").ok());
    EXPECT_TRUE(validateHostnameOption("").ok());  // keep the template's
}

TEST(VpsChanges, ParseFlagsAndReportWhatChanged) {
    Config c = sample();
    Changes ch;
    ch.ram = "512M";
    ch.cpulimit = "0";  // unset
    ch.pids = "500";    // unchanged
    ch.ips = std::vector<std::string>{"10.0.0.3/24"};
    auto r = applyChanges(c, ch);
    ASSERT_TRUE(r.ok()) << r.error().what();
    EXPECT_EQ(*r, (std::vector<std::string>{"ram", "cpulimit", "ip"}));
    EXPECT_EQ(c.limits.ram, 512 << 20);
    EXPECT_FALSE(c.limits.cpulimit.has_value());
    Changes bad;
    bad.ram = "lots";
    auto e = applyChanges(c, bad);
    ASSERT_FALSE(e.ok());
    EXPECT_EQ(e.error().what().rfind("--ram: invalid size \"lots\"", 0), 0u) << e.error().what();
    bad = {};
    bad.pids = "-3";
    EXPECT_FALSE(applyChanges(c, bad).ok());
}

TEST(VpsList, VzlistColumns) {
    VpsStatus a;
    a.name = "web1";
    a.state = "running";
    a.nproc = 3;
    a.ips = {"10.0.0.2/24", "fd00::2/64"};
    a.hostname = "web1";
    a.ramUsed = 5 << 20;
    a.ramLimit = 256 << 20;
    VpsStatus b;
    b.name = "db";
    b.state = "stopped";
    auto t = formatTable({a, b}, kDefaultColumns);
    ASSERT_TRUE(t.ok()) << t.error().what();
    EXPECT_EQ(*t,
              "NAME  STATE    NPROC  IP                HOSTNAME  RAMUSED  RAMLIMIT\n"
              "web1  running  3      10.0.0.2 fd00::2  web1      5.00M    256M\n"
              "db    stopped  -      -                 -         -        unlimited\n");
    auto e = formatTable({a}, "name,bogus");
    ASSERT_FALSE(e.ok());
    EXPECT_NE(e.error().what().find("unknown column \"bogus\""), std::string::npos);
    EXPECT_EQ(toJson(a)["ips"].size(), 2u);
    EXPECT_TRUE(toJson(b)["ramused"].is_null());
}
