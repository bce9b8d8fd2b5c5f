#!/bin/bash
# Prints the path of a cached Debian bookworm rootfs directory whose init is systemd (with dbus),
# made once with debootstrap from Debian's mirror, for running systemd as PID 1 in a container.
# Tests use it read-only, as the lower layer of an overlay mount, so nothing is copied per run.
#
#   make-systemd-rootfs.sh            build the rootfs if missing, print its path
#   make-systemd-rootfs.sh --check    print the path if it is cached, exit 1 if not
#
# Environment: BERTH_TEST_CACHE (default /var/cache/berth-tests), DEBIAN_MIRROR.
# The directory appears by rename only after a complete build, so an interrupted run is never
# reused; a lock keeps two test runs from debootstrapping at once.
set -euo pipefail

cache="${BERTH_TEST_CACHE:-/var/cache/berth-tests}"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
# Bump when the contents below change, so an old cache is not used.
version=1
out="$cache/debian-bookworm-systemd-v$version"

if [[ "${1:-}" == "--check" ]]; then
    [[ -d "$out" ]] && { echo "$out"; exit 0; }
    exit 1
fi

command -v debootstrap >/dev/null || {
    echo "make-systemd-rootfs: debootstrap is missing (apt-get install debootstrap)" >&2
    exit 1
}
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
if [[ -d "$out" ]]; then
    echo "$out"
    exit 0
fi

tmp="$(mktemp -d "$cache/build.XXXXXX")"
# cleanup: an interrupted debootstrap may leave its /proc and /sys mounts in the tree.
cleanup() {
    awk -v d="$tmp/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
        xargs -r -n1 umount -l 2>/dev/null || true
    rm -rf --one-file-system "$tmp"
}
trap cleanup EXIT
# Stopped (the test command stops its prefetch when it ends first): the partial tree goes too.
trap 'exit 143' TERM INT
echo "make-systemd-rootfs: debootstrap bookworm from $mirror (once; cached in $out)" >&2
debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus \
    bookworm "$tmp/rootfs" "$mirror" >"$tmp/debootstrap.log" 2>&1 || {
    tail -n 30 "$tmp/debootstrap.log" >&2
    exit 1
}
root="$tmp/rootfs"
# Units that have no business in a test container (and would only slow boot or fail there).
for unit in systemd-timesyncd.service apt-daily.timer apt-daily-upgrade.timer \
    e2scrub_all.timer fstrim.timer systemd-networkd.service; do
    ln -sfn /dev/null "$root/etc/systemd/system/$unit"
done
: >"$root/etc/machine-id"
echo "berth-systemd" >"$root/etc/hostname"
rm -rf "$root/var/cache/apt/archives/"*.deb "$root/var/lib/apt/lists/"*
mv -T "$root" "$out"
echo "$out"
