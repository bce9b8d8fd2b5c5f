// Every kind of malformed config.json is refused with one line naming the JSON path: each case
// breaks one thing in an otherwise valid config and pins the exact message.
#include <gtest/gtest.h>

#include <ostream>

#include "runtime/spec/spec.hpp"
#include "tests/unit/spec/fixtures.hpp"

using namespace berth;
using nlohmann::json;

namespace {

struct BadCase {
    const char* pointer;  // JSON pointer into the full config
    const char* value;    // JSON text to put there; nullptr erases the member
    const char* error;    // the whole expected message
};

void PrintTo(const BadCase& c, std::ostream* os) {
    *os << c.pointer << " = " << (c.value ? c.value : "<erased>");
}

json applyCase(const BadCase& c) {
    json j = json::parse(runtime::spec::testing::kFullConfig);
    json::json_pointer ptr(c.pointer);
    if (c.value) {
        j[ptr] = json::parse(c.value);
    } else {
        json& parent = j[ptr.parent_pointer()];
        if (parent.is_array())
            parent.erase(std::stoul(ptr.back()));
        else
            parent.erase(ptr.back());
    }
    return j;
}

class SpecErrors : public ::testing::TestWithParam<BadCase> {};

TEST_P(SpecErrors, RefusedWithOneLineNamingThePath) {
    const BadCase& c = GetParam();
    auto r = runtime::spec::parse(applyCase(c).dump());
    ASSERT_FALSE(r.ok()) << "accepted";
    EXPECT_EQ(r.error().what(), c.error);
    EXPECT_EQ(r.error().what().find('\n'), std::string::npos);
}

const BadCase kTopLevel[] = {
    {"/ociVersion", nullptr, "config.json: ociVersion: is required"},
    {"/ociVersion", "1", "config.json: ociVersion: must be a string, got 1"},
    {"/ociVersion", "\"\"", "config.json: ociVersion: must not be empty"},
    {"/ociVersion", "\"2.0.0\"",
     "config.json: ociVersion: unsupported version \"2.0.0\" (berth supports 1.0 to 1.2)"},
    {"/ociVersion", "\"0.6.0\"",
     "config.json: ociVersion: unsupported version \"0.6.0\" (berth supports 1.0 to 1.2)"},
    {"/ociVersion", "\"latest\"",
     "config.json: ociVersion: invalid version \"latest\" (expected MAJOR.MINOR.PATCH)"},
    {"/ociVersion", "\"1\"",
     "config.json: ociVersion: invalid version \"1\" (expected MAJOR.MINOR.PATCH)"},
    {"/root", nullptr, "config.json: root: is required"},
    {"/root", "\"rootfs\"", "config.json: root: must be an object, got \"rootfs\""},
    {"/root/path", nullptr, "config.json: root.path: is required"},
    {"/root/path", "\"\"", "config.json: root.path: must not be empty"},
    {"/root/path", "[\"a\"]", "config.json: root.path: must be a string, got an array"},
    {"/root/readonly", "\"yes\"", "config.json: root.readonly: must be a boolean, got \"yes\""},
    {"/hostname", "5", "config.json: hostname: must be a string, got 5"},
    {"/domainname", "false", "config.json: domainname: must be a string, got false"},
    {"/annotations", "[]",
     "config.json: annotations: must be an object of string values, got an array"},
    {"/annotations/org.example.key", "1",
     "config.json: annotations[\"org.example.key\"]: must be a string, got 1"},
    {"/mounts", "{}", "config.json: mounts: must be an array, got an object"},
    {"/mounts/0", "\"/proc\"", "config.json: mounts[0]: must be an object, got \"/proc\""},
    {"/mounts/1/destination", nullptr, "config.json: mounts[1].destination: is required"},
    {"/mounts/1/destination", "\"\"", "config.json: mounts[1].destination: must not be empty"},
    {"/mounts/1/type", "7", "config.json: mounts[1].type: must be a string, got 7"},
    {"/mounts/1/options", "[1]", "config.json: mounts[1].options[0]: must be a string, got 1"},
    {"/mounts/1/uidMappings", "[{\"containerID\": 0, \"hostID\": 1}]",
     "config.json: mounts[1].uidMappings[0].size: is required"},
    {"/hooks", "[]", "config.json: hooks: must be an object, got an array"},
    {"/hooks/createRuntime", "{}",
     "config.json: hooks.createRuntime: must be an array, got an object"},
    {"/hooks/prestart/0/path", "\"hook\"",
     "config.json: hooks.prestart[0].path: must be an absolute path, got \"hook\""},
    {"/hooks/poststop/0/path", nullptr, "config.json: hooks.poststop[0].path: is required"},
    {"/hooks/prestart/0/timeout", "0",
     "config.json: hooks.prestart[0].timeout: must be greater than zero, got 0"},
    {"/hooks/prestart/0/timeout", "1.5",
     "config.json: hooks.prestart[0].timeout: must be a 32-bit integer, got 1.5"},
    {"/hooks/prestart/0/args", "\"hook\"",
     "config.json: hooks.prestart[0].args: must be an array of strings, got \"hook\""},
};

const BadCase kProcess[] = {
    {"/process", "[]", "config.json: process: must be an object, got an array"},
    {"/process/args", nullptr, "config.json: process.args: must be a non-empty array of strings"},
    {"/process/args", "[]", "config.json: process.args: must be a non-empty array of strings"},
    {"/process/args", "\"sh\"", "config.json: process.args: must be a non-empty array of strings"},
    {"/process/args", "[\"sh\", 1]", "config.json: process.args[1]: must be a string, got 1"},
    {"/process/args/0", "\"\"", "config.json: process.args[0]: must not be empty"},
    {"/process/cwd", nullptr, "config.json: process.cwd: is required"},
    {"/process/cwd", "\"srv\"", "config.json: process.cwd: must be an absolute path, got \"srv\""},
    {"/process/env", "{}", "config.json: process.env: must be an array of strings, got an object"},
    {"/process/env/1", "\"NOEQUALS\"",
     "config.json: process.env[1]: must be NAME=VALUE, got \"NOEQUALS\""},
    {"/process/env/0", "\"=x\"", "config.json: process.env[0]: variable name must not be empty"},
    {"/process/env/0", "\"A=\\u0000\"", "config.json: process.env[0]: must not contain a NUL byte"},
    {"/process/terminal", "1", "config.json: process.terminal: must be a boolean, got 1"},
    {"/process/user", "0", "config.json: process.user: must be an object, got 0"},
    {"/process/user/uid", "-1",
     "config.json: process.user.uid: must be an unsigned 32-bit integer, got -1"},
    {"/process/user/gid", "4294967296",
     "config.json: process.user.gid: must be an unsigned 32-bit integer, got 4294967296"},
    {"/process/user/uid", "1.5",
     "config.json: process.user.uid: must be an unsigned 32-bit integer, got 1.5"},
    {"/process/user/uid", "\"0\"",
     "config.json: process.user.uid: must be an unsigned 32-bit integer, got \"0\""},
    {"/process/user/additionalGids/1", "\"x\"",
     "config.json: process.user.additionalGids[1]: must be an unsigned 32-bit integer, got \"x\""},
    {"/process/user/umask", "4095",
     "config.json: process.user.umask: must be at most 0777 (511), got 4095"},
    {"/process/user/umask", "-2",
     "config.json: process.user.umask: must be an unsigned 32-bit integer, got -2"},
    {"/process/capabilities", "[]",
     "config.json: process.capabilities: must be an object, got an array"},
    {"/process/capabilities/bounding", "\"CAP_KILL\"",
     "config.json: process.capabilities.bounding: must be an array of strings, got \"CAP_KILL\""},
    {"/process/capabilities/ambient/0", "21",
     "config.json: process.capabilities.ambient[0]: must be a string, got 21"},
    {"/process/rlimits", "{}", "config.json: process.rlimits: must be an array, got an object"},
    {"/process/rlimits/0/type", "\"RLIMIT_FOO\"",
     "config.json: process.rlimits[0].type: unknown rlimit type \"RLIMIT_FOO\""},
    {"/process/rlimits/0/type", "\"NOFILE\"",
     "config.json: process.rlimits[0].type: unknown rlimit type \"NOFILE\""},
    {"/process/rlimits/0/type", nullptr, "config.json: process.rlimits[0].type: is required"},
    {"/process/rlimits/1/type", "\"RLIMIT_NOFILE\"",
     "config.json: process.rlimits[1].type: duplicate rlimit type \"RLIMIT_NOFILE\""},
    {"/process/rlimits/1/hard", "-1",
     "config.json: process.rlimits[1].hard: must be an unsigned 64-bit integer, got -1"},
    {"/process/rlimits/0/hard", "18446744073709551616",
     "config.json: process.rlimits[0].hard: must be an unsigned 64-bit integer, got "
     "1.8446744073709552e+19"},
    {"/process/rlimits/0/soft", nullptr, "config.json: process.rlimits[0].soft: is required"},
    {"/process/rlimits/1/soft", "5",
     "config.json: process.rlimits[1]: soft limit 5 exceeds hard limit 0"},
    {"/process/oomScoreAdj", "1001",
     "config.json: process.oomScoreAdj: must be from -1000 to 1000, got 1001"},
    {"/process/oomScoreAdj", "\"1\"",
     "config.json: process.oomScoreAdj: must be a 32-bit integer, got \"1\""},
    {"/process/noNewPrivileges", "\"true\"",
     "config.json: process.noNewPrivileges: must be a boolean, got \"true\""},
    {"/process/consoleSize/width", nullptr, "config.json: process.consoleSize.width: is required"},
    {"/process/ioPriority/class", "\"IOPRIO_CLASS_X\"",
     "config.json: process.ioPriority.class: unknown class \"IOPRIO_CLASS_X\" (expected "
     "IOPRIO_CLASS_RT, IOPRIO_CLASS_BE or IOPRIO_CLASS_IDLE)"},
    {"/process/ioPriority/priority", "8",
     "config.json: process.ioPriority.priority: must be from 0 to 7, got 8"},
    {"/process/scheduler/policy", "\"SCHED_WHATEVER\"",
     "config.json: process.scheduler.policy: unknown scheduler policy \"SCHED_WHATEVER\""},
    {"/process/scheduler/policy", "\"SCHED_OTHER\"",
     "config.json: process.scheduler.priority: only SCHED_FIFO and SCHED_RR take a priority"},
    {"/process/scheduler/nice", "20",
     "config.json: process.scheduler.nice: must be from -20 to 19, got 20"},
    {"/process/scheduler/flags/0", "\"SCHED_FLAG_X\"",
     "config.json: process.scheduler.flags[0]: unknown scheduler flag \"SCHED_FLAG_X\""},
    {"/process/scheduler/runtime", "5",
     "config.json: process.scheduler: runtime, deadline and period are only for SCHED_DEADLINE"},
};

const BadCase kLinux[] = {
    {"/linux", "\"x\"", "config.json: linux: must be an object, got \"x\""},
    {"/linux/namespaces", "{}", "config.json: linux.namespaces: must be an array, got an object"},
    {"/linux/namespaces/0", "\"pid\"",
     "config.json: linux.namespaces[0]: must be an object, got \"pid\""},
    {"/linux/namespaces/2/type", "\"foo\"",
     "config.json: linux.namespaces[2].type: unknown namespace type \"foo\""},
    {"/linux/namespaces/2/type", nullptr, "config.json: linux.namespaces[2].type: is required"},
    {"/linux/namespaces/3/type", "\"pid\"",
     "config.json: linux.namespaces[3].type: duplicate namespace type \"pid\""},
    {"/linux/namespaces/1/path", "\"netns/x\"",
     "config.json: linux.namespaces[1].path: must be an absolute path, got \"netns/x\""},
    {"/linux/uidMappings/0/size", "0",
     "config.json: linux.uidMappings[0].size: must be greater than zero"},
    {"/linux/uidMappings/0/hostID", "-5",
     "config.json: linux.uidMappings[0].hostID: must be an unsigned 32-bit integer, got -5"},
    {"/linux/uidMappings/0/containerID", nullptr,
     "config.json: linux.uidMappings[0].containerID: is required"},
    {"/linux/gidMappings", "{}", "config.json: linux.gidMappings: must be an array, got an object"},
    {"/linux/devices/0/type", "\"x\"",
     "config.json: linux.devices[0].type: unknown device type \"x\" (expected c, b, u or p)"},
    {"/linux/devices/0/path", "\"dev/fuse\"",
     "config.json: linux.devices[0].path: must be an absolute path, got \"dev/fuse\""},
    {"/linux/devices/0/path", nullptr, "config.json: linux.devices[0].path: is required"},
    {"/linux/devices/0/major", nullptr, "config.json: linux.devices[0].major: is required"},
    {"/linux/devices/0/fileMode", "-1",
     "config.json: linux.devices[0].fileMode: must be an unsigned 32-bit integer, got -1"},
    {"/linux/devices/1/minor", "\"1\"",
     "config.json: linux.devices[1].minor: must be a 64-bit integer, got \"1\""},
    {"/linux/timeOffsets", "[]", "config.json: linux.timeOffsets: must be an object, got an array"},
    {"/linux/timeOffsets/realtime", "{\"secs\": 1}",
     "config.json: linux.timeOffsets.realtime: unknown clock \"realtime\" (expected monotonic or "
     "boottime)"},
    {"/linux/timeOffsets/boottime/nanosecs", "1000000000",
     "config.json: linux.timeOffsets.boottime.nanosecs: must be less than 1000000000, got "
     "1000000000"},
    {"/linux/timeOffsets/monotonic/secs", "\"1\"",
     "config.json: linux.timeOffsets.monotonic.secs: must be a 64-bit integer, got \"1\""},
    {"/linux/sysctl", "[]",
     "config.json: linux.sysctl: must be an object of string values, got an array"},
    {"/linux/sysctl/kernel.shmmax", "4096",
     "config.json: linux.sysctl[\"kernel.shmmax\"]: must be a string, got 4096"},
    {"/linux/resources", "[]", "config.json: linux.resources: must be an object, got an array"},
    {"/linux/seccomp", "\"x\"", "config.json: linux.seccomp: must be an object, got \"x\""},
    {"/linux/personality", "1", "config.json: linux.personality: must be an object, got 1"},
    {"/linux/intelRdt", "true", "config.json: linux.intelRdt: must be an object, got true"},
    {"/linux/rootfsPropagation", "\"weird\"",
     "config.json: linux.rootfsPropagation: unknown propagation \"weird\""},
    {"/linux/cgroupsPath", "1", "config.json: linux.cgroupsPath: must be a string, got 1"},
    {"/linux/maskedPaths", "\"x\"",
     "config.json: linux.maskedPaths: must be an array of strings, got \"x\""},
};

// Cross-field checks after runc's validator: erase a namespace the config's settings need.
const BadCase kCrossField[] = {
    {"/linux/namespaces/3", nullptr,
     "config.json: hostname: setting the hostname requires a uts namespace"},
    {"/linux/namespaces/5", nullptr,
     "config.json: linux.uidMappings: id mappings require a user namespace"},
    {"/linux/uidMappings", nullptr,
     "config.json: linux.namespaces[5]: a new user namespace requires linux.uidMappings"},
    {"/linux/gidMappings", nullptr,
     "config.json: linux.namespaces[5]: a new user namespace requires linux.gidMappings"},
    {"/linux/namespaces/7", nullptr,
     "config.json: linux.timeOffsets: time offsets require a time namespace"},
    {"/linux/namespaces/4", nullptr,
     "config.json: linux.maskedPaths: masking paths requires a mount namespace"},
    {"/linux/namespaces/2", nullptr,
     "config.json: linux.sysctl[\"fs.mqueue.msg_max\"]: not allowed without an ipc namespace"},
    {"/linux/namespaces/1", nullptr,
     "config.json: linux.sysctl[\"net.ipv4.ip_forward\"]: not allowed without a network "
     "namespace"},
    {"/linux/sysctl/kernel.hostname", "\"x\"",
     "config.json: linux.sysctl[\"kernel.hostname\"]: conflicts with the \"hostname\" field; "
     "set that instead"},
    {"/linux/sysctl/vm.swappiness", "\"10\"",
     "config.json: linux.sysctl[\"vm.swappiness\"]: not in a namespace of the container, so it "
     "would change the host"},
};

INSTANTIATE_TEST_SUITE_P(TopLevel, SpecErrors, ::testing::ValuesIn(kTopLevel));
INSTANTIATE_TEST_SUITE_P(Process, SpecErrors, ::testing::ValuesIn(kProcess));
INSTANTIATE_TEST_SUITE_P(Linux, SpecErrors, ::testing::ValuesIn(kLinux));
INSTANTIATE_TEST_SUITE_P(CrossField, SpecErrors, ::testing::ValuesIn(kCrossField));

std::string parseError(const std::string& text) {
    auto r = runtime::spec::parse(text);
    return r.ok() ? "<accepted>" : r.error().what();
}

}  // namespace

