#include <gtest/gtest.h>

#include "cgroups/systemd/properties.hpp"

using namespace berth::cgroups::systemd;
using nlohmann::json;

namespace {

std::vector<Property> map(const char* resources, bool unified = false, int version = 252) {
    MappingOptions o;
    o.unified = unified;
    o.systemdVersion = version;
    o.deviceGroup = [](char type, int64_t major) -> std::string {
        return type == 'c' && major == 136 ? "pts" : "";
    };
    auto r = resourceProperties(json::parse(resources), o);
    EXPECT_TRUE(r.ok()) << r.error().what();
    return r.ok() ? *r : std::vector<Property>{};
}

const Property* find(const std::vector<Property>& props, const std::string& name) {
    for (auto& p : props)
        if (p.name == name) return &p;
    return nullptr;
}

uint64_t u64(const std::vector<Property>& props, const std::string& name) {
    auto* p = find(props, name);
    EXPECT_NE(p, nullptr) << name;
    return p ? std::get<uint64_t>(p->value) : 0;
}

}  // namespace

TEST(SystemdProperties, CpuQuotaRoundsUpToTenMilliseconds) {
    EXPECT_EQ(cpuQuotaPerSecUSec(50000, 100000), 500000u);
    // 33.333% of a CPU is kept by systemd as 34%: round up so cfs_quota_us is not lowered.
    EXPECT_EQ(cpuQuotaPerSecUSec(33333, 100000), 340000u);
    EXPECT_EQ(cpuQuotaPerSecUSec(1000, 0), 10000u);  // default period 100 ms
    EXPECT_EQ(cpuQuotaPerSecUSec(150000, 50000), 3000000u);
    EXPECT_EQ(cpuQuotaPerSecUSec(-1, 100000), kInfinity);
    EXPECT_EQ(cpuQuotaPerSecUSec(0, 100000), kInfinity);
}

TEST(SystemdProperties, V1MappingAsRunc) {
    auto p = map(R"({"memory": {"limit": 67108864, "swap": 134217728, "reservation": 1024},
                     "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0-1,3"},
                     "blockIO": {"weight": 300}, "pids": {"limit": 42}})");
    EXPECT_EQ(u64(p, "MemoryLimit"), 67108864u);
    EXPECT_EQ(find(p, "MemorySwapMax"), nullptr);  // v1: swap only through cgroupfs
    EXPECT_EQ(find(p, "MemoryLow"), nullptr);
    EXPECT_EQ(u64(p, "CPUShares"), 512u);
    EXPECT_EQ(u64(p, "CPUQuotaPeriodUSec"), 100000u);
    EXPECT_EQ(u64(p, "CPUQuotaPerSecUSec"), 500000u);
    EXPECT_EQ(u64(p, "BlockIOWeight"), 300u);
    EXPECT_EQ(u64(p, "TasksMax"), 42u);
    ASSERT_NE(find(p, "AllowedCPUs"), nullptr);
    EXPECT_EQ(std::get<std::vector<uint8_t>>(find(p, "AllowedCPUs")->value), (std::vector<uint8_t>{0x0b}));
}

TEST(SystemdProperties, UnlimitedIsInfinity) {
    auto p = map(R"({"memory": {"limit": -1}, "pids": {"limit": -1}, "cpu": {"quota": -1}})");
    EXPECT_EQ(u64(p, "MemoryLimit"), kInfinity);
    EXPECT_EQ(u64(p, "TasksMax"), kInfinity);
    EXPECT_EQ(u64(p, "CPUQuotaPerSecUSec"), kInfinity);
    EXPECT_EQ(find(p, "CPUQuotaPeriodUSec"), nullptr);
    // 0 leaves a value alone (runc): no property at all.
    auto zero = map(R"({"memory": {"limit": 0}, "pids": {"limit": 0}, "cpu": {"shares": 0}})");
    EXPECT_TRUE(zero.empty());
}

TEST(SystemdProperties, V2Names) {
    auto p = map(R"({"memory": {"limit": 1000, "swap": 3000, "reservation": 500},
                     "cpu": {"shares": 1024}, "blockIO": {"weight": 500},
                     "unified": {"memory.high": "900", "pids.max": "max", "io.max": "8:0 rbps=1"}})",
                 true);
    EXPECT_EQ(u64(p, "MemoryMax"), 1000u);
    EXPECT_EQ(u64(p, "MemoryLow"), 500u);
    EXPECT_EQ(u64(p, "MemorySwapMax"), 2000u);  // OCI swap is memory+swap
    EXPECT_EQ(u64(p, "CPUWeight"), 39u);        // runc's shares → weight: 1024 → 39
    EXPECT_EQ(u64(p, "IOWeight"), 4950u);
    EXPECT_EQ(u64(p, "MemoryHigh"), 900u);
    EXPECT_EQ(u64(p, "TasksMax"), kInfinity);
    EXPECT_EQ(find(p, "MemoryLimit"), nullptr);
    auto unlimited = map(R"({"memory": {"limit": -1}})", true);
    EXPECT_EQ(u64(unlimited, "MemorySwapMax"), kInfinity);
}

