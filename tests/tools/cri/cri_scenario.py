"""The Kubernetes scenario of tests/e2e/cri.bats, made through CRI the way a kubelet makes it, on
one runtime handler. Each check prints "ok - WHAT" or raises Failure("WHAT: why"); the bats file
runs a part per test and the same parts on runc prove the checks test Kubernetes behaviour.

  pod     a pod with a web server (busybox httpd) and a client fetching it over localhost, the host
          fetching it over the pod IP; shared namespaces; ExecSync exit codes and streams; the CRI
          log format; short-lived containers exiting 3, OOM-killed, on a tty; resources, their
          update and ContainerStats; Exec/Attach streams, log rotation, list filters, hugepage
          limits (cri_kubectl.py); then StopPodSandbox + RemovePodSandbox
          leave no process, mount, cgroup, netns or state dir
  host    a privileged hostNetwork/hostPID/hostIPC pod: its container in the node's namespaces
  errors  a missing image and a bad mount: a CRI error naming the problem, nothing left behind"""

import json
import os
import re
import urllib.request
import uuid

from cri_check import Failure, check, wait_for
from cri_footprint import Footprint
from cri_kubectl import check_kubectl
from criclient import CriError, pb

LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d) (stdout|stderr) (F|P) ")
MiB = 1 << 20
POD_MEMORY = 512 * MiB  # the pods' sizing (PodSandboxConfig.linux.resources)


class Env:
    """What scripts/cri-setup.sh start printed."""

    def __init__(self):
        e = os.environ
        self.dir = e["CRI_DIR"]
        self.busybox = e.get("CRI_BUSYBOX_IMAGE", "localhost/berth-cri/busybox:latest")
        self.cgroup_parent = e.get("CRI_CGROUP_PARENT", "/berth-cri")
        self.log_dir = e.get("CRI_LOG_DIR", os.path.join(self.dir, "pod-logs"))
        self.runtime_root = e["CRI_RUNTIME_ROOT"]
        self.gateway = e.get("CRI_SUBNET", "10.87.1.0/24").rsplit(".", 1)[0] + ".1"


def pod_config(env, name, pid_mode):
    uid = uuid.uuid4().hex
    log_dir = os.path.join(env.log_dir, f"berth-cri_{name}_{uid}")
    os.makedirs(log_dir, exist_ok=True)
    ns = pb.NamespaceOption(network=pb.POD, pid=pid_mode, ipc=pb.POD)
    return pb.PodSandboxConfig(
        metadata=pb.PodSandboxMetadata(name=name, uid=uid, namespace="berth-cri", attempt=0),
        hostname=name,
        log_directory=log_dir,
        dns_config=pb.DNSConfig(servers=[env.gateway], searches=["berth-cri.test"], options=["ndots:5"]),
        labels={"app": name, "berth-cri": "1"},
        annotations={"berth.test/scenario": name},
        linux=pb.LinuxPodSandboxConfig(
            cgroup_parent=f"{env.cgroup_parent}/pod{uid}",
            security_context=pb.LinuxSandboxSecurityContext(namespace_options=ns),
            # What a kubelet passes (1.23+): the pod's limits, summed. containerd gives them to
            # the runtime as the io.kubernetes.cri.sandbox-* annotations; berth-vm sizes the pod's
            # VM by them (runc and berth have nothing to do with them).
            resources=pb.LinuxContainerResources(memory_limit_in_bytes=POD_MEMORY),
        ),
    )


def container_config(env, name, cmd, resources=None, mounts=(), image=None, pid_mode=pb.CONTAINER):
    ns = pb.NamespaceOption(network=pb.POD, pid=pid_mode, ipc=pb.POD)
    return pb.ContainerConfig(
        metadata=pb.ContainerMetadata(name=name, attempt=0),
        image=pb.ImageSpec(image=image or env.busybox),
        command=cmd,
        envs=[pb.KeyValue(key="BERTH_CRI", value=name)],
        mounts=list(mounts),
        labels={"container": name},
        log_path=f"{name}/0.log",
        linux=pb.LinuxContainerConfig(
            resources=resources or pb.LinuxContainerResources(),
            security_context=pb.LinuxContainerSecurityContext(namespace_options=ns),
        ),
    )


