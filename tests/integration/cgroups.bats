#!/usr/bin/env bats
# Cgroups: the container's cgroup is made under berth's own (relative, as runc), limits from
# linux.resources reach the knobs, linux.cgroupsPath is honoured, and everything is removed.

load helpers

setup_file() { itest_setup_file; }

# cg_path CONTROLLER ID: the container's directory in a v1 hierarchy (from the init's
# /proc/PID/cgroup).
cg_path() {
    local pid rel
    pid="$(ctr_pid "$2")"
    rel="$(awk -F: -v c="$1" '{ n = split($2, a, ","); for (i = 1; i <= n; i++) if (a[i] == c) print $3 }' "/proc/$pid/cgroup")"
    echo "/sys/fs/cgroup/$1$rel"
}

@test "linux.resources limits are written to the container's cgroup" {
    [[ -d /sys/fs/cgroup/memory && -d /sys/fs/cgroup/pids ]] || skip "no cgroup v1 memory/pids hierarchies"
    cfg '.linux.resources += {memory: {limit: 67108864}, pids: {limit: 42}, cpu: {shares: 512}}'
    ctl_dir
    set_args sh -c "$WAIT_STOP"
    run_d "$ID"
    local mem pids cpu
    mem="$(cg_path memory "$ID")"
    pids="$(cg_path pids "$ID")"
    cpu="$(cg_path cpu "$ID")"
    [[ "$(basename "$mem")" == "$ID" ]] || fail "memory cgroup $mem is not named after the container"
    [[ "$(cat "$mem/memory.limit_in_bytes")" == 67108864 ]] || fail "memory.limit_in_bytes: $(cat "$mem/memory.limit_in_bytes")"
    [[ "$(cat "$pids/pids.max")" == 42 ]] || fail "pids.max: $(cat "$pids/pids.max")"
    [[ "$(cat "$cpu/cpu.shares")" == 512 ]] || fail "cpu.shares: $(cat "$cpu/cpu.shares")"
    # The container's cgroup is under berth's own memory cgroup (this machine nests its processes).
    local own
    own="$(awk -F: '$2 == "memory" { print $3 }' /proc/self/cgroup)"
    [[ "$mem" == "/sys/fs/cgroup/memory$own/"* ]] || fail "$mem is not under the caller's memory cgroup $own"
    # The pids limit is enforced: forks beyond it fail.
    rb exec "$ID" sh -c 'for i in $(seq 1 60); do sleep 5 & done 2>/dev/null; true'
    [[ "$(cat "$pids/pids.current")" -le 42 ]] || fail "pids.current: $(cat "$pids/pids.current")"
    [[ "$(awk '$1 == "max" { print $2 }' "$pids/pids.events")" -gt 0 ]] || fail "pids.events: $(cat "$pids/pids.events")"
}

@test "linux.cgroupsPath is honoured and removed with the container" {
    local rel="/itest-$TAG/inner-$TAG"
    cfg '.linux.cgroupsPath = $p' --arg p "$rel"
    ctl_dir
    set_args sh -c "$WAIT_STOP"
    run_d "$ID"
    local pid
    pid="$(ctr_pid "$ID")"
    grep -q ":pids:$rel\$" "/proc/$pid/cgroup" || fail "init's cgroups:" "$(cat "/proc/$pid/cgroup")"
    [[ -d "/sys/fs/cgroup/pids$rel" ]]
    rb delete -f "$ID"
    assert_ok
    [[ ! -e "/sys/fs/cgroup/pids$rel" ]] || fail "cgroup /sys/fs/cgroup/pids$rel remains"
    find /sys/fs/cgroup -depth -type d -name "itest-$TAG" -exec rmdir {} \; 2>/dev/null || true
}

@test "the devices cgroup starts from deny-all even without linux.resources (as runc)" {
    cfg 'del(.linux.resources)'
    set_args cat /sys/fs/cgroup/devices/devices.list
    run_fg "$ID"
    assert_ok
    ! grep -qx 'a \*:\* rwm' <<<"$output" || fail "every device is allowed:" "$output"
    grep -qx 'c 1:3 rwm' <<<"$output" || fail "/dev/null is not allowed:" "$output"
}

@test "a cgroupsPath with .. stays inside each hierarchy" {
    cfg '.linux.cgroupsPath = "../../../../../../../tmp/" + $id' --arg id "$ID"
    set_args cat /proc/self/cgroup
    run_fg "$ID"
    assert_ok
    grep -q "pids:/tmp/$ID$" <<<"$output" || fail "$output"
    [[ ! -e "/tmp/$ID" ]] || { rmdir "/tmp/$ID"; fail "a host directory was made"; }
    [[ -z "$(find /sys/fs/cgroup -type d -name "$ID")" ]] || fail "cgroup left"
}

@test "linux.devices entries do not punch holes in linux.resources.devices' deny (v1 devices cgroup)" {
    host_has_v1_controller devices || skip "no cgroup v1 devices controller"
    # The template denies everything; /dev/kmsg is made as a node but not allowed (as runc).
    [[ "$(jq -c '.linux.resources.devices' "$BUNDLE/config.json")" == '[{"allow":false,"access":"rwm"}]' ]] ||
        fail "the template bundle no longer denies all devices"
    cfg '.linux.devices = [{path: "/dev/kmsg", type: "c", major: 1, minor: 11, fileMode: 438, uid: 0, gid: 0}]'
    set_args sh -c '
        [ -c /dev/kmsg ] && echo node:ok
        (echo x > /dev/kmsg) 2>&1
        head -c1 /dev/kmsg 2>&1 >/dev/null
        echo x > /dev/null && echo null:ok
        cat /sys/fs/cgroup/devices/devices.list'
    run_fg "$ID"
    assert_ok
    grep -qx 'node:ok' <<<"$output" || fail "/dev/kmsg was not made:" "$output"
    [[ "$(grep -c 'kmsg: Operation not permitted' <<<"$output")" -eq 2 ]] ||
        fail "writing and reading /dev/kmsg must fail with EPERM:" "$output"
    grep -qx 'null:ok' <<<"$output" || fail "/dev/null (a default) is not allowed:" "$output"
    ! grep -q '^c 1:11 ' <<<"$output" || fail "devices.list allows /dev/kmsg:" "$output"
}

