#include <gtest/gtest.h>
#include <signal.h>

#include "runtime/runtime.hpp"

using berth::runtime::parseSignal;

TEST(Signals, NamesNumbersAndPrefixes) {
    EXPECT_EQ(*parseSignal("KILL"), SIGKILL);
    EXPECT_EQ(*parseSignal("SIGKILL"), SIGKILL);
    EXPECT_EQ(*parseSignal("sigterm"), SIGTERM);
    EXPECT_EQ(*parseSignal("9"), 9);
    EXPECT_EQ(*parseSignal("0"), 0);  // a liveness probe, as runc and kill(1)
    EXPECT_EQ(*parseSignal("15"), SIGTERM);
    EXPECT_EQ(*parseSignal("HUP"), SIGHUP);
    EXPECT_EQ(*parseSignal("SIGUSR1"), SIGUSR1);
    EXPECT_EQ(*parseSignal("WINCH"), SIGWINCH);
    EXPECT_EQ(*parseSignal("RTMIN"), SIGRTMIN);
    EXPECT_EQ(*parseSignal("SIGRTMIN+3"), SIGRTMIN + 3);
    EXPECT_EQ(*parseSignal("RTMAX-1"), SIGRTMAX - 1);
}

TEST(Signals, BadInputIsRefusedWithTheInputNamed) {
    for (std::string s : {"", "65", "99999", "FOO", "SIG", "-9", "9x", "RTMIN+99", "RTMIN+"}) {
        auto r = parseSignal(s);
        ASSERT_FALSE(r.ok()) << s;
        EXPECT_NE(r.error().message().find("invalid signal"), std::string::npos) << s;
    }
}
