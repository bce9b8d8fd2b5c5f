#!/usr/bin/python3
# Writes a tar layer from a JSON list of entries on stdin, verbatim — so tests can make layers
# no real tool would (hostile names, links out of the root, whiteouts, xattrs, devices).
#
#   craft-tar.py OUT.tar <<<'[{"name": "a", "type": "file", "data": "x", "mode": 420}, ...]'
#
# type: file | dir | symlink | hardlink | fifo | chr | blk; target for links; major/minor for
# devices; uid, gid, mode, mtime; xattrs {"user.k": "v"} (as SCHILY.xattr pax headers).
import io
import json
import sys
import tarfile

TYPES = {"file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE,
         "hardlink": tarfile.LNKTYPE, "fifo": tarfile.FIFOTYPE, "chr": tarfile.CHRTYPE,
         "blk": tarfile.BLKTYPE}


def main():
    entries = json.load(sys.stdin)
    with tarfile.open(sys.argv[1], "w", format=tarfile.PAX_FORMAT) as tar:
        for e in entries:
            info = tarfile.TarInfo(e["name"])
            info.type = TYPES[e.get("type", "file")]
            info.mode = e.get("mode", 0o755 if info.type == tarfile.DIRTYPE else 0o644)
            info.uid = e.get("uid", 0)
            info.gid = e.get("gid", 0)
            info.mtime = e.get("mtime", 1700000000)
            info.linkname = e.get("target", "")
            info.devmajor = e.get("major", 0)
            info.devminor = e.get("minor", 0)
            for k, v in e.get("xattrs", {}).items():
                info.pax_headers["SCHILY.xattr." + k] = v
            data = e.get("data", "").encode()
            if info.type == tarfile.REGTYPE:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
            else:
                tar.addfile(info)


main()
