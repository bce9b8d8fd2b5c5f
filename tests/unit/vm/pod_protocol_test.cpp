// Pods over the agent channel: a member's frames inside Member envelopes, and the protocol
// version the host checks in Ready.
#include <gtest/gtest.h>

#include "vm/pod.hpp"
#include "vm/wire/guest_config.hpp"
#include "vm/wire/protocol.hpp"

using namespace berth;
namespace proto = berth::vm::wire::proto;

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
    EXPECT_EQ(proto::readyPayload(), "berth-agent 2");
    EXPECT_TRUE(proto::checkReady(proto::readyPayload()).ok());
    auto old = proto::checkReady("berth-agent 1");
    ASSERT_FALSE(old.ok());
    EXPECT_NE(old.error().message().find("\"berth-agent 1\", this berth speaks \"berth-agent 2\""), std::string::npos)
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
