#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/unique_fd.hpp"
#include "vm/wire/protocol.hpp"

using namespace berth;
using namespace berth::vm;

TEST(VmProtocol, RoundTripsFramesFedByteByByte) {
    std::string stream = wire::proto::encode(wire::proto::Type::Stdout, "hello") + wire::proto::encodeInt(wire::proto::Type::Exit, 137) +
                         wire::proto::encode(wire::proto::Type::Start);
    wire::proto::Decoder d;
    std::vector<wire::proto::Frame> got;
    for (char c : stream) {
        d.feed(&c, 1);
        auto f = d.next();
        ASSERT_TRUE(f.ok());
        if (*f) got.push_back(**f);
    }
    ASSERT_EQ(got.size(), 3u);
    EXPECT_EQ(got[0].type, wire::proto::Type::Stdout);
    EXPECT_EQ(got[0].payload, "hello");
    EXPECT_EQ(*wire::proto::decodeInt(got[1]), 137);
    EXPECT_TRUE(got[2].payload.empty());
    EXPECT_EQ(d.pending(), 0u);
}

TEST(VmProtocol, NegativeIntsSurvive) {
    wire::proto::Decoder d;
    std::string s = wire::proto::encodeInt(wire::proto::Type::Signal, -5);
    d.feed(s.data(), s.size());
    auto f = d.next();
    ASSERT_TRUE(f.ok() && *f);
    EXPECT_EQ(*wire::proto::decodeInt(**f), -5);
}

TEST(VmProtocol, RefusesBadMagicAndStaysBroken) {
    wire::proto::Decoder d;
    std::string s = wire::proto::encode(wire::proto::Type::Stdout, "x");
    s[0] = 'X';
    d.feed(s.data(), s.size());
    auto f = d.next();
    ASSERT_FALSE(f.ok());
    EXPECT_EQ(f.error().err(), EPROTO);
    std::string good = wire::proto::encode(wire::proto::Type::Stdout, "y");
    d.feed(good.data(), good.size());
    EXPECT_FALSE(d.next().ok());  // no resynchronising a length-prefixed stream
}

TEST(VmProtocol, ResizeCarriesRowsAndColumns) {
    wire::proto::Frame f{wire::proto::Type::Resize, wire::proto::sizePayload(33, 111)};
    auto size = wire::proto::decodeSize(f);
    ASSERT_TRUE(size.ok());
    EXPECT_EQ(size->first, 33);
    EXPECT_EQ(size->second, 111);
    EXPECT_FALSE(wire::proto::decodeSize({wire::proto::Type::Resize, "1234"}).ok());
    EXPECT_FALSE(wire::proto::decodeSize({wire::proto::Type::Resize, wire::proto::intPayload(0) + wire::proto::intPayload(80)}).ok());
    EXPECT_FALSE(wire::proto::decodeSize({wire::proto::Type::Resize, wire::proto::intPayload(70000) + wire::proto::intPayload(80)}).ok());
}

TEST(VmProtocol, ExecResizeCarriesTheExecIdThenRowsAndColumns) {
    std::string bytes = wire::proto::encode(wire::proto::Type::ExecResize, wire::proto::execSizePayload(7, 44, 99));
    wire::proto::Decoder d;
    d.feed(bytes.data(), bytes.size());  // a type the decoder knows (72, vmtty's range)
    auto f = d.next();
    ASSERT_TRUE(f.ok() && f->has_value());
    auto size = wire::proto::decodeExecSize(**f);
    ASSERT_TRUE(size.ok());
    EXPECT_EQ(size->first, 7);
    EXPECT_EQ(size->second, std::make_pair(uint16_t{44}, uint16_t{99}));
    EXPECT_STREQ(wire::proto::typeName(wire::proto::Type::ExecResize), "exec-resize");
    // the shim passes the proxy's "W" + sizePayload on as is: the agent checks it
    EXPECT_FALSE(wire::proto::decodeExecSize({wire::proto::Type::ExecResize, "123"}).ok());
    EXPECT_FALSE(wire::proto::decodeExecSize({wire::proto::Type::ExecResize, wire::proto::intPayload(7) + "1234"}).ok());
    EXPECT_FALSE(wire::proto::decodeExecSize({wire::proto::Type::ExecResize, wire::proto::execSizePayload(7, 0, 80)}).ok());
}

