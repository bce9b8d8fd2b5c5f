// The v1 translation of every linux.resources field, the stats parsers and the v1 stats reader
// on a fake cgroupfs.
#include <gtest/gtest.h>

#include "cgroups/manager.hpp"
#include "cgroups/resources.hpp"
#include "cgroups/stats.hpp"
#include "common/fs.hpp"

using namespace berth;
using namespace berth::cgroups;
using nlohmann::json;

namespace {

// "controller/file=value" for each write, in order.
std::vector<std::string> writes(const std::string& resources) {
    auto k = v1Knobs(json::parse(resources));
    EXPECT_TRUE(k.ok()) << k.error().what();
    std::vector<std::string> out;
    if (!k) return out;
    for (auto& w : *k) out.push_back(w.controller + "/" + w.file + "=" + w.value);
    return out;
}

std::string refusal(const std::string& resources) {
    auto k = v1Knobs(json::parse(resources));
    return k ? "" : k.error().what();
}

}  // namespace

TEST(CgroupV1Resources, MemoryFields) {
    EXPECT_EQ(writes(R"({"memory":{"limit":100,"reservation":50,"swap":200,"kernel":300,"kernelTCP":400,
                  "swappiness":10,"disableOOMKiller":true,"useHierarchy":true}})"),
              (std::vector<std::string>{"memory/memory.limit_in_bytes=100", "memory/memory.memsw.limit_in_bytes=200",
                                        "memory/memory.soft_limit_in_bytes=50", "memory/memory.kmem.limit_in_bytes=300",
                                        "memory/memory.kmem.tcp.limit_in_bytes=400", "memory/memory.swappiness=10",
                                        "memory/memory.oom_control=1", "memory/memory.use_hierarchy=1"}));
    // Unlimited memory frees swap too; zero values are "unset".
    EXPECT_EQ(writes(R"({"memory":{"limit":-1}})"),
              (std::vector<std::string>{"memory/memory.limit_in_bytes=-1", "memory/memory.memsw.limit_in_bytes=-1"}));
    EXPECT_TRUE(writes(R"({"memory":{"limit":0,"swap":0,"reservation":0}})").empty());
    // runc's "unset" swappiness (uint64 max read as int64).
    EXPECT_TRUE(writes(R"({"memory":{"swappiness":-1}})").empty());
    EXPECT_NE(refusal(R"({"memory":{"swappiness":101}})").find("memory.swappiness: must be 0..100"), std::string::npos);
    EXPECT_NE(refusal(R"({"memory":{"limit":"1g"}})").find("memory.limit: must be an integer"), std::string::npos);
    EXPECT_NE(refusal(R"({"memory":[]})").find("linux.resources.memory: must be an object"), std::string::npos);
}

TEST(CgroupV1Resources, CpuFields) {
    EXPECT_EQ(writes(R"({"cpu":{"shares":512,"quota":-1,"period":100000,"burst":1000,"realtimePeriod":1000000,
                  "realtimeRuntime":950000,"cpus":"0-1","mems":"0","idle":1}})"),
              (std::vector<std::string>{"cpu/cpu.shares=512", "cpu/cpu.cfs_period_us=100000", "cpu/cpu.cfs_quota_us=-1",
                                        "cpu/cpu.cfs_burst_us=1000", "cpu/cpu.rt_period_us=1000000",
                                        "cpu/cpu.rt_runtime_us=950000", "cpu/cpu.idle=1", "cpuset/cpuset.cpus=0-1",
                                        "cpuset/cpuset.mems=0"}));
    EXPECT_NE(refusal(R"({"cpu":{"idle":2}})").find("cpu.idle: must be 0 or 1"), std::string::npos);
    EXPECT_NE(refusal(R"({"cpu":{"shares":-5}})").find("cpu.shares: must not be negative"), std::string::npos);
    EXPECT_NE(refusal(R"({"cpu":{"cpus":5}})").find("cpu.cpus: must be a string"), std::string::npos);
}

