"""Pod start latency through CRI (bench/cri.sh): RunPodSandbox + CreateContainer + StartContainer
until ContainerStatus says running — N pods one after another per handler (median, p90; the
handlers take turns pod by pod, so a noisy moment hits them alike), then PARALLEL pods at once per
handler (wall time until all run, and each pod's latency).

CPU: when CRI_CPUACCT names a v1 cpuacct cgroup holding containerd (bench/cri.sh moves it there,
so its shims, the runtime processes they run and the CNI plugins are charged to it) with the pods'
cgroups below it, its cpuacct.usage before and after each start is the CPU the start cost."""

import os
import statistics
import threading
import time

import cri_scenario
from criclient import pb


def cpu_ns():
    path = os.environ.get("CRI_CPUACCT", "")
    if not path:
        return 0
    with open(os.path.join(path, "cpuacct.usage")) as f:
        return int(f.read())


def start_pod(cli, env, handler, name):
    """Returns (pod id, seconds from RunPodSandbox to the container running)."""
    t0 = time.perf_counter()
    pod_id, pod_cfg = cri_scenario.start_pod(cli, env, handler, name)
    cfg = cri_scenario.container_config(env, "app", ["sleep", "3600"])
    ctr = cri_scenario.run_container(cli, pod_id, pod_cfg, cfg)
    while cli.container_status(ctr).status.state != pb.CONTAINER_RUNNING:
        time.sleep(0.005)
    return pod_id, time.perf_counter() - t0


def remove(cli, pod_ids):
    for pod_id in pod_ids:
        cli.stop_pod(pod_id)
        cli.remove_pod(pod_id)


def summary(seconds):
    ms = sorted(s * 1000 for s in seconds)
    p90 = ms[min(len(ms) - 1, max(0, int(round(0.9 * len(ms))) - 1))]
    return {"median_ms": round(statistics.median(ms), 1), "p90_ms": round(p90, 1),
            "min_ms": round(ms[0], 1), "max_ms": round(ms[-1], 1)}


def sequential(cli, env, handlers, n):
    lat = {h: [] for h in handlers}
    cpu = {h: 0 for h in handlers}
    for h in handlers:
        remove(cli, [start_pod(cli, env, h, "bench-warmup")[0]])
    for i in range(n):
        for h in handlers:
            c0 = cpu_ns()
            pod_id, secs = start_pod(cli, env, h, f"bench-{i}")
            cpu[h] += cpu_ns() - c0
            lat[h].append(secs)
            remove(cli, [pod_id])
    out = {}
    for h in handlers:
        out[h] = {"pods": n, **summary(lat[h])}
        if os.environ.get("CRI_CPUACCT"):
            out[h]["cpu_ms_per_pod"] = round(cpu[h] / n / 1e6, 1)
    return out


def parallel(cli, env, handler, n):
    results, errors = [None] * n, []
    gate = threading.Barrier(n + 1)

    def one(i):
        gate.wait()
        try:
            results[i] = start_pod(cli, env, handler, f"bench-par-{i}")
        except Exception as err:  # noqa: BLE001 (reported, and the run fails)
            errors.append(str(err))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    c0 = cpu_ns()
    t0 = time.perf_counter()
    gate.wait()
    for t in threads:
        t.join()
    wall, cpu = time.perf_counter() - t0, cpu_ns() - c0
    started = [r for r in results if r]
    remove(cli, [r[0] for r in started])
    if errors:
        raise RuntimeError(f"{len(errors)} of {n} parallel pods failed: {errors[0]}")
    out = {"pods": n, "wall_ms": round(wall * 1000, 1), **summary([r[1] for r in started])}
    if os.environ.get("CRI_CPUACCT"):
        out["cpu_ms_per_pod"] = round(cpu / n / 1e6, 1)
    return out


def run(cli, handlers, n, par):
    env = cri_scenario.Env()
    seq = sequential(cli, env, handlers, n)
    return {h: {"sequential": seq[h], "parallel": parallel(cli, env, h, par) if par > 0 else None}
            for h in handlers}
