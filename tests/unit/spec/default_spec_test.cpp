// `berth spec` must write what `runc spec` (1.1.5) writes, byte for byte, except ociVersion;
// `--rootless` likewise. The expected documents are runc's output captured verbatim.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>

#include "common/fs.hpp"
#include "runtime/spec/spec.hpp"

using namespace berth;
using nlohmann::json;
using nlohmann::ordered_json;

namespace {

// `runc spec` output, runc 1.1.5+ds1 (Debian 12), run as root.
const std::string kRuncSpec = R"RUNC({
	"ociVersion": "1.0.2-dev",
	"process": {
		"terminal": true,
		"user": {
			"uid": 0,
			"gid": 0
		},
		"args": [
			"sh"
		],
		"env": [
			"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			"TERM=xterm"
		],
		"cwd": "/",
		"capabilities": {
			"bounding": [
				"CAP_AUDIT_WRITE",
				"CAP_KILL",
				"CAP_NET_BIND_SERVICE"
			],
			"effective": [
				"CAP_AUDIT_WRITE",
				"CAP_KILL",
				"CAP_NET_BIND_SERVICE"
			],
			"permitted": [
				"CAP_AUDIT_WRITE",
				"CAP_KILL",
				"CAP_NET_BIND_SERVICE"
			],
			"ambient": [
				"CAP_AUDIT_WRITE",
				"CAP_KILL",
				"CAP_NET_BIND_SERVICE"
			]
		},
		"rlimits": [
			{
				"type": "RLIMIT_NOFILE",
				"hard": 1024,
				"soft": 1024
			}
		],
		"noNewPrivileges": true
	},
	"root": {
		"path": "rootfs",
		"readonly": true
	},
	"hostname": "runc",
	"mounts": [
		{
			"destination": "/proc",
			"type": "proc",
			"source": "proc"
		},
		{
			"destination": "/dev",
			"type": "tmpfs",
			"source": "tmpfs",
			"options": [
				"nosuid",
				"strictatime",
				"mode=755",
				"size=65536k"
			]
		},
		{
			"destination": "/dev/pts",
			"type": "devpts",
			"source": "devpts",
			"options": [
				"nosuid",
				"noexec",
				"newinstance",
				"ptmxmode=0666",
				"mode=0620",
				"gid=5"
			]
		},
		{
			"destination": "/dev/shm",
			"type": "tmpfs",
			"source": "shm",
			"options": [
				"nosuid",
				"noexec",
				"nodev",
				"mode=1777",
				"size=65536k"
			]
		},
		{
			"destination": "/dev/mqueue",
			"type": "mqueue",
			"source": "mqueue",
			"options": [
				"nosuid",
				"noexec",
				"nodev"
			]
		},
		{
			"destination": "/sys",
			"type": "sysfs",
			"source": "sysfs",
			"options": [
				"nosuid",
				"noexec",
				"nodev",
				"ro"
			]
		},
		{
			"destination": "/sys/fs/cgroup",
			"type": "cgroup",
			"source": "cgroup",
			"options": [
				"nosuid",
				"noexec",
				"nodev",
				"relatime",
				"ro"
			]
		}
	],
	"linux": {
		"resources": {
			"devices": [
				{
					"allow": false,
					"access": "rwm"
				}
			]
		},
		"namespaces": [
			{
				"type": "pid"
			},
			{
				"type": "network"
			},
			{
				"type": "ipc"
			},
			{
				"type": "uts"
			},
			{
				"type": "mount"
			}
		],
		"maskedPaths": [
			"/proc/acpi",
			"/proc/asound",
			"/proc/kcore",
			"/proc/keys",
			"/proc/latency_stats",
			"/proc/timer_list",
			"/proc/timer_stats",
			"/proc/sched_debug",
			"/sys/firmware",
			"/proc/scsi"
		],
		"readonlyPaths": [
			"/proc/bus",
			"/proc/fs",
			"/proc/irq",
			"/proc/sys",
			"/proc/sysrq-trigger"
		]
	}
})RUNC";

