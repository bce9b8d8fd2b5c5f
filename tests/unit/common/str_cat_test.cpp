// strCat appends strings, characters and integers itself and streams everything else: the text
// must be what `std::ostream <<` prints for every kind of argument.
#include <gtest/gtest.h>

#include <sys/types.h>

#include <climits>
#include <ios>
#include <cstdint>
#include <filesystem>
#include <sstream>
#include <string>
#include <string_view>

#include "common/error.hpp"

using berth::strCat;

namespace {

template <typename... Args>
std::string streamed(const Args&... args) {
    std::ostringstream out;
    (out << ... << args);
    return out.str();
}

enum Plain { kZero, kOne };

TEST(StrCat, SameTextAsAStreamForEveryKind) {
    std::string s = "str";
    std::string_view v = "view";
    const char* p = "ptr";
    char buf[] = "buf";
    EXPECT_EQ(strCat("lit ", s, ' ', v, p, buf), streamed("lit ", s, ' ', v, p, buf));
    EXPECT_EQ(strCat(0, -1, INT_MIN, INT_MAX, LLONG_MIN, ULLONG_MAX, (pid_t)42, (uid_t)65534, (size_t)7),
              streamed(0, -1, INT_MIN, INT_MAX, LLONG_MIN, ULLONG_MAX, (pid_t)42, (uid_t)65534, (size_t)7));
    EXPECT_EQ(strCat((short)-3, (unsigned short)65535, (long)-9, 5u), streamed((short)-3, (unsigned short)65535, (long)-9, 5u));
    EXPECT_EQ(strCat('x', (signed char)'y', (unsigned char)'z', (int8_t)'a', (uint8_t)'b'),
              streamed('x', (signed char)'y', (unsigned char)'z', (int8_t)'a', (uint8_t)'b'));
    EXPECT_EQ(strCat(true, false), "10");
    EXPECT_EQ(strCat(true, false), streamed(true, false));
    EXPECT_EQ(strCat(1.5, " ", 0.1, " ", 1e20), streamed(1.5, " ", 0.1, " ", 1e20));
    EXPECT_EQ(strCat(kOne, kZero), streamed(kOne, kZero));
    std::filesystem::path path("/a b/c");
    EXPECT_EQ(strCat(path), streamed(path));  // quoted, as the stream prints a path
    EXPECT_EQ(strCat(), "");
}

TEST(StrCat, ManipulatorsApplyToWhatFollows) {
    EXPECT_EQ(strCat("0x", std::hex, 255, " ", 1099511627776ULL), "0xff 10000000000");
    EXPECT_EQ(strCat("mode 0", std::oct, 0700), "mode 0700");
    EXPECT_EQ(strCat(std::hex, 255, "/", std::dec, 255), "ff/255");
}

TEST(StrCat, NullCharPointerPrintsNothing) {
    const char* none = nullptr;
    EXPECT_EQ(strCat("a", none, "b"), "ab");
}

TEST(StrCat, ErrorsCarryTheText) {
    errno = ENOENT;
    auto e = berth::Error::fromErrno("open ", std::string("/x"), " fd ", 3);
    EXPECT_EQ(e.message(), "open /x fd 3");
    EXPECT_EQ(e.err(), ENOENT);
    e.context("step ", 2);
    EXPECT_EQ(e.message(), "step 2: open /x fd 3");
}

}  // namespace
