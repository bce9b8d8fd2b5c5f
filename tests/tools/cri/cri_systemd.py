#!/usr/bin/python3
"""The systemd cgroup driver through CRI (tests/e2e/systemd.bats): a containerd whose handlers have
`SystemdCgroup = true` runs inside the systemd container of that file (systemd as PID 1, its own
cgroup namespace); this client, on the host, reaches it through a socket in a directory both see
and drives a pod per handler as a kubelet with `cgroupDriver: systemd` does: the pod's cgroup
parent is a slice (kubepods-besteffort-pod<uid>.slice), the containers' cgroupsPath
"SLICE:cri-containerd:ID", a transient scope cri-containerd-ID.scope each. What lives in the
systemd container's namespaces (PIDs, units, cgroups) is read there through --inside.

  cri_systemd.py --endpoint unix:///PATH --inside 'berth --root R exec ID' HANDLER...

Prints "ok - ..." per check, "not ok - ..." and exit 1 at the first failure."""

import argparse
import json
import os
import shlex
import subprocess
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from cri_check import Failure, check, wait_for  # noqa: E402
from criclient import Client, CriError, pb  # noqa: E402

MiB = 1 << 20
IMAGE = "localhost/berth-cri/busybox:latest"


class Inside:
    """Shell commands in the systemd container."""

    def __init__(self, prefix):
        self.prefix = shlex.split(prefix)

    def __call__(self, script):
        res = subprocess.run(self.prefix + ["sh", "-c", script], capture_output=True, text=True, timeout=60,
                             stdin=subprocess.DEVNULL, check=False)
        return res.stdout.strip()

    def unit(self, unit):
        out = self(f"systemctl show -p LoadState,ActiveState,Slice,ControlGroup,MemoryLimit,CPUShares {unit}")
        return dict(x.split("=", 1) for x in out.splitlines() if "=" in x)


def container_config(name, resources):
    return pb.ContainerConfig(metadata=pb.ContainerMetadata(name=name), image=pb.ImageSpec(image=IMAGE),
                              command=["sleep", "100000"], log_path=f"{name}.log",
                              linux=pb.LinuxContainerConfig(resources=resources))


def pod_part(cli, inside, handler):
    uid = uuid.uuid4().hex
    pod_slice = f"kubepods-besteffort-pod{uid}.slice"
    cgroup = f"/kubepods.slice/kubepods-besteffort.slice/{pod_slice}"
    ns = pb.NamespaceOption(network=pb.POD, pid=pb.CONTAINER, ipc=pb.POD)
    cfg = pb.PodSandboxConfig(metadata=pb.PodSandboxMetadata(name="sd", uid=uid, namespace="berth-cri"),
                              hostname="sd", log_directory=f"/tmp/pod-logs/{uid}",
                              linux=pb.LinuxPodSandboxConfig(cgroup_parent=pod_slice, security_context=pb.
                                                             LinuxSandboxSecurityContext(namespace_options=ns)))
    pod = cli.run_pod(cfg, handler)
    units = [f"cri-containerd-{pod}.scope"]
    try:
        res = pb.LinuxContainerResources(memory_limit_in_bytes=64 * MiB, cpu_shares=256)
        ctr = cli.create(pod, container_config("app", res), cfg)
        cli.start(ctr)
        unit = f"cri-containerd-{ctr}.scope"
        units.append(unit)
        info = json.loads(cli.container_status(ctr, verbose=True).info.get("info", "{}"))
        path = info.get("runtimeSpec", {}).get("linux", {}).get("cgroupsPath")
        check(path == f"{pod_slice}:cri-containerd:{ctr}", f"{handler}: cgroupsPath is SLICE:cri-containerd:ID", path)
        props = inside.unit(unit)
        want = {"LoadState": "loaded", "ActiveState": "active", "Slice": pod_slice,
                "ControlGroup": f"{cgroup}/{unit}", "MemoryLimit": str(64 * MiB), "CPUShares": "256"}
        check(props == want, f"{handler}: the container is the transient unit {unit} in the pod's slice, "
              "its limits unit properties", props)
        sandbox = inside.unit(units[0])
        check(sandbox.get("ActiveState") == "active" and sandbox.get("Slice") == pod_slice,
              f"{handler}: the sandbox (pause) is a scope in the pod's slice too", sandbox)
        pid = info.get("pid", 0)
        got = inside(f"grep -E ':(memory|name=systemd):' /proc/{pid}/cgroup; "
                     f"cat /sys/fs/cgroup/memory{cgroup}/{unit}/memory.limit_in_bytes")
        lines = got.splitlines()
        check(len(lines) == 3 and all(x.endswith(f":{cgroup}/{unit}") for x in lines[:2]) and lines[2] == str(64 * MiB),
              f"{handler}: the container's process is in the scope's cgroups, the memory limit on the knob", got)
        cli.update(ctr, pb.LinuxContainerResources(memory_limit_in_bytes=32 * MiB, cpu_shares=256))
        props = inside.unit(unit)
        knob = inside(f"cat /sys/fs/cgroup/memory{cgroup}/{unit}/memory.limit_in_bytes")
        check(props.get("MemoryLimit") == str(32 * MiB) and knob == str(32 * MiB),
              f"{handler}: UpdateContainerResources changes the unit's MemoryLimit and the knob", (props, knob))
        out = cli.exec_sync(ctr, ["sh", "-c", "grep :memory: /proc/self/cgroup"], timeout=30).stdout.decode()
        check(out.strip().endswith(f"{cgroup}/{unit}"), f"{handler}: ExecSync's process joins the scope", out)
    finally:
        cli.stop_pod(pod)
        cli.remove_pod(pod)
    gone = wait_for("the scopes gone", lambda: all(inside.unit(u).get("LoadState") == "not-found" for u in units),
                    timeout=20)
    left = inside(f"ls -d /sys/fs/cgroup/*{cgroup}/cri-containerd-* 2>/dev/null")
    check(gone and not left, f"{handler}: StopPodSandbox + RemovePodSandbox: no scope unit or cgroup left", left)


def main(argv):
    p = argparse.ArgumentParser(prog="cri_systemd.py")
    p.add_argument("--endpoint", required=True)
    p.add_argument("--inside", required=True, help="command prefix running a command in the systemd container")
    p.add_argument("handlers", nargs="+")
    args = p.parse_args(argv)
    cli, inside = Client(args.endpoint, timeout=60), Inside(args.inside)
    try:
        for handler in args.handlers:
            pod_part(cli, inside, handler)
    except (Failure, CriError) as err:
        print(f"not ok - {err}", flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