TEST(SystemdProperties, OldSystemdLeavesNewPropertiesToCgroupfs) {
    auto p = map(R"({"cpu": {"quota": 20000, "period": 50000, "cpus": "1"}})", false, 239);
    EXPECT_EQ(find(p, "CPUQuotaPeriodUSec"), nullptr);
    EXPECT_EQ(find(p, "AllowedCPUs"), nullptr);
    EXPECT_EQ(u64(p, "CPUQuotaPerSecUSec"), 400000u);
}

TEST(SystemdProperties, RangeToBits) {
    EXPECT_EQ(*rangeToBits("0"), (std::vector<uint8_t>{0x01}));
    EXPECT_EQ(*rangeToBits("0-1,3"), (std::vector<uint8_t>{0x0b}));
    EXPECT_EQ(*rangeToBits("8"), (std::vector<uint8_t>{0x00, 0x01}));
    EXPECT_EQ(*rangeToBits("0-9"), (std::vector<uint8_t>{0xff, 0x03}));
    EXPECT_EQ(*rangeToBits(" 2 , 4-5 "), (std::vector<uint8_t>{0x34}));
    EXPECT_FALSE(rangeToBits("").ok());
    EXPECT_FALSE(rangeToBits("3-1").ok());
    EXPECT_FALSE(rangeToBits("a").ok());
    auto bad = resourceProperties(json::parse(R"({"cpu": {"cpus": "x"}})"), MappingOptions{});
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.error().what().find("linux.resources.cpu: AllowedCPUs"), std::string::npos);
}

TEST(SystemdProperties, RefusesMeaninglessNegatives) {
    auto r = resourceProperties(json::parse(R"({"memory": {"limit": -5}})"), MappingOptions{});
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().what().find("linux.resources.memory.limit"), std::string::npos);
}

TEST(SystemdProperties, DeviceRulesAsStrictAllowList) {
    auto p = map(R"({"devices": [
        {"allow": false, "access": "rwm"},
        {"allow": true, "type": "c", "major": -1, "minor": -1, "access": "m"},
        {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"},
        {"allow": true, "type": "c", "major": 136, "minor": -1, "access": "rwm"},
        {"allow": true, "type": "c", "major": 99, "minor": -1, "access": "rw"},
        {"allow": true, "type": "b", "major": 8, "minor": 0, "access": "rwm"},
        {"allow": false, "type": "b", "major": 8, "minor": 0, "access": "w"}]})");
    ASSERT_EQ(p.size(), 3u);
    EXPECT_EQ(p[0], (Property{"DevicePolicy", std::string("strict")}));
    EXPECT_EQ(p[1], (Property{"DeviceAllow", DeviceAllowList{}}));
    DeviceAllowList want = {{"char-*", "m"}, {"/dev/char/1:3", "rwm"}, {"char-pts", "rwm"},
                            {"/dev/block/8:0", "rm"}};  // 99:* has no /proc/devices name
    EXPECT_EQ(std::get<DeviceAllowList>(p[2].value), want);
    auto all = map(R"({"devices": [{"allow": true, "access": "rwm"}]})");
    ASSERT_EQ(all.size(), 2u);
    EXPECT_EQ(all[0], (Property{"DevicePolicy", std::string("auto")}));
}

TEST(SystemdProperties, ScopeBasics) {
    auto p = scopeProperties("c1", "system.slice", 4242, false);
    EXPECT_EQ(describe(p),
              "Description=berth container c1 Slice=system.slice Delegate=yes PIDs=4242 "
              "MemoryAccounting=yes CPUAccounting=yes BlockIOAccounting=yes TasksAccounting=yes "
              "DefaultDependencies=no");
    EXPECT_NE(find(scopeProperties("c1", "system.slice", 1, true), "IOAccounting"), nullptr);
    EXPECT_STREQ(signatureOf(PropertyValue{std::vector<uint32_t>{1}}), "au");
    EXPECT_STREQ(signatureOf(PropertyValue{DeviceAllowList{}}), "a(ss)");
    EXPECT_STREQ(signatureOf(PropertyValue{uint64_t(1)}), "t");
}
