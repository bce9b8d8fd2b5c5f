#!/usr/bin/env python3
# What containerd's runc shim (and conmon) do with a runtime's container, for tests/vm/ops.bats:
#   oom_watch.py eventfd CGROUP_DIR [TIMEOUT_S]: an eventfd on a cgroup v1 memory cgroup's
#     memory.oom_control (via cgroup.event_control), as pkg/oom/v1 and conmon register one.
#     Prints "registered", then "fired" when signalled while the cgroup still exists (its removal
#     signals it too: "removed"), or "timeout".
#   oom_watch.py reap OUT CMD...: as a child subreaper, runs CMD (`berth run -d ...`), then waits
#     for the container's process it leaves behind (the shim) and writes "exit=N" to OUT.
import os
import select
import subprocess
import sys


def eventfd(cg, timeout):
    efd = os.eventfd(0, os.EFD_CLOEXEC)
    ctl = os.open(os.path.join(cg, "memory.oom_control"), os.O_RDONLY | os.O_CLOEXEC)
    with open(os.path.join(cg, "cgroup.event_control"), "w") as f:
        f.write(f"{efd} {ctl}")
    print("registered", flush=True)
    p = select.poll()
    p.register(efd, select.POLLIN)
    if not p.poll(int(timeout * 1000)):
        print("timeout", flush=True)
        return 1
    os.eventfd_read(efd)
    print("fired" if os.path.exists(os.path.join(cg, "memory.oom_control")) else "removed", flush=True)
    return 0


def reap(out, cmd):
    import ctypes
    PR_SET_CHILD_SUBREAPER = 36
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    rc = subprocess.run(cmd, stdin=subprocess.DEVNULL).returncode
    if rc != 0:
        with open(out, "w") as f:
            f.write(f"run={rc}\n")
        return rc
    code = None
    while True:  # the orphaned shim (and nothing else) is ours now
        try:
            _, status = os.wait()
        except ChildProcessError:
            break
        code = os.waitstatus_to_exitcode(status)
    with open(out, "w") as f:
        f.write(f"exit={code if code is None or code >= 0 else 128 - code}\n")
    return 0


if __name__ == "__main__":
    if sys.argv[1] == "eventfd":
        sys.exit(eventfd(sys.argv[2], float(sys.argv[3]) if len(sys.argv) > 3 else 120))
    sys.exit(reap(sys.argv[2], sys.argv[3:]))
