// tests/unit/spec/fixtures: a complete, valid config.json exercising every section the parser
// models, shared by the spec tests (each mutates a copy).
#pragma once

#include <string>

namespace berth::runtime::spec::testing {

inline const std::string kFullConfig = R"({
  "ociVersion": "1.2.0",
  "process": {
    "terminal": false,
    "consoleSize": {"height": 24, "width": 80},
    "user": {"uid": 1000, "gid": 1001, "umask": 18, "additionalGids": [5, 100],
             "username": "alice"},
    "args": ["/bin/sh", "-c", "echo hi"],
    "env": ["PATH=/usr/bin:/bin", "TERM=xterm", "EMPTY="],
    "cwd": "/srv",
    "capabilities": {
      "bounding": ["CAP_KILL", "CAP_CHOWN"],
      "effective": ["CAP_KILL"],
      "inheritable": [],
      "permitted": ["CAP_KILL", "CAP_CHOWN"],
      "ambient": ["CAP_KILL"]
    },
    "rlimits": [
      {"type": "RLIMIT_NOFILE", "hard": 18446744073709551615, "soft": 1024},
      {"type": "RLIMIT_CORE", "hard": 0, "soft": 0}
    ],
    "noNewPrivileges": true,
    "apparmorProfile": "berth-default",
    "oomScoreAdj": -500,
    "selinuxLabel": "",
    "ioPriority": {"class": "IOPRIO_CLASS_BE", "priority": 4},
    "scheduler": {"policy": "SCHED_FIFO", "priority": 10, "flags": ["SCHED_FLAG_RESET_ON_FORK"]}
  },
  "root": {"path": "rootfs", "readonly": true},
  "hostname": "box",
  "domainname": "example.org",
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/data", "type": "bind", "source": "/srv/data", "options": ["rbind", "ro"]}
  ],
  "hooks": {
    "prestart": [{"path": "/usr/bin/hook", "args": ["hook", "prestart"], "env": ["A=1"],
                  "timeout": 5}],
    "createRuntime": [{"path": "/usr/bin/net-setup"}, {"path": "/usr/bin/other"}],
    "poststop": [{"path": "/bin/cleanup", "args": ["cleanup", "--all"]}]
  },
  "annotations": {"org.example.key": "value", "empty": ""},
  "linux": {
    "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}],
    "gidMappings": [{"containerID": 0, "hostID": 200000, "size": 65536}],
    "sysctl": {"net.ipv4.ip_forward": "1", "kernel.shmmax": "4096",
               "kernel.domainname": "example.org", "fs.mqueue.msg_max": "20"},
    "resources": {"memory": {"limit": 536870912}, "devices": [{"allow": false, "access": "rwm"}]},
    "cgroupsPath": "/berth/test",
    "namespaces": [
      {"type": "pid"},
      {"type": "network", "path": "/var/run/netns/test"},
      {"type": "ipc"},
      {"type": "uts"},
      {"type": "mount"},
      {"type": "user"},
      {"type": "cgroup"},
      {"type": "time"}
    ],
    "timeOffsets": {"monotonic": {"secs": -3600, "nanosecs": 0},
                    "boottime": {"secs": 86400, "nanosecs": 500}},
    "devices": [
      {"type": "c", "path": "/dev/fuse", "major": 10, "minor": 229, "fileMode": 438, "uid": 0,
       "gid": 0},
      {"type": "p", "path": "/dev/myfifo"}
    ],
    "seccomp": {"defaultAction": "SCMP_ACT_ALLOW"},
    "rootfsPropagation": "rslave",
    "maskedPaths": ["/proc/kcore"],
    "readonlyPaths": ["/proc/sys"],
    "mountLabel": "",
    "personality": {"domain": "LINUX"},
    "intelRdt": {"closID": "guaranteed_group"}
  }
})";

}  // namespace berth::runtime::spec::testing
