"""The pod scenario's checks of what kubectl and the kubelet ask beyond the basic calls: Exec and
Attach streams opened as kubectl opens them (cri_stream.py, and `cri.py exec --stream`), an exec
probe past its timeout, the kubelet's log rotation (ReopenContainerLog), ListContainers/
ListPodSandbox filters, ListContainerStats, ImageStatus of a missing image, memory+swap and
cpuset mems, hugepage limits. They run on the scenario's pod, with one more container of their
own: `console`, an interactive shell on a tty with stdin open (kubectl run -it)."""

import json
import os
import re
import subprocess
import sys

from cri_check import check, ok, wait_for
from cri_stream import PROTOCOL, Stream, exit_code
from criclient import pb

MiB = 1 << 20
HUGEPAGE_LIMIT = 4 * MiB
# What containerd 1.6 logs, for every container it creates, where it finds no hugetlb controller
# (and drops hugepage_limits: tolerate_missing_hugetlb_controller).
HUGETLB_SKIPPED = "hugetlb cgroup controller is absent. skipping huge pages limits"


def check_kubectl(cli, env, pod_id, pod_cfg, fp, web):
    """Runs every check of this module on the running pod; WEB is its root container."""
    import cri_scenario as sc  # the scenario imports this module: the helpers are read at run time

    check_exec_streams(cli, web)
    check_cli_stream(web)
    check_probe_timeout(cli, web)
    handler = cli.pod_status(pod_id).status.runtime_handler
    cfg = sc.container_config(env, "console", ["sh"], pb.LinuxContainerResources(
        memory_limit_in_bytes=64 * MiB, memory_swap_limit_in_bytes=128 * MiB, cpuset_cpus="0", cpuset_mems="0",
        hugepage_limits=[pb.HugepageLimit(page_size="2MB", limit=HUGEPAGE_LIMIT)]))
    cfg.tty, cfg.stdin = True, True
    # CAP_SYS_ADMIN (the kubelet's name for it): the keyring check unmasks /proc/keys, which
    # containerd masks, in the console
    cfg.linux.security_context.capabilities.add_capabilities.append("SYS_ADMIN")
    console = sc.run_container(cli, pod_id, pod_cfg, cfg)
    fp.add_containers(cli, [console])
    wait_for("console running", lambda: sc.state_of(cli, console) == pb.CONTAINER_RUNNING)
    check_attach_and_log_rotation(cli, os.path.join(pod_cfg.log_directory, "console/0.log"), console)
    check_hugepages(cli, env, console)
    check_swap_and_mems(cli, console, handler)
    check_filters(cli, pod_id, web, console)
    stats = {st.attributes.id: st for st in cli.list_stats(pod_id)}
    check(web in stats and console in stats and all(stats[c].memory.working_set_bytes.value > 0 for c in (web, console)),
          "ListContainerStats of the pod: its running containers, with memory in use", sorted(stats))
    check_keyrings(cli, web, console, handler)
    img = cli.image_status("localhost/berth-cri/no-such-image:latest")
    check(not img.id, "ImageStatus of a missing image: no image and no error (the kubelet then pulls)", img)


def check_exec_streams(cli, ctr):
    """kubectl exec: stdout and stderr apart with the exit status; stdin; a tty with a resize."""
    url = cli.exec_url(ctr, ["sh", "-c", "echo to-stdout; echo to-stderr >&2; exit 7"])
    check(url.startswith("http://127.0.0.1:"), "Exec returns a streaming URL on loopback", url)
    with Stream(url) as s:
        out, err, status = s.wait()
        proto = s.protocol
    check(proto == PROTOCOL and (out, err) == ("to-stdout\n", "to-stderr\n") and status.get("status") == "Failure"
          and status.get("reason") == "NonZeroExitCode" and exit_code(status) == 7,
          f"Exec stream ({PROTOCOL}): stdout, stderr apart; exit 7 as Failure, NonZeroExitCode, cause ExitCode 7",
          (proto, out, err, status))

    with Stream(cli.exec_url(ctr, ["sh", "-c", "read line; echo got:$line"], stdin=True)) as s:
        s.send("from-stdin\n")
        out, err, status = s.wait()
    check(out == "got:from-stdin\n" and err == "" and status.get("status") == "Success",
          "Exec stream: stdin reaches the process; exit 0 as Success", (out, err, status))

    # The resize travels apart from stdin (channel 4 -> the shim's pty): wait for it to land.
    script = ("read x; i=0; while [ \"$(stty size)\" != '33 77' ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done; "
              "tty; stty size; echo got:$x")
    with Stream(cli.exec_url(ctr, ["sh", "-c", script], stdin=True, tty=True)) as s:
        s.resize(77, 33)
        s.send("over-tty\n")
        out, err, status = s.wait()
    lines = out.replace("\r", "").splitlines()
    check(any(re.fullmatch(r"/dev/pts/\d+", x) for x in lines) and "33 77" in lines and "got:over-tty" in lines
          and status.get("status") == "Success", "Exec stream with a tty: a pty, the resize (77x33), stdin",
          (out, status))


