// linux.resources → cgroup2 knobs, table-driven against the values runc 1.1's fs2 writes.
#include <gtest/gtest.h>

#include "cgroups/resources.hpp"

using namespace berth;
using namespace berth::cgroups;
using nlohmann::json;

namespace {

// "file=value" for each write, in order; fallbacks shown as "file=value|fallback=value".
std::vector<std::string> knobs(const char* resources) {
    auto k = v2Knobs(json::parse(resources));
    EXPECT_TRUE(k.ok()) << resources << ": " << (k.ok() ? "" : k.error().what());
    std::vector<std::string> out;
    if (!k.ok()) return out;
    for (auto& w : *k) {
        std::string s = w.file + "=" + w.value;
        if (!w.fallback.empty()) s += "|" + w.fallback + "=" + (w.fallbackValue.empty() ? w.value : w.fallbackValue);
        out.push_back(s);
    }
    return out;
}

std::string errorOf(const char* resources) {
    auto k = v2Knobs(json::parse(resources));
    return k.ok() ? "(no error)" : k.error().what();
}

using Table = std::vector<std::pair<const char*, std::vector<std::string>>>;

void check(const Table& t) {
    for (auto& [in, want] : t) EXPECT_EQ(knobs(in), want) << in;
}

}  // namespace

TEST(CgroupV2Resources, Memory) {
    check({
        {R"({"memory":{"limit":1048576}})", {"memory.max=1048576"}},
        // unlimited memory without a swap value frees swap too (ConvertMemorySwapToCgroupV2Value)
        {R"({"memory":{"limit":-1}})", {"memory.swap.max=max", "memory.max=max"}},
        {R"({"memory":{"limit":100,"swap":300}})", {"memory.swap.max=200", "memory.max=100"}},
        {R"({"memory":{"limit":100,"swap":100}})", {"memory.swap.max=0", "memory.max=100"}},
        {R"({"memory":{"limit":100,"swap":-1}})", {"memory.swap.max=max", "memory.max=100"}},
        {R"({"memory":{"limit":-1,"swap":-1}})", {"memory.swap.max=max", "memory.max=max"}},
        {R"({"memory":{"reservation":50}})", {"memory.low=50"}},
        {R"({"memory":{"reservation":-1}})", {"memory.low=max"}},
        {R"({"memory":{"limit":0,"swap":0,"reservation":0}})", {}},
        // no cgroup2 knob: ignored, as runc
        {R"({"memory":{"kernel":1000,"kernelTCP":1000,"swappiness":10,"disableOOMKiller":true}})", {}},
    });
    auto k = v2Knobs(json::parse(R"({"memory":{"limit":100,"swap":100}})"));
    ASSERT_TRUE(k.ok());
    EXPECT_TRUE((*k)[0].optional) << "swap.max 0 must be skippable without swap accounting";
    EXPECT_FALSE((*k)[1].optional);
    auto s = v2Knobs(json::parse(R"({"memory":{"limit":100,"swap":300}})"));
    EXPECT_FALSE((*s)[0].optional) << "a real swap limit must not be dropped silently";
}

TEST(CgroupV2Resources, MemoryRefusals) {
    EXPECT_NE(errorOf(R"({"memory":{"swap":100}})").find("linux.resources.memory.swap: cannot set a swap limit "
                                                         "without a memory limit"),
              std::string::npos);
    EXPECT_NE(errorOf(R"({"memory":{"limit":-1,"swap":100}})").find("without a memory limit"), std::string::npos);
    EXPECT_NE(errorOf(R"({"memory":{"limit":200,"swap":100}})").find("must be >= the memory limit"),
              std::string::npos);
    EXPECT_NE(errorOf(R"({"memory":{"limit":"x"}})").find("linux.resources.memory.limit: must be an integer"),
              std::string::npos);
}

TEST(CgroupV2Resources, CpuSharesToWeightIsRuncsFormula) {
    // runc's ConvertCPUSharesToCgroupV2Value: 1 + ((shares-2)*9999)/262142
    const std::vector<std::pair<uint64_t, uint64_t>> t = {
        {0, 0}, {2, 1}, {3, 1}, {28, 1}, {29, 2}, {512, 20}, {1024, 39}, {2048, 79}, {262144, 10000},
        // clamped to v1's range, where runc would wrap around below 2
        {1, 1}, {500000, 10000},
    };
    for (auto [shares, weight] : t) EXPECT_EQ(cpuSharesToWeight(shares), weight) << shares;
}

