// Rootless mode's cgroup decisions (cgroups/rootless.hpp): which linux.resources count as limits a
// container without a cgroup does not get, and the manager of such a container.
#include <gtest/gtest.h>

#include "cgroups/rootless.hpp"

using namespace berth::cgroups;
using nlohmann::json;

TEST(Rootless, LimitsSetIgnoresDevicesNullAndEmpty) {
    json r = {{"devices", json::array({{{"allow", false}, {"access", "rwm"}}})},
              {"memory", {{"limit", 100}}},
              {"pids", {{"limit", 5}}},
              {"cpu", json::object()},
              {"hugepageLimits", json::array()},
              {"blockIO", nullptr}};
    EXPECT_EQ(limitsSet(r), (std::vector<std::string>{"memory", "pids"}));
    EXPECT_TRUE(limitsSet(json()).empty());
}

TEST(Rootless, NoCgroupManagerSavesAsNoneAndRefusesFreezing) {
    auto m = noCgroupManager(HostLayout{});
    EXPECT_TRUE(m->create().ok());
    EXPECT_TRUE(m->apply(json{{"memory", {{"limit", 1}}}}).ok());
    EXPECT_TRUE(m->addProcess(1).ok());
    EXPECT_EQ(m->saved().driver, kNoCgroupDriver);
    EXPECT_TRUE(m->paths().empty());
    auto f = m->freeze(true);
    ASSERT_FALSE(f.ok());
    EXPECT_NE(f.error().message().find("no cgroup"), std::string::npos);
    EXPECT_TRUE(m->destroy().ok());
}