def run_container(cli, pod_id, pod_cfg, cfg):
    ctr_id = cli.create(pod_id, cfg, pod_cfg)
    cli.start(ctr_id)
    return ctr_id


def state_of(cli, ctr_id):
    return cli.container_status(ctr_id).status.state


def verbose_info(resp):
    return json.loads(resp.info.get("info", "{}"))


def exec_sync(cli, ctr_id, script, timeout=30):
    res = cli.exec_sync(ctr_id, ["sh", "-c", script], timeout=timeout)
    return res.stdout.decode(), res.stderr.decode(), res.exit_code


def read_log(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read().splitlines()
    except FileNotFoundError:
        return []


# Straight to the pod: no http_proxy from the environment.
NO_PROXY_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http_get(url):
    try:
        with NO_PROXY_OPENER.open(url, timeout=2) as r:
            return r.read().decode()
    except OSError:
        return ""


def start_pod(cli, env, handler, name, pid_mode=pb.CONTAINER):
    cfg = pod_config(env, name, pid_mode)
    pod_id = cli.run_pod(cfg, handler)
    return pod_id, cfg


def pod_part(cli, env, handler):
    """The pod (two long-running containers, then short-lived ones) and what a kubelet asks of it."""
    v = cli.version()
    check(v.runtime_name == "containerd" and v.runtime_api_version, "Version names containerd and a CRI version",
          f"{v.runtime_name} {v.runtime_api_version}")
    conds = {c.type: c.status for c in cli.status().status.conditions}
    check(conds.get("RuntimeReady") and conds.get("NetworkReady"), "Status: RuntimeReady and NetworkReady", conds)
    img = cli.image_status(env.busybox)
    check(img.id and env.busybox in img.repo_tags, "ImageStatus finds the busybox image", img)
    check(any(env.busybox in i.repo_tags for i in cli.list_images()), "ListImages lists it")

    # shareProcessNamespace: the pod's containers join the sandbox's PID namespace (pause is PID 1).
    pod_id, pod_cfg = start_pod(cli, env, handler, "web", pb.POD)
    fp = Footprint(env, handler)
    try:
        check_pod(cli, env, handler, pod_id, pod_cfg, fp)
    finally:
        fp.add_pod(cli, pod_id)
        cli.stop_pod(pod_id)
        cli.remove_pod(pod_id)
    st = None
    try:
        st = cli.pod_status(pod_id)
    except CriError:
        pass
    check(st is None, "RemovePodSandbox: PodSandboxStatus says the pod is gone")
    fp.check_gone(cli, pod_cfg)


def check_pod(cli, env, handler, pod_id, pod_cfg, fp):
    ps = cli.pod_status(pod_id, verbose=True)
    ip = ps.status.network.ip
    check(ps.status.state == pb.SANDBOX_READY and ps.status.runtime_handler == handler,
          f"RunPodSandbox: the pod is ready on handler {handler}, IP {ip}", ps.status)
    check(ip.startswith(env.gateway.rsplit(".", 1)[0] + "."), "the pod IP is in the CNI bridge's subnet", ip)
    check([p.id for p in cli.list_pods(pod_id)] == [pod_id], "ListPodSandbox finds it by id")

    res = pb.LinuxContainerResources(cpu_period=100000, cpu_quota=50000, cpu_shares=256, cpuset_cpus="0",
                                     oom_score_adj=500, memory_limit_in_bytes=256 * MiB)
    web = run_container(cli, pod_id, pod_cfg, container_config(env, "web", [
        "sh", "-c", "mkdir -p /tmp/www && echo berth-cri-page >/tmp/www/index.html && "
        "echo web-started && exec httpd -f -p 8080 -h /tmp/www"], res, pid_mode=pb.POD))
    client_cfg = container_config(env, "client", [
        "sh", "-c", "until wget -q -O - http://127.0.0.1:8080/; do sleep 0.2; done; echo fetched >&2; "
        "exec sleep 100000"], pid_mode=pb.POD)
    # a restricted container: runAsUser, readOnlyRootFilesystem, allowPrivilegeEscalation: false,
    # seccompProfile RuntimeDefault (containerd's default profile, loaded by the runtime)
    sc = client_cfg.linux.security_context
    sc.run_as_user.value, sc.readonly_rootfs, sc.no_new_privs = 1000, True, True
    sc.seccomp.profile_type = pb.SecurityProfile.RuntimeDefault
    client = run_container(cli, pod_id, pod_cfg, client_cfg)
    fp.add_containers(cli, [web, client])
    for c in (web, client):
        wait_for("container running", lambda c=c: state_of(cli, c) == pb.CONTAINER_RUNNING)
    listed = {c.id: c.state for c in cli.list_containers(pod_id)}
    check(listed == {web: pb.CONTAINER_RUNNING, client: pb.CONTAINER_RUNNING},
          "CreateContainer+StartContainer: ListContainers shows both running", listed)

    page = wait_for("GET over the pod IP", lambda: http_get(f"http://{ip}:8080/"), timeout=20)
    check(page.strip() == "berth-cri-page", "the host fetches the page over the pod IP", page)
    log = os.path.join(pod_cfg.log_directory, "client/0.log")
    lines = wait_for("client log", lambda: (lambda ls: ls if any(" stderr F fetched" in x for x in ls) else None)(
        read_log(log)), timeout=20)
    check(any(re.search(r" stdout F berth-cri-page$", x) for x in lines),
          "the client fetched it over localhost (shared netns; its CRI log has the page)", lines)
    check(all(LOG_LINE.match(x) for x in lines), "every log line is 'TIMESTAMP STREAM F|P TEXT'", lines)

    check_exec(cli, env, web, client)
    check_limits(cli, web, handler)
    check_stats(cli, web)
    check_exits(cli, env, pod_id, pod_cfg, fp)

    check_kubectl(cli, env, pod_id, pod_cfg, fp, web)
    cli.stop(web, timeout=1)  # httpd is PID 1 with no SIGTERM handler: killed after the grace
    st = cli.container_status(web).status
    check(st.state == pb.CONTAINER_EXITED and st.finished_at > 0, "StopContainer: web exited", st)


def check_exec(cli, env, web, client):
    out, err, code = exec_sync(cli, client, "echo to-stdout; echo to-stderr >&2")
    check((out, err, code) == ("to-stdout\n", "to-stderr\n", 0), "ExecSync: stdout, stderr, exit code 0",
          (out, err, code))
    check(exec_sync(cli, client, "exit 1")[2] == 1, "ExecSync: exit code 1")
    out, err, _ = exec_sync(cli, client, "id -u; grep -E '^(NoNewPrivs|CapEff|Seccomp):' /proc/self/status; touch /x")
    check(out.split() == ["1000", "CapEff:", "0000000000000000", "NoNewPrivs:", "1", "Seccomp:", "2"]
          and "Read-only" in err, "runAsUser 1000, no capabilities, no_new_privs, seccomp RuntimeDefault, "
          "a read-only rootfs", (out, err))
    _, err, code = exec_sync(cli, client, "unshare -U true")
    check(code != 0 and "Operation not permitted" in err,
          "the default seccomp profile refuses unshare(CLONE_NEWUSER) (an unconfined container may)", err)
    check(exec_sync(cli, client, "kill -9 $$")[2] == 137, "ExecSync: exit code 137 after a SIGKILL")
    out, _, code = exec_sync(cli, client, "wget -q -O - http://127.0.0.1:8080/")
    check(code == 0 and out.strip() == "berth-cri-page", "ExecSync: wget over localhost", (out, code))
    out, _, _ = exec_sync(cli, web, "echo shm-from-web >/dev/shm/x; hostname")
    out2, _, _ = exec_sync(cli, client, "cat /dev/shm/x; hostname")
    check(out2.split() == ["shm-from-web", out.strip()] and out.strip() == "web",
          "the pod's containers share /dev/shm (ipc) and the hostname (uts)", (out, out2))
    out, _, _ = exec_sync(cli, client, "cat /etc/resolv.conf; echo ==; cat /etc/hostname; echo ==; "
                          "grep -c localhost /etc/hosts; grep -E ' /etc/(hosts|hostname|resolv.conf) ' /proc/self/mountinfo")
    resolv, hostname, hosts = out.split("==\n")
    check(f"nameserver {env.gateway}" in resolv and "search berth-cri.test" in resolv and "options ndots:5" in resolv
          and hostname == "web\n" and hosts.count("\n") == 4,
          "the pod's /etc/resolv.conf (its DNS config), /etc/hostname and /etc/hosts, bind-mounted", out)
    out, _, _ = exec_sync(cli, client, "cat /proc/1/cmdline; echo; pidof httpd")
    check(out.split("\n")[0] == "/pause\0" and out.split("\n")[1].strip().isdigit(),
          "a shared PID namespace: pause is PID 1, the client sees web's httpd", out)


MEM_LIMIT = "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max"


def check_limits(cli, web, handler):
    out, _, _ = exec_sync(cli, web, MEM_LIMIT)
    check(out.strip() == str(256 * MiB), "CreateContainer's memory limit is the container's", out)
    res = pb.LinuxContainerResources(cpu_period=100000, cpu_quota=50000, cpu_shares=256, cpuset_cpus="0",
                                     oom_score_adj=500, memory_limit_in_bytes=64 * MiB)
    cli.update(web, res)
    out, _, _ = exec_sync(cli, web, MEM_LIMIT)
    check(out.strip() == str(64 * MiB), "UpdateContainerResources: the container sees the new memory limit", out)
    if handler == "berth-vm":
        # The pod's VM has the RAM the pod's sizing asks for (its members share it), not the
        # 256 MiB of a VM without a limit.
        out, _, _ = exec_sync(cli, web, "awk '/^MemTotal:/ {print $2}' /proc/meminfo")
        check(int(out.strip() or 0) > (POD_MEMORY - 48 * MiB) // 1024,
              f"the pod's VM is sized by the pod's memory ({POD_MEMORY // MiB} MiB): MemTotal {out.strip()} kB", out)
        # A VM's limits are its guest cgroup's (cgroup2: shares 256 are weight 10); its host
        # cgroup only accounts the shim and QEMU (docs/vm.md, "Host cgroup").
        out, _, _ = exec_sync(cli, web, "cd /sys/fs/cgroup && cat cpu.weight cpu.max cpuset.cpus; "
                              "cat /proc/$(pidof httpd)/oom_score_adj")
        check(out.split()[:4] == ["10", "50000", "100000", "0"],
              "cpu shares, quota, period and cpuset reach the container's guest cgroup", out)
        check(out.split()[4:] == ["500"], "oom_score_adj reaches the container's process", out)
        return
    pid = verbose_info(cli.container_status(web, verbose=True)).get("pid", 0)
    knobs = cgroup_knobs(pid, {"cpu": ["cpu.shares", "cpu.cfs_quota_us", "cpu.cfs_period_us"],
                               "cpuset": ["cpuset.cpus"]})
    check(knobs == {"cpu.shares": "256", "cpu.cfs_quota_us": "50000", "cpu.cfs_period_us": "100000",
                    "cpuset.cpus": "0"}, "cpu shares, quota, period and cpuset reach the container's cgroups", knobs)
    with open(f"/proc/{pid}/oom_score_adj") as f:
        adj = f.read().strip()
    check(adj == "500", "oom_score_adj reaches the container's process", adj)


def cgroup_knobs(pid, wanted):
    """{knob: value} read from PID's v1 cgroups (the host's view)."""
    got = {}
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            _, ctrls, path = line.rstrip("\n").split(":", 2)
            for ctrl in ctrls.split(","):
                for knob in wanted.get(ctrl, []):
                    try:
                        with open(f"/sys/fs/cgroup/{ctrl}{path}/{knob}") as k:
                            got[knob] = k.read().strip()
                    except OSError:
                        pass
    return got


def check_stats(cli, web):
    exec_sync(cli, web, "i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done")
    s = cli.stats(web)
    cpu, mem = s.cpu.usage_core_nano_seconds.value, s.memory.working_set_bytes.value
    check(s.attributes.id == web and cpu > 0 and mem > 0, "ContainerStats: non-zero cpu and memory",
          f"cpu {cpu} ns, working set {mem} B")


def check_exits(cli, env, pod_id, pod_cfg, fp):
    quit_id = run_container(cli, pod_id, pod_cfg, container_config(env, "quitter", [
        "sh", "-c", "echo going; echo oops >&2; exit 3"]))
    fp.add_containers(cli, [quit_id], running=False)
    st = wait_for("quitter exited", lambda: (lambda s: s if s.state == pb.CONTAINER_EXITED else None)(
        cli.container_status(quit_id).status))
    check(st.exit_code == 3 and st.reason == "Error" and st.finished_at > 0 and st.started_at > 0,
          "ContainerStatus: exit code 3, reason Error",
          f"exit {st.exit_code} reason {st.reason!r} started {st.started_at} finished {st.finished_at}")
    lines = read_log(os.path.join(pod_cfg.log_directory, "quitter/0.log"))
    check(len(lines) == 2 and all(LOG_LINE.match(x) for x in lines)
          and sorted(x.split(" ", 1)[1] for x in lines) == ["stderr F oops", "stdout F going"],
          "its CRI log holds both streams", lines)
    cli.remove(quit_id)
    check(quit_id not in [c.id for c in cli.list_containers(pod_id)], "RemoveContainer: it is gone")
    # a 64 MB shell variable under a 16 MiB limit
    hog_cmd = ["sh", "-c", "x=$(head -c 64000000 /dev/zero | tr '\\0' a); echo survived"]
    hog_cfg = container_config(env, "hog", hog_cmd, pb.LinuxContainerResources(memory_limit_in_bytes=16 * MiB))
    hog_id = run_container(cli, pod_id, pod_cfg, hog_cfg)
    fp.add_containers(cli, [hog_id], running=False)
    st = wait_for("the 16 MiB container exited", lambda: (lambda s: s if s.state == pb.CONTAINER_EXITED else None)(
        cli.container_status(hog_id).status), timeout=60)
    check(st.reason == "OOMKilled" and st.exit_code != 0, "ContainerStatus: reason OOMKilled past the memory limit",
          f"exit {st.exit_code} reason {st.reason!r}")
    tty_cfg = container_config(env, "tty", ["sh", "-c", "tty; echo tty-done"])
    tty_cfg.tty = True  # the shim passes --console-socket; the log holds the terminal's output
    tty_id = run_container(cli, pod_id, pod_cfg, tty_cfg)
    fp.add_containers(cli, [tty_id], running=False)
    st = wait_for("tty container exited", lambda: (lambda s: s if s.state == pb.CONTAINER_EXITED else None)(
        cli.container_status(tty_id).status))
    lines = wait_for("tty log", lambda: (lambda ls: ls if len(ls) >= 2 else None)(
        read_log(os.path.join(pod_cfg.log_directory, "tty/0.log"))), timeout=10)
    check(st.exit_code == 0 and st.reason == "Completed" and re.search(r" stdout F /dev/pts/\d+\r?$", lines[0])
          and re.search(r" stdout F tty-done\r?$", lines[1]), "a tty container: exit 0, Completed, its terminal logged",
          (st.exit_code, st.reason, lines))


def host_part(cli, env, handler):
    """A privileged pod with hostNetwork, hostPID and hostIPC, as kube-proxy's and CNI daemons'
    pods run: the spec leaves those namespaces out and the containers run in the node's."""
    cfg = pod_config(env, "node", pb.NODE)
    cfg.hostname = ""  # the kubelet sends none for a hostNetwork pod
    ns = cfg.linux.security_context.namespace_options
    ns.network, ns.ipc = pb.NODE, pb.NODE
    cfg.linux.security_context.privileged = True
    pod_id = cli.run_pod(cfg, handler)
    fp = Footprint(env, handler)
    fp.host_network = True
    try:
        ps = cli.pod_status(pod_id).status
        check(ps.state == pb.SANDBOX_READY and not ps.network.ip, "RunPodSandbox: a hostNetwork pod, no pod IP",
              ps.network.ip)
        ctr = container_config(env, "node", ["sleep", "100000"], pid_mode=pb.NODE)
        cns = ctr.linux.security_context.namespace_options
        cns.network, cns.ipc = pb.NODE, pb.NODE
        ctr.linux.security_context.privileged = True
        ctr_id = run_container(cli, pod_id, cfg, ctr)
        fp.add_containers(cli, [ctr_id])
        pid = verbose_info(cli.container_status(ctr_id, verbose=True)).get("pid", 0)
        kinds = ("net", "pid", "ipc", "uts", "mnt")
        same = {k: os.readlink(f"/proc/{pid}/ns/{k}") == os.readlink(f"/proc/self/ns/{k}") for k in kinds}
        check(same == {"net": True, "pid": True, "ipc": True, "uts": True, "mnt": False},
              "the container is in the node's net, pid, ipc and uts namespaces, in a mount namespace of its own",
              same)
        out, _, code = exec_sync(cli, ctr_id, f"hostname; test -d /proc/{os.getpid()} && echo host-pids")
        check(code == 0 and out.split() == [os.uname().nodename, "host-pids"],
              "ExecSync sees the node's hostname and processes (this client's PID)", out)
        out, _, _ = exec_sync(cli, ctr_id, "grep CapEff /proc/self/status; grep ' /sys ' /proc/self/mountinfo; "
                              "test -c /dev/kmsg && echo host-devices")
        with open("/proc/self/status") as f:
            mine = [x for x in f.read().splitlines() if x.startswith("CapEff")]
        lines = out.splitlines()
        check(lines[0].split() == mine[0].split() and " rw," in lines[1] and lines[2] == "host-devices",
              "privileged: every capability the node has, /sys read-write, the host's devices", out)
    finally:
        fp.add_pod(cli, pod_id)
        cli.stop_pod(pod_id)
        cli.remove_pod(pod_id)
    fp.check_gone(cli, cfg)


def errors_part(cli, env, handler):
    """A missing image and a bad mount fail with an error naming the problem; nothing stays."""
    pod_id, pod_cfg = start_pod(cli, env, handler, "bad")
    fp = Footprint(env, handler)
    try:
        missing = "localhost/berth-cri/no-such-image:latest"
        err = expect_error(lambda: cli.create(pod_id, container_config(env, "nosuch", ["true"], image=missing),
                                              pod_cfg))
        check(missing in err.details and "not found" in err.details,
              "CreateContainer of a missing image: an error naming the image", err.details)
        check(len(cli.list_containers(pod_id)) == 0, "no container is left of it")

        src = os.path.join(env.dir, "bad-mount-file")
        with open(src, "w") as f:
            f.write("a file, mounted over a directory\n")
        mount = pb.Mount(container_path="/bin", host_path=src)
        bad = cli.create(pod_id, container_config(env, "badmount", ["true"], mounts=[mount]), pod_cfg)
        fp.add_containers(cli, [bad], running=False)
        err = expect_error(lambda: cli.start(bad))
        check(src in err.details and "/bin" in err.details and "not a directory" in err.details.lower(),
              "StartContainer with a file mounted on a directory: an error naming the mount", err.details)
        print("#", err.details)
        st = cli.container_status(bad).status
        check(st.state == pb.CONTAINER_EXITED and st.reason == "StartError", "ContainerStatus: StartError",
              f"{pb.ContainerState.Name(st.state)} {st.reason}")
        fp.check_container_gone_from_runtime(bad)
        cli.remove(bad)
    finally:
        fp.add_pod(cli, pod_id)
        cli.stop_pod(pod_id)
        cli.remove_pod(pod_id)
    fp.check_gone(cli, pod_cfg)


def expect_error(fn):
    try:
        fn()
    except CriError as err:
        return err
    raise Failure("the call succeeded; an error was expected")


def run(cli, handler, part):
    env = Env()
    try:
        if part in ("pod", "all"):
            pod_part(cli, env, handler)
        if part in ("host", "all"):
            host_part(cli, env, handler)
        if part in ("errors", "all"):
            errors_part(cli, env, handler)
    except (Failure, CriError) as err:
        print(f"not ok - {err}", flush=True)
        return 1
    return 0