TEST(CgroupV2Resources, BlkioWeightToIoWeightIsRuncsFormula) {
    // runc's ConvertBlkIOToIOWeightValue: 1 + (weight-10)*9999/990
    const std::vector<std::pair<uint64_t, uint64_t>> t = {
        {0, 0}, {10, 1}, {100, 910}, {500, 4950}, {1000, 10000}};
    for (auto [w, io] : t) EXPECT_EQ(blkioWeightToIoWeight(w), io) << w;
}

TEST(CgroupV2Resources, Cpu) {
    check({
        {R"({"cpu":{"shares":1024}})", {"cpu.weight=39"}},
        {R"({"cpu":{"shares":0}})", {}},
        // the default period is written with the quota (runc)
        {R"({"cpu":{"quota":50000}})", {"cpu.max=50000 100000"}},
        {R"({"cpu":{"quota":50000,"period":200000}})", {"cpu.max=50000 200000"}},
        {R"({"cpu":{"quota":-1,"period":200000}})", {"cpu.max=max 200000"}},
        {R"({"cpu":{"period":50000}})", {"cpu.max=max 50000"}},
        {R"({"cpu":{"quota":-1}})", {"cpu.max=max 100000"}},
        {R"({"cpu":{"quota":20000,"burst":10000}})", {"cpu.max=20000 100000", "cpu.max.burst=10000"}},
        {R"({"cpu":{"idle":1,"shares":2}})", {"cpu.idle=1", "cpu.weight=1"}},
        {R"({"cpu":{"cpus":"0-1","mems":"0"}})", {"cpuset.cpus=0-1", "cpuset.mems=0"}},
        {R"({"cpu":{"cpus":""}})", {}},
    });
    EXPECT_NE(errorOf(R"({"cpu":{"realtimeRuntime":1000}})")
                  .find("linux.resources.cpu.realtimeRuntime: real-time CPU limits need cgroup v1"),
              std::string::npos);
    EXPECT_NE(errorOf(R"({"cpu":{"realtimePeriod":1000}})").find("realtimePeriod"), std::string::npos);
    EXPECT_EQ(knobs(R"({"cpu":{"realtimePeriod":0,"realtimeRuntime":0}})"), std::vector<std::string>{});
    EXPECT_NE(errorOf(R"({"cpu":{"idle":2}})").find("linux.resources.cpu.idle: must be 0 or 1"), std::string::npos);
    EXPECT_NE(errorOf(R"({"cpu":{"shares":-5}})").find("linux.resources.cpu.shares"), std::string::npos);
}

TEST(CgroupV2Resources, PidsHugetlbRdmaNetwork) {
    check({
        {R"({"pids":{"limit":0}})", {}},
        {R"({"pids":{"limit":5}})", {"pids.max=5"}},
        {R"({"pids":{"limit":-1}})", {"pids.max=max"}},
        {R"({"hugepageLimits":[{"pageSize":"2MB","limit":4194304}]})",
         {"hugetlb.2MB.max=4194304", "hugetlb.2MB.rsvd.max=4194304"}},
        {R"({"rdma":{"mlx5_0":{"hcaHandles":3}}})", {"rdma.max=mlx5_0 hca_handle=3 hca_object=max"}},
        // net_cls / net_prio are v1-only: ignored, as runc
        {R"({"network":{"classID":1048577,"priorities":[{"name":"eth0","priority":5}]}})", {}},
    });
    auto k = v2Knobs(json::parse(R"({"hugepageLimits":[{"pageSize":"2MB","limit":1}]})"));
    EXPECT_FALSE((*k)[0].optional);
    EXPECT_TRUE((*k)[1].optional) << "rsvd.max is missing before Linux 5.7";
    EXPECT_NE(errorOf(R"({"hugepageLimits":[{"pageSize":"2M","limit":1}]})").find("pageSize"), std::string::npos);
}