def check_cli_stream(ctr):
    """The client's own kubectl-exec: cri.py exec --stream -i."""
    client = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cri.py")
    res = subprocess.run([sys.executable, client, "exec", "--stream", "-i", ctr, "sh", "-c",
                          "read l; echo out:$l; echo err:$l >&2; exit 4"], input=b"typed\n", capture_output=True,
                         timeout=60, check=False)
    check((res.returncode, res.stdout, res.stderr) == (4, b"out:typed\n", b"err:typed\n"),
          "cri.py exec --stream -i: stdin in, stdout and stderr out, the exit code", res)


def check_probe_timeout(cli, ctr):
    """An exec probe that outlives its timeout (the kubelet's ExecSync with timeout_seconds): the call
    fails naming the timeout, and the probe's process does not stay behind in the container."""
    import time

    from criclient import CriError

    t0 = time.monotonic()
    try:
        cli.exec_sync(ctr, ["sh", "-c", "exec sleep 4711"], timeout=1)
        err = None
    except CriError as e:
        err = e
    took = time.monotonic() - t0
    check(err is not None and "timeout" in err.details, "ExecSync past its timeout: an error naming the timeout",
          err and err.details)
    left = wait_for("the probe's process gone", lambda: (lambda out: out if "4711" not in out else None)(
        cli.exec_sync(ctr, ["ps", "-o", "args"], timeout=10).stdout.decode()), timeout=20)
    check("4711" not in left, f"the timed-out probe's process is killed (the call returned after {took:.1f} s)", left)


def check_keyrings(cli, web, console, handler):
    """Each container's process has a session keyring of its own, _ses.ID, as runc makes it: the
    kernel's keyrings are not namespaced. Seen from inside: the console unmasks /proc/keys
    (CAP_SYS_ADMIN) and sees its own and web's (root's keyrings are visible to root); an exec
    joins the container's keyring. On the node too, where the kernel is the node's (not berth-vm's)."""
    import cri_scenario as sc

    out, _, _ = sc.exec_sync(cli, console, "umount /proc/keys; cat /proc/keys")
    check(f"_ses.{web}" in out and f"_ses.{console}" in out,
          "each container has a session keyring of its own (_ses.ID, as runc makes it), seen in the container",
          out)
    if handler != "berth-vm":  # a VM's containers have the guest kernel's keyrings
        with open("/proc/keys") as f:
            keys = f.read()
        check(f"_ses.{web}" in keys and f"_ses.{console}" in keys,
              "... and in the node's /proc/keys: the node's keyrings are not namespaced")


def check_swap_and_mems(cli, ctr, handler):
    """memory_swap_limit_in_bytes (containerd passes it where memory.memsw.* exists) and cpuset_mems."""
    import cri_scenario as sc

    memsw = os.path.exists("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes")
    if handler == "berth-vm":
        # A VM's limits are its guest cgroup's (cgroup2): memory.swap.max is the swap beyond the
        # memory limit, memsw less the limit (docs/cgroups.md).
        out, _, _ = sc.exec_sync(cli, ctr, "cd /sys/fs/cgroup && cat memory.max memory.swap.max cpuset.cpus cpuset.mems")
        want = [str(64 * MiB), str(64 * MiB) if memsw else "max", "0", "0"]
        check(out.split() == want, "memory + swap limit (memory.swap.max) and cpuset mems reach the container's "
              "guest cgroup", out)
        return
    pid = sc.verbose_info(cli.container_status(ctr, verbose=True)).get("pid", 0)
    knobs = sc.cgroup_knobs(pid, {"memory": ["memory.limit_in_bytes", "memory.memsw.limit_in_bytes"],
                                  "cpuset": ["cpuset.cpus", "cpuset.mems"]})
    want = {"memory.limit_in_bytes": str(64 * MiB), "cpuset.cpus": "0", "cpuset.mems": "0"}
    if memsw:
        want["memory.memsw.limit_in_bytes"] = str(128 * MiB)
    check(knobs == want, "memory + swap limit (memory.memsw) and cpuset mems reach the container's cgroups", knobs)


