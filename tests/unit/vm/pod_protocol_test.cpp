// Pods over the agent channel: a member's frames inside Member envelopes, and the protocol
// version the host checks in Ready.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>

#include "vm/pod.hpp"
#include "vm/wire/boot_config.hpp"
#include "vm/wire/guest_config.hpp"
#include "vm/wire/protocol.hpp"

using namespace berth;
namespace proto = berth::vm::wire::proto;

TEST(VmPodRole, PodmanInfraContainerIsASandbox) {
    const std::string pod(64, 'a');
    std::map<std::string, std::string> libpod{{"io.container.manager", "libpod"}};
    // cgroupfs: <parent>/<pod id>/libpod-<id>; systemd: the pod's slice.
    EXPECT_TRUE(vm::isPodmanInfra(libpod, "/libpod_parent/" + pod + "/libpod-" + std::string(64, 'b')));
    EXPECT_TRUE(vm::isPodmanInfra(libpod, "machine-libpod_pod_" + pod + ".slice:libpod:" + std::string(64, 'b')));
    // A podman container outside a pod, a member (annotated), another manager, a short parent.
    EXPECT_FALSE(vm::isPodmanInfra(libpod, "/libpod_parent/libpod-" + pod));
    EXPECT_FALSE(vm::isPodmanInfra(libpod, "machine.slice:libpod:" + pod));
    auto member = libpod;
    member["io.kubernetes.cri-o.ContainerType"] = "container";
    EXPECT_FALSE(vm::isPodmanInfra(member, "/libpod_parent/" + pod + "/libpod-x"));
    EXPECT_FALSE(vm::isPodmanInfra({}, "/libpod_parent/" + pod + "/libpod-x"));
    EXPECT_FALSE(vm::isPodmanInfra(libpod, "/libpod_parent/" + std::string(63, 'a') + "/libpod-x"));
    EXPECT_FALSE(vm::isPodmanInfra(libpod, ""));

    runtime::spec::Spec s;
    s.annotations = libpod;
    s.linux.emplace();
    s.linux->cgroupsPath = "/libpod_parent/" + pod + "/libpod-x";
    auto role = vm::podRoleOfSpec(s);
    ASSERT_TRUE(role.ok());
    EXPECT_EQ(role->role, vm::PodRole::Sandbox);
    s.linux->cgroupsPath = "/libpod_parent/libpod-x";
    EXPECT_EQ(vm::podRoleOfSpec(s)->role, vm::PodRole::None);
}

namespace {

proto::Frame decodeOne(const std::string& bytes) {
    proto::Decoder d;
    d.feed(bytes.data(), bytes.size());
    auto f = d.next();
    EXPECT_TRUE(f.ok() && *f);
    return **f;
}

}  // namespace

TEST(VmPodProtocol, MemberFramesCarrySlotTypeAndPayload) {
    std::string bytes = proto::encodeMember(7, proto::Type::Stdout, std::string("a\0b", 3));
    // header 6 + slot 4 + inner type 1 + payload 3
    ASSERT_EQ(bytes.size(), 14u);
    EXPECT_EQ(bytes[1], 16);
    EXPECT_EQ(bytes.substr(6, 5), std::string("\x07\x00\x00\x00\x06", 5));
    auto m = proto::splitMember(decodeOne(bytes));
    ASSERT_TRUE(m.ok()) << m.error().what();
    EXPECT_EQ(m->first, 7);
    EXPECT_EQ(m->second.type, proto::Type::Stdout);
    EXPECT_EQ(m->second.payload, std::string("a\0b", 3));
}

TEST(VmPodProtocol, InnerFramesKeepTheirOwnEncodings) {
    auto m = proto::splitMember(decodeOne(proto::encodeMember(300, proto::Type::Signal, proto::intPayload(9))));
    ASSERT_TRUE(m.ok());
    EXPECT_EQ(m->first, 300);
    EXPECT_EQ(*proto::decodeInt(m->second), 9);
    auto e = proto::splitMember(decodeOne(proto::encodeMember(2, proto::Type::ExecExit, proto::intPayload(5) + proto::intPayload(3))));
    ASSERT_TRUE(e.ok());
    auto idp = proto::splitExecId(e->second);
    ASSERT_TRUE(idp.ok());
    EXPECT_EQ(idp->first, 5);
    EXPECT_EQ(*proto::decodeInt({proto::Type::Exit, idp->second}), 3);
    auto d = proto::splitMember(decodeOne(proto::encodeMember(1, proto::Type::Drop)));
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(d->second.type, proto::Type::Drop);
    EXPECT_TRUE(d->second.payload.empty());
}

TEST(VmPodProtocol, RefusesBadEnvelopes) {
    // too short, slot 0 (the sandbox's frames have no envelope), an unknown or nested inner type
    EXPECT_FALSE(proto::splitMember({proto::Type::Member, std::string("\x01\x00\x00\x00", 4)}).ok());
    EXPECT_FALSE(proto::splitMember(decodeOne(proto::encodeMember(0, proto::Type::Stdout, "x"))).ok());
    EXPECT_FALSE(proto::splitMember({proto::Type::Member, std::string("\x01\x00\x00\x00\x63", 5)}).ok());
    EXPECT_FALSE(proto::splitMember(decodeOne(proto::encodeMember(1, proto::Type::Member, "x"))).ok());
    EXPECT_FALSE(proto::splitMember({proto::Type::Stdout, std::string("\x01\x00\x00\x00\x06", 5)}).ok());
}