TEST(CgroupV2Resources, BlockIO) {
    check({
        // BFQ takes the v1 weight as is; io.weight (when BFQ is missing) the converted one
        {R"({"blockIO":{"weight":500}})", {"io.bfq.weight=500|io.weight=4950"}},
        {R"({"blockIO":{"weightDevice":[{"major":8,"minor":0,"weight":100,"leafWeight":50}]}})",
         {"io.bfq.weight=8:0 100|io.weight=8:0 910"}},
        {R"({"blockIO":{"leafWeight":500}})", {}},
        // the four throttle lists merge into one io.max line per device; 0 lifts the limit
        {R"({"blockIO":{"throttleReadBpsDevice":[{"major":8,"minor":0,"rate":1000}],
                        "throttleWriteBpsDevice":[{"major":8,"minor":0,"rate":2000}],
                        "throttleReadIOPSDevice":[{"major":8,"minor":16,"rate":10}],
                        "throttleWriteIOPSDevice":[{"major":8,"minor":0,"rate":0}]}})",
         {"io.max=8:0 rbps=1000 wbps=2000 wiops=max", "io.max=8:16 riops=10"}},
    });
    EXPECT_NE(errorOf(R"({"blockIO":{"weight":5}})").find("linux.resources.blockIO.weight: must be 10..1000"),
              std::string::npos);
    EXPECT_NE(errorOf(R"({"blockIO":{"throttleReadBpsDevice":[{"major":8,"rate":1}]}})")
                  .find("linux.resources.blockIO.throttleReadBpsDevice[0]: needs non-negative major and minor"),
              std::string::npos);
}

TEST(CgroupV2Resources, UnifiedIsWrittenLastAndValidated) {
    auto k = v2Knobs(json::parse(R"({"unified":{"memory.high":"123","cgroup.max.depth":"5"},
                                     "pids":{"limit":3},"memory":{"limit":1000}})"));
    ASSERT_TRUE(k.ok()) << k.error().what();
    ASSERT_EQ(k->size(), 4u);
    EXPECT_EQ((*k)[0].file, "pids.max");
    EXPECT_EQ((*k)[1].file, "memory.max");
    EXPECT_EQ((*k)[2].file, "cgroup.max.depth");
    EXPECT_EQ((*k)[2].controller, "");
    EXPECT_EQ((*k)[3].file, "memory.high");
    EXPECT_EQ((*k)[3].controller, "memory");
    EXPECT_EQ((*k)[3].value, "123");
    EXPECT_EQ((*k)[3].jsonPath, "linux.resources.unified[\"memory.high\"]");
    for (const char* bad : {"../memory.max", "a/b.max", "memory..max", "nodot", ".max", "memory.", "cgroup.procs",
                            "cgroup.subtree_control", "cgroup.threads", "cgroup.type", "cgroup.kill", "cgroup.freeze"}) {
        json r{{"unified", {{bad, "1"}}}};
        auto e = v2Knobs(r);
        ASSERT_FALSE(e.ok()) << bad;
        EXPECT_NE(e.error().message().find("linux.resources.unified[\""), std::string::npos) << e.error().what();
    }
    EXPECT_FALSE(v2Knobs(json::parse(R"({"unified":{"memory.high":5}})")).ok()) << "values are strings";
}

TEST(CgroupV2Resources, FullObjectInRuncsOrder) {
    auto got = knobs(R"({
      "devices": [{"allow": false, "access": "rwm"}],
      "memory": {"limit": 67108864, "reservation": 33554432, "swap": 134217728},
      "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0", "mems": "0"},
      "pids": {"limit": 50},
      "blockIO": {"weight": 10},
      "hugepageLimits": [{"pageSize": "1GB", "limit": 0}],
      "unified": {"io.max": "8:0 rbps=1"}
    })");
    std::vector<std::string> want = {
        "pids.max=50", "memory.swap.max=67108864", "memory.max=67108864", "memory.low=33554432",
        "io.bfq.weight=10|io.weight=1", "cpu.weight=20", "cpu.max=50000 100000", "cpuset.cpus=0",
        "cpuset.mems=0", "hugetlb.1GB.max=0", "hugetlb.1GB.rsvd.max=0", "io.max=8:0 rbps=1"};
    EXPECT_EQ(got, want);
    EXPECT_TRUE(v2Knobs(json()).ok());
    EXPECT_FALSE(v2Knobs(json::array()).ok());
}
