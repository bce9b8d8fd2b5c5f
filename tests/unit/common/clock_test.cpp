// rfc3339Now: the state record's "created" time, UTC with nanoseconds, as runc writes it.
#include "common/clock.hpp"

#include <gtest/gtest.h>
#include <time.h>

#include <cstdlib>
#include <regex>

using namespace berth;

TEST(Clock, Rfc3339NowIsUtcWithNanoseconds) {
    time_t before = ::time(nullptr);
    std::string s = rfc3339Now();
    time_t after = ::time(nullptr);
    ASSERT_TRUE(std::regex_match(s, std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z)"))) << s;
    struct tm tm {};
    ASSERT_NE(::strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm), nullptr) << s;
    time_t parsed = ::timegm(&tm);
    EXPECT_GE(parsed, before);
    EXPECT_LE(parsed, after);
}

// No zone is looked up: the conversion is the calendar's, whatever TZ says.
TEST(Clock, Rfc3339NowIgnoresTheZone) {
    ::setenv("TZ", "Asia/Kolkata", 1);
    ::tzset();
    std::string s = rfc3339Now();
    ::unsetenv("TZ");
    ::tzset();
    struct tm tm {};
    ASSERT_NE(::strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm), nullptr) << s;
    EXPECT_LE(std::abs(::timegm(&tm) - ::time(nullptr)), 2) << s;
}
