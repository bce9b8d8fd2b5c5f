#!/usr/bin/env python3
"""pty_expect.py: a tiny expect — run a command on a new pty, then steps in order:
  e:REGEX   wait (up to --timeout s) until the output so far matches REGEX (re.S)
  s:TEXT    send TEXT (Python escapes: \\r, \\x1d for Ctrl-])
  eof       wait for the command to exit
Prints the whole output (CRs removed) on stdout; exit 0 when all steps passed, 1 (naming the
step) otherwise, 2 on usage errors. The command's own exit status is ignored.

  pty_expect.py [--timeout N] STEP... -- CMD [ARG...]
"""
import os
import pty
import re
import select
import signal
import sys
import time


def main(argv):
    timeout = 30.0
    if argv[:1] == ["--timeout"]:
        timeout = float(argv[1])
        argv = argv[2:]
    if "--" not in argv:
        print(__doc__, file=sys.stderr)
        return 2
    i = argv.index("--")
    steps, cmd = argv[:i], argv[i + 1:]
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(cmd[0], cmd)
    out = b""
    seen = 0  # e: steps match only output after the previous e: step's match
    eof = False

    def pump(until):
        nonlocal out, eof
        while not eof:
            left = until - time.monotonic()
            if left <= 0:
                return
            r, _, _ = select.select([fd], [], [], min(left, 0.2))
            if r:
                try:
                    data = os.read(fd, 4096)
                except OSError:
                    data = b""
                if not data:
                    eof = True
                    return
                out += data
                return

    ok = True
    for step in steps:
        deadline = time.monotonic() + timeout
        if step.startswith("e:"):
            rx = re.compile(step[2:].encode(), re.S)
            while True:
                m = rx.search(out, seen)
                if m:
                    seen = m.end()
                    break
                if eof or time.monotonic() >= deadline:
                    print(f"pty_expect: no match for {step[2:]!r}", file=sys.stderr)
                    ok = False
                    break
                pump(deadline)
        elif step.startswith("s:"):
            os.write(fd, step[2:].encode().decode("unicode_escape").encode("latin-1"))
        elif step == "eof":
            while not eof and time.monotonic() < deadline:
                pump(deadline)
            if not eof:
                print("pty_expect: the command did not exit", file=sys.stderr)
                ok = False
        else:
            print(f"pty_expect: bad step {step!r}", file=sys.stderr)
            return 2
        if not ok:
            break
    if not eof:
        os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    sys.stdout.write(out.decode(errors="replace").replace("\r", ""))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
