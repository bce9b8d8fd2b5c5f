#include <gtest/gtest.h>

#include "common/command.hpp"

using namespace berth;

TEST(Command, ReturnsStdoutAndFeedsStdin) {
    auto out = runCommand({"sh", "-c", "tr a-z A-Z; echo done >&2"}, "hello\n");
    ASSERT_TRUE(out.ok()) << out.error().what();
    EXPECT_EQ(*out, "HELLO\n");
}

TEST(Command, FailureNamesTheToolAndItsReason) {
    // The last stderr line is the reason (mkfs, nft), unless an "error" line comes first (ps).
    auto last = runCommand({"sh", "-c", "echo warming up >&2; echo disk too small >&2; exit 1"});
    ASSERT_FALSE(last.ok());
    EXPECT_EQ(last.error().what(), "sh failed: disk too small");
    auto first = runCommand({"sh", "-c", "echo 'error: bad format' >&2; echo usage... >&2; exit 1"});
    ASSERT_FALSE(first.ok());
    EXPECT_EQ(first.error().what(), "sh failed: error: bad format");
    // Stdout stands in for an empty stderr.
    auto quiet = runCommand({"sh", "-c", "echo only stdout; exit 3"});
    ASSERT_FALSE(quiet.ok());
    EXPECT_EQ(quiet.error().what(), "sh failed: only stdout");
}

TEST(Command, StatusesUpToMaxOkPass) {
    EXPECT_TRUE(runCommand({"sh", "-c", "exit 2"}, "", 2).ok());
    EXPECT_FALSE(runCommand({"sh", "-c", "exit 3"}, "", 2).ok());
    EXPECT_FALSE(runCommand({"sh", "-c", "kill -9 $$"}).ok());
}

TEST(Command, AMissingToolIsAnError) {
    auto r = runCommand({"berth-no-such-tool-xyz"});
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().what().find("berth-no-such-tool-xyz"), std::string::npos);
}

TEST(Command, AToolThatIgnoresItsInputDoesNotHang) {
    // stdin is a memfd, not a pipe: no SIGPIPE, no deadlock on a large input.
    std::string big(1 << 20, 'x');
    EXPECT_TRUE(runCommand({"true"}, big).ok());
}
