#!/bin/bash
# The CRI tests' two images, as OCI archives for `ctr images import`, with no registry:
#   OUT/busybox.tar  localhost/berth-cri/busybox:latest  (Debian's busybox-static, tests/lib/make-bundle.sh)
#   OUT/pause.tar    localhost/berth-cri/pause:1.0       (the static berth-pause, entrypoint /pause)
#
#   make-images.sh OUT PAUSE_BINARY
#
# The tars depend only on the busybox and pause binaries and the scripts that make them: they are
# made once per digest of those and kept in BERTH_TEST_CACHE (default /var/cache/berth-tests)
# as cri-images-DIGEST/, which appears by rename only when complete.
set -euo pipefail
[[ $# -eq 2 ]] || { echo "usage: $0 OUT PAUSE_BINARY" >&2; exit 2; }
out="$1" pause="$2"
lib="$(cd "$(dirname "$0")/../../lib" && pwd)"
[[ -x "$pause" ]] || { echo "make-images: pause binary not found: $pause (build the berth-pause target)" >&2; exit 1; }
cache="${BERTH_TEST_CACHE:-/var/cache/berth-tests}"
key="$(cat "${BUSYBOX:-/bin/busybox}" "$pause" "$0" "$lib/make-bundle.sh" "$lib/make-oci-layout.sh" |
    sha256sum | cut -c1-16)"
cached="$cache/cri-images-$key"
if [[ -f "$cached/busybox.tar" && -f "$cached/pause.tar" ]]; then
    cp "$cached/busybox.tar" "$cached/pause.tar" "$out/"
    exit 0
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# layout_tar LAYOUT TAR: an OCI layout directory as the tar stream ctr imports.
layout_tar() { tar -C "$1" -cf "$2" .; }

"$lib/make-bundle.sh" "$tmp/bb" >/dev/null
"$lib/make-oci-layout.sh" -t latest \
    -c '{"Cmd":["sh"],"Env":["PATH=/usr/sbin:/usr/bin:/sbin:/bin"]}' "$tmp/bb-layout" "$tmp/bb/rootfs" >/dev/null
layout_tar "$tmp/bb-layout" "$out/busybox.tar"

mkdir -p "$tmp/pause-root"
install -m 0755 "$pause" "$tmp/pause-root/pause"
"$lib/make-oci-layout.sh" -t 1.0 -c '{"Entrypoint":["/pause"]}' "$tmp/pause-layout" "$tmp/pause-root" >/dev/null
layout_tar "$tmp/pause-layout" "$out/pause.tar"

# Keep them for the next run (best effort: a read-only or full cache only costs the rebuild).
if mkdir -p "$cache" 2>/dev/null && keep="$(mktemp -d "$cache/cri-images.XXXXXX" 2>/dev/null)"; then
    if cp "$out/busybox.tar" "$out/pause.tar" "$keep/" && chmod 0755 "$keep" && mv -T "$keep" "$cached" 2>/dev/null; then
        :
    else
        rm -rf "$keep"
    fi
fi
