#!/usr/bin/python3
# Prints one line per file under DIR — path, type, mode, owner, content sha256 / link target /
# device numbers, xattrs — sorted, so two unpacked root filesystems can be compared with diff.
# mtimes are left out (directory mtimes legitimately differ between unpackers).
#
#   tree-manifest.py DIR
import hashlib
import os
import stat
import sys


def describe(path, rel):
    st = os.lstat(path)
    mode = st.st_mode
    kind = stat.S_IFMT(mode)
    extra = ""
    if stat.S_ISREG(mode):
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        extra = h.hexdigest()
    elif stat.S_ISLNK(mode):
        extra = "-> " + os.readlink(path)
    elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        extra = "%d:%d" % (os.major(st.st_rdev), os.minor(st.st_rdev))
    xattrs = []
    if not stat.S_ISLNK(mode):
        for k in sorted(os.listxattr(path, follow_symlinks=False)):
            if k.startswith("trusted.overlay.") or k.startswith("security."):
                continue
            xattrs.append("%s=%s" % (k, os.getxattr(path, k, follow_symlinks=False).hex()))
    return "%s %o %04o %d:%d %s %s" % (rel, kind >> 12, stat.S_IMODE(mode), st.st_uid, st.st_gid, extra,
                                       ",".join(xattrs))


def main():
    root = sys.argv[1]
    lines = []
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            lines.append(describe(path, os.path.relpath(path, root)))
    for line in sorted(lines):
        print(line)


main()
