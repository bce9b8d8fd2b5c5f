# shellcheck shell=bash
# bench/lib.sh: what bench.sh and many.sh share (sourced, not run): the runtimes' binaries, the
# state roots on a tmpfs, crun's private mount namespace, removing what a runtime left.
#
# A runtime is named in --runtimes as NAME (berth, runc, crun: berth is $BERTH, the others from
# PATH) or NAME=PATH (another binary under its own name, e.g. base=/tmp/old/berth, to measure two
# berth builds in one run; a NAME starting with "berth" or any NAME=PATH of a berth build is
# measured like berth). crun is recognised by NAME crun or a PATH ending in /crun.

# bench_runtime_bin SPEC: the absolute binary of a runtime spec, or nothing (reason on fd 2).
bench_runtime_bin() {
    local spec="$1" name path
    name="${spec%%=*}"
    if [[ "$spec" == *=* ]]; then
        path="${spec#*=}"
    elif [[ "$name" == berth ]]; then
        path="$BERTH"
    else
        command -v "$name" || echo "bench: $name not installed; skipping it" >&2
        return 0
    fi
    if [[ -x "$path" ]]; then
        echo "$(cd "$(dirname "$path")" && pwd)/$(basename "$path")"
    else
        echo "bench: $name not found at $path (build it, or pass --berth PATH); skipping it" >&2
    fi
}

# bench_runtime_name SPEC: the name a runtime's results go under.
bench_runtime_name() { echo "${1%%=*}"; }

# bench_state_base PREFIX DISK_STATE: makes STATE_BASE (/run/PREFIX.XXXXXX) and sets STATE_FS.
# Every runtime keeps its state under /run, a tmpfs on most hosts, where berth's fsync of its
# state record is free. Where /run is on a disk (this project's VMs) each fsync waits for the
# disk: unless DISK_STATE is 1, the roots go on a tmpfs of their own, the same for every runtime.
# The caller's EXIT trap runs bench_state_base_cleanup.
bench_state_base() {
    STATE_BASE="$(mktemp -d "/run/$1.XXXXXX")"
    export STATE_BASE
    STATE_FS="$(stat -f -c %T /run)"
    if [[ "$STATE_FS" != tmpfs && "$2" != 1 ]]; then
        mount -t tmpfs -o mode=0711 "$1" "$STATE_BASE"
        STATE_FS="tmpfs (mounted by the bench: /run is $STATE_FS here)"
    fi
}

bench_state_base_cleanup() {
    [[ -n "${STATE_BASE:-}" ]] || return 0
    umount "$STATE_BASE" 2>/dev/null || true
    rm -rf "$STATE_BASE"
}

# bench_is_crun BIN: crun 1.8 refuses this host's hybrid cgroup layout ("cgroups in hybrid mode
# not supported").
bench_is_crun() { [[ "$(basename "$1")" == crun ]]; }

# bench_measure_in_ns BIN CMD...: runs CMD for runtime BIN; for crun in one private mount
# namespace where the cgroup2 mount is gone, for the whole loop, so no wrapper cost (~9 ms a
# call here) lands in crun's figures. Other runtimes run in the host's namespace as is.
bench_measure_in_ns() {
    local bin="$1"
    shift
    if bench_is_crun "$bin"; then
        unshare -m --propagation private sh -c 'umount /sys/fs/cgroup/unified 2>/dev/null; exec "$@"' sh "$@"
    else
        "$@"
    fi
}

# bench_remove_all BIN ROOT: force-deletes every container under ROOT; prints the count of
# failures.
bench_remove_all() {
    local bin="$1" root="$2" dir fails=0
    for dir in "$root"/*/; do
        [[ -d "$dir" ]] || continue
        "$bin" --root "$root" delete --force "$(basename "$dir")" >/dev/null 2>&1 || fails=$((fails + 1))
    done
    echo "$fails"
}
