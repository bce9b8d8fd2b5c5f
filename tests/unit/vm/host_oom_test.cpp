// The host side of a guest OOM kill (vm/host_oom): memory.oom_control's text, which memory
// cgroup is ours, the tight limit, and the guard that puts the knobs back — on a fake cgroup
// directory of plain files.
#include <gtest/gtest.h>

#include <stdlib.h>

#include "common/fs.hpp"
#include "vm/host_oom.hpp"
#include "vm/wire/protocol.hpp"

using namespace berth;
using namespace berth::vm;

namespace {

struct FakeCgroup {
    std::string dir;
    FakeCgroup(const std::string& limit, const std::string& control) {
        char tmpl[] = "/tmp/berth-host-oom-XXXXXX";
        dir = ::mkdtemp(tmpl);
        EXPECT_TRUE(fs::writeFileAtomic(dir + "/memory.limit_in_bytes", limit).ok());
        EXPECT_TRUE(fs::writeFileAtomic(dir + "/memory.oom_control", control).ok());
    }
    ~FakeCgroup() { (void)fs::removeAll(dir); }
    std::string read(const char* f) const { return fs::readFile(dir + "/" + f).value(); }
};

constexpr const char* kFresh = "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n";

}  // namespace

TEST(VmHostOom, ParsesOomControl) {
    auto c = hostoom::parseOomControl("oom_kill_disable 1\nunder_oom 1\noom_kill 7\n");
    ASSERT_TRUE(c.ok());
    EXPECT_TRUE(c->killDisable);
    EXPECT_TRUE(c->underOom);
    EXPECT_EQ(c->oomKill, 7u);
    auto old = hostoom::parseOomControl("oom_kill_disable 0\nunder_oom 0\n");  // kernels before 4.13
    ASSERT_TRUE(old.ok());
    EXPECT_FALSE(old->killDisable || old->underOom);
    EXPECT_EQ(old->oomKill, 0u);
    auto bad = hostoom::parseOomControl("max\n");
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.error().message().find("memory.oom_control"), std::string::npos);
}

TEST(VmHostOom, FindsOurV1MemoryCgroup) {
    cgroups::HostLayout hybrid;
    hybrid.layout = cgroups::Layout::Hybrid;
    hybrid.hierarchies = {{"/sys/fs/cgroup/cpu,cpuacct", {"cpu", "cpuacct"}, false},
                          {"/sys/fs/cgroup/memory", {"memory"}, false},
                          {"/sys/fs/cgroup/unified", {}, true}};
    auto self = cgroups::parseProcCgroup("4:memory:/kubepods/pod1/c1\n2:cpu,cpuacct:/x\n0::/\n");
    auto dir = hostoom::v1MemoryDir(hybrid, self);
    ASSERT_TRUE(dir.ok()) << dir.error().what();
    EXPECT_EQ(*dir, "/sys/fs/cgroup/memory/kubepods/pod1/c1");
    // The root memory cgroup has no limit to lower.
    auto root = hostoom::v1MemoryDir(hybrid, cgroups::parseProcCgroup("4:memory:/\n0::/\n"));
    ASSERT_FALSE(root.ok());
    EXPECT_NE(root.error().message().find("root memory cgroup"), std::string::npos);
    // cgroup2 only: no memory.oom_control anywhere.
    cgroups::HostLayout unified;
    unified.layout = cgroups::Layout::Unified;
    unified.hierarchies = {{"/sys/fs/cgroup", {"memory", "pids"}, true}};
    auto v2 = hostoom::v1MemoryDir(unified, cgroups::parseProcCgroup("0::/user.slice\n"));
    ASSERT_FALSE(v2.ok());
    EXPECT_NE(v2.error().message().find("cgroup2"), std::string::npos);
}

TEST(VmHostOom, TightLimitIsJustAboveUsageAndNeverRaisesALimit) {
    uint64_t l = hostoom::tightLimit(100 * 4096 + 5, UINT64_MAX);
    EXPECT_EQ(l % 4096, 0u);
    EXPECT_GT(l, 100 * 4096 + 5);
    EXPECT_LE(l, 100 * 4096 + 5 + (2u << 20));
    EXPECT_EQ(hostoom::tightLimit(100 << 20, 64 << 20), uint64_t{64} << 20);  // already limited: kept
}

TEST(VmHostOom, GuardPutsUnlimitedAndTheKillerBack) {
    FakeCgroup cg("9223372036854771712\n", kFresh);
    {
        auto g = hostoom::KnobGuard::open(cg.dir);
        ASSERT_TRUE(g.ok()) << g.error().what();
        EXPECT_FALSE(g->originalKillDisable());
        ASSERT_TRUE(g->disableKiller().ok());
        ASSERT_TRUE(g->setLimit(52580352).ok());
        EXPECT_EQ(cg.read("memory.oom_control"), "1");
        EXPECT_EQ(cg.read("memory.limit_in_bytes"), "52580352");
        hostoom::KnobGuard moved(std::move(*g));  // only the moved-to guard restores
    }
    EXPECT_EQ(cg.read("memory.limit_in_bytes"), "-1");
    EXPECT_EQ(cg.read("memory.oom_control"), "0");
}

