#!/usr/bin/env bats
# pause / resume through the v1 freezer: a paused container makes no progress and reports
# "paused"; resume restarts it; delete --force works on a paused container.

load helpers

setup_file() { itest_setup_file; }

# counter: the container's counter. `echo > file` truncates before it writes, so a read can
# land in between and see nothing: read again until there is a number.
counter() {
    local v i
    for ((i = 0; i < 50; i++)); do
        v="$(cat "$BUNDLE/rootfs/tmp/counter" 2>/dev/null)"
        [[ "$v" =~ ^[0-9]+$ ]] && { echo "$v"; return; }
        sleep 0.01
    done
    echo 0
}

@test "pause stops a counter, state says paused, resume restarts it" {
    cfg '.root.readonly = false'
    set_args sh -c 'i=0; while true; do i=$((i+1)); echo $i > /tmp/counter; sleep 0.02; done'
    run_d "$ID"
    assert_ok
    wait_for 200 test -s "$BUNDLE/rootfs/tmp/counter"
    rb pause "$ID"
    assert_ok
    [[ "$(ctr_status "$ID")" == paused ]] || fail "status: $(ctr_status "$ID")"
    local cg a b
    cg=$(find /sys/fs/cgroup/freezer -type d -name "$ID" | head -1)
    [[ "$(cat "$cg/freezer.state")" == FROZEN ]] || fail "freezer: $(cat "$cg/freezer.state")"
    a=$(counter); sleep 0.3; b=$(counter)
    [[ "$a" == "$b" ]] || fail "the counter moved while paused: $a -> $b"
    rb pause "$ID"
    assert_berth_error 'paused'
    rb exec "$ID" true
    assert_berth_error_code 255 'paused'
    rb resume "$ID"
    assert_ok
    [[ "$(ctr_status "$ID")" == running ]] || fail "status after resume: $(ctr_status "$ID")"
    a=$(counter); sleep 0.3; b=$(counter)
    [[ "$b" -gt "$a" ]] || fail "the counter did not move after resume: $a -> $b"
    rb resume "$ID"
    assert_berth_error 'running'
}

@test "delete --force of a paused container kills it and leaves nothing" {
    set_args sleep 100
    run_d "$ID"
    assert_ok
    local pid
    pid=$(ctr_pid "$ID")
    rb pause "$ID"
    assert_ok
    rb delete "$ID"
    assert_berth_error 'not stopped'
    rb delete --force "$ID"
    assert_ok
    ! pid_alive "$pid" || fail "init $pid still alive"
    [[ -z "$(find /sys/fs/cgroup -type d -name "$ID")" ]] || fail "cgroup left: $(find /sys/fs/cgroup -type d -name "$ID")"
    [[ ! -e "$ROOT/$ID" ]] || fail "state dir left"
}

@test "pause and resume of unknown or stopped containers fail with one line" {
    rb pause nope
    assert_berth_error 'does not exist'
    rb resume nope
    assert_berth_error 'does not exist'
    set_args true
    create_ctr "$ID"
    assert_ok
    rb resume "$ID"
    assert_berth_error 'created'
}

@test "a created container can be paused, as with runc: start waits for resume, then runs" {
    ctl_dir
    set_args sh -c "touch /ctl/started; $WAIT_STOP"
    create_ctr "$ID"
    rb pause "$ID"
    assert_ok
    [[ "$(ctr_status "$ID")" == paused ]] || fail "state after pause: $(ctr_status "$ID")"
    [[ "$(cat "$(cgroup_dirs "$ID" | grep freezer | head -1)/freezer.state")" == FROZEN ]] || fail "not frozen"
    rb start "$ID"
    assert_berth_error 'paused'
    rb resume "$ID"
    assert_ok
    [[ "$(ctr_status "$ID")" == created ]] || fail "state after resume: $(ctr_status "$ID")"
    rb start "$ID"
    assert_ok
    wait_for 100 test -e "$CTL/started" || fail "the workload did not start"
    [[ "$(ctr_status "$ID")" == running ]] || fail "state after start: $(ctr_status "$ID")"
    touch "$CTL/stop"
    wait_status "$ID" stopped
}
