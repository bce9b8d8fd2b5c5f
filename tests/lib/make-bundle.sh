#!/bin/bash
# Makes an OCI bundle (or a rootfs tarball) from Debian's busybox-static, with no network.
#
#   make-bundle.sh DIR [ARG...]     DIR/rootfs + DIR/config.json; process.args = ARG... (default: sh)
#   make-bundle.sh --tar FILE       a rootfs tarball (for `podman import FILE`)
#
# config.json is what `runc spec` (1.1.5) writes, with process.terminal=false and the given args.
# Environment: BUSYBOX=/path/to/static/busybox (default: /bin/busybox from busybox-static).
set -euo pipefail

usage() {
    echo "usage: $0 DIR [ARG...] | $0 --tar FILE" >&2
    exit 2
}

BUSYBOX="${BUSYBOX:-/bin/busybox}"

# make_rootfs ROOTFS: a minimal busybox root filesystem.
make_rootfs() {
    local rootfs="$1" path dir
    if [[ ! -x "$BUSYBOX" ]]; then
        echo "make-bundle: $BUSYBOX not found (apt-get install busybox-static)" >&2
        return 1
    fi
    if ldd "$BUSYBOX" >/dev/null 2>&1; then
        echo "make-bundle: $BUSYBOX is dynamically linked; install busybox-static" >&2
        return 1
    fi

    mkdir -p "$rootfs"
    for dir in bin sbin usr/bin usr/sbin etc proc sys dev tmp root home/user var/tmp run; do
        mkdir -p "$rootfs/$dir"
    done
    chmod 1777 "$rootfs/tmp" "$rootfs/var/tmp"
    chmod 0700 "$rootfs/root"

    # Copy the real binary first; `--list-full` names bin/busybox itself, which must stay a file.
    install -m 0755 "$BUSYBOX" "$rootfs/bin/busybox"
    while IFS= read -r path; do
        [[ -z "$path" || "$path" == */busybox ]] && continue
        mkdir -p "$rootfs/$(dirname "$path")"
        ln -sfn /bin/busybox "$rootfs/$path"
    done < <("$BUSYBOX" --list-full)

    cat >"$rootfs/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
user:x:1000:1000:test user:/home/user:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
    cat >"$rootfs/etc/group" <<'GROUP'
root:x:0:
tty:x:5:
user:x:1000:
nogroup:x:65534:
GROUP
    chown 1000:1000 "$rootfs/home/user" 2>/dev/null || true
    echo "berth" >"$rootfs/etc/hostname"
    printf '127.0.0.1\tlocalhost\n::1\tlocalhost\n' >"$rootfs/etc/hosts"
    : >"$rootfs/etc/resolv.conf"
}

# The output of `runc spec` (runc 1.1.5), kept verbatim so bundles do not depend on any runtime.
runc_spec() {
    cat <<'SPEC'
{
	"ociVersion": "1.0.2-dev",
	"process": {
		"terminal": true,
		"user": {"uid": 0, "gid": 0},
		"args": ["sh"],
		"env": [
			"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			"TERM=xterm"
		],
		"cwd": "/",
		"capabilities": {
			"bounding": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
			"effective": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
			"permitted": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
			"ambient": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
		},
		"rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
		"noNewPrivileges": true
	},
	"root": {"path": "rootfs", "readonly": true},
	"hostname": "runc",
	"mounts": [
		{"destination": "/proc", "type": "proc", "source": "proc"},
		{"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
		 "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
		{"destination": "/dev/pts", "type": "devpts", "source": "devpts",
		 "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
		{"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
		 "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
		{"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
		 "options": ["nosuid", "noexec", "nodev"]},
		{"destination": "/sys", "type": "sysfs", "source": "sysfs",
		 "options": ["nosuid", "noexec", "nodev", "ro"]},
		{"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
		 "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}
	],
	"linux": {
		"resources": {"devices": [{"allow": false, "access": "rwm"}]},
		"namespaces": [
			{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"}
		],
		"maskedPaths": [
			"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
			"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi"
		],
		"readonlyPaths": [
			"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"
		]
	}
}
SPEC
}

command -v jq >/dev/null || { echo "make-bundle: jq is required (apt-get install jq)" >&2; exit 1; }
[[ $# -ge 1 ]] || usage

if [[ "$1" == "--tar" ]]; then
    [[ $# -eq 2 ]] || usage
    out="$2"
    tmp="$(mktemp -d "${TMPDIR:-/tmp}/berth-rootfs.XXXXXX")"
    trap 'rm -rf "$tmp"' EXIT
    make_rootfs "$tmp/rootfs"
    tar -C "$tmp/rootfs" --numeric-owner -cf "$out.tmp.$$" .
    mv -f "$out.tmp.$$" "$out"
    exit 0
fi

case "$1" in -h | --help) usage ;; -*) usage ;; esac
dir="$1"
shift
[[ $# -gt 0 ]] || set -- sh

mkdir -p "$dir"
make_rootfs "$dir/rootfs"
runc_spec | jq --tab '.process.terminal = false | .process.args = $ARGS.positional' \
    --args -- "$@" >"$dir/config.json.tmp"
mv -f "$dir/config.json.tmp" "$dir/config.json"
