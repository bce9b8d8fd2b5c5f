// The happy path of runtime::spec::parse: every modelled field lands with the right value, unknown
// fields are ignored, null counts as absent, and the accepted-with-a-warning inputs.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <limits>

#include "runtime/spec/names.hpp"
#include "runtime/spec/spec.hpp"
#include "tests/unit/spec/fixtures.hpp"

using namespace berth;
using nlohmann::json;

namespace {

runtime::spec::Spec parseOk(const std::string& text) {
    auto r = runtime::spec::parse(text);
    if (!r.ok()) ADD_FAILURE() << r.error().what();
    return r.ok() ? std::move(r).value() : runtime::spec::Spec{};
}

json fullJson() {
    return json::parse(runtime::spec::testing::kFullConfig);
}

}  // namespace

TEST(SpecParse, FullConfigProcess) {
    runtime::spec::Spec s = parseOk(runtime::spec::testing::kFullConfig);
    EXPECT_EQ(s.ociVersion, "1.2.0");
    ASSERT_TRUE(s.process.has_value());
    const runtime::spec::Process& p = *s.process;
    EXPECT_FALSE(p.terminal);
    ASSERT_TRUE(p.consoleSize);
    EXPECT_EQ(p.consoleSize->height, 24u);
    EXPECT_EQ(p.consoleSize->width, 80u);
    EXPECT_EQ(p.user.uid, 1000u);
    EXPECT_EQ(p.user.gid, 1001u);
    EXPECT_EQ(p.user.umask, std::optional<uint32_t>(18));
    EXPECT_EQ(p.user.additionalGids, (std::vector<uint32_t>{5, 100}));
    EXPECT_EQ(p.user.username, "alice");
    EXPECT_EQ(p.args, (std::vector<std::string>{"/bin/sh", "-c", "echo hi"}));
    EXPECT_EQ(p.env, (std::vector<std::string>{"PATH=/usr/bin:/bin", "TERM=xterm", "EMPTY="}));
    EXPECT_EQ(p.cwd, "/srv");
    ASSERT_TRUE(p.capabilities);
    EXPECT_EQ(p.capabilities->bounding, (std::vector<std::string>{"CAP_KILL", "CAP_CHOWN"}));
    EXPECT_EQ(p.capabilities->effective, (std::vector<std::string>{"CAP_KILL"}));
    EXPECT_TRUE(p.capabilities->inheritable.empty());
    EXPECT_EQ(p.capabilities->ambient, (std::vector<std::string>{"CAP_KILL"}));
    ASSERT_EQ(p.rlimits.size(), 2u);
    EXPECT_EQ(p.rlimits[0].type, "RLIMIT_NOFILE");
    EXPECT_EQ(p.rlimits[0].hard, std::numeric_limits<uint64_t>::max());
    EXPECT_EQ(p.rlimits[0].soft, 1024u);
    EXPECT_EQ(p.rlimits[1].type, "RLIMIT_CORE");
    EXPECT_TRUE(p.noNewPrivileges);
    EXPECT_EQ(p.apparmorProfile, "berth-default");
    EXPECT_EQ(p.oomScoreAdj, std::optional<int>(-500));
    ASSERT_TRUE(p.ioPriority);
    EXPECT_EQ(p.ioPriority->ioClass, "IOPRIO_CLASS_BE");
    EXPECT_EQ(p.ioPriority->priority, 4);
    ASSERT_TRUE(p.scheduler);
    EXPECT_EQ(p.scheduler->policy, "SCHED_FIFO");
    EXPECT_EQ(p.scheduler->priority, 10);
    EXPECT_EQ(p.scheduler->flags, (std::vector<std::string>{"SCHED_FLAG_RESET_ON_FORK"}));
    EXPECT_TRUE(p.warnings.empty());
    EXPECT_TRUE(s.warnings.empty());
}