// `runc spec --rootless` output, same runc, run with euid 0 and egid 0.
const std::string kRuncRootlessSpec = R"RUNC({
	"ociVersion": "1.0.2-dev",
	"process": {
		"terminal": true,
		"user": {
			"uid": 0,
			"gid": 0
		},
		"args": [
			"sh"
		],
		"env": [
			"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			"TERM=xterm"
		],
		"cwd": "/",
		"capabilities": {
			"bounding": [
				"CAP_AUDIT_WRITE",
				"CAP_KILL",
				"CAP_NET_BIND_SERVICE"
			],
			"effective": [
				"CAP_AUDIT_WRITE",
				"CAP_KILL",
				"CAP_NET_BIND_SERVICE"
			],
			"permitted": [
				"CAP_AUDIT_WRITE",
				"CAP_KILL",
				"CAP_NET_BIND_SERVICE"
			],
			"ambient": [
				"CAP_AUDIT_WRITE",
				"CAP_KILL",
				"CAP_NET_BIND_SERVICE"
			]
		},
		"rlimits": [
			{
				"type": "RLIMIT_NOFILE",
				"hard": 1024,
				"soft": 1024
			}
		],
		"noNewPrivileges": true
	},
	"root": {
		"path": "rootfs",
		"readonly": true
	},
	"hostname": "runc",
	"mounts": [
		{
			"destination": "/proc",
			"type": "proc",
			"source": "proc"
		},
		{
			"destination": "/dev",
			"type": "tmpfs",
			"source": "tmpfs",
			"options": [
				"nosuid",
				"strictatime",
				"mode=755",
				"size=65536k"
			]
		},
		{
			"destination": "/dev/pts",
			"type": "devpts",
			"source": "devpts",
			"options": [
				"nosuid",
				"noexec",
				"newinstance",
				"ptmxmode=0666",
				"mode=0620"
			]
		},
		{
			"destination": "/dev/shm",
			"type": "tmpfs",
			"source": "shm",
			"options": [
				"nosuid",
				"noexec",
				"nodev",
				"mode=1777",
				"size=65536k"
			]
		},
		{
			"destination": "/dev/mqueue",
			"type": "mqueue",
			"source": "mqueue",
			"options": [
				"nosuid",
				"noexec",
				"nodev"
			]
		},
		{
			"destination": "/sys",
			"type": "none",
			"source": "/sys",
			"options": [
				"rbind",
				"nosuid",
				"noexec",
				"nodev",
				"ro"
			]
		},
		{
			"destination": "/sys/fs/cgroup",
			"type": "cgroup",
			"source": "cgroup",
			"options": [
				"nosuid",
				"noexec",
				"nodev",
				"relatime",
				"ro"
			]
		}
	],
	"linux": {
		"uidMappings": [
			{
				"containerID": 0,
				"hostID": 0,
				"size": 1
			}
		],
		"gidMappings": [
			{
				"containerID": 0,
				"hostID": 0,
				"size": 1
			}
		],
		"namespaces": [
			{
				"type": "pid"
			},
			{
				"type": "ipc"
			},
			{
				"type": "uts"
			},
			{
				"type": "mount"
			},
			{
				"type": "user"
			}
		],
		"maskedPaths": [
			"/proc/acpi",
			"/proc/asound",
			"/proc/kcore",
			"/proc/keys",
			"/proc/latency_stats",
			"/proc/timer_list",
			"/proc/timer_stats",
			"/proc/sched_debug",
			"/sys/firmware",
			"/proc/scsi"
		],
		"readonlyPaths": [
			"/proc/bus",
			"/proc/fs",
			"/proc/irq",
			"/proc/sys",
			"/proc/sysrq-trigger"
		]
	}
})RUNC";

