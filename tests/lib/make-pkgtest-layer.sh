#!/bin/bash
# Prints the paths of a cached overlay layer that adds man-db to the cached Debian bookworm rootfs
# (tests/lib/make-systemd-rootfs.sh), as "LAYER:ROOTFS" — an overlay lowerdir list — for the
# package test (tests/e2e/package.bats), which installs berth's .deb on top and runs `man -w`.
# Made once (apt-get in a chroot, from Debian's mirror); the layer is an overlay upper dir, so the
# rootfs under it is never copied or changed.
#
#   make-pkgtest-layer.sh            build the layer if missing, print the lowerdir list
#
# Environment: BERTH_TEST_CACHE (default /var/cache/berth-tests).
set -euo pipefail

cache="${BERTH_TEST_CACHE:-/var/cache/berth-tests}"
# Bump when the contents below change, so an old layer is not used.
version=1
rootfs="$("$(dirname "$0")/make-systemd-rootfs.sh")"
out="$cache/pkgtest-man-db-v$version-on-$(basename "$rootfs")"

exec 9>"$cache/.lock-pkgtest"
flock 9
if [[ -d "$out" ]]; then
    echo "$out:$rootfs"
    exit 0
fi
tmp="$(mktemp -d "$cache/build-pkgtest.XXXXXX")"
echo "make-pkgtest-layer: apt-get install man-db over $rootfs (once; cached in $out)" >&2
mkdir -p "$tmp/upper" "$tmp/work" "$tmp/merged"
# A mount namespace of its own: nothing stays mounted, whatever happens.
if ! unshare --mount --propagation private bash -euc '
    mount -t overlay overlay -o "lowerdir=$1,upperdir=$2/upper,workdir=$2/work" "$2/merged"
    mount -t proc proc "$2/merged/proc"
    cp /etc/resolv.conf "$2/merged/etc/resolv.conf"
    chroot "$2/merged" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
        sh -ec "apt-get update -q && apt-get install -y -q --no-install-recommends man-db && apt-get clean"
    rm -rf "$2/merged/var/lib/apt/lists/"* "$2/merged/var/cache/apt/"*.bin
    : >"$2/merged/etc/resolv.conf"
' _ "$rootfs" "$tmp" >"$tmp/apt.log" 2>&1; then
    tail -n 30 "$tmp/apt.log" >&2
    rm -rf "$tmp"
    exit 1
fi
mv -T "$tmp/upper" "$out"
rm -rf "$tmp"
echo "$out:$rootfs"