def check_attach_and_log_rotation(cli, log, console):
    """kubectl attach -it to the running shell; meanwhile the kubelet rotates its log: rename,
    ReopenContainerLog, and what follows lands in a new file."""
    with Stream(cli.attach_url(console, stdin=True, tty=True)) as s:
        s.send("echo attached-$((6*7))\n")
        s.read_until("attached-42")
        ok("Attach stream with a tty: stdin reaches the container's shell, its output comes back")
        wait_for("attached-42 in the CRI log", lambda: any(x.endswith("attached-42\r") or x.endswith("attached-42")
                                                           for x in read_lines(log)))
        rotated = log + ".20261206-120000"
        os.rename(log, rotated)
        cli.reopen_log(console)
        s.send("echo rotated-$((7*7))\n")
        s.read_until("rotated-49")
    new = wait_for("rotated-49 in the new log", lambda: (lambda ls: ls if any("rotated-49" in x for x in ls)
                                                         else None)(read_lines(log)))
    old = read_lines(rotated)
    check(any("attached-42" in x for x in old) and not any("rotated-49" in x for x in old)
          and not any("attached-42" in x for x in new), "ReopenContainerLog: after a rename, new output goes to a "
          "new log file, the old one keeps what came before", (old, new))


def read_lines(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read().splitlines()
    except FileNotFoundError:
        return []


def unified_cgroup_file(pid, knob):
    """KNOB in PID's cgroup2 directory (/sys/fs/cgroup/unified on a hybrid host)."""
    with open(f"/proc/{pid}/cgroup") as f:
        path = next((x[3:] for x in f.read().splitlines() if x.startswith("0::")), None)
    root = "/sys/fs/cgroup/unified" if os.path.isdir("/sys/fs/cgroup/unified") else "/sys/fs/cgroup"
    return os.path.join(root + (path or "/"), knob)


def check_hugepages(cli, env, ctr):
    """hugepage_limits -> the OCI spec's linux.resources.hugepageLimits -> hugetlb.2MB.max in the
    container's cgroup, where containerd passes them on. containerd 1.6 passes them only when its
    own check finds the controller: cgroup2's cgroup.controllers on a unified host, the directory
    /sys/fs/cgroup/hugetlb otherwise. A hybrid host with hugetlb on cgroup2 (these machines) has
    neither: containerd drops the limits with a warning, whatever the runtime."""
    info = json.loads(cli.container_status(ctr, verbose=True).info.get("info", "{}"))
    limits = info.get("runtimeSpec", {}).get("linux", {}).get("resources", {}).get("hugepageLimits")
    knob = unified_cgroup_file(info.get("pid", 0), "hugetlb.2MB.max")
    try:
        with open(knob) as f:
            value = f.read().strip()
    except FileNotFoundError:
        value = None  # hugetlb not enabled for the cgroup: no limit either
    if limits:
        if os.path.isdir("/sys/fs/cgroup/hugetlb"):  # a v1 hugetlb hierarchy
            import cri_scenario as sc

            knob = "hugetlb.2MB.limit_in_bytes"
            value = sc.cgroup_knobs(info.get("pid", 0), {"hugetlb": [knob]}).get(knob)
        check(limits == [{"pageSize": "2MB", "limit": HUGEPAGE_LIMIT}] and value == str(HUGEPAGE_LIMIT),
              f"hugepage_limits reach the container's {knob}", (limits, value))
        return
    unified = os.path.exists("/sys/fs/cgroup/cgroup.controllers")
    with open(os.path.join(env.dir, "containerd.log"), errors="replace") as f:
        warned = HUGETLB_SKIPPED in f.read()
    check(not unified and not os.path.isdir("/sys/fs/cgroup/hugetlb") and warned and value in ("max", None),
          "hugepage_limits: containerd 1.6 drops them on this hybrid host (no /sys/fs/cgroup/hugetlb) with its "
          "warning; the container's cgroup2 dir has no hugetlb limit", (warned, knob, value))


def check_filters(cli, pod_id, web, console):
    """The filters a kubelet's relist and kubectl use."""
    running = {c.id for c in cli.list_containers(pod_id, state=pb.CONTAINER_RUNNING)}
    exited = {c.id for c in cli.list_containers(pod_id, state=pb.CONTAINER_EXITED)}
    by_label = [c.id for c in cli.list_containers(labels={"container": "console"}) if c.pod_sandbox_id == pod_id]
    by_id = [c.id for c in cli.list_containers(ctr_id=web)]
    check(web in running and console in running and not running & exited and by_label == [console]
          and by_id == [web], "ListContainers filters: state RUNNING/EXITED, label selector, id",
          (running, exited, by_label, by_id))
    ready = [p.id for p in cli.list_pods(state=pb.SANDBOX_READY, labels={"app": "web", "berth-cri": "1"})]
    not_ready = [p.id for p in cli.list_pods(state=pb.SANDBOX_NOTREADY)]
    other = cli.list_pods(labels={"app": "no-such-app"})
    check(ready == [pod_id] and pod_id not in not_ready and not other,
          "ListPodSandbox filters: state READY/NOTREADY, label selector", (ready, not_ready, other))
