// The cgroup2 manager on a fake tree (a temp dir with cgroup.controllers at its root, so
// newManager picks v2): placement, subtree_control, knob writes, stats, freeze, OOM events.
#include <gtest/gtest.h>
#include <poll.h>

#include "cgroups/manager.hpp"
#include "common/fs.hpp"

using namespace berth;
using namespace berth::cgroups;
using nlohmann::json;

namespace {

void put(const std::string& path, const std::string& text) {
    ASSERT_TRUE(fs::mkdirAll(path.substr(0, path.rfind('/'))).ok());
    ASSERT_TRUE(fs::writeFileAtomic(path, text).ok()) << path;
}

std::string get(const std::string& path) {
    auto t = fs::readFile(path);
    return t ? *t : "(missing)";
}

// A cgroup directory as the kernel makes it: the core files, plus `knobs` (empty).
void fakeCgroup(const std::string& dir, const std::string& controllers, std::vector<std::string> knobs = {}) {
    put(dir + "/cgroup.controllers", controllers + "\n");
    put(dir + "/cgroup.subtree_control", "");
    put(dir + "/cgroup.procs", "");
    for (auto& k : knobs) put(dir + "/" + k, "");
}

class FakeV2 : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/berth-cg2-XXXXXX";
        root = mkdtemp(tmpl);
        fakeCgroup(root, "cpuset cpu io memory hugetlb pids");
    }
    void TearDown() override { (void)fs::removeAll(root); }

    std::unique_ptr<Manager> manager(const std::string& cgroupsPath, const std::string& id = "ctr",
                                     bool systemd = false) {
        auto m = newManager({cgroupsPath, id, systemd, root, "0::/some/where\n"});
        EXPECT_TRUE(m.ok()) << (m.ok() ? "" : m.error().what());
        return m.ok() ? std::move(*m) : nullptr;
    }
    std::string dirOf(Manager& m) { return m.paths().at(root); }

    std::string root;
};

}  // namespace

TEST_F(FakeV2, PathSelection) {
    auto rel = manager("");
    ASSERT_TRUE(rel);
    EXPECT_EQ(rel->layout().layout, Layout::Unified);
    EXPECT_EQ(rel->paths(), (std::map<std::string, std::string>{{root, root + "/some/where/ctr"}}));
    EXPECT_EQ(rel->saved().driver, "cgroupfs");
    EXPECT_EQ(rel->saved().paths, rel->paths());
    EXPECT_EQ(dirOf(*manager("pod/x")), root + "/some/where/pod/x");
    EXPECT_EQ(dirOf(*manager("/abs/x")), root + "/abs/x");
    EXPECT_EQ(dirOf(*manager("../../../../escape")), root + "/some/where/escape") << ".. cannot climb out";
    EXPECT_EQ(dirOf(*manager("/a/../../../b")), root + "/b");
    // systemd's "slice:prefix:name" names a path on cgroupfs when systemd is not driving it
    EXPECT_EQ(dirOf(*manager("machine-pod.slice:berth:abc", "abc", true)),
              root + "/machine.slice/machine-pod.slice/berth-abc.scope");
    EXPECT_FALSE(newManager({"/", "x", false, root, "0::/\n"}).ok()) << "the root cgroup itself";
}

TEST_F(FakeV2, CreateEnablesEveryAvailableControllerDownToTheParent) {
    fakeCgroup(root + "/some", "cpu io memory pids");
    put(root + "/some/cgroup.subtree_control", "cpu\n");  // already enabled: not asked again
    fakeCgroup(root + "/some/where", "memory pids");
    auto m = manager("");
    ASSERT_TRUE(m);
    auto st = m->create();
    ASSERT_TRUE(st.ok()) << st.error().what();
    EXPECT_TRUE(fs::exists(root + "/some/where/ctr"));
    EXPECT_EQ(get(root + "/cgroup.subtree_control"), "+cpu +cpuset +hugetlb +io +memory +pids");
    EXPECT_EQ(get(root + "/some/cgroup.subtree_control"), "+io +memory +pids");
    EXPECT_EQ(get(root + "/some/where/cgroup.subtree_control"), "+memory +pids");
    // the container's own subtree_control is left alone (it has no children of ours)
    EXPECT_EQ(get(root + "/some/where/ctr/cgroup.subtree_control"), "(missing)");
    // destroy removes the container's directory only, never the ancestors
    ASSERT_TRUE(m->destroy().ok());
    EXPECT_FALSE(fs::exists(root + "/some/where/ctr"));
    EXPECT_TRUE(fs::exists(root + "/some/where"));
    EXPECT_TRUE(m->destroy().ok()) << "destroying twice is fine";
}