TEST(SpecErrorsText, MalformedJsonNamesThePosition) {
    std::string trailing = parseError("{\"ociVersion\": \"1.0.0\",}");
    EXPECT_EQ(trailing,
              "config.json: invalid JSON: syntax error while parsing object key - unexpected '}'; "
              "expected string literal (line 1, column 24)");
    std::string multiLine = parseError("{\n  \"ociVersion\": \"1.0.0\",\n  \"root\": {path}\n}");
    EXPECT_EQ(multiLine.rfind("config.json: invalid JSON: ", 0), 0u) << multiLine;
    EXPECT_NE(multiLine.find("(line 3, column "), std::string::npos) << multiLine;
    EXPECT_EQ(multiLine.find('\n'), std::string::npos);
    std::string empty = parseError("");
    EXPECT_EQ(empty,
              "config.json: invalid JSON: syntax error while parsing value - unexpected end of "
              "input; expected '[', '{', or a literal (line 1, column 1)");
    std::string cut = parseError("{\"ociVersion\": \"1.0");
    EXPECT_EQ(cut.rfind("config.json: invalid JSON: ", 0), 0u) << cut;
    EXPECT_EQ(cut.find('\n'), std::string::npos);
}

TEST(SpecErrorsText, TopLevelMustBeAnObject) {
    EXPECT_EQ(parseError("[]"), "config.json: must be a JSON object, got an array");
    EXPECT_EQ(parseError("null"), "config.json: must be a JSON object, got null");
}