TEST(VmPodProtocol, ReadyCarriesTheVersionTheHostChecks) {
    EXPECT_EQ(proto::readyPayload(), "berth-agent 3");
    EXPECT_TRUE(proto::checkReady(proto::readyPayload()).ok());
    auto old = proto::checkReady("berth-agent 1");
    ASSERT_FALSE(old.ok());
    EXPECT_NE(old.error().message().find("\"berth-agent 1\", this berth speaks \"berth-agent 3\""), std::string::npos)
        << old.error().message();
    auto junk = proto::checkReady(std::string("\x01\xff", 2));
    ASSERT_FALSE(junk.ok());
    EXPECT_NE(junk.error().message().find("\"??\""), std::string::npos) << junk.error().message();
}

TEST(VmPodProtocol, MemberFieldOfTheGuestConfigRoundTrips) {
    vm::wire::GuestProcess p;
    p.process.args = {"sh"};
    p.process.cwd = "/";
    p.member = "abc-1";
    auto back = vm::wire::guestProcessFromJson(vm::wire::toJson(p));
    ASSERT_TRUE(back.ok()) << back.error().what();
    EXPECT_EQ(back->member, "abc-1");
    p.member.clear();
    back = vm::wire::guestProcessFromJson(vm::wire::toJson(p));
    ASSERT_TRUE(back.ok());
    EXPECT_TRUE(back->member.empty());
}

TEST(VmPodRole, CriAndCriOAnnotations) {
    auto none = vm::podRoleOf({{"run.oci.handler", "vm"}});
    ASSERT_TRUE(none.ok());
    EXPECT_EQ(none->role, vm::PodRole::None);
    auto sb = vm::podRoleOf({{"io.kubernetes.cri.container-type", "sandbox"}, {"io.kubernetes.cri.sandbox-id", "abc"}});
    ASSERT_TRUE(sb.ok());
    EXPECT_EQ(sb->role, vm::PodRole::Sandbox);
    auto m = vm::podRoleOf({{"io.kubernetes.cri.container-type", "container"}, {"io.kubernetes.cri.sandbox-id", "abc"}});
    ASSERT_TRUE(m.ok());
    EXPECT_EQ(m->role, vm::PodRole::Member);
    EXPECT_EQ(m->sandboxId, "abc");
    auto crio = vm::podRoleOf({{"io.kubernetes.cri-o.ContainerType", "container"}, {"io.kubernetes.cri-o.SandboxID", "def"}});
    ASSERT_TRUE(crio.ok());
    EXPECT_EQ(crio->role, vm::PodRole::Member);
    EXPECT_EQ(crio->sandboxId, "def");
    EXPECT_FALSE(vm::podRoleOf({{"io.kubernetes.cri.container-type", "container"}}).ok());
    auto bad = vm::podRoleOf({{"io.kubernetes.cri.container-type", "container"}, {"io.kubernetes.cri.sandbox-id", "../x"}});
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.error().message().find("../x"), std::string::npos);
}

