#include <gtest/gtest.h>

#include "common/units.hpp"

using namespace berth;

TEST(Units, BytesWithBinaryUnits) {
    EXPECT_EQ(*units::parseBytes("1024"), 1024);
    EXPECT_EQ(*units::parseBytes("64m"), 64LL << 20);
    EXPECT_EQ(*units::parseBytes("64M"), 64LL << 20);
    EXPECT_EQ(*units::parseBytes("1g"), 1LL << 30);
    EXPECT_EQ(*units::parseBytes("1.5GiB"), 3LL << 29);
    EXPECT_EQ(*units::parseBytes("512kb"), 512LL << 10);
    EXPECT_EQ(*units::parseBytes("-1"), -1);
    for (const char* bad : {"", "m", "12x", "1.2.3m", "-5", "abc", "99999999999t"})
        EXPECT_FALSE(units::parseBytes(bad).ok()) << bad;
}

TEST(Units, GoDurations) {
    using namespace std::chrono;
    EXPECT_EQ(*units::parseDuration("5s"), seconds(5));
    EXPECT_EQ(*units::parseDuration("250ms"), milliseconds(250));
    EXPECT_EQ(*units::parseDuration("1m30s"), seconds(90));
    EXPECT_EQ(*units::parseDuration("1.5s"), milliseconds(1500));
    EXPECT_EQ(*units::parseDuration("0"), nanoseconds(0));
    for (const char* bad : {"", "5", "s", "5x", "-1s", "1s2"})
        EXPECT_FALSE(units::parseDuration(bad).ok()) << bad;
}
