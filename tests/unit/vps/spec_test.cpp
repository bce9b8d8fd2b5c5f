#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/fs.hpp"
#include "runtime/spec/spec.hpp"
#include "vps/rootfs.hpp"
#include "vps/spec.hpp"

using namespace berth;
using namespace berth::vps;

namespace {

Config sampleVps() {
    Config c;
    c.name = "web1";
    c.templateName = "bb";
    c.templateDigest = "sha256:1";
    c.init = InitInfo{"/sbin/init", "busybox", "SIGUSR2"};
    c.ids = IdRange{1065536, 65536};
    c.limits.ram = 128 << 20;
    c.limits.pids = 64;
    return c;
}

}  // namespace

TEST(VpsSpec, IsASystemContainerPreset) {
    HostCaps caps{"0-1", false, false};
    auto s = buildSpec(sampleVps(), "/var/lib/berth/vps/web1/rootfs", caps, runtime::spec::defaultSpec(false));
    ASSERT_TRUE(s.ok()) << s.error().what();
    const auto& j = *s;
    EXPECT_EQ(j["process"]["args"], nlohmann::json::array({"/sbin/init"}));
    EXPECT_EQ(j["process"]["terminal"], false);
    EXPECT_EQ(j["root"]["path"], "/var/lib/berth/vps/web1/rootfs");
    EXPECT_EQ(j["root"]["readonly"], false);
    EXPECT_EQ(j["hostname"], "web1");
    EXPECT_EQ(j["linux"]["uidMappings"][0]["hostID"], 1065536);
    EXPECT_EQ(j["linux"]["uidMappings"][0]["size"], 65536);
    EXPECT_EQ(j["linux"]["gidMappings"][0]["containerID"], 0);
    std::vector<std::string> ns;
    for (const auto& n : j["linux"]["namespaces"]) ns.push_back(n["type"]);
    for (const char* want : {"pid", "network", "ipc", "uts", "mount", "user", "cgroup"})
        EXPECT_NE(std::find(ns.begin(), ns.end(), want), ns.end()) << want;
    EXPECT_EQ(j["linux"]["resources"]["memory"]["limit"], 128 << 20);
    EXPECT_EQ(j["linux"]["resources"]["pids"]["limit"], 64);
    EXPECT_EQ(j["linux"]["resources"]["devices"][0]["allow"], false);
    EXPECT_EQ(j["annotations"][kNameAnnotation], "web1");
    auto caps_ = j["process"]["capabilities"]["bounding"];
    EXPECT_NE(std::find(caps_.begin(), caps_.end(), "CAP_SYS_ADMIN"), caps_.end());
    EXPECT_EQ(std::find(caps_.begin(), caps_.end(), "CAP_SYS_MODULE"), caps_.end());
    EXPECT_FALSE(j["process"].contains("rlimits"));
    // The runtime's own parser accepts it.
    auto parsed = runtime::spec::parse(j.dump());
    EXPECT_TRUE(parsed.ok()) << parsed.error().what();
}

TEST(VpsSpec, HostnameDefaultsToTheName) {
    Config c = sampleVps();
    c.hostname = "box.example.org";
    auto s = buildSpec(c, "/r", HostCaps{}, runtime::spec::defaultSpec(false));
    EXPECT_EQ((*s)["hostname"], "box.example.org");
    EXPECT_EQ(containerId("web1"), "vps-web1");
}

namespace {

const nlohmann::json* mountAt(const nlohmann::json& spec, const std::string& dest) {
    for (const auto& m : spec["mounts"])
        if (m["destination"] == dest) return &m;
    return nullptr;
}

bool hasOption(const nlohmann::json& m, const std::string& o) {
    for (const auto& x : m["options"])
        if (x == o) return true;
    return false;
}

}  // namespace

TEST(VpsSpec, SystemdGetsItsCgroupsReadWriteAndAFreshRun) {
    Config c = sampleVps();
    c.init = InitInfo{"/sbin/init", "systemd", "SIGRTMIN+4"};
    auto s = buildSpec(c, "/r", HostCaps{}, runtime::spec::defaultSpec(false));
    ASSERT_TRUE(s.ok()) << s.error().what();
    const auto* cg = mountAt(*s, "/sys/fs/cgroup");
    ASSERT_NE(cg, nullptr);
    EXPECT_TRUE(hasOption(*cg, "rw"));
    EXPECT_FALSE(hasOption(*cg, "ro"));
    const auto* run = mountAt(*s, "/run");
    ASSERT_NE(run, nullptr);
    EXPECT_EQ((*run)["type"], "tmpfs");
    ASSERT_NE(mountAt(*s, "/run/lock"), nullptr);
    auto env = (*s)["process"]["env"];
    EXPECT_NE(std::find(env.begin(), env.end(), "container=berth"), env.end());
    EXPECT_TRUE(runtime::spec::parse(s->dump()).ok());
    // busybox init: its cgroup is writable too, /run stays the VPS's own dir.
    auto b = buildSpec(sampleVps(), "/r", HostCaps{}, runtime::spec::defaultSpec(false));
    ASSERT_TRUE(b.ok());
    EXPECT_TRUE(hasOption(*mountAt(*b, "/sys/fs/cgroup"), "rw"));
    EXPECT_EQ(mountAt(*b, "/run"), nullptr);
}