TEST(SpecParse, FullConfigTopLevel) {
    runtime::spec::Spec s = parseOk(runtime::spec::testing::kFullConfig);
    EXPECT_EQ(s.root.path, "rootfs");  // parse() leaves it as written; loadFromBundle resolves
    EXPECT_TRUE(s.root.readonly);
    EXPECT_EQ(s.hostname, "box");
    EXPECT_EQ(s.domainname, "example.org");
    ASSERT_EQ(s.mounts.size(), 2u);
    EXPECT_EQ(s.mounts[0].destination, "/proc");
    EXPECT_EQ(s.mounts[0].type, "proc");
    EXPECT_TRUE(s.mounts[0].options.empty());
    EXPECT_EQ(s.mounts[1].source, "/srv/data");
    EXPECT_EQ(s.mounts[1].options, (std::vector<std::string>{"rbind", "ro"}));
    ASSERT_EQ(s.hooks.prestart.size(), 1u);
    EXPECT_EQ(s.hooks.prestart[0].path, "/usr/bin/hook");
    EXPECT_EQ(s.hooks.prestart[0].args, (std::vector<std::string>{"hook", "prestart"}));
    EXPECT_EQ(s.hooks.prestart[0].env, (std::vector<std::string>{"A=1"}));
    EXPECT_EQ(s.hooks.prestart[0].timeout, std::optional<int>(5));
    ASSERT_EQ(s.hooks.createRuntime.size(), 2u);
    EXPECT_EQ(s.hooks.createRuntime[1].path, "/usr/bin/other");
    EXPECT_FALSE(s.hooks.createRuntime[1].timeout);
    EXPECT_TRUE(s.hooks.createContainer.empty());
    ASSERT_EQ(s.hooks.poststop.size(), 1u);
    EXPECT_FALSE(s.hooks.empty());
    EXPECT_EQ(s.annotations.at("org.example.key"), "value");
    EXPECT_EQ(s.annotations.at("empty"), "");
}

TEST(SpecParse, FullConfigLinux) {
    runtime::spec::Spec s = parseOk(runtime::spec::testing::kFullConfig);
    ASSERT_TRUE(s.linux);
    const runtime::spec::Linux& l = *s.linux;
    ASSERT_EQ(l.namespaces.size(), 8u);
    EXPECT_EQ(l.namespaces[1].type, "network");
    EXPECT_EQ(l.namespaces[1].path, "/var/run/netns/test");
    ASSERT_NE(l.findNamespace("time"), nullptr);
    EXPECT_TRUE(l.findNamespace("time")->path.empty());
    ASSERT_EQ(l.uidMappings.size(), 1u);
    EXPECT_EQ(l.uidMappings[0].hostID, 100000u);
    EXPECT_EQ(l.uidMappings[0].size, 65536u);
    EXPECT_EQ(l.gidMappings[0].hostID, 200000u);
    ASSERT_EQ(l.timeOffsets.size(), 2u);
    EXPECT_EQ(l.timeOffsets.at("monotonic").secs, -3600);
    EXPECT_EQ(l.timeOffsets.at("boottime").secs, 86400);
    EXPECT_EQ(l.timeOffsets.at("boottime").nanosecs, 500u);
    ASSERT_EQ(l.devices.size(), 2u);
    EXPECT_EQ(l.devices[0].type, "c");
    EXPECT_EQ(l.devices[0].major, 10);
    EXPECT_EQ(l.devices[0].minor, 229);
    EXPECT_EQ(l.devices[0].fileMode, std::optional<uint32_t>(0666));
    EXPECT_EQ(l.devices[0].uid, std::optional<uint32_t>(0));
    EXPECT_EQ(l.devices[1].type, "p");
    EXPECT_FALSE(l.devices[1].fileMode);
    EXPECT_EQ(l.cgroupsPath, "/berth/test");
    EXPECT_EQ(l.resources["memory"]["limit"], 536870912);
    EXPECT_EQ(l.seccomp["defaultAction"], "SCMP_ACT_ALLOW");
    EXPECT_EQ(l.personality["domain"], "LINUX");
    EXPECT_EQ(l.intelRdt["closID"], "guaranteed_group");
    EXPECT_EQ(l.rootfsPropagation, "rslave");
    EXPECT_EQ(l.sysctl.size(), 4u);
    EXPECT_EQ(l.sysctl.at("net.ipv4.ip_forward"), "1");
    EXPECT_EQ(l.maskedPaths, (std::vector<std::string>{"/proc/kcore"}));
    EXPECT_EQ(l.readonlyPaths, (std::vector<std::string>{"/proc/sys"}));
}

TEST(SpecParse, MinimalConfigHasDefaults) {
    runtime::spec::Spec s = parseOk(R"({"ociVersion": "1.0.0", "root": {"path": "/r"}})");
    EXPECT_FALSE(s.process);
    EXPECT_FALSE(s.linux);
    EXPECT_FALSE(s.root.readonly);
    EXPECT_TRUE(s.mounts.empty());
    EXPECT_TRUE(s.hooks.empty());
}