TEST(CgroupV1Resources, PidsFollowRunc) {
    EXPECT_EQ(writes(R"({"pids":{"limit":10}})"), (std::vector<std::string>{"pids/pids.max=10"}));
    EXPECT_EQ(writes(R"({"pids":{"limit":-1}})"), (std::vector<std::string>{"pids/pids.max=max"}));
    EXPECT_TRUE(writes(R"({"pids":{"limit":0}})").empty());
    EXPECT_NE(refusal(R"({"pids":{}})").find("pids.limit: must be an integer"), std::string::npos);
}

TEST(CgroupV1Resources, BlockIoFields) {
    auto w = writes(R"({"blockIO":{"weight":500,"leafWeight":300,
        "weightDevice":[{"major":8,"minor":0,"weight":600},{"major":8,"minor":16,"leafWeight":200}],
        "throttleReadBpsDevice":[{"major":8,"minor":0,"rate":1000}],
        "throttleWriteBpsDevice":[{"major":8,"minor":0,"rate":2000}],
        "throttleReadIOPSDevice":[{"major":8,"minor":0,"rate":30}],
        "throttleWriteIOPSDevice":[{"major":8,"minor":0,"rate":40}]}})");
    EXPECT_EQ(w, (std::vector<std::string>{
                     "blkio/blkio.weight=500", "blkio/blkio.leaf_weight=300", "blkio/blkio.weight_device=8:0 600",
                     "blkio/blkio.leaf_weight_device=8:16 200", "blkio/blkio.throttle.read_bps_device=8:0 1000",
                     "blkio/blkio.throttle.write_bps_device=8:0 2000", "blkio/blkio.throttle.read_iops_device=8:0 30",
                     "blkio/blkio.throttle.write_iops_device=8:0 40"}));
    auto k = v1Knobs(json::parse(R"({"blockIO":{"weight":500}})"));
    ASSERT_TRUE(k.ok());
    EXPECT_EQ((*k)[0].fallback, "blkio.bfq.weight");  // kernels without CFQ
    EXPECT_NE(refusal(R"({"blockIO":{"weight":5}})").find("blockIO.weight: must be 10..1000"), std::string::npos);
    EXPECT_NE(refusal(R"({"blockIO":{"throttleReadBpsDevice":[{"major":8,"rate":1}]}})")
                  .find("throttleReadBpsDevice[0]: needs non-negative major and minor"),
              std::string::npos);
}

TEST(CgroupV1Resources, HugetlbNetworkRdma) {
    EXPECT_EQ(writes(R"({"hugepageLimits":[{"pageSize":"2MB","limit":4194304},{"pageSize":"1GB","limit":0}]})"),
              (std::vector<std::string>{"hugetlb/hugetlb.2MB.limit_in_bytes=4194304",
                                        "hugetlb/hugetlb.1GB.limit_in_bytes=0"}));
    EXPECT_NE(refusal(R"({"hugepageLimits":[{"pageSize":"2M","limit":1}]})").find("pageSize: must be like"),
              std::string::npos);
    EXPECT_NE(refusal(R"({"hugepageLimits":[{"pageSize":"../x","limit":1}]})").find("pageSize"), std::string::npos);
    EXPECT_EQ(writes(R"({"network":{"classID":1048577,"priorities":[{"name":"eth0","priority":5},{"name":"lo","priority":1}]}})"),
              (std::vector<std::string>{"net_cls/net_cls.classid=1048577", "net_prio/net_prio.ifpriomap=eth0 5",
                                        "net_prio/net_prio.ifpriomap=lo 1"}));
    EXPECT_NE(refusal(R"({"network":{"priorities":[{"name":"a b","priority":1}]}})").find("must be an interface name"),
              std::string::npos);
    EXPECT_EQ(writes(R"({"rdma":{"mlx5_0":{"hcaHandles":3,"hcaObjects":10000},"mlx4_0":{"hcaHandles":1}}})"),
              (std::vector<std::string>{"rdma/rdma.max=mlx4_0 hca_handle=1 hca_object=max",
                                        "rdma/rdma.max=mlx5_0 hca_handle=3 hca_object=10000"}));
    EXPECT_NE(refusal(R"({"unified":{"memory.high":"1"}})").find("needs cgroup v2"), std::string::npos);
    EXPECT_TRUE(writes(R"({"unified":{}})").empty());
}