// What berth must write: runc's document with berth's ociVersion and the caller's ids mapped.
std::string expectedText(const std::string& runc, bool rootless) {
    ordered_json j = ordered_json::parse(runc);
    j["ociVersion"] = runtime::spec::kSpecVersion;
    if (rootless) {
        j["linux"]["uidMappings"][0]["hostID"] = ::geteuid();
        j["linux"]["gidMappings"][0]["hostID"] = ::getegid();
    }
    return j.dump(1, '\t');
}

}  // namespace

TEST(DefaultSpec, DumpFormatIsRuncs) {
    // Re-serialising runc's own bytes reproduces them: tab indent, ": ", no trailing newline.
    EXPECT_EQ(ordered_json::parse(kRuncSpec).dump(1, '\t'), kRuncSpec);
    EXPECT_EQ(ordered_json::parse(kRuncRootlessSpec).dump(1, '\t'), kRuncRootlessSpec);
}

TEST(DefaultSpec, MatchesRuncSpec) {
    EXPECT_EQ(runtime::spec::defaultSpecText(false), expectedText(kRuncSpec, false));
    EXPECT_EQ(runtime::spec::defaultSpec(false), json::parse(expectedText(kRuncSpec, false)));
    EXPECT_EQ(runtime::spec::defaultSpec(false)["ociVersion"], "1.2.0");
}

TEST(DefaultSpec, MatchesRuncSpecRootless) {
    EXPECT_EQ(runtime::spec::defaultSpecText(true), expectedText(kRuncRootlessSpec, true));
    json j = runtime::spec::defaultSpec(true);
    EXPECT_EQ(j, json::parse(expectedText(kRuncRootlessSpec, true)));
    EXPECT_FALSE(j["linux"].contains("resources"));
    EXPECT_EQ(j["linux"]["namespaces"].back()["type"], "user");
}

TEST(DefaultSpec, KeyByKeyAgainstRunc) {
    // A failing byte comparison above is hard to read; this names the first differing key.
    for (bool rootless : {false, true}) {
        json want = json::parse(expectedText(rootless ? kRuncRootlessSpec : kRuncSpec, rootless));
        json got = runtime::spec::defaultSpec(rootless);
        json diff = json::diff(want, got);
        EXPECT_TRUE(diff.empty()) << (rootless ? "rootless: " : "") << diff.dump();
    }
}

TEST(DefaultSpec, BothDefaultsPassOurOwnValidation) {
    for (bool rootless : {false, true}) {
        auto r = runtime::spec::parse(runtime::spec::defaultSpecText(rootless));
        ASSERT_TRUE(r.ok()) << r.error().what();
        EXPECT_TRUE(r->warnings.empty());
        EXPECT_EQ(r->process->args, (std::vector<std::string>{"sh"}));
        EXPECT_EQ(r->linux->findNamespace("user") != nullptr, rootless);
        EXPECT_EQ(r->linux->findNamespace("network") != nullptr, !rootless);
    }
}

// The live runc on this host, when there is one: guards against the captured literal drifting
// from what the installed runc writes.
TEST(DefaultSpec, MatchesInstalledRunc) {
    for (bool rootless : {false, true}) {
        char tmpl[] = "/tmp/berth-runc-spec-XXXXXX";
        ASSERT_NE(::mkdtemp(tmpl), nullptr);
        std::string dir = tmpl;
        std::string cmd =
            "cd '" + dir + "' && runc spec" + (rootless ? " --rootless" : "") + " >/dev/null 2>&1";
        int rc = std::system(cmd.c_str());
        auto text = fs::readFile(dir + "/config.json");
        ASSERT_TRUE(fs::removeAll(dir).ok());
        if (rc != 0 || !text.ok()) GTEST_SKIP() << "runc is not installed or failed to run";
        if (json::parse(*text).value("ociVersion", "") != "1.0.2-dev")
            GTEST_SKIP() << "installed runc is not 1.1.x";
        EXPECT_EQ(runtime::spec::defaultSpecText(rootless), expectedText(*text, rootless));
    }
}
