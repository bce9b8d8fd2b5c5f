#!/usr/bin/env python3
# oom_eventfd.py CGROUP_DIR [TIMEOUT_S]: an OOM watcher as containerd's runc shim (pkg/oom/v1)
# and conmon register one on a cgroup v1 memory cgroup — an eventfd on memory.oom_control via
# cgroup.event_control. Prints "registered", then "fired" when it is signalled while the cgroup
# still exists (a removal signals it too), or "timeout".
import os
import select
import sys

cg, timeout = sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 120
efd = os.eventfd(0, os.EFD_CLOEXEC)
ctl = os.open(os.path.join(cg, "memory.oom_control"), os.O_RDONLY | os.O_CLOEXEC)
with open(os.path.join(cg, "cgroup.event_control"), "w") as f:
    f.write(f"{efd} {ctl}")
print("registered", flush=True)
p = select.poll()
p.register(efd, select.POLLIN)
if not p.poll(int(timeout * 1000)):
    print("timeout", flush=True)
    sys.exit(1)
os.eventfd_read(efd)
print("fired" if os.path.exists(os.path.join(cg, "memory.oom_control")) else "removed", flush=True)