TEST(VpsInit, StopSignalByKind) {
    EXPECT_EQ(initFor("/sbin/init", "/bin/busybox").stopSignal, "SIGUSR2");
    EXPECT_EQ(initFor("/sbin/init", "/lib/systemd/systemd").stopSignal, "SIGRTMIN+4");
    EXPECT_EQ(initFor("/sbin/init", "/usr/lib/systemd/systemd").kind, "systemd");
    EXPECT_EQ(initFor("/sbin/init", "/sbin/init").stopSignal, "SIGPWR");
}

TEST(VpsInit, ResolvesThroughLayersAndSymlinks) {
    char tmpl[] = "/tmp/berth-vps-init-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    std::string root = tmpl, top = root + "/top", base = root + "/base";
    // base: merged /usr (sbin -> usr/sbin), /usr/sbin/init -> ../lib/systemd/systemd.
    ASSERT_TRUE(fs::mkdirAll(base + "/usr/sbin").ok());
    ASSERT_TRUE(fs::mkdirAll(base + "/usr/lib/systemd").ok());
    ASSERT_EQ(symlink("usr/sbin", (base + "/sbin").c_str()), 0);
    ASSERT_EQ(symlink("../lib/systemd/systemd", (base + "/usr/sbin/init").c_str()), 0);
    ASSERT_TRUE(fs::writeFileAtomic(base + "/usr/lib/systemd/systemd", "#!", 0755).ok());
    ASSERT_TRUE(fs::mkdirAll(top).ok());
    auto i = detectInit({top, base});
    ASSERT_TRUE(i.ok()) << i.error().what();
    EXPECT_EQ(i->kind, "systemd");
    EXPECT_EQ(i->stopSignal, "SIGRTMIN+4");
    // A busybox layer on top replaces it (an absolute link this time).
    ASSERT_TRUE(fs::mkdirAll(top + "/usr/sbin").ok());
    ASSERT_TRUE(fs::mkdirAll(top + "/bin").ok());
    ASSERT_TRUE(fs::writeFileAtomic(top + "/bin/busybox", "x", 0755).ok());
    ASSERT_EQ(symlink("/bin/busybox", (top + "/usr/sbin/init").c_str()), 0);
    i = detectInit({top, base});
    ASSERT_TRUE(i.ok()) << i.error().what();
    EXPECT_EQ(i->kind, "busybox");
    // No init at all.
    auto none = detectInit({top});
    ASSERT_FALSE(none.ok());
    EXPECT_NE(none.error().what().find("has no /sbin/init"), std::string::npos);
    ASSERT_TRUE(fs::removeAll(root).ok());
}

TEST(VpsRootfs, DataDirMustBeReachableByTheVpsRoot) {
    char tmpl[] = "/tmp/berth-vps-reach-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    std::string root = tmpl;
    ASSERT_EQ(chmod(root.c_str(), 0755), 0);
    // A dir that is not berth's, without o+x: one clear error, nothing changed.
    ASSERT_TRUE(fs::mkdirAll(root + "/private/data").ok());
    ASSERT_EQ(chmod((root + "/private").c_str(), 0700), 0);
    auto e = ensureReachable(root + "/private/data", root + "/store");
    ASSERT_FALSE(e.ok());
    EXPECT_NE(e.error().what().find(root + "/private is not searchable by other users (mode 0700)"), std::string::npos)
        << e.error().what();
    struct stat st;
    ASSERT_EQ(stat((root + "/private").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0700u);
    // Inside the store (the default layout): berth's own dirs get o+x, no more.
    ASSERT_TRUE(fs::mkdirAll(root + "/store/vps").ok());
    ASSERT_EQ(chmod((root + "/store").c_str(), 0700), 0);
    ASSERT_TRUE(ensureReachable(root + "/store/vps", root + "/store").ok());
    ASSERT_EQ(stat((root + "/store").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0701u);
    EXPECT_TRUE(ensureReachable(root + "/store/vps/missing", root + "/store").ok());
    ASSERT_EQ(chmod((root + "/private").c_str(), 0755), 0);
    ASSERT_TRUE(fs::removeAll(root).ok());
}
