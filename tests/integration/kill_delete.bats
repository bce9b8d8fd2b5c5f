#!/usr/bin/env bats
# kill (signal names, numbers, the default SIGTERM, -a, bad signals) and delete (--force of a
# running container, refusing a running one without it).

load helpers

setup_file() { itest_setup_file; }

@test "kill by name (KILL, SIGKILL) and by number (9)" {
    ctl_dir
    set_args sh -c "$WAIT_STOP"
    local sig id pid
    for sig in KILL SIGKILL 9; do
        id="$(new_id)"
        run_d "$id"
        pid="$(ctr_pid "$id")"
        rb kill "$id" "$sig"
        assert_ok
        wait_status "$id" stopped
        wait_for 100 eval '! pid_alive "$pid"' || fail "kill $sig: init $pid still alive"
        rb delete "$id"
        assert_ok
    done
}

@test "kill without a signal sends SIGTERM (to a trap handler)" {
    ctl_dir
    set_args sh -c 'trap "echo TERM > /ctl/got; exit 0" TERM; touch /ctl/ready; while :; do sleep 0.05; done'
    run_d "$ID"
    wait_for 200 test -e "$CTL/ready" || fail "container did not start"
    rb kill "$ID"
    assert_ok
    wait_status "$ID" stopped
    [[ "$(cat "$CTL/got" 2>/dev/null)" == TERM ]] || fail "the handler did not see SIGTERM"

    # Other signals by name reach the handler too, and the container keeps running.
    local id
    id="$(new_id)"
    rm -f "$CTL/ready"
    set_args sh -c 'trap "echo HUP >> /ctl/hup" HUP; trap "echo USR2 >> /ctl/hup" USR2; touch /ctl/ready; while :; do sleep 0.05; done'
    run_d "$id"
    wait_for 200 test -e "$CTL/ready" || fail "container did not start"
    rb kill "$id" HUP
    assert_ok
    wait_for 100 grep -q HUP "$CTL/hup" || fail "no HUP"
    rb kill "$id" SIGUSR2
    assert_ok
    wait_for 100 grep -q USR2 "$CTL/hup" || fail "no USR2"
    [[ "$(ctr_status "$id")" == running ]]
}

@test "kill -a signals every process of a container without a pid namespace" {
    del_ns pid
    ctl_dir
    set_args sh -c 'sleep 1000 & sleep 1001 & touch /ctl/ready; wait'
    local a b pids pid
    a="$(new_id)"
    run_d "$a"
    wait_for 200 test -e "$CTL/ready" || fail "container did not start"
    rb ps -f json "$a"
    assert_ok
    pids="$(jq -r '.[]' <<<"$output")"
    [[ "$(wc -l <<<"$pids")" -eq 3 ]] || fail "expected 3 processes" "$output"
    rb kill -a "$a" KILL
    assert_ok
    for pid in $pids; do
        wait_for 100 eval '! pid_alive "$pid"' || fail "kill -a: $pid still alive"
    done
    wait_status "$a" stopped

    # Without -a only the init is signalled: its children live on until delete --force.
    rm -f "$CTL/ready"
    b="$(new_id)"
    run_d "$b"
    wait_for 200 test -e "$CTL/ready" || fail "container did not start"
    rb ps -f json "$b"
    assert_ok
    pids="$(jq -r '.[]' <<<"$output")"
    local init
    init="$(ctr_pid "$b")"
    rb kill "$b" KILL
    assert_ok
    wait_for 100 eval '! pid_alive "$init"' || fail "init $init still alive"
    for pid in $pids; do
        [[ "$pid" == "$init" ]] && continue
        pid_alive "$pid" || fail "child $pid of the init died with it (no pid namespace)"
    done
    rb delete -f "$b"
    assert_ok
    for pid in $pids; do
        wait_for 100 eval '! pid_alive "$pid"' || fail "delete -f left $pid alive"
    done
    [[ -z "$(cgroup_dirs "$b")" ]] || fail "cgroup of $b remains"
}

@test "kill with a bad signal: one error line, the container is unaffected" {
    ctl_dir
    set_args sh -c "$WAIT_STOP"
    run_d "$ID"
    local sig
    for sig in NOTASIGNAL SIGFOO 0x9 99; do
        rb kill "$ID" "$sig"
        [[ "$status" -ne 0 ]] || fail "kill '$sig' succeeded"
        assert_berth_error 'signal'
    done
    [[ "$(ctr_status "$ID")" == running ]] || fail "the container was affected"
}

@test "kill of a stopped container fails; of a created one works" {
    set_args true
    run_fg "$ID" --keep
    assert_ok
    rb kill "$ID" KILL
    assert_berth_error 'not running|stopped'

    ctl_dir
    set_args sh -c "$WAIT_STOP"
    local id
    id="$(new_id)"
    create_ctr "$id"
    rb kill "$id" KILL
    assert_ok
    wait_status "$id" stopped
    [[ ! -e "$CTL/stop" ]]
}

