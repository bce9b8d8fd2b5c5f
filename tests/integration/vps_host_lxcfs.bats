#!/usr/bin/env bats
# VPS /proc views (vps/lxcfs through tests/tools/vps_host_tool): berth starts its own lxcfs at a
# mountpoint of its own, a container whose spec gets lxcfsMounts() sees its memory limit in
# /proc/meminfo and its cpuset in /proc/cpuinfo, and the lxcfs stops with its last user.

load helpers

setup_file() {
    itest_setup_file
    export VPS_HOST_TOOL="${BERTH_BUILD_DIR:-$BATS_TEST_DIRNAME/../../build}/tests/tools/vps_host_tool"
    [[ -n "$ITEST_SKIP" || -x "$VPS_HOST_TOOL" ]] || export ITEST_SKIP="vps_host_tool not built: $VPS_HOST_TOOL"
    command -v lxcfs >/dev/null || export ITEST_SKIP="lxcfs is not installed (run scripts/setup.sh)"
    [[ -e /dev/fuse ]] || export ITEST_SKIP="no /dev/fuse"
}

setup() {
    itest_setup
    LX="$TEST_DIR/lxcfs"
}

teardown() {
    [[ -n "${LX:-}" ]] && "$VPS_HOST_TOOL" lxcfs-stop --dir "$LX" >/dev/null 2>&1
    itest_teardown
}

tool() { "$VPS_HOST_TOOL" "$@"; }

lxcfs_pid() { cat "$LX/state/lxcfs.pid" 2>/dev/null; }

@test "lxcfs: started by berth, a container with its binds sees its memory limit and cpuset" {
    [[ -d /sys/fs/cgroup/memory && -d /sys/fs/cgroup/cpuset ]] || skip "no cgroup v1 memory/cpuset hierarchies"
    run tool lxcfs-acquire --dir "$LX" --user vps1
    [[ "$status" -eq 0 ]] || fail "acquire: $output"
    local dir="$output"
    # Another lxcfs already on the host is reused; else berth's own runs at its mountpoint.
    if [[ "$dir" == "$LX/mnt" ]]; then
        local pid
        pid="$(lxcfs_pid)"
        [[ -n "$pid" && "$(cat /proc/$pid/comm)" == lxcfs ]] || fail "no lxcfs pid file"
        grep -q " $LX/mnt .* - fuse.lxcfs " /proc/self/mountinfo || fail "lxcfs is not mounted at $LX/mnt"
    else
        skip_part "an lxcfs already runs on this host at $dir; start/stop of berth's own not tested"
    fi
    run tool lxcfs-mounts --dir "$LX" --lxcfs "$dir"
    [[ "$status" -eq 0 ]] || fail "mounts: $output"
    local mounts="$output"
    for f in meminfo cpuinfo stat uptime loadavg swaps; do
        jq -e --arg d "/proc/$f" 'any(.[]; .destination == $d)' <<<"$mounts" >/dev/null || fail "no bind for /proc/$f: $mounts"
    done
    cfg '.mounts += $m' --argjson m "$mounts"
    cfg '.linux.resources += {memory: {limit: 134217728}, cpu: {cpus: "0"}}'
    set_args sh -c 'grep MemTotal /proc/meminfo; echo cpus=$(grep -c ^processor /proc/cpuinfo); cat /proc/uptime
        echo online=$(cat /sys/devices/system/cpu/online 2>/dev/null)'
    run_fg "$(new_id)"
    [[ "$status" -eq 0 ]] || { show_call; fail "run failed"; }
    grep -Eq '^MemTotal: +131072 kB$' <<<"$output" || fail "MemTotal is not 128M: $output"
    grep -qx 'cpus=1' <<<"$output" || fail "cpuinfo does not show 1 CPU: $output"
    if jq -e 'any(.[]; .destination == "/sys/devices/system/cpu/online")' <<<"$mounts" >/dev/null; then
        grep -qx 'online=0' <<<"$output" || fail "/sys/devices/system/cpu/online is not 0: $output"
    else
        skip_part "this lxcfs offers no sys/devices/system/cpu/online"
    fi
    # The container's uptime, not the host's (the host has been up for more than a minute... or
    # not: compare with the host's instead of asserting a time).
    local up host_up
    up="$(awk 'NR == 3 { print int($1) }' <<<"$output")"
    host_up="$(awk '{ print int($1) }' /proc/uptime)"
    [[ "$up" -le "$host_up" ]] || fail "uptime inside ($up) above the host's ($host_up)"

    # A second user keeps it running; the last release stops it and removes the mount.
    run tool lxcfs-acquire --dir "$LX" --user vps2
    [[ "$status" -eq 0 && "$output" == "$dir" ]] || fail "second acquire: $output"
    run tool lxcfs-release --dir "$LX" --user vps1
    [[ "$status" -eq 0 ]] || fail "release: $output"
    if [[ "$dir" == "$LX/mnt" ]]; then
        pid="$(lxcfs_pid)"
        [[ -n "$pid" ]] && kill -0 "$pid" || fail "lxcfs stopped while vps2 uses it"
    fi
    run tool lxcfs-release --dir "$LX" --user vps2
    [[ "$status" -eq 0 ]] || fail "release: $output"
    if [[ "$dir" == "$LX/mnt" ]]; then
        wait_for 100 bash -c "! kill -0 $pid 2>/dev/null" || fail "lxcfs $pid still runs"
        ! grep -q " $LX/mnt " /proc/self/mountinfo || fail "lxcfs mount left"
        [[ ! -e "$LX/state/lxcfs.pid" ]] || fail "pid file left"
    fi
}
