// The host TSC rate the guest kernel is told (vm/host_tsc): the guest's clock is its TSC scaled
// by that number, so a wrong one makes the guest's time run fast or slow.
#include "vm/host_tsc.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include "vm/wire/boot_config.hpp"

using namespace berth::vm;

TEST(HostTsc, Leaf15NeedsAllThreeFields) {
    // 24 MHz crystal × 216/2 = 2592 MHz.
    EXPECT_EQ(tsc_detail::khzFromLeaf15(2, 216, 24000000), 2592000u);
    EXPECT_EQ(tsc_detail::khzFromLeaf15(0, 216, 24000000), 0u);
    EXPECT_EQ(tsc_detail::khzFromLeaf15(2, 0, 24000000), 0u);
    EXPECT_EQ(tsc_detail::khzFromLeaf15(2, 216, 0), 0u);  // crystal not enumerated
}

TEST(HostTsc, CacheIsOnlyThisBootsAndPlausible) {
    EXPECT_EQ(tsc_detail::khzFromCache("abc 2596132\n", "abc"), 2596132u);
    EXPECT_FALSE(tsc_detail::khzFromCache("abc 2596132\n", "other-boot"));
    EXPECT_FALSE(tsc_detail::khzFromCache("abc 12\n", "abc"));
    EXPECT_FALSE(tsc_detail::khzFromCache("abc\n", "abc"));
    EXPECT_FALSE(tsc_detail::khzFromCache("", ""));
}

TEST(HostTsc, ThisHostHasARate) {
    auto dir = ::testing::TempDir() + "/host-tsc-test";
    TscRate r = hostTscKhz(dir);
    EXPECT_TRUE(tsc_detail::plausibleKhz(r.khz)) << r.khz;
    EXPECT_STRNE(r.source, "");
    std::filesystem::remove_all(dir);
}

TEST(HostTsc, CommandLineCarriesTheRate) {
    wire::CmdlineOptions o;
    EXPECT_NE(wire::kernelCmdline(o).find(" tsc_early_khz=2000000 "), std::string::npos);  // unknown: the old fallback
    o.tscKhz = 2596132;
    EXPECT_NE(wire::kernelCmdline(o).find(" tsc_early_khz=2596132 "), std::string::npos);
}