TEST(VmHostOom, GuardKeepsWhatWasAlreadySet) {
    FakeCgroup cg("104857600\n", "oom_kill_disable 1\nunder_oom 0\noom_kill 2\n");
    {
        auto g = hostoom::KnobGuard::open(cg.dir);
        ASSERT_TRUE(g.ok()) << g.error().what();
        ASSERT_TRUE(g->disableKiller().ok());  // already disabled: not written
        ASSERT_TRUE(g->setLimit(4096).ok());
        EXPECT_TRUE(g->restore());
        EXPECT_EQ(cg.read("memory.limit_in_bytes"), "104857600");
        ASSERT_TRUE(fs::writeFile(cg.dir + "/memory.limit_in_bytes", "1").ok());
    }  // restored already: the destructor writes nothing more
    EXPECT_EQ(cg.read("memory.limit_in_bytes"), "1");
    EXPECT_EQ(cg.read("memory.oom_control"), "oom_kill_disable 1\nunder_oom 0\noom_kill 2\n");
}

TEST(VmHostOom, GuardRefusesAMissingCgroupInOneLine) {
    auto g = hostoom::KnobGuard::open("/nonexistent/berth-cgroup");
    ASSERT_FALSE(g.ok());
    EXPECT_NE(g.error().what().find("memory.limit_in_bytes"), std::string::npos);
}

TEST(VmHostOom, OomFrameIsKnownToTheDecoder) {
    wire::proto::Decoder d;
    std::string f = wire::proto::encodeInt(wire::proto::Type::Oom, 2);
    d.feed(f.data(), f.size());
    auto fr = d.next();
    ASSERT_TRUE(fr.ok() && *fr);
    EXPECT_EQ((*fr)->type, wire::proto::Type::Oom);
    EXPECT_EQ(wire::proto::decodeInt(**fr).value(), 2);
    EXPECT_STREQ(wire::proto::typeName(wire::proto::Type::Oom), "oom");
    // Inside a pod member's envelope too (the member's shim raises its own cgroup's).
    auto m = wire::proto::splitMember({wire::proto::Type::Member, wire::proto::memberPayload(3, wire::proto::Type::Oom, wire::proto::intPayload(1))});
    ASSERT_TRUE(m.ok());
    EXPECT_EQ(m->second.type, wire::proto::Type::Oom);
}

TEST(VmHostOom, CoalescerRaisesAtOnceThenAtMostOncePerGapAndAlwaysBeforeExit) {
    hostoom::OomCoalescer c;
    constexpr long gap = hostoom::OomCoalescer::kMinGapMs;
    EXPECT_EQ(c.onOom(1, 5000), 1u);  // the first: at once
    EXPECT_EQ(c.onOom(2, 5000 + gap / 2), 0u);  // held back
    EXPECT_EQ(c.onOom(1, 5000 + gap - 1), 0u);
    EXPECT_EQ(c.onOom(1, 5000 + gap), 4u);  // the gap is over: everything held
    EXPECT_EQ(c.beforeExit(), 0u);  // nothing held
    EXPECT_EQ(c.onOom(3, 5000 + gap + 1), 0u);
    EXPECT_EQ(c.beforeExit(), 3u);  // the workload's own kill, right after an exec's: not lost
    EXPECT_EQ(c.beforeExit(), 0u);
    // Held kills are raised once the gap is over, without waiting for another frame.
    hostoom::OomCoalescer held;
    EXPECT_EQ(held.waitMs(0), -1);
    EXPECT_EQ(held.onOom(1, 10000), 1u);
    EXPECT_EQ(held.waitMs(10001), -1);
    EXPECT_EQ(held.onOom(2, 10100), 0u);
    EXPECT_EQ(held.waitMs(10100), gap - 100);
    EXPECT_EQ(held.due(10100 + gap - 101), 0u);
    EXPECT_EQ(held.due(10000 + gap), 2u);
    EXPECT_EQ(held.waitMs(10000 + gap), -1);
    EXPECT_EQ(held.onOom(1, 10000 + gap + 1), 0u);  // the gap counts from that raise
    hostoom::OomCoalescer fresh;
    EXPECT_EQ(fresh.onOom(1, 0), 1u);  // a clock that starts at 0
}

TEST(VmHostOom, ARaiseThatCannotRegisterChangesNothing) {
    // A directory with the knobs but no cgroup.event_control (not a v1 memory cgroup): the error
    // names the file, no toucher is forked, the knobs are as they were.
    FakeCgroup cg("9223372036854771712\n", kFresh);
    ASSERT_TRUE(fs::writeFileAtomic(cg.dir + "/memory.usage_in_bytes", "1048576\n").ok());
    auto r = hostoom::raiseOomNotification(cg.dir, 100);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().what().find("cgroup.event_control"), std::string::npos) << r.error().what();
    EXPECT_EQ(cg.read("memory.limit_in_bytes"), "9223372036854771712\n");
    EXPECT_EQ(cg.read("memory.oom_control"), kFresh);
}
