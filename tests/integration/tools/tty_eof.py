#!/usr/bin/env python3
"""tty_eof.py: run a command on a new pty whose input holds one EOF typed while the pty is still
canonical (what script(1) types when its own input ends), and write the exact bytes the pty
shows to stdout. Exit status: the command's; 2 on usage errors.

  tty_eof.py CMD [ARG...]

A runtime that relays its terminal (exec -t without --console-socket) and switches it to raw
mode afterwards reads that EOF as a NUL byte; relayed to the container's pty, it is echoed as
"^@". The EOF is in place before the command starts, so the check does not depend on timing.
"""
import os
import pty
import subprocess
import sys


def main(argv):
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    master, slave = pty.openpty()
    os.write(master, b"\x04")  # VEOF at a line's start: a canonical read would return 0 (EOF)
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
    os.close(slave)
    out = b""
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:  # EIO: every slave fd is closed
            break
        if not data:
            break
        out += data
    code = proc.wait()
    sys.stdout.buffer.write(out)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