TEST(CgroupStats, Parsers) {
    auto kv = parseFlatKeyed("cache 10\nrss 20\nhierarchical_memory_limit 9223372036854771712\nbad\n");
    EXPECT_EQ(kv["cache"], 10u);
    EXPECT_EQ(kv["rss"], 20u);
    EXPECT_EQ(kv.count("bad"), 0u);
    EXPECT_EQ(*parseCpuList("0-3,5\n"), (std::vector<uint16_t>{0, 1, 2, 3, 5}));
    EXPECT_TRUE(parseCpuList("")->empty());
    EXPECT_FALSE(parseCpuList("3-1").ok());
    EXPECT_FALSE(parseCpuList("x").ok());
    auto b = parseBlkioV1("8:0 Read 100\n8:0 Write 50\n8:0 Total 150\nTotal 150\n");
    ASSERT_EQ(b.size(), 3u);
    EXPECT_EQ(b[1].op, "Write");
    EXPECT_EQ(b[1].value, 50u);
    EXPECT_EQ(b[0].major, 8u);
    auto sectors = parseBlkioV1("8:16 4096\n");
    ASSERT_EQ(sectors.size(), 1u);
    EXPECT_EQ(sectors[0].op, "");
    EXPECT_EQ(sectors[0].value, 4096u);
    BlkioStats io;
    parseIoStatV2("254:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0\n", io);
    ASSERT_EQ(io.ioServiceBytesRecursive.size(), 2u);
    EXPECT_EQ(io.ioServicedRecursive[1].value, 4u);
    EXPECT_EQ(parseKnobValue("max\n"), UINT64_MAX);
    EXPECT_EQ(parseKnobValue("12x"), 0u);
    EXPECT_EQ(hugePageSizeName(2 << 20), "2MB");
    EXPECT_EQ(hugePageSizeName(1ULL << 30), "1GB");
    EXPECT_EQ(hugePageSizeName(64 << 10), "64KB");
}

TEST(CgroupStats, JsonHasRuncShape) {
    Stats s;
    s.cpu.usage.total = 5;
    s.cpu.usage.percpu = {2, 3};
    s.memory.usage = {100, 10, 20, 0};
    s.pids = {3, 0};
    s.hugetlb["2MB"] = {0, 0, 1};
    json j = toJson(s);
    EXPECT_EQ(j["cpu"]["usage"]["total"], 5);
    EXPECT_EQ(j["cpu"]["usage"]["percpu"], json({2, 3}));
    EXPECT_TRUE(j["cpu"]["throttling"].empty());
    EXPECT_EQ(j["memory"]["usage"]["limit"], 100);
    EXPECT_EQ(j["memory"]["usage"]["max"], 20);
    EXPECT_FALSE(j["memory"]["kernelTCP"].contains("usage"));
    EXPECT_EQ(j["pids"], json({{"current", 3}}));
    EXPECT_EQ(j["hugetlb"]["2MB"], json({{"failcnt", 1}}));
    EXPECT_TRUE(j.contains("blkio") && j.contains("intel_rdt") && j["network_interfaces"].is_null());
    EXPECT_FALSE(j.contains("cpuset"));  // only where the cpuset controller exists
    // runc's types/events.go names: containerd's go-runc parses these (camelCase, not snake).
    s.cpu.throttling = {10, 4, 12345};
    json t = toJson(s)["cpu"]["throttling"];
    EXPECT_EQ(t, json({{"periods", 10}, {"throttledPeriods", 4}, {"throttledTime", 12345}}));
}

