#!/usr/bin/python3
"""berth's CRI client: pokes a CRI endpoint (containerd's CRI plugin) with the calls a kubelet
makes, and runs the Kubernetes scenarios of tests/e2e/cri.bats and bench/cri.sh on one runtime
handler. Run with Debian's /usr/bin/python3 (python3-grpcio, python3-grpc-tools).

  cri.py [--endpoint unix:///PATH] version | status | images | pods | containers
  cri.py exec CONTAINER CMD...            ExecSync: the command's stdout/stderr, its exit code
  cri.py exec --stream [-i] [-t] CONTAINER CMD...   the same through Exec's streaming URL, as
                                          kubectl exec (-i: this stdin in; -t: a tty)
  cri.py attach [-i] [-t] CONTAINER       Attach: the container's output (-i: this stdin in)
  cri.py cleanup                          stop and remove every pod
  cri.py scenario --handler H [--part pod|host|errors|all]   the suite's checks, one line each
  cri.py bench --handler H[,H...] [-n 20] [--parallel 20]  pod start latency (JSON)

The endpoint defaults to $CRI_ENDPOINT; scenario and bench read the rest of the environment
scripts/cri-setup.sh prints (CRI_DIR, CRI_BUSYBOX_IMAGE, CRI_CGROUP_PARENT, CRI_LOG_DIR, ...)."""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from criclient import Client, CriError, pb  # noqa: E402


def print_json(obj):
    print(json.dumps(obj, indent=1, sort_keys=True))


def cmd_version(cli, _args):
    v = cli.version()
    print(f"{v.runtime_name} {v.runtime_version} (CRI {v.runtime_api_version})")


def cmd_status(cli, _args):
    for cond in cli.status().status.conditions:
        print(f"{cond.type}={str(cond.status).lower()} {cond.reason} {cond.message}".rstrip())


def cmd_images(cli, _args):
    for img in cli.list_images():
        print(img.id, ",".join(img.repo_tags), img.size, "pinned" if img.pinned else "")


def cmd_pods(cli, _args):
    for pod in cli.list_pods():
        state = pb.PodSandboxState.Name(pod.state)
        print(pod.id, pod.metadata.namespace + "/" + pod.metadata.name, state, pod.runtime_handler or "runc")


def cmd_containers(cli, _args):
    for c in cli.list_containers():
        print(c.id, c.pod_sandbox_id[:13], c.metadata.name, pb.ContainerState.Name(c.state))


def cmd_exec(cli, args):
    if args.stream or args.i or args.t:
        import cri_stream

        url = cli.exec_url(args.container, args.cmd, stdin=args.i, tty=args.t)
        return cri_stream.run_interactive(url, sys.stdin.buffer if args.i else None, sys.stdout.buffer,
                                          sys.stderr.buffer)
    res = cli.exec_sync(args.container, args.cmd)
    sys.stdout.buffer.write(res.stdout)
    sys.stderr.buffer.write(res.stderr)
    return res.exit_code


def cmd_attach(cli, args):
    import cri_stream

    url = cli.attach_url(args.container, stdin=args.i, tty=args.t)
    return cri_stream.run_interactive(url, sys.stdin.buffer if args.i else None, sys.stdout.buffer,
                                      sys.stderr.buffer)


def cmd_cleanup(cli, _args):
    cli.remove_everything()


def cmd_scenario(cli, args):
    import cri_scenario

    return cri_scenario.run(cli, args.handler, args.part)


def cmd_bench(cli, args):
    import cri_bench

    print_json(cri_bench.run(cli, args.handler.split(","), args.n, args.parallel))


def parse_args(argv):
    p = argparse.ArgumentParser(prog="cri.py", description="a CRI client for berth's tests")
    p.add_argument("--endpoint", default=os.environ.get("CRI_ENDPOINT", ""))
    p.add_argument("--timeout", type=int, default=120, help="seconds per call")
    sub = p.add_subparsers(dest="command", required=True)
    for name in ("version", "status", "images", "pods", "containers", "cleanup"):
        sub.add_parser(name)
    e = sub.add_parser("exec")
    e.add_argument("--stream", action="store_true", help="through the streaming URL (WebSocket)")
    a = sub.add_parser("attach")
    for sp in (e, a):
        sp.add_argument("-i", action="store_true", help="send this stdin to the process")
        sp.add_argument("-t", action="store_true", help="a tty (stdout and stderr as one)")
        sp.add_argument("container")
    # everything after the container is the command, its options (sh -c ...) included
    e.add_argument("cmd", nargs=argparse.REMAINDER)
    s = sub.add_parser("scenario")
    s.add_argument("--handler", default="runc")
    s.add_argument("--part", choices=("pod", "host", "errors", "all"), default="all")
    b = sub.add_parser("bench")
    b.add_argument("--handler", default="runc,berth", help="handlers, comma-separated")
    b.add_argument("-n", type=int, default=20)
    b.add_argument("--parallel", type=int, default=20)
    args = p.parse_args(argv)
    if args.command == "exec" and not args.cmd:
        p.error("exec: no command")
    if not args.endpoint:
        p.error("no --endpoint and no $CRI_ENDPOINT (scripts/cri-setup.sh start prints it)")
    return args


def main(argv):
    args = parse_args(argv)
    cli = Client(args.endpoint, timeout=args.timeout)
    try:
        return globals()["cmd_" + args.command](cli, args) or 0
    except CriError as err:
        print(f"cri: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
