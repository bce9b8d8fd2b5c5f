// stateText writes state.json without an nlohmann tree: these check it is byte for byte what
// toJson(s) without its config dumps, for values that stress the escaping and the member order.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

#include "runtime/state/state.hpp"

using namespace berth;
using namespace berth::runtime::state;

namespace {

std::string nlohmannText(const ContainerState& s) {
    nlohmann::json j = toJson(s);
    j.erase("config");
    return j.dump();
}

void expectSameText(const ContainerState& s) {
    auto text = stateText(s);
    ASSERT_TRUE(text.ok()) << text.error().what();
    EXPECT_EQ(*text, nlohmannText(s));
    // And it loads back to the same record.
    auto back = parseState(*text);
    ASSERT_TRUE(back.ok()) << back.error().what();
    ContainerState withoutConfig = s;
    withoutConfig.config = nullptr;
    EXPECT_EQ(toJson(*back), toJson(withoutConfig));
}

ContainerState trickyForText() {
    ContainerState s;
    s.id = "c1.x+y_z-";
    s.pid = 4242;
    s.pidStartTime = 123456789;
    s.creatorPid = 77;
    s.creatorStartTime = 99;
    s.bundle = "/tmp/b \"quoted\" \\back\\ naïve ☃ 😀";
    s.rootfs = "/tmp/b/root\tfs\n\x01\x1f\x7f";
    s.created = "2026-12-06T18:00:00.123456789Z";
    s.owner = "";
    s.annotations = {{"", ""},
                     {"org.opencontainers.image.title", "ünïcödé €"},
                     {"ctl\b\f\r", "\"\\/"},
                     {"zz", std::string(300, 'x')}};
    s.saved = ContainerStatus::Created;
    s.cgroup.driver = "cgroupfs";
    s.cgroup.paths = {{"/sys/fs/cgroup/memory", "/sys/fs/cgroup/memory/user.slice/c1"},
                      {"/sys/fs/cgroup/unified", "/sys/fs/cgroup/unified/c1"}};
    s.cgroup.madeParents = {"/sys/fs/cgroup/memory/a", "/sys/fs/cgroup/memory/a/b \"q\""};
    s.cgroup.unit = "";
    s.systemdCgroup = false;
    s.noPivot = true;
    s.noNewKeyring = true;
    s.imageBundle = "/var/lib/berth/bundles/c1";
    s.handler = "vm";
    s.config = {{"ociVersion", "1.2.0"}};
    return s;
}

}  // namespace

TEST(StateText, SameBytesAsNlohmannForTrickyValues) { expectSameText(trickyForText()); }

TEST(StateText, SameBytesForEmptyAndDefaultMembers) {
    ContainerState s;
    s.id = "e";
    expectSameText(s);
    for (auto st : {ContainerStatus::Creating, ContainerStatus::Running, ContainerStatus::Paused,
                    ContainerStatus::Stopped}) {
        s.saved = st;
        expectSameText(s);
    }
}

TEST(StateText, SameBytesForExtremeNumbersAndLargeAnnotations) {
    ContainerState s = trickyForText();
    s.pid = std::numeric_limits<pid_t>::max();
    s.creatorPid = -1;
    s.pidStartTime = std::numeric_limits<uint64_t>::max();
    s.creatorStartTime = 0;
    s.systemdCgroup = true;
    s.cgroup.driver = "systemd";
    s.cgroup.unit = "berth-c1.scope";
    for (int i = 0; i < 1000; i++) s.annotations["key." + std::to_string(i)] = std::string(i % 97, 'a' + i % 26) + "\n";
    expectSameText(s);
}

// JSON cannot hold bytes that are not UTF-8, where nlohmann's dump() threw (and berth aborted):
// one error naming the member.
TEST(StateText, InvalidUtf8IsAnErrorNamingTheMember) {
    ContainerState s = trickyForText();
    s.bundle = "/tmp/bun\xFF" "dle";
    auto text = stateText(s);
    ASSERT_FALSE(text.ok());
    EXPECT_NE(text.error().message().find("bundle is not valid UTF-8 (byte 255 at offset 8)"), std::string::npos)
        << text.error().message();
    s = trickyForText();
    s.annotations["k\xC0"] = "v";
    text = stateText(s);
    ASSERT_FALSE(text.ok());
    EXPECT_NE(text.error().message().find("annotations is not valid UTF-8"), std::string::npos);
}