@test "a frozen cgroupsPath (or a frozen parent of it) is refused before anything is made" {
    host_has_v1_controller freezer || skip "no cgroup v1 freezer controller"
    local frozen="/sys/fs/cgroup/freezer/$TAG-frozen" path sub status_run
    mkdir "$frozen"
    echo FROZEN >"$frozen/freezer.state"
    [[ "$(cat "$frozen/freezer.state")" == FROZEN ]] || fail "could not freeze $frozen"
    set_args true
    for path in "/$TAG-frozen" "/$TAG-frozen/sub"; do
        cfg '.linux.cgroupsPath = $p' --arg p "$path"
        # A hung run would leave its init in D state: keep the wait short, thaw before asserting.
        BERTH_TIMEOUT=15 rb run -d -b "$BUNDLE" "$ID"
        status_run="$status"
        if [[ "$status_run" -eq 124 || "$status_run" -eq 137 ]]; then
            echo THAWED >"$frozen/freezer.state"
            fail "run into $path hung (status $status_run)"
        fi
        assert_berth_error 'frozen'
        # Nothing is left: no state, no cgroup in any hierarchy, the frozen cgroup untouched.
        rb list -q
        assert_ok
        [[ -z "$output" ]] || fail "state left behind: $output"
        [[ "$(cgroup_dirs "$TAG-frozen")" == "$frozen" ]] || fail "cgroups made:" "$(cgroup_dirs "$TAG-frozen")"
        [[ ! -e "$frozen/sub" ]] || fail "$frozen/sub was made"
        [[ "$(cat "$frozen/freezer.state")" == FROZEN ]] || fail "the cgroup was thawed"
        [[ -z "$(cat "$frozen/cgroup.procs")" ]] || fail "processes were placed in it: $(cat "$frozen/cgroup.procs")"
    done
    echo THAWED >"$frozen/freezer.state"
    # Thawed, the same cgroup works.
    cfg '.linux.cgroupsPath = $p' --arg p "/$TAG-frozen"
    run_fg "$ID"
    assert_ok
}

@test "create in a cgroup that already holds processes warns (as runc 1.1)" {
    cfg '.linux.cgroupsPath = $p' --arg p "/${TAG}-shared"
    ctl_dir
    set_args sh -c "$WAIT_STOP"
    run_d "$ID"
    ! grep -qi 'not empty' "$TEST_DIR/$ID.log" || fail "warned for an empty cgroup" "$(cat "$TEST_DIR/$ID.log")"
    local b
    b="$(new_id)"
    create_ctr "$b"
    grep -q "container's cgroup is not empty: [0-9]* process(es) found" "$TEST_DIR/$b.log" ||
        fail "no warning" "$(cat "$TEST_DIR/$b.log")"
    # A create that fails in the shared cgroup leaves the other container's processes alone.
    local c
    c="$(new_id)"
    cfg '.mounts += [{destination: "/bad", type: "nosuchfs", source: "none"}]'
    rb create -b "$BUNDLE" "$c"
    [[ "$status" -ne 0 ]] || fail "create with a bad mount succeeded"
    [[ "$(ctr_status "$ID")" == running ]] || fail "the failed create killed the other container: $(ctr_status "$ID")"
    touch "$CTL/stop"
}

@test "--systemd-cgroup without systemd warns that it uses cgroupfs" {
    [[ ! -e /run/systemd/system ]] || skip "systemd runs here (tests/e2e/systemd.bats covers it)"
    cfg '.linux.cgroupsPath = $p' --arg p "system.slice:${TAG}:x"
    set_args true
    rb --systemd-cgroup run -b "$BUNDLE" "$ID"
    assert_ok
    grep -q 'systemd is not running' <<<"$stderr" || fail "no warning" "$stderr"
    # The slice's directory berth made for it goes with the container (runc refuses the flag).
    local slice="bt${BASHPID}x.slice"
    cfg '.linux.cgroupsPath = $p' --arg p "$slice:${TAG}:x"
    rb --systemd-cgroup run -b "$BUNDLE" "$ID"
    assert_ok
    [[ -z "$(cgroup_dirs "$slice")" ]] || fail "left behind:" "$(cgroup_dirs "$slice")"
}

@test "cgroupfs: delete removes the parent cgroups create made, and only those" {
    local top="bt${BASHPID}p"
    # One hierarchy has the parent already (someone else's): it stays.
    mkdir "/sys/fs/cgroup/pids/$top"
    cfg '.linux.cgroupsPath = $p' --arg p "/$top/a/$ID"
    set_args true
    rb run -b "$BUNDLE" "$ID"
    assert_ok
    local left
    left="$(cgroup_dirs "$top")"
    rmdir "/sys/fs/cgroup/pids/$top" || fail "the parent berth did not make is gone, or not empty"
    [[ "$left" == "/sys/fs/cgroup/pids/$top" ]] || fail "left behind (or removed):" "$left"
}