// The v1 reader on a fake cgroupfs: each number comes from the file runc reads it from.
TEST(CgroupStats, V1ReaderOnFakeTree) {
    char tmpl[] = "/tmp/berth-cgstat-XXXXXX";
    std::string root = mkdtemp(tmpl);
    auto put = [&](const std::string& rel, const std::string& text) {
        ASSERT_TRUE(fs::mkdirAll(root + "/" + rel.substr(0, rel.rfind('/'))).ok());
        ASSERT_TRUE(fs::writeFileAtomic(root + "/" + rel, text).ok());
    };
    put("memory/c/memory.usage_in_bytes", "4096\n");
    put("memory/c/memory.max_usage_in_bytes", "8192\n");
    put("memory/c/memory.limit_in_bytes", "65536\n");
    put("memory/c/memory.failcnt", "2\n");
    put("memory/c/memory.stat", "cache 7\nrss 9\n");
    put("memory/c/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n");
    put("pids/c/pids.current", "4\n");
    put("pids/c/pids.max", "max\n");
    put("cpu/c/cpu.stat", "nr_periods 10\nnr_throttled 4\nthrottled_time 12345\n");
    put("cpuacct/c/cpuacct.usage", "999\n");
    put("cpuacct/c/cpuacct.usage_percpu", "400 599 \n");
    put("blkio/c/blkio.throttle.io_service_bytes_recursive", "254:0 Read 11\n254:0 Write 22\nTotal 33\n");
    Config cfg{"/c", "c", false, root, ""};
    auto m = newManager(cfg);
    ASSERT_TRUE(m.ok()) << m.error().what();
    auto s = (*m)->stats();
    ASSERT_TRUE(s.ok()) << s.error().what();
    EXPECT_EQ(s->memory.usage.usage, 4096u);
    EXPECT_EQ(s->memory.usage.max, 8192u);
    EXPECT_EQ(s->memory.usage.limit, 65536u);
    EXPECT_EQ(s->memory.usage.failcnt, 2u);
    EXPECT_EQ(s->memory.cache, 7u);
    EXPECT_EQ(s->memory.oomKills, 3u);
    EXPECT_EQ(s->pids.current, 4u);
    EXPECT_EQ(s->pids.limit, 0u);  // "max"
    EXPECT_EQ(s->cpu.throttling.throttledPeriods, 4u);
    EXPECT_EQ(s->cpu.usage.total, 999u);
    EXPECT_EQ(s->cpu.usage.percpu, (std::vector<uint64_t>{400, 599}));
    ASSERT_EQ(s->blkio.ioServiceBytesRecursive.size(), 2u);
    EXPECT_EQ(s->blkio.ioServiceBytesRecursive[1].value, 22u);
    (void)fs::removeAll(root);
}

namespace {

// The kernel's v1 check on every write of cpu.cfs_period_us / cpu.cfs_quota_us, for a parent
// whose quota/period ratio is parentRatio: the cgroup's ratio may not exceed it (an unlimited
// quota is always taken).
bool kernelTakes(int64_t period, int64_t quota, double parentRatio) {
    return quota < 0 || double(quota) / double(period) <= parentRatio;
}

// Writes period and quota as the manager does; false if the kernel refused an intermediate.
bool bandwidthUpdateWorks(int64_t p0, int64_t q0, int64_t p1, int64_t q1, double parentRatio) {
    if (cpuQuotaFirst(p0, q0, p1, q1))
        return kernelTakes(p0, q1, parentRatio) && kernelTakes(p1, q1, parentRatio);
    return kernelTakes(p1, q0, parentRatio) && kernelTakes(p1, q1, parentRatio);
}

}  // namespace