TEST_F(FakeV2, ApplyWritesTheKnobs) {
    auto m = manager("/c");
    ASSERT_TRUE(m && m->create().ok());
    std::string d = root + "/c";
    fakeCgroup(d, "cpu io memory hugetlb pids",
               {"memory.max", "memory.swap.max", "memory.low", "memory.high", "cpu.weight", "cpu.max", "pids.max",
                "io.weight", "io.max", "hugetlb.2MB.max", "cgroup.max.depth"});
    auto st = m->apply(json::parse(R"({
      "memory": {"limit": 1048576, "swap": 3145728, "reservation": 4096},
      "cpu": {"shares": 1024, "quota": 25000},
      "pids": {"limit": 7},
      "blockIO": {"weight": 500, "throttleWriteIOPSDevice": [{"major": 8, "minor": 0, "rate": 30}]},
      "hugepageLimits": [{"pageSize": "2MB", "limit": 2097152}],
      "unified": {"memory.high": "900000", "cgroup.max.depth": "3"}
    })"));
    ASSERT_TRUE(st.ok()) << st.error().what();
    EXPECT_EQ(get(d + "/memory.max"), "1048576");
    EXPECT_EQ(get(d + "/memory.swap.max"), "2097152");
    EXPECT_EQ(get(d + "/memory.low"), "4096");
    EXPECT_EQ(get(d + "/memory.high"), "900000");
    EXPECT_EQ(get(d + "/cpu.weight"), "39");
    EXPECT_EQ(get(d + "/cpu.max"), "25000 100000");
    EXPECT_EQ(get(d + "/pids.max"), "7");
    EXPECT_EQ(get(d + "/io.weight"), "4950") << "no io.bfq.weight: the converted io.weight";
    EXPECT_EQ(get(d + "/io.max"), "8:0 wiops=30");
    EXPECT_EQ(get(d + "/hugetlb.2MB.max"), "2097152");
    EXPECT_FALSE(fs::exists(d + "/hugetlb.2MB.rsvd.max")) << "optional knobs are never created";
    EXPECT_EQ(get(d + "/cgroup.max.depth"), "3");
    // With BFQ the weight goes there unconverted.
    put(d + "/io.bfq.weight", "");
    ASSERT_TRUE(m->apply(json::parse(R"({"blockIO": {"weight": 500}})")).ok());
    EXPECT_EQ(get(d + "/io.bfq.weight"), "500");
}

TEST_F(FakeV2, ApplyNamesTheMissingController) {
    auto m = manager("/c");
    ASSERT_TRUE(m && m->create().ok());
    fakeCgroup(root + "/c", "memory pids", {"cpuset.cpus", "memory.max"});
    auto st = m->apply(json::parse(R"({"cpu": {"cpus": "0"}})"));
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.error().what().find("linux.resources.cpu.cpus: the cpuset controller is not available in " + root +
                                     "/c (its cgroup.controllers: memory pids)"),
              std::string::npos)
        << st.error().what();
    auto u = m->apply(json::parse(R"({"unified": {"misc.max": "x 1"}})"));
    ASSERT_FALSE(u.ok());
    EXPECT_NE(u.error().what().find("linux.resources.unified[\"misc.max\"]: the misc controller"), std::string::npos);
    auto missing = m->apply(json::parse(R"({"memory": {"reservation": 5}})"));
    ASSERT_FALSE(missing.ok());
    EXPECT_NE(missing.error().what().find("linux.resources.memory.reservation: this kernel has no memory.low"),
              std::string::npos)
        << missing.error().what();
    // A parent holding processes is why, on real hosts: say so.
    auto nested = manager("/busy/c");
    ASSERT_TRUE(nested && nested->create().ok());
    fakeCgroup(root + "/busy", "memory");
    put(root + "/busy/cgroup.procs", "123\n");
    fakeCgroup(root + "/busy/c", "");
    auto busy = nested->apply(json::parse(R"({"memory": {"limit": 1}})"));
    ASSERT_FALSE(busy.ok());
    EXPECT_NE(busy.error().what().find("its parent " + root + "/busy holds processes"), std::string::npos)
        << busy.error().what();
    put(root + "/busy/cgroup.procs", "");
    // swap "max" without swap accounting (no memory.swap.max) is skipped, as runc
    EXPECT_TRUE(m->apply(json::parse(R"({"memory": {"limit": -1}})")).ok());
    EXPECT_EQ(get(root + "/c/memory.max"), "max");
}

