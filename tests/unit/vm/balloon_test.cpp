#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "vm/wire/balloon.hpp"
#include "vm/wire/boot_config.hpp"

using namespace berth;
using namespace berth::vm;
using nlohmann::json;

TEST(VmBalloon, CeilingIsTwiceTheTargetCappedAtTheHost) {
    EXPECT_EQ(wire::ramCeilingMiB(164, 0, 0), 328u);
    EXPECT_EQ(wire::ramCeilingMiB(1024, 0, 0), 2048u);
    EXPECT_EQ(wire::ramCeilingMiB(1024, 0, 1500), 1500u);                       // never above the host's RAM
    EXPECT_EQ(wire::ramCeilingMiB(1024, 0, 512), 1024u);                        // never below the target
    EXPECT_EQ(wire::ramCeilingMiB(164, 768, 0), 768u);                          // the annotation wins
    EXPECT_EQ(wire::ramCeilingMiB(164, 100, 0), 164u);                          // ... but not below the target
}

TEST(VmBalloon, StructPagesAreASixtyFourthOfTheRam) {
    EXPECT_EQ(wire::structPagesMiB(0), 0u);
    EXPECT_EQ(wire::structPagesMiB(256), 4u);
    EXPECT_EQ(wire::structPagesMiB(257), 5u);  // rounded up
}

TEST(VmBalloon, PlanGrowsTheTargetByTheHeadroomsStructPages) {
    constexpr uint64_t kSlack = wire::kBalloonGuestSlackMiB;
    auto b = wire::planBalloon(192, 0, 0, 0);
    EXPECT_EQ(b.ceilingMiB, 384u);
    EXPECT_EQ(b.targetMiB, b.ceilingMiB);  // nothing inflated at boot
    EXPECT_EQ(b.extraMiB, 3u + kSlack);     // 192 MiB of headroom: 3 MiB of struct pages
    // The first update moves the balloon to what the limit needs (128 MiB of limit here).
    EXPECT_EQ(wire::balloonTargetMiB(128ll << 20, b), 128u + wire::kGuestOverheadMiB + 3 + kSlack);
    b = wire::planBalloon(200, 30, 0, 0);  // 30 MiB of initramfs rootfs in RAM
    EXPECT_EQ(b.extraMiB, 30u + 4 + kSlack);
    EXPECT_EQ(wire::planBalloon(164, 0, 1, 0).ceilingMiB, 0u);  // org.berth.vm.memory-max=0: none
    b = wire::planBalloon(260, 4, 0, 0, false);  // no limit in the spec: no headroom, nothing held at boot
    EXPECT_EQ(b.ceilingMiB, 260u + kSlack);
    EXPECT_EQ(b.targetMiB, b.ceilingMiB);
    EXPECT_EQ(b.extraMiB, 4u + kSlack);
    EXPECT_EQ(wire::maxMemoryLimit(b), (260ull - wire::kGuestOverheadMiB - 4) << 20);  // 192 MiB + the rootfs's 4: as before
    EXPECT_EQ(wire::balloonTargetMiB(64ll << 20, b), wire::kMinGuestMiB + 4 + kSlack);  // a lower inflates
    EXPECT_EQ(wire::planBalloon(260, 4, 1024, 0, false).ceilingMiB, 1024u);  // the annotation gives it headroom
    b = wire::planBalloon(164, 0, 180, 0);  // a ceiling just above: the target never passes it
    EXPECT_EQ(b.ceilingMiB, 180u);
    EXPECT_EQ(b.targetMiB, 180u);
    EXPECT_EQ(wire::planBalloon(1024, 0, 0, 1024).ceilingMiB, 0u);  // no room above: no balloon
    EXPECT_EQ(wire::planBalloon(1024, 0, 1025, 0).ceilingMiB, 0u);  // 1 MiB is not room for its pages
}