namespace {

// A stream socketpair, non-blocking on our side.
std::pair<UniqueFd, UniqueFd> streamPair() {
    int sv[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    return {UniqueFd(sv[0]), UniqueFd(sv[1])};
}

proto::Frame readOne(int fd) {
    proto::Decoder d;
    auto f = proto::readFrame(fd, d);
    EXPECT_TRUE(f.ok());
    return f ? *f : proto::Frame{proto::Type::Failed, "read failed"};
}

// One round of the sandbox shim's loop for the mux: poll, then onPoll.
void pumpOnce(vm::PodMux& mux, int agentFd, int timeoutMs = 1000) {
    std::vector<struct pollfd> fds;
    mux.pollFds(fds);
    ASSERT_GE(::poll(fds.data(), fds.size(), timeoutMs), 0);
    mux.onPoll(agentFd, fds.data(), fds.size());
}

}  // namespace

TEST(VmPodMux, RelaysAMembersFramesBothWaysAndDropsItWhenItGoes) {
    auto [agentOurs, agentTheirs] = streamPair();
    vm::PodMux mux;
    auto [m1Shim, m1Mux] = streamPair();
    auto [m2Shim, m2Mux] = streamPair();
    mux.add(std::move(m1Mux));  // slot 1
    mux.add(std::move(m2Mux));  // slot 2
    // each member shim hears Ready with this build's version
    EXPECT_EQ(readOne(m1Shim.get()).payload, proto::readyPayload());
    EXPECT_EQ(readOne(m2Shim.get()).payload, proto::readyPayload());

    // member 2's frame reaches the agent in an envelope with slot 2
    ASSERT_TRUE(proto::writeFrame(m2Shim.get(), proto::Type::Signal, proto::intPayload(15)).ok());
    pumpOnce(mux, agentOurs.get());
    auto env = proto::splitMember(readOne(agentTheirs.get()));
    ASSERT_TRUE(env.ok());
    EXPECT_EQ(env->first, 2);
    EXPECT_EQ(env->second.type, proto::Type::Signal);
    EXPECT_EQ(*proto::decodeInt(env->second), 15);

    // the agent's frame for slot 1 reaches member 1 unwrapped; one for an unknown slot is dropped
    mux.fromAgent(decodeOne(proto::encodeMember(9, proto::Type::Stdout, "nobody")));
    mux.fromAgent(decodeOne(proto::encodeMember(1, proto::Type::Stdout, "hello")));
    auto out = readOne(m1Shim.get());
    EXPECT_EQ(out.type, proto::Type::Stdout);
    EXPECT_EQ(out.payload, "hello");

    // member 1's shim goes: the agent is told to drop slot 1
    m1Shim.reset();
    pumpOnce(mux, agentOurs.get());
    auto drop = proto::splitMember(readOne(agentTheirs.get()));
    ASSERT_TRUE(drop.ok());
    EXPECT_EQ(drop->first, 1);
    EXPECT_EQ(drop->second.type, proto::Type::Drop);
}

TEST(VmPodMux, AMemberThatDoesNotReadDoesNotStallThePod) {
    auto [agentOurs, agentTheirs] = streamPair();
    vm::PodMux mux;
    auto [slowShim, slowMux] = streamPair();
    mux.add(std::move(slowMux));
    std::string chunk(proto::kChunk, 'x');
    // far more than a socket buffer: fromAgent must return each time (queued, then dropped)
    for (int i = 0; i < 1200; i++) mux.fromAgent(decodeOne(proto::encodeMember(1, proto::Type::Stdout, chunk)));
    // control frames still get through once it reads again
    mux.fromAgent(decodeOne(proto::encodeMember(1, proto::Type::Exit, proto::intPayload(0))));
    proto::Decoder d;
    bool sawExit = false;
    for (int round = 0; round < 10000 && !sawExit; round++) {
        pumpOnce(mux, agentOurs.get(), 0);
        char buf[65536];
        ssize_t n;
        while ((n = ::recv(slowShim.get(), buf, sizeof buf, MSG_DONTWAIT)) > 0) d.feed(buf, static_cast<size_t>(n));
        for (;;) {
            auto f = d.next();
            ASSERT_TRUE(f.ok());
            if (!*f) break;
            if ((*f)->type == proto::Type::Exit) sawExit = true;
        }
    }
    EXPECT_TRUE(sawExit);
}

// A pod's VM is sized by containerd's sandbox sizing annotations (the pod's total), where the
// sandbox spec itself has no limit; a malformed one is one error line naming it.
TEST(VmPodSizing, CriSandboxAnnotationsSizeThePodsVm) {
    std::map<std::string, std::string> a = {{"io.kubernetes.cri.sandbox-memory", "536870912"},
                                            {"io.kubernetes.cri.sandbox-cpu-quota", "150000"},
                                            {"io.kubernetes.cri.sandbox-cpu-period", "100000"}};
    auto r = vm::podVmSizing(a, nlohmann::json{{"cpu", {{"shares", 2}}}});
    ASSERT_TRUE(r.ok()) << r.error().what();
    EXPECT_EQ((*r)["memory"]["limit"], 536870912);
    EXPECT_EQ((*r)["cpu"]["quota"], 150000);
    EXPECT_EQ((*r)["cpu"]["shares"], 2);
    auto res = vm::wire::resourcesFor(*r, 8);
    ASSERT_TRUE(res.ok());
    EXPECT_EQ(res->memMiB, 512u + 64u);
    EXPECT_EQ(res->vcpus, 2u);
    // The spec's own limits win; 0 (containerd writes it for "no limit") and absence change nothing.
    r = vm::podVmSizing(a, nlohmann::json{{"memory", {{"limit", 1 << 28}}}, {"cpu", {{"quota", 50000}, {"period", 100000}}}});
    ASSERT_TRUE(r.ok());
    EXPECT_EQ((*r)["memory"]["limit"], 1 << 28);
    EXPECT_EQ((*r)["cpu"]["quota"], 50000);
    r = vm::podVmSizing({{"io.kubernetes.cri.sandbox-memory", "0"}}, nullptr);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(*r, nlohmann::json::object());
    EXPECT_EQ(vm::wire::resourcesFor(*r, 8)->memMiB, vm::wire::resourcesFor(nullptr, 8)->memMiB);
    for (const char* bad : {"lots", "-5", "", "12k", "99999999999999999999"}) {
        auto e = vm::podVmSizing({{"io.kubernetes.cri.sandbox-memory", bad}}, nullptr);
        ASSERT_FALSE(e.ok()) << bad;
        EXPECT_EQ(e.error().what(), std::string("annotation io.kubernetes.cri.sandbox-memory=\"") + bad +
                                        "\": expected a number (0 or more)");
    }
}