TEST_F(FakeV2, CheckBeforeUpdate) {
    auto m = manager("/c");
    ASSERT_TRUE(m && m->create().ok());
    fakeCgroup(root + "/c", "memory", {"memory.max"});
    put(root + "/c/memory.current", "5000\n");
    auto st = m->apply(json::parse(R"({"memory": {"limit": 4096, "checkBeforeUpdate": true}})"));
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.error().what().find("below the current usage 5000"), std::string::npos);
    EXPECT_TRUE(m->apply(json::parse(R"({"memory": {"limit": 8192, "checkBeforeUpdate": true}})")).ok());
}

TEST_F(FakeV2, ProcessesFreezeAndStats) {
    auto m = manager("/c");
    ASSERT_TRUE(m && m->create().ok());
    std::string d = root + "/c";
    fakeCgroup(d, "cpu memory pids io hugetlb cpuset");
    ASSERT_TRUE(m->addProcess(4242).ok());
    EXPECT_EQ(get(d + "/cgroup.procs"), "4242");
    fakeCgroup(d + "/inner", "");
    put(d + "/inner/cgroup.procs", "77\n78\n");
    auto pids = m->pids();
    ASSERT_TRUE(pids.ok());
    std::sort(pids->begin(), pids->end());
    EXPECT_EQ(*pids, (std::vector<pid_t>{77, 78, 4242})) << "processes of nested cgroups count";

    put(d + "/cgroup.freeze", "0\n");
    put(d + "/cgroup.events", "populated 1\nfrozen 1\n");
    ASSERT_TRUE(m->freeze(true).ok());
    EXPECT_EQ(get(d + "/cgroup.freeze"), "1");
    put(d + "/cgroup.events", "populated 1\nfrozen 0\n");
    ASSERT_TRUE(m->freeze(false).ok());
    EXPECT_EQ(get(d + "/cgroup.freeze"), "0");

    put(d + "/cpu.stat", "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\nnr_periods 10\nnr_throttled 2\n"
                         "throttled_usec 300\n");
    put(d + "/memory.stat", "anon 4096\nfile 8192\n");
    put(d + "/memory.current", "12288\n");
    put(d + "/memory.max", "max\n");
    put(d + "/memory.swap.current", "100\n");
    put(d + "/memory.swap.max", "max\n");
    put(d + "/memory.events", "low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n");
    put(d + "/pids.current", "3\n");
    put(d + "/pids.max", "10\n");
    put(d + "/io.stat", "8:0 rbytes=100 wbytes=200 rios=1 wios=2 dbytes=0 dios=0\n");
    put(d + "/hugetlb.2MB.current", "2097152\n");
    put(d + "/hugetlb.2MB.events", "max 4\n");
    put(d + "/hugetlb.2MB.rsvd.current", "0\n");
    put(d + "/cpuset.cpus.effective", "0-1\n");
    put(d + "/cpuset.mems.effective", "0\n");
    auto s = m->stats();
    ASSERT_TRUE(s.ok()) << s.error().what();
    EXPECT_EQ(s->cpu.usage.total, 1500000u);
    EXPECT_EQ(s->cpu.usage.user, 1000000u);
    EXPECT_EQ(s->cpu.usage.kernel, 500000u);
    EXPECT_EQ(s->cpu.throttling.periods, 10u);
    EXPECT_EQ(s->cpu.throttling.throttledPeriods, 2u);
    EXPECT_EQ(s->cpu.throttling.throttledTime, 300000u);
    EXPECT_EQ(s->memory.cache, 8192u);
    EXPECT_EQ(s->memory.usage.usage, 12288u);
    EXPECT_EQ(s->memory.usage.limit, UINT64_MAX);
    EXPECT_EQ(s->memory.swap.usage, 12388u) << "v1's shape: memory + swap";
    EXPECT_EQ(s->memory.swap.limit, UINT64_MAX);
    EXPECT_EQ(s->memory.oomKills, 1u);
    EXPECT_EQ(s->memory.raw.at("anon"), 4096u);
    EXPECT_EQ(s->pids.current, 3u);
    EXPECT_EQ(s->pids.limit, 10u);
    ASSERT_EQ(s->blkio.ioServiceBytesRecursive.size(), 2u);
    EXPECT_EQ(s->blkio.ioServiceBytesRecursive[1].op, "Write");
    EXPECT_EQ(s->blkio.ioServiceBytesRecursive[1].value, 200u);
    ASSERT_EQ(s->hugetlb.size(), 1u) << "rsvd files are not page sizes";
    EXPECT_EQ(s->hugetlb.at("2MB").usage, 2097152u);
    EXPECT_EQ(s->hugetlb.at("2MB").failcnt, 4u);
    EXPECT_TRUE(s->cpuset.present);
    EXPECT_EQ(s->cpuset.cpus, (std::vector<uint16_t>{0, 1}));
    auto j = toJson(*s);
    EXPECT_EQ(j["cpu"]["usage"]["total"], 1500000u);
    EXPECT_EQ(j["pids"]["limit"], 10u);
    // Leave no pids for destroy to kill: they are made up.
    put(d + "/cgroup.procs", "");
    put(d + "/inner/cgroup.procs", "");
}