TEST(VmBalloon, TargetForALimitAndTheLargestLimit) {
    wire::BalloonState b{420, 4, 168};
    EXPECT_EQ(wire::balloonTargetMiB(100ll << 20, b), 100 + wire::kGuestOverheadMiB + 4);
    EXPECT_EQ(wire::balloonTargetMiB(16ll << 20, b), wire::kMinGuestMiB + 4);  // the floor
    EXPECT_EQ(wire::balloonTargetMiB((100ll << 20) + 1, b), 101 + wire::kGuestOverheadMiB + 4);
    EXPECT_EQ(wire::balloonTargetMiB(-1, b), 420u);  // unlimited: all of it
    EXPECT_EQ(wire::balloonTargetMiB(0, b), 420u);
    EXPECT_EQ(wire::maxMemoryLimit(b), (420ull - wire::kGuestOverheadMiB - 4) << 20);
    EXPECT_EQ(wire::balloonTargetMiB(static_cast<int64_t>(wire::maxMemoryLimit(b)), b), 420u);
}

TEST(VmBalloon, AnnotationSizes) {
    EXPECT_EQ(*wire::memoryMaxMiB(""), 0u);
    EXPECT_EQ(*wire::memoryMaxMiB("1g"), 1024u);
    EXPECT_EQ(*wire::memoryMaxMiB("768m"), 768u);
    EXPECT_EQ(*wire::memoryMaxMiB("1048577"), 2u);  // bytes, rounded up
    EXPECT_EQ(*wire::memoryMaxMiB("0"), 1u);        // no balloon
    auto bad = wire::memoryMaxMiB("lots");
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.error().message().find("org.berth.vm.memory-max"), std::string::npos);
    EXPECT_FALSE(wire::memoryMaxMiB("-1").ok());
}

TEST(VmBalloon, StateRoundTripsAndRefusesNonsense) {
    wire::BalloonState b{420, 4, 168};
    auto back = wire::BalloonState::fromJson(b.toJson());
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(back->ceilingMiB, 420u);
    EXPECT_EQ(back->targetMiB, 168u);
    EXPECT_FALSE(wire::BalloonState::fromJson(json{{"ceilingMiB", 100}, {"extraMiB", 0}, {"targetMiB", 200}}).ok());
    EXPECT_FALSE(wire::BalloonState::fromJson(json::object()).ok());
}

TEST(VmBalloon, MemoryLimitOfAnUpdate) {
    EXPECT_FALSE(wire::memoryLimitOf(json{{"pids", {{"limit", 5}}}}).has_value());
    EXPECT_EQ(*wire::memoryLimitOf(json{{"memory", {{"limit", 1 << 20}}}}), 1 << 20);
    EXPECT_EQ(*wire::memoryLimitOf(json{{"memory", {{"limit", -1}}}}), -1);
}

namespace {

// Records the steps' calls in order: "balloon N" and "update L"; failures on demand.
struct Recorder {
    std::vector<std::string> calls;
    bool balloonFails = false, updateFails = false;
    std::string before = "104857600";
    wire::MemoryUpdateSteps steps() {
        wire::MemoryUpdateSteps s;
        s.balloon = [this](uint64_t mib) -> Status {
            calls.push_back(strCat("balloon ", mib));
            if (balloonFails) return Error(ETIMEDOUT, "stuck").hideErrno();
            return {};
        };
        s.updateGuest = [this](const json& r) -> Result<std::string> {
            calls.push_back(strCat("update ", r["memory"]["limit"].get<int64_t>()));
            if (updateFails) return Error(EINVAL, "refused").hideErrno();
            return before;
        };
        return s;
    }
};

json mem(int64_t limit) { return json{{"memory", {{"limit", limit}}}}; }

}  // namespace

