#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include "runtime/process/sync.hpp"

using namespace berth;
using namespace berth::runtime::process;

TEST(Sync, MessagesRoundTripAndErrorsCarryErrno) {
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    UniqueFd a(sv[0]), b(sv[1]);
    ASSERT_TRUE(sendMsg(a.get(), Msg::HooksDone, 0, "{\"id\":\"x\"}").ok());
    auto m = expectMsg(b.get(), Msg::HooksDone);
    ASSERT_TRUE(m.ok());
    EXPECT_EQ(m->text, "{\"id\":\"x\"}");
    ASSERT_TRUE(sendError(a.get(), Error(EPERM, "mount proc on /proc")).ok());
    auto e = expectMsg(b.get(), Msg::Ready);
    ASSERT_FALSE(e.ok());
    EXPECT_EQ(e.error().err(), EPERM);
    EXPECT_EQ(e.error().message(), "mount proc on /proc");
}

TEST(Sync, PeerDeathAndProtocolErrorsAreReported) {
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    UniqueFd a(sv[0]), b(sv[1]);
    ASSERT_TRUE(sendMsg(a.get(), Msg::Go).ok());
    auto wrong = expectMsg(b.get(), Msg::Ready);
    ASSERT_FALSE(wrong.ok());
    EXPECT_NE(wrong.error().message().find("unexpected"), std::string::npos);
    // a truncated header, then EOF
    ASSERT_EQ(write(a.get(), "ab", 2), 2);
    a.reset();
    auto dead = recvMsg(b.get());
    ASSERT_FALSE(dead.ok());
    EXPECT_NE(dead.error().message().find("exited"), std::string::npos);
}

// After Ready the parent reads until the child closes the socket: EOF between messages is the
// end of the set-up, not an error; an Error message before it still is.
TEST(Sync, CleanEofIsNoMessage) {
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    UniqueFd a(sv[0]), b(sv[1]);
    ASSERT_TRUE(sendError(a.get(), Error(EPERM, "set process capabilities")).ok());
    a.reset();
    auto m = recvMsgOrEof(b.get());
    ASSERT_TRUE(m.ok());
    ASSERT_TRUE(m->has_value());
    EXPECT_EQ((*m)->type, Msg::Error);
    EXPECT_EQ((*m)->err, EPERM);
    auto eof = recvMsgOrEof(b.get());
    ASSERT_TRUE(eof.ok());
    EXPECT_FALSE(eof->has_value());
}

// The detached mounts of the MountFds messages: more than one SCM_RIGHTS message holds, in
// order, and the Go that follows is read as its own message.
TEST(Sync, FdsTravelInOrderInChunksBeforeTheNextMessage) {
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    UniqueFd a(sv[0]), b(sv[1]);
    std::vector<UniqueFd> pipes;
    std::vector<int> sent;
    for (int i = 0; i < 150; ++i) {  // 300 fds: two messages
        int p[2];
        ASSERT_EQ(pipe(p), 0);
        pipes.emplace_back(p[0]);
        pipes.emplace_back(p[1]);
        sent.push_back(p[0]);
        sent.push_back(p[1]);
    }
    ASSERT_TRUE(sendFdsMsg(a.get(), Msg::MountFds, sent).ok());
    ASSERT_TRUE(sendMsg(a.get(), Msg::Go).ok());
    auto got = recvFdsMsg(b.get(), Msg::MountFds, sent.size());
    ASSERT_TRUE(got.ok()) << got.error().what();
    ASSERT_EQ(got->size(), sent.size());
    // Same open file as the one sent at that position: write on a received write end and read
    // on the sent read end.
    ASSERT_EQ(write((*got)[1].get(), "k", 1), 1);
    char c = 0;
    ASSERT_EQ(read(sent[0], &c, 1), 1);
    EXPECT_EQ(c, 'k');
    ASSERT_EQ(write((*got)[299].get(), "z", 1), 1);
    ASSERT_EQ(read(sent[298], &c, 1), 1);
    EXPECT_EQ(c, 'z');
    EXPECT_TRUE(expectMsg(b.get(), Msg::Go).ok());
    // Nothing to receive for zero; a plain message where fds are expected is an error.
    EXPECT_TRUE(recvFdsMsg(b.get(), Msg::MountFds, 0).ok());
    ASSERT_TRUE(sendMsg(a.get(), Msg::Go).ok());
    EXPECT_FALSE(recvFdsMsg(b.get(), Msg::MountFds, 1).ok());
}

// A child that dies with a parent's message unread resets the connection (ECONNRESET on the
// parent's read, EPIPE on its next send): both read as the process's exit, not as a socket error.
TEST(Sync, PeerThatDiesWithUnreadDataIsAnExitNotASocketError) {
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    UniqueFd a(sv[0]), b(sv[1]);
    ASSERT_TRUE(sendMsg(a.get(), Msg::CgroupJoined).ok());  // never read by b
    b.reset();
    auto dead = recvMsg(a.get());
    ASSERT_FALSE(dead.ok());
    EXPECT_EQ(dead.error().message(), "the container process exited during set-up");
    auto sent = sendMsg(a.get(), Msg::Go);
    ASSERT_FALSE(sent.ok());
    EXPECT_EQ(sent.error().message(), "the container process exited during set-up");
}