TEST(SpecParse, ProcessDefaultsWhenOptionalFieldsAreAbsent) {
    runtime::spec::Spec s = parseOk(
        R"({"ociVersion": "1.0.0", "root": {"path": "r"},
            "process": {"args": ["/bin/true"], "cwd": "/"}})");
    ASSERT_TRUE(s.process);
    EXPECT_EQ(s.process->user.uid, 0u);  // runc takes a missing user as root, like Go's zero
    EXPECT_FALSE(s.process->user.umask);
    EXPECT_FALSE(s.process->capabilities);
    EXPECT_FALSE(s.process->oomScoreAdj);
    EXPECT_FALSE(s.process->consoleSize);
}

TEST(SpecParse, AcceptsEverySupportedVersion) {
    for (const char* v :
         {"1.0.0", "1.0.1", "1.0.2-dev", "1.1.0", "1.1.0-rc.1", "1.2.0", "1.2.1", "1.3.0"}) {
        json j = fullJson();
        j["ociVersion"] = v;
        auto r = runtime::spec::parse(j.dump());
        EXPECT_TRUE(r.ok()) << v << ": " << (r.ok() ? "" : r.error().what());
        if (r.ok()) {
            EXPECT_EQ(r->ociVersion, v);
        }
    }
}

TEST(SpecParse, UnknownFieldsAreIgnoredEverywhere) {
    json j = fullJson();
    j["vm"] = {{"hypervisor", {{"path", "/usr/bin/qemu"}}}};
    j["process"]["futureKnob"] = 7;
    j["process"]["user"]["sid"] = "S-1";
    j["root"]["snapshot"] = true;
    j["mounts"][0]["uidMappingsV2"] = json::array();
    j["hooks"]["preDestroy"] = json::array({{{"path", "relative/is/not/checked"}}});
    j["hooks"]["prestart"][0]["priority"] = 1;
    j["linux"]["netDevices"] = {{"eth0", json::object()}};
    j["linux"]["namespaces"][0]["flags"] = "x";
    j["linux"]["devices"][0]["unknown"] = nullptr;
    j["windows"] = {{"layerFolders", json::array()}};
    runtime::spec::Spec plain = parseOk(runtime::spec::testing::kFullConfig);
    runtime::spec::Spec extra = parseOk(j.dump());
    EXPECT_EQ(extra.process->args, plain.process->args);
    EXPECT_EQ(extra.mounts.size(), plain.mounts.size());
    EXPECT_EQ(runtime::spec::hooksToJson(extra.hooks), runtime::spec::hooksToJson(plain.hooks));
    EXPECT_EQ(extra.linux->namespaces.size(), plain.linux->namespaces.size());
    EXPECT_TRUE(extra.warnings.empty());
}

TEST(SpecParse, NullMeansAbsent) {
    json j = fullJson();
    j["process"] = nullptr;
    j["hooks"] = nullptr;
    j["linux"]["resources"] = nullptr;
    j["linux"]["seccomp"] = nullptr;
    j["linux"]["devices"] = nullptr;
    runtime::spec::Spec s = parseOk(j.dump());
    EXPECT_FALSE(s.process);
    EXPECT_TRUE(s.hooks.empty());
    EXPECT_TRUE(s.linux->resources.is_null());
    EXPECT_TRUE(s.linux->seccomp.is_null());
    EXPECT_TRUE(s.linux->devices.empty());
}

TEST(SpecParse, RawSectionsAreNullWhenAbsent) {
    runtime::spec::Spec s = parseOk(R"({"ociVersion": "1.2.0", "root": {"path": "r"}, "linux": {}})");
    ASSERT_TRUE(s.linux);
    EXPECT_TRUE(s.linux->resources.is_null());
    EXPECT_TRUE(s.linux->seccomp.is_null());
    EXPECT_TRUE(s.linux->personality.is_null());
    EXPECT_TRUE(s.linux->intelRdt.is_null());
}

TEST(SpecParse, UnknownCapabilitiesAreDroppedWithAWarning) {
    json j = fullJson();
    j["process"]["capabilities"]["bounding"] = {"CAP_KILL", "CAP_TELEPORT", "cap_chown"};
    runtime::spec::Spec s = parseOk(j.dump());
    EXPECT_EQ(s.process->capabilities->bounding, (std::vector<std::string>{"CAP_KILL"}));
    ASSERT_EQ(s.warnings.size(), 2u);
    EXPECT_EQ(s.warnings[0],
              "config.json: process.capabilities.bounding[1]: ignoring unknown capability "
              "\"CAP_TELEPORT\"");
    EXPECT_EQ(s.warnings[1],
              "config.json: process.capabilities.bounding[2]: ignoring unknown capability "
              "\"cap_chown\"");
    EXPECT_EQ(s.process->warnings, s.warnings);
}

