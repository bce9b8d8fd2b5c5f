"""What a pod puts on the host (processes, cgroups, the network namespace, mounts, the runtime's and
containerd's state dirs, the bridge port), recorded while it runs and checked gone after
StopPodSandbox + RemovePodSandbox. The pod's own cgroup (CRI_CGROUP_PARENT/pod<uid>) is removed
here, as the kubelet does: the rmdir fails if anything is left in it."""

import json
import os

from cri_check import check

CGROUP_ROOT = "/sys/fs/cgroup"


def start_time(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def own_cgroups():
    """{controller: this process's cgroup path} (v1 controllers and "" for v2)."""
    paths = {}
    with open("/proc/self/cgroup") as f:
        for line in f:
            _, ctrls, path = line.rstrip("\n").split(":", 2)
            for ctrl in ctrls.split(",") if ctrls else [""]:
                paths[ctrl.replace("name=", "")] = path
    return paths


def cgroup_dirs(path):
    """Every directory PATH (a cgroupfs cgroupsPath) may be in: under each hierarchy's root and
    under this process's own cgroup there (where runtimes nest relative paths)."""
    dirs = []
    own = own_cgroups()
    for ctrl in sorted(os.listdir(CGROUP_ROOT)):
        base = os.path.join(CGROUP_ROOT, ctrl)
        if not os.path.isdir(base) or os.path.islink(base):
            continue
        dirs.append(base + path)
        mine = own.get(ctrl, own.get("" if ctrl == "unified" else ctrl, "/"))
        if mine not in ("", "/"):
            dirs.append(base + mine + path)
    return dirs


class Footprint:
    def __init__(self, env, handler):
        self.env, self.handler = env, handler
        self.ids, self.pids, self.cgroups, self.netns = [], {}, [], ""
        self.pod_id = ""
        self.host_network = False  # a hostNetwork pod has no network namespace of its own

    def _record(self, ident, info):
        self.ids.append(ident)
        pid = info.get("pid", 0)
        if pid:
            self.pids[pid] = start_time(pid)
        spec = info.get("runtimeSpec", {}).get("linux", {})
        if spec.get("cgroupsPath"):
            self.cgroups.append(spec["cgroupsPath"])
        for ns in spec.get("namespaces", []):
            if ns.get("type") == "network" and ns.get("path"):
                self.netns = self.netns or ns["path"]
        return pid, spec.get("cgroupsPath", "")

    def add_pod(self, cli, pod_id):
        resp = cli.pod_status(pod_id, verbose=True)
        self.pod_id = pod_id
        self._record(pod_id, json.loads(resp.info.get("info", "{}")))

    def add_containers(self, cli, ids, running=True):
        """Records IDS; RUNNING ones (long-lived) also have their cgroup checked: an exiting
        task shows the root cgroup in /proc/PID/cgroup."""
        for ident in ids:
            info = json.loads(cli.container_status(ident, verbose=True).info.get("info", "{}"))
            pid, path = self._record(ident, info)
            if running and pid and path and self.pids.get(pid) is not None:
                try:
                    with open(f"/proc/{pid}/cgroup") as f:
                        mem = [x for x in f.read().splitlines() if ":memory:" in x]
                except FileNotFoundError:
                    continue  # exited already (the quitter)
                check(mem and mem[0].endswith(path), f"the container's cgroup is the one CRI asked for ({path})",
                      mem)

    def state_dirs(self, ident):
        d = self.env.dir
        return [os.path.join(self.env.runtime_root, self.handler, "k8s.io", ident),
                os.path.join(d, "state/io.containerd.runtime.v2.task/k8s.io", ident),
                os.path.join(d, "root/io.containerd.grpc.v1.cri/sandboxes", ident),
                os.path.join(d, "state/io.containerd.grpc.v1.cri/sandboxes", ident),
                os.path.join(d, "root/io.containerd.grpc.v1.cri/containers", ident),
                os.path.join(d, "state/io.containerd.grpc.v1.cri/containers", ident)]

    def check_container_gone_from_runtime(self, ident):
        left = [p for p in self.state_dirs(ident)[:2] if os.path.exists(p)]
        check(not left, "no runtime state or bundle dir is left of the failed container", left)

    def check_gone(self, cli, pod_cfg):
        alive = [p for p, t in self.pids.items() if t is not None and start_time(p) == t]
        check(not alive, f"no process of the pod is left ({len(self.pids)} were recorded)", alive)
        with open("/proc/self/mountinfo") as f:
            mounts = [x for x in f.read().splitlines()
                      if any(i in x for i in self.ids) or (self.netns and self.netns in x)]
        check(not mounts, "no mount of the pod is left (rootfs, shm, netns)", mounts)
        if not self.host_network:
            check(self.netns and not os.path.exists(self.netns), "the pod's network namespace is gone", self.netns)
        left = [p for path in self.cgroups for p in cgroup_dirs(path) if os.path.exists(p)]
        check(self.cgroups and not left, f"no cgroup of the pod's {len(self.cgroups)} is left", left)
        parent = pod_cfg.linux.cgroup_parent
        for p in cgroup_dirs(parent):
            if os.path.isdir(p):
                os.rmdir(p)  # the kubelet's part; EBUSY if anything is left inside
        check(not [p for p in cgroup_dirs(parent) if os.path.exists(p)], "the pod's cgroup parent is empty")
        left = [p for i in self.ids for p in self.state_dirs(i) if os.path.exists(p)]
        check(not left, "no state dir is left (runtime root, shim bundle, containerd's CRI dirs)", left)
        brif = f"/sys/class/net/{os.environ.get('CRI_BRIDGE', '')}/brif"
        ports = os.listdir(brif) if os.path.isdir(brif) else []
        check(not ports, "the pod's veth is gone from the bridge", ports)
        check(not cli.list_containers(self.pod_id) and not cli.list_pods(self.pod_id),
              "ListPodSandbox and ListContainers no longer show it")
