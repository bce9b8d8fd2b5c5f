#include <gtest/gtest.h>

#include "vm/wire/boot_config.hpp"
#include "vm/wire/timing.hpp"

using namespace berth::vm::wire;

namespace {

double phase(const std::vector<timing::Phase>& ps, const std::string& prefix) {
    for (auto& p : ps)
        if (p.name.rfind(prefix, 0) == 0) return p.ms;
    return -1e9;
}

// One berth run: host marks in realtime µs (TSC at 1000 ticks/µs), guest marks in boottime µs;
// the guest TSC counts from the VM's first instruction.
const char* kRun =
    "H run.begin 1000000 0\n"
    "H vm.launch 1005000 5000000\n"
    "H vm.checked 1006000 6000000\n"
    "H vm.artifacts 1006500 6500000\n"
    "H vm.accel 1006600 6600000\n"
    "H vm.rootfs 1016600 16600000\n"
    "H vm.network 1016700 16700000\n"
    "H qemu.exec 1020000 20000000\n"
    "G init 800000 900000000\n"  // guest TSC 0 = host 1100000; guest boottime 0 = host 1200000
    "G modules 900000 1000000000\n"
    "G port 950000 1050000000\n"
    "G ready 1000000 1100000000\n"
    "H agent.ready 2200000 1200000000\n"
    "G config 1010000 1110000000\n"
    "G prepared 1030000 1130000000\n"
    "H agent.prepared 2230500 0\n"
    "H vm.created 2232000 1232000000\n"
    "H start.sent 2240000 1240000000\n"
    "H stdout.first 2300000 1300000000\n"
    "G exit 1110000 1210000000\n"
    "H exit.frame 2310000 1310000000\n"
    "H qemu.gone 2350000 1350000000\n"
    "H run.end 2360000 0\n"
    "H first.output 2301000 0\n"
    "garbage line\n"
    "H run.begin 5 5\n";  // a repeated label: the first one counts

}  // namespace

TEST(VmTiming, ParsesHostAndGuestMarks) {
    auto r = timing::parse(kRun);
    EXPECT_EQ(r.host.at("run.begin").us, 1000000u);
    EXPECT_EQ(r.host.at("vm.launch").tsc, 5000000u);
    EXPECT_EQ(r.guest.at("ready").us, 1000000u);
    EXPECT_EQ(r.guest.at("ready").tsc, 1100000000u);
    EXPECT_EQ(r.host.count("garbage"), 0u);
}

TEST(VmTiming, BreakdownMapsGuestTimeOntoTheHostClock) {
    auto ps = timing::breakdown(timing::parse(kRun));
    EXPECT_DOUBLE_EQ(phase(ps, "berth start -> vm handler"), 5.0);
    EXPECT_DOUBLE_EQ(phase(ps, "rootfs staging"), 10.0);
    EXPECT_DOUBLE_EQ(phase(ps, "shim fork -> QEMU"), 3.3);
    // Host TSC 1000 ticks/µs; Ready (guest TSC 1.1e9 ↔ host 2.2 s): the VM started at 1.1 s.
    EXPECT_NEAR(phase(ps, "QEMU exec -> first guest instruction"), 80.0, 1e-6);
    EXPECT_NEAR(phase(ps, "first instruction -> /init"), 900.0, 1e-6);
    EXPECT_NEAR(phase(ps, "  before the kernel clock"), 100.0, 1e-6);
    EXPECT_NEAR(phase(ps, "  kernel clock 0 -> /init"), 800.0, 1e-6);
    EXPECT_NEAR(phase(ps, "/init: mounts + modules"), 100.0, 1e-6);
    EXPECT_NEAR(phase(ps, "Config -> Prepared"), 20.0, 1e-6);
    EXPECT_NEAR(phase(ps, "Prepared -> Start sent"), 10.0, 1e-6);
    EXPECT_DOUBLE_EQ(phase(ps, "Start sent -> first output"), 60.0);
    EXPECT_DOUBLE_EQ(phase(ps, "Exit frame -> QEMU gone"), 40.0);
    EXPECT_DOUBLE_EQ(phase(ps, "total: exit"), 1360.0);
    EXPECT_DOUBLE_EQ(phase(ps, "total: first output"), 1301.0);
    EXPECT_EQ(phase(ps, "modules -> probe line"), -1e9);  // no probe mark in a berth run
}

TEST(VmTiming, GuestClockRateFromTwoPairs) {
    // The guest's clock runs at half the host's: 100 ms of guest time between Ready and Exit
    // took 200 ms on the host.
    auto ps = timing::breakdown(timing::parse("G init 400000 0\nG ready 500000 0\nG exit 600000 0\n"
                                              "H agent.ready 3000000 0\nH exit.frame 3200000 0\n"));
    EXPECT_NEAR(phase(ps, "  kernel clock 0 -> /init"), 800.0, 1e-6);
    EXPECT_EQ(phase(ps, "QEMU exec -> first guest instruction"), -1e9);  // no host TSC rate
}

