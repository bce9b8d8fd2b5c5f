#!/bin/bash
# README's first command on a fresh Debian 12, end to end, as root without sudo: the committed
# tree (git archive HEAD) in a chroot of the cached debootstrap (tests/lib/make-systemd-rootfs.sh,
# through an overlay, so the cache is never changed), `./scripts/quickstart.sh` there — apt-get
# from Debian's mirror, the build, the busybox bundle — must end with `hello`.
#
#   tests/slow/quickstart-fresh.sh [--keep]
#
# Not part of .ci/run: it compiles berth from scratch (5.6 min on two cores here: apt, then the
# berth target only), which the 30-minute CI budget cannot take on top of its own two builds. Run
# it before a release and after changing scripts/quickstart.sh, scripts/setup.sh or the build.
# Needs root, network access to Debian's mirror, and about 2 GiB in /var/tmp. --keep keeps the
# chroot's upper dir (its path is printed) for a look at what went wrong.
set -euo pipefail

cd "$(dirname "$0")/../.."
[[ $(id -u) -eq 0 ]] || { echo "quickstart-fresh: run as root" >&2; exit 1; }
keep=0
[[ "${1:-}" == "--keep" ]] && keep=1

rootfs="$(tests/lib/make-systemd-rootfs.sh)"
work="$(mktemp -d /var/tmp/berth-quickstart-fresh.XXXXXX)"
[[ $keep -eq 1 ]] || trap 'rm -rf --one-file-system "$work"' EXIT
mkdir -p "$work"/{upper,work,merged} "$work/upper/root/berth"
git archive HEAD | tar -x -C "$work/upper/root/berth"
# The debootstrap's /etc has no sudo; the chroot's root is root (as on a fresh machine).
echo "quickstart-fresh: ./scripts/quickstart.sh in a Debian 12 chroot ($work)"
start=$(date +%s)
set +e
# A mount namespace of its own: nothing stays mounted. /sys (cgroups) and /dev are the host's,
# as a machine's own would be; the container runs in the chroot's overlay.
unshare --mount --propagation private bash -euc '
    mount -t overlay overlay -o "lowerdir=$1,upperdir=$2/upper,workdir=$2/work" "$2/merged"
    mount -t proc proc "$2/merged/proc"
    mount --rbind /sys "$2/merged/sys"
    mount --rbind /dev "$2/merged/dev"
    mount -t tmpfs tmpfs "$2/merged/run"
    mount -t tmpfs tmpfs "$2/merged/tmp"
    cp /etc/resolv.conf "$2/merged/etc/resolv.conf"
    ! chroot "$2/merged" sh -c "command -v sudo" >/dev/null || { echo "the chroot has sudo" >&2; exit 1; }
    exec chroot "$2/merged" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
        sh -c "cd /root/berth && ./scripts/quickstart.sh"
' _ "$rootfs" "$work" </dev/null | tee "$work/output"
status=${PIPESTATUS[0]}
set -e
echo "quickstart-fresh: exit status $status after $(($(date +%s) - start)) s"
if [[ $status -ne 0 || "$(tail -n 1 "$work/output")" != hello ]]; then
    echo "quickstart-fresh: FAILED (the last line is not hello)" >&2
    exit 1
fi
echo "quickstart-fresh: passed"
