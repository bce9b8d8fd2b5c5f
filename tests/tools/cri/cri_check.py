"""The checks' reporting, shared by the scenario and the footprint checks: each check prints
"ok - WHAT" or raises Failure("WHAT: why")."""

import time


class Failure(Exception):
    pass


def ok(what):
    print("ok -", what, flush=True)


def check(cond, what, detail=""):
    if not cond:
        raise Failure(f"{what}: {detail}" if detail != "" else what)
    ok(what)


def wait_for(what, fn, timeout=30.0, step=0.1):
    """Polls FN until it returns a true value (returned); Failure after TIMEOUT seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(step)
    raise Failure(f"{what}: not after {timeout:.0f} s (last: {last!r})")