TEST(VmTiming, FloorRunPairsTheProbeLine) {
    auto ps = timing::breakdown(timing::parse("H run.begin 100000 0\nH qemu.exec 100000 0\nG init 500000 0\n"
                                              "G modules 600000 0\nG probe 610000 0\nH probe.seen 800000 0\n"
                                              "H first.output 800000 0\nH run.end 850000 0\n"));
    EXPECT_NEAR(phase(ps, "  kernel clock 0 -> /init"), 500.0, 1e-6);
    EXPECT_NEAR(phase(ps, "modules -> probe line"), 10.0, 1e-6);
    EXPECT_DOUBLE_EQ(phase(ps, "probe line -> QEMU exits"), 50.0);
    EXPECT_DOUBLE_EQ(phase(ps, "total: exit"), 750.0);
}

TEST(VmTiming, FloorRunWithTheMeasuredHostTscRate) {
    // No TSC in bench/vm.sh's own marks: the rate comes from the caller (2 ticks/µs).
    auto ps = timing::breakdown(timing::parse("H qemu.exec 100000 0\nG init 500000 1000000\nG modules 600000 1100000\n"
                                              "G probe 610000 1200000\nH probe.seen 800000 0\n"), 2.0);
    EXPECT_NEAR(phase(ps, "QEMU exec -> first guest instruction"), 100.0, 1e-6);  // VM start: 800000 - 600000
    EXPECT_NEAR(phase(ps, "first instruction -> /init"), 500.0, 1e-6);
    EXPECT_NEAR(phase(ps, "/init: mounts + modules"), 50.0, 1e-6);
}

TEST(VmTiming, TableHasMediansInFirstSeenOrder) {
    std::vector<std::vector<timing::Phase>> runs = {{{"a", 1}, {"b", 10}}, {{"a", 3}, {"b", 30}}, {{"a", 2}}};
    std::string t = timing::table(runs);
    EXPECT_LT(t.find("\na "), t.find("\nb "));
    EXPECT_NE(t.find("2.0"), std::string::npos);   // median of a
    EXPECT_NE(t.find("20.0"), std::string::npos);  // median of b (two runs)
}

TEST(VmTiming, CmdlineAsksTheAgentOnlyWhenEnabled) {
    EXPECT_EQ(kernelCmdline({}).find("berth.timing"), std::string::npos);
    EXPECT_EQ(kernelCmdline({}).find("berth.net"), std::string::npos);
    CmdlineOptions o;
    o.timing = true;
    o.net = true;
    EXPECT_NE(kernelCmdline(o).find(" berth.timing=1"), std::string::npos);
    EXPECT_NE(kernelCmdline(o).find(" berth.net=1"), std::string::npos);
}

// The agent's step marks (cfg.*, wl.* — the workload child's too) become indented sub-phases,
// guest to guest by TSC and guest to host where a step ends on the host (the shim's output).
TEST(VmTiming, AgentStepsAreSubPhases) {
    std::string run = std::string(kRun) +
                      "G cfg.parsed 1015000 1115000000\n"
                      "G cfg.lo 1018000 1118000000\n"
                      "G wl.pipes 1051000 1141000000\n"
                      "G wl.child 1053000 1143000000\n"
                      "G wl.exec 1080000 1170000000\n"
                      "G wl.output 1100000 1190000000\n"
                      "G wl.reaped 1105000 1195000000\n";
    auto ps = timing::breakdown(timing::parse(run));
    EXPECT_NEAR(phase(ps, "  JSON config -> GuestProcess"), 5.0, 1e-6);
    EXPECT_NEAR(phase(ps, "  lo up"), 3.0, 1e-6);
    EXPECT_NEAR(phase(ps, "  Start sent -> pipes made"), 1.0, 1e-6);  // host 2.24 s, guest TSC → 2.241 s
    EXPECT_NEAR(phase(ps, "  clone3"), 2.0, 1e-6);
    EXPECT_NEAR(phase(ps, "  workload runs until its first output"), 20.0, 1e-6);
    EXPECT_NEAR(phase(ps, "  guest output -> shim"), 10.0, 1e-6);
    EXPECT_NEAR(phase(ps, "  workload's exit reaped"), 5.0, 1e-6);
    EXPECT_EQ(phase(ps, "  child: mount ns"), -1e9);  // a step without its marks is left out
    auto plain = timing::breakdown(timing::parse(kRun));
    EXPECT_EQ(phase(plain, "  JSON config"), -1e9);  // an older agent: no sub-phases
}