TEST(VmProtocol, ExecSignalCarriesTheExecIdThenTheSignal) {
    std::string bytes = wire::proto::encode(wire::proto::Type::ExecSignal, wire::proto::intPayload(3) + wire::proto::intPayload(15));
    wire::proto::Decoder d;
    d.feed(bytes.data(), bytes.size());
    auto f = d.next();
    ASSERT_TRUE(f.ok() && f->has_value());
    auto sig = wire::proto::decodeExecSignal(**f);
    ASSERT_TRUE(sig.ok());
    EXPECT_EQ(*sig, std::make_pair(int32_t{3}, 15));
    EXPECT_STREQ(wire::proto::typeName(wire::proto::Type::ExecSignal), "exec-signal");
    // what the shim passes on from a client is checked here
    for (int32_t bad : {0, -1, 65})
        EXPECT_FALSE(wire::proto::decodeExecSignal({wire::proto::Type::ExecSignal, wire::proto::intPayload(3) + wire::proto::intPayload(bad)}).ok());
    EXPECT_FALSE(wire::proto::decodeExecSignal({wire::proto::Type::ExecSignal, wire::proto::intPayload(3) + "12"}).ok());
}

TEST(VmProtocol, RefusesUnknownTypeAndOversizedLength) {
    wire::proto::Decoder d1;
    std::string s = wire::proto::encode(wire::proto::Type::Stdout, "x");
    s[1] = 18;  // one past the last type (Drop)
    d1.feed(s.data(), s.size());
    EXPECT_FALSE(d1.next().ok());

    wire::proto::Decoder d2;
    std::string big = {'B', 6, '\xff', '\xff', '\xff', '\x7f'};  // header only: refused before the body
    d2.feed(big.data(), big.size());
    auto f = d2.next();
    ASSERT_FALSE(f.ok());
    EXPECT_NE(f.error().message().find("exceeds"), std::string::npos);
}

TEST(VmProtocol, TruncatedFrameWaitsThenReportsAtEof) {
    std::string s = wire::proto::encode(wire::proto::Type::Stdout, "0123456789");
    int sv[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    UniqueFd a(sv[0]), b(sv[1]);
    ASSERT_EQ(::write(b.get(), s.data(), 8), 8);
    b.reset();
    wire::proto::Decoder d;
    auto f = wire::proto::readFrame(a.get(), d);
    ASSERT_FALSE(f.ok());
    EXPECT_NE(f.error().message().find("middle of a frame"), std::string::npos);
}

TEST(VmProtocol, IntFrameWithWrongSizeIsRefused) {
    wire::proto::Frame f{wire::proto::Type::Exit, "abc"};
    EXPECT_FALSE(wire::proto::decodeInt(f).ok());
}

TEST(VmProtocol, WriteThenReadOverASocket) {
    int sv[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    UniqueFd a(sv[0]), b(sv[1]);
    ASSERT_TRUE(wire::proto::writeFrame(b.get(), wire::proto::Type::Config, "{\"args\":[\"sh\"]}").ok());
    wire::proto::Decoder d;
    auto f = wire::proto::readFrame(a.get(), d);
    ASSERT_TRUE(f.ok());
    EXPECT_EQ(f->type, wire::proto::Type::Config);
    EXPECT_EQ(f->payload, "{\"args\":[\"sh\"]}");
}

TEST(VmProtocol, ExecFramesCarryTheirIdFirst) {
    wire::proto::Frame f{wire::proto::Type::ExecOutput, wire::proto::intPayload(7) + '\x02' + "data"};
    auto idp = wire::proto::splitExecId(f);
    ASSERT_TRUE(idp.ok());
    EXPECT_EQ(idp->first, 7);
    EXPECT_EQ(idp->second, std::string("\x02") + "data");
    EXPECT_FALSE(wire::proto::splitExecId(wire::proto::Frame{wire::proto::Type::ExecExit, "ab"}).ok());
}