TEST(CgroupV1Resources, CpuBandwidthWriteOrder) {
    // The reported case: 50000/100000 -> 5000/10000 under a 2-CPU parent. Period first would
    // pass through 50000/10000 (5 CPUs).
    EXPECT_TRUE(cpuQuotaFirst(100000, 50000, 10000, 5000));
    EXPECT_FALSE(kernelTakes(10000, 50000, 2.0));
    EXPECT_TRUE(bandwidthUpdateWorks(100000, 50000, 10000, 5000, 2.0));
    // And back: quota first would pass through 50000/10000.
    EXPECT_FALSE(cpuQuotaFirst(10000, 5000, 100000, 50000));
    EXPECT_TRUE(bandwidthUpdateWorks(10000, 5000, 100000, 50000, 2.0));
    // A new cgroup (unlimited quota): period first, as runc.
    EXPECT_FALSE(cpuQuotaFirst(100000, -1, 10000, 5000));
    // To unlimited: the quota first, so the intermediate is unlimited too.
    EXPECT_TRUE(cpuQuotaFirst(100000, 50000, 10000, -1));
    EXPECT_FALSE(cpuQuotaFirst(100000, -1, 10000, -1));
    // Unreadable current values (0): runc's order.
    EXPECT_FALSE(cpuQuotaFirst(0, 0, 10000, 5000));
    // Whenever both ends are within the parent's ratio, so is the chosen intermediate: the two
    // intermediates' ratios multiply to start * end <= limit^2, so the smaller is <= limit.
    const std::vector<int64_t> periods = {1000, 3000, 10000, 33333, 100000, 250000, 1000000};
    const std::vector<int64_t> quotas = {-1, 1000, 2500, 5000, 50000, 150000, 400000, 1000000};
    for (double limit : {0.5, 1.0, 2.0, 4.0})
        for (auto p0 : periods)
            for (auto q0 : quotas)
                for (auto p1 : periods)
                    for (auto q1 : quotas) {
                        if (!kernelTakes(p0, q0, limit) || !kernelTakes(p1, q1, limit)) continue;
                        EXPECT_TRUE(bandwidthUpdateWorks(p0, q0, p1, q1, limit))
                            << p0 << "/" << q0 << " -> " << p1 << "/" << q1 << " under " << limit;
                    }
}

TEST(CgroupV1Resources, CpuBandwidthOnFakeTree) {
    // The manager reads the current values to choose the order; both values land either way.
    char tmpl[] = "/tmp/berth-cgcpu-XXXXXX";
    std::string root = mkdtemp(tmpl);
    ASSERT_TRUE(fs::mkdirAll(root + "/cpu/c").ok());
    ASSERT_TRUE(fs::writeFileAtomic(root + "/cpu/c/cpu.cfs_period_us", "100000\n").ok());
    ASSERT_TRUE(fs::writeFileAtomic(root + "/cpu/c/cpu.cfs_quota_us", "50000\n").ok());
    auto m = newManager(Config{"/c", "c", false, root, ""});
    ASSERT_TRUE(m.ok()) << m.error().what();
    ASSERT_TRUE((*m)->apply(json::parse(R"({"cpu":{"period":10000,"quota":5000}})")).ok());
    EXPECT_EQ(fs::trim(*fs::readFile(root + "/cpu/c/cpu.cfs_period_us")), "10000");
    EXPECT_EQ(fs::trim(*fs::readFile(root + "/cpu/c/cpu.cfs_quota_us")), "5000");
    ASSERT_TRUE((*m)->apply(json::parse(R"({"cpu":{"period":100000,"quota":-1}})")).ok());
    EXPECT_EQ(fs::trim(*fs::readFile(root + "/cpu/c/cpu.cfs_period_us")), "100000");
    EXPECT_EQ(fs::trim(*fs::readFile(root + "/cpu/c/cpu.cfs_quota_us")), "-1");
    (void)fs::removeAll(root);
}