TEST(SpecErrorsText, WhatNamesTheSource) {
    auto r = runtime::spec::parse("{}", "/run/bundle/config.json");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().what(), "/run/bundle/config.json: ociVersion: is required");
}

TEST(SpecErrorsText, DomainnameNeedsUts) {
    EXPECT_EQ(parseError(R"({"ociVersion": "1.2.0", "root": {"path": "r"}, "domainname": "d"})"),
              "config.json: domainname: setting the domainname requires a uts namespace");
    EXPECT_EQ(parseError(R"({"ociVersion": "1.2.0", "root": {"path": "r"}, "hostname": "h",
                             "linux": {"namespaces": [{"type": "pid"}]}})"),
              "config.json: hostname: setting the hostname requires a uts namespace");
}

TEST(SpecErrorsText, NewUserNamespaceWithoutAnyMappings) {
    EXPECT_EQ(parseError(R"({"ociVersion": "1.2.0", "root": {"path": "r"},
                             "linux": {"namespaces": [{"type": "user"}]}})"),
              "config.json: linux.namespaces[0]: a new user namespace requires "
              "linux.uidMappings and linux.gidMappings");
}

// Without a mount namespace the container shares the runtime's: what would mount there (or make
// device nodes in the rootfs) is refused, one setting at a time; with none of it the config is
// accepted (the spec: an absent namespace type is inherited).
TEST(SpecErrorsText, NoMountNamespaceRefusesWhatWouldMountOnTheHost) {
    json j = json::parse(runtime::spec::testing::kFullConfig);
    auto& nss = j["linux"]["namespaces"];
    for (size_t i = 0; i < nss.size(); i++)
        if (nss[i]["type"] == "mount") nss.erase(i--);
    j["linux"].erase("maskedPaths");
    j["linux"].erase("readonlyPaths");
    const char* why = " (without one they would change the host's)";
    EXPECT_EQ(parseError(j.dump()), strCat("config.json: mounts: mounts require a mount namespace", why));
    j.erase("mounts");
    EXPECT_EQ(parseError(j.dump()),
              strCat("config.json: root.readonly: a read-only rootfs requires a mount namespace", why));
    j["root"]["readonly"] = false;
    EXPECT_EQ(parseError(j.dump()),
              strCat("config.json: linux.rootfsPropagation: rootfs propagation requires a mount namespace", why));
    j["linux"].erase("rootfsPropagation");
    EXPECT_EQ(parseError(j.dump()),
              strCat("config.json: linux.devices: creating devices requires a mount namespace", why));
    j["linux"]["devices"] = json::array();
    j["mounts"] = json::array();
    j["linux"]["maskedPaths"] = json::array();
    EXPECT_EQ(parseError(j.dump()), "<accepted>");
}

TEST(SpecErrorsText, DeepNestingIsOneLine) {
    std::string deep = std::string(100000, '[') + std::string(100000, ']');
    EXPECT_EQ(parseError("{\"ociVersion\": \"1.0.0\", \"x\": " + deep + "}"),
              "config.json: JSON nested deeper than 512 levels");
    EXPECT_EQ(parseError(std::string(100000, '{')), "config.json: JSON nested deeper than 512 levels");
    auto process = runtime::spec::parseProcess("{\"args\": " + deep + "}", "process.json");
    ASSERT_FALSE(process.ok());
    EXPECT_EQ(process.error().what(), "process.json: JSON nested deeper than 512 levels");
}