TEST_F(FakeV2, StatsWithoutControllers) {
    auto m = manager("/c");
    ASSERT_TRUE(m && m->create().ok());
    fakeCgroup(root + "/c", "");
    put(root + "/c/cgroup.procs", "1\n2\n");
    auto s = m->stats();
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(s->pids.current, 2u) << "counted from cgroup.procs without the pids controller";
    EXPECT_FALSE(s->cpuset.present);
    put(root + "/c/cgroup.procs", "");
    auto gone = manager("/nope")->stats();
    EXPECT_FALSE(gone.ok());
}

TEST_F(FakeV2, FreezeWithoutTheFreezer) {
    auto m = manager("/c");
    ASSERT_TRUE(m && m->create().ok());
    EXPECT_TRUE(m->freeze(false).ok());
    auto st = m->freeze(true);
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.error().what().find("cgroup.freeze"), std::string::npos);
}

TEST_F(FakeV2, OomNotifierCountsOomKills) {
    auto m = manager("/c");
    ASSERT_TRUE(m && m->create().ok());
    EXPECT_FALSE(m->oomNotifier().ok()) << "no memory controller, no memory.events";
    put(root + "/c/memory.events", "oom 0\noom_kill 0\n");
    auto n = m->oomNotifier();
    ASSERT_TRUE(n.ok()) << n.error().what();
    ASSERT_TRUE(fs::writeFile(root + "/c/memory.events", "max 1\noom 0\noom_kill 0\n").ok());
    pollfd p{(*n)->fd(), POLLIN, 0};
    ASSERT_EQ(::poll(&p, 1, 1000), 1);
    EXPECT_FALSE(*(*n)->consume()) << "a memory event that is not an OOM kill";
    ASSERT_TRUE(fs::writeFile(root + "/c/memory.events", "max 2\noom 1\noom_kill 1\n").ok());
    ASSERT_EQ(::poll(&p, 1, 1000), 1);
    EXPECT_TRUE(*(*n)->consume());
    EXPECT_FALSE(*(*n)->consume()) << "counted once";
}