TEST(VmBalloon, RaiseDeflatesFirstLowerInflatesAfter) {
    wire::BalloonState b{420, 4, 168};  // booted for 100 MiB
    Recorder up;
    ASSERT_TRUE(wire::updateMemory(mem(200ll << 20), 200ll << 20, b, up.steps()).ok());
    EXPECT_EQ(up.calls, (std::vector<std::string>{"balloon 268", strCat("update ", 200ll << 20)}));
    Recorder down;
    ASSERT_TRUE(wire::updateMemory(mem(64ll << 20), 64ll << 20, b, down.steps()).ok());
    EXPECT_EQ(down.calls, (std::vector<std::string>{strCat("update ", 64ll << 20), "balloon 132"}));
    Recorder same;
    ASSERT_TRUE(wire::updateMemory(mem(100ll << 20), 100ll << 20, b, same.steps()).ok());
    EXPECT_EQ(same.calls, (std::vector<std::string>{strCat("update ", 100ll << 20)}));
}

TEST(VmBalloon, AboveTheCeilingIsRefusedBeforeAnything) {
    wire::BalloonState b{420, 4, 168};
    Recorder r;
    auto st = wire::updateMemory(mem(1ll << 30), 1ll << 30, b, r.steps());
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.error().message().find("is above the 352 MiB this VM can grow to"), std::string::npos) << st.error().message();
    EXPECT_TRUE(r.calls.empty());
}

TEST(VmBalloon, AFailedBalloonLeavesTheLimitAsItWas) {
    wire::BalloonState b{420, 4, 168};
    Recorder up;  // raise: the deflate fails, the limit is never touched
    up.balloonFails = true;
    ASSERT_FALSE(wire::updateMemory(mem(200ll << 20), 200ll << 20, b, up.steps()).ok());
    EXPECT_EQ(up.calls, (std::vector<std::string>{"balloon 268"}));
    Recorder refused;  // raise: the guest refuses the limit, the balloon goes back
    refused.updateFails = true;
    ASSERT_FALSE(wire::updateMemory(mem(200ll << 20), 200ll << 20, b, refused.steps()).ok());
    EXPECT_EQ(refused.calls, (std::vector<std::string>{"balloon 268", strCat("update ", 200ll << 20), "balloon 168"}));
    Recorder down;  // lower: the inflate fails, the limit is put back as it was
    down.balloonFails = true;
    auto st = wire::updateMemory(mem(64ll << 20), 64ll << 20, b, down.steps());
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(down.calls, (std::vector<std::string>{strCat("update ", 64ll << 20), "balloon 132", strCat("update ", 100ll << 20)}));
    Recorder unlimited;  // memory.max was "max": put back as -1
    unlimited.balloonFails = true;
    unlimited.before = "max";
    ASSERT_FALSE(wire::updateMemory(mem(64ll << 20), 64ll << 20, b, unlimited.steps()).ok());
    EXPECT_EQ(unlimited.calls.back(), "update -1");
}

TEST(VmBalloon, QemuArgsAndCmdline) {
    wire::QemuConfig c;
    c.kernel = "k";
    c.initrd = "i";
    c.res.memMiB = 168;
    c.res.maxMemMiB = 420;
    c.qmpFd = 6;
    auto a = wire::qemuArgv(c);
    auto at = [&](const std::string& v) { return std::find(a.begin(), a.end(), v); };
    ASSERT_NE(at("-m"), a.end());
    EXPECT_EQ(*(at("-m") + 1), "420M");  // QEMU gets the ceiling; the balloon takes it down
    EXPECT_NE(at("virtio-balloon-device,free-page-reporting=on"), a.end());
    EXPECT_NE(at("socket,id=qmp,fd=6"), a.end());
    EXPECT_NE(at("chardev=qmp,mode=control"), a.end());
    c.res.maxMemMiB = 0;  // no balloon: as before
    a = wire::qemuArgv(c);
    EXPECT_EQ(*(at("-m") + 1), "168M");
    EXPECT_EQ(at("virtio-balloon-device,free-page-reporting=on"), a.end());
    wire::CmdlineOptions o;
    EXPECT_EQ(wire::kernelCmdline(o).find("berth.balloon"), std::string::npos);
    o.balloon = true;
    EXPECT_NE(wire::kernelCmdline(o).find(" berth.balloon=1"), std::string::npos);
}