TEST(SpecParse, RelativeMountDestinationIsTakenFromRootWithAWarning) {
    json j = fullJson();
    j["mounts"][1]["destination"] = "data/x";
    runtime::spec::Spec s = parseOk(j.dump());
    EXPECT_EQ(s.mounts[1].destination, "/data/x");
    ASSERT_EQ(s.warnings.size(), 1u);
    EXPECT_EQ(s.warnings[0],
              "config.json: mounts[1].destination: relative destination \"data/x\" is "
              "deprecated; using it relative to /");
}

TEST(SpecParse, MountIdMappingsAreKept) {
    json j = fullJson();
    j["mounts"][1]["uidMappings"] = {{{"containerID", 0}, {"hostID", 1000}, {"size", 1}}};
    j["mounts"][1]["gidMappings"] = {{{"containerID", 1}, {"hostID", 2000}, {"size", 10}}};
    runtime::spec::Spec s = parseOk(j.dump());
    ASSERT_EQ(s.mounts[1].uidMappings.size(), 1u);
    EXPECT_EQ(s.mounts[1].uidMappings[0].hostID, 1000u);
    EXPECT_EQ(s.mounts[1].uidMappings[0].size, 1u);
    ASSERT_EQ(s.mounts[1].gidMappings.size(), 1u);
    EXPECT_EQ(s.mounts[1].gidMappings[0].containerID, 1u);
    EXPECT_EQ(s.mounts[1].gidMappings[0].hostID, 2000u);
    EXPECT_EQ(s.mounts[1].gidMappings[0].size, 10u);
}

TEST(SpecParse, JoinedUserNamespaceNeedsNoMappings) {
    json j = fullJson();
    j["linux"].erase("uidMappings");
    j["linux"].erase("gidMappings");
    j["linux"]["namespaces"][5]["path"] = "/proc/1234/ns/user";
    runtime::spec::Spec s = parseOk(j.dump());
    EXPECT_TRUE(s.linux->uidMappings.empty());
    // containerd and CRI-O repeat the mappings next to the path; runc tolerates that.
    parseOk(fullJson().dump());
    json both = fullJson();
    both["linux"]["namespaces"][5]["path"] = "/proc/1234/ns/user";
    parseOk(both.dump());
}

TEST(SpecParse, SysctlWithSlashSeparatorsIsJudgedByItsDottedName) {
    json j = fullJson();
    j["linux"]["sysctl"] = {{"net/ipv4/conf/eth0.100/rp_filter", "1"}, {"kernel/shmmni", "64"}};
    runtime::spec::Spec s = parseOk(j.dump());
    EXPECT_EQ(s.linux->sysctl.count("net/ipv4/conf/eth0.100/rp_filter"), 1u);
}

TEST(SpecParse, DeviceNumbersAndNegativeTimeOffsets) {
    json j = fullJson();
    j["linux"]["devices"][0]["major"] = -1;  // int64 in the spec: a wildcard in cgroup rules
    j["linux"]["timeOffsets"]["monotonic"]["secs"] = -9223372036854775807LL;
    runtime::spec::Spec s = parseOk(j.dump());
    EXPECT_EQ(s.linux->devices[0].major, -1);
    EXPECT_EQ(s.linux->timeOffsets.at("monotonic").secs, -9223372036854775807LL);
}

TEST(SpecNames, TablesMatchTheKernelNumbers) {
    EXPECT_EQ(runtime::spec::capabilityNumber("CAP_CHOWN"), 0);
    EXPECT_EQ(runtime::spec::capabilityNumber("CAP_SYS_ADMIN"), 21);
    EXPECT_EQ(runtime::spec::capabilityNumber("CAP_CHECKPOINT_RESTORE"), 40);
    EXPECT_FALSE(runtime::spec::capabilityNumber("CAP_SYS_ADMIN "));
    EXPECT_EQ(runtime::spec::rlimitResource("RLIMIT_NOFILE"), RLIMIT_NOFILE);
    EXPECT_EQ(runtime::spec::rlimitResource("RLIMIT_RTTIME"), RLIMIT_RTTIME);
    EXPECT_FALSE(runtime::spec::rlimitResource("RLIMIT_NOPE"));
    EXPECT_EQ(runtime::spec::schedulerPolicy("SCHED_DEADLINE"), 6);
    EXPECT_EQ(runtime::spec::schedulerFlag("SCHED_FLAG_RESET_ON_FORK"), 1u);
    EXPECT_EQ(runtime::spec::ioPriorityClass("IOPRIO_CLASS_IDLE"), 3);
}