# runc 1.1's rules for kill (containerd's CRI plugin sends `kill --all ID 9` to a pod sandbox that
# has already exited, and retries StopPodSandbox until it exits 0). SIG 0 probes a live init.
#   state                     kill ID SIG                       kill --all ID SIG
KILL_RULES='
    running                   0                                 0
    created                   0                                 0
    stopped                   1                                 0
    stopped-no-cgroup         1                                 0
    unknown                   1                                 1'

# expect_kill ID STATE SIG: checks `kill ID SIG` and `kill --all ID SIG` against KILL_RULES.
expect_kill() {
    local id="$1" state="$2" sig="$3" want_one want_all
    read -r want_one want_all < <(awk -v s="$state" '$1 == s { print $2, $3 }' <<<"$KILL_RULES")
    [[ -n "$want_one" ]] || { fail "no rule for $state"; return 1; }
    rb kill "$id" "$sig"
    if [[ "$want_one" -eq 0 ]]; then assert_ok || fail "kill $sig of a $state container"; else
        assert_berth_error 'not running|stopped|not exist|no such' || fail "kill $sig of a $state container"; fi
    rb kill --all "$id" "$sig"
    if [[ "$want_all" -eq 0 ]]; then assert_ok || fail "kill --all $sig of a $state container"; else
        assert_berth_error 'not exist|no such' || fail "kill --all $sig of a $state container"; fi
}

# remove_cgroups ID: rmdir every cgroup directory named ID; true once none is left.
remove_cgroups() {
    find /sys/fs/cgroup -depth -type d -name "$1" -exec rmdir {} \; 2>/dev/null
    [[ -z "$(cgroup_dirs "$1")" ]]
}

@test "kill follows runc's rules: a stopped container with --all and signal 0" {
    ctl_dir
    set_args sh -c "$WAIT_STOP"
    local a b
    a="$(new_id)"
    run_d "$a"
    # SIG 0 on a live container signals nothing: it is still running afterwards.
    expect_kill "$a" running 0
    [[ "$(ctr_status "$a")" == running ]] || fail "signal 0 changed the container: $(ctr_status "$a")"
    b="$(new_id)"
    create_ctr "$b"
    expect_kill "$b" created 0
    [[ "$(ctr_status "$b")" == created ]] || fail "signal 0 changed the container: $(ctr_status "$b")"

    # The pod sandbox case: the init exited, its cgroup is still there until delete.
    touch "$CTL/stop"
    wait_status "$a" stopped
    [[ -n "$(cgroup_dirs "$a")" ]] || fail "the stopped container's cgroup is already gone"
    local sig
    for sig in 9 KILL TERM 0; do
        expect_kill "$a" stopped "$sig"
    done
    # Its cgroup removed behind berth's back: --all has nothing to signal, and still succeeds.
    # (Retried: the init's children die with it, but may take a moment to leave the cgroup.)
    wait_for 100 remove_cgroups "$a" || fail "could not remove the cgroup of $a:" "$(cgroup_dirs "$a")"
    expect_kill "$a" stopped-no-cgroup 9
    rb delete "$a"
    assert_ok
    expect_kill "$a" unknown 9
    expect_kill "nosuch-$TAG" unknown 0
}

@test "delete of a running container without --force fails and changes nothing" {
    ctl_dir
    set_args sh -c "$WAIT_STOP"
    run_d "$ID"
    local pid
    pid="$(ctr_pid "$ID")"
    rb delete "$ID"
    assert_berth_error 'running|not stopped'
    [[ "$(ctr_status "$ID")" == running ]]
    pid_alive "$pid"
    [[ -d "$ROOT/$ID" ]]
    [[ -n "$(cgroup_dirs "$ID")" ]]
}

@test "delete --force of a running container kills it and removes state and cgroup" {
    ctl_dir
    set_args sh -c "sleep 1000 & $WAIT_STOP"
    run_d "$ID"
    local pid cgs
    pid="$(ctr_pid "$ID")"
    cgs="$(cgroup_dirs "$ID")"
    [[ -n "$cgs" ]] || fail "no cgroup dir named $ID while running"
    grep -qx "$pid" <<<"$(cat $(head -1 <<<"$cgs")/cgroup.procs)" || fail "init $pid is not in $(head -1 <<<"$cgs")"
    [[ -d "$ROOT/$ID" ]]
    mounts_snapshot

    rb delete --force "$ID"
    assert_ok
    ! pid_alive "$pid" || fail "init $pid survived delete --force"
    assert_no_leftovers "$ID"
    rb state "$ID"
    assert_berth_error 'does not exist'

    # delete -f of a created (not started) container, too.
    local id
    id="$(new_id)"
    create_ctr "$id"
    pid="$(ctr_pid "$id")"
    rb delete -f "$id"
    assert_ok
    ! pid_alive "$pid"
    assert_no_leftovers "$id"
}
