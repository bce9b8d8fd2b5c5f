#!/usr/bin/env bats
# Crash safety: a runtime killed with SIGKILL in the middle of create leaves a container that
# `state` reports and `delete --force` removes completely.

load helpers

setup_file() { itest_setup_file; }

# start_create_blocked_in_hook: berth create in the background, blocked in a createRuntime hook
# (which records that it runs, then sleeps). Sets BPID (berth's pid).
start_create_blocked_in_hook() {
    cat >"$TEST_DIR/sleephook.sh" <<EOF
#!/bin/sh
touch "$TEST_DIR/hook-running"
exec /bin/sleep 5
EOF
    chmod 0755 "$TEST_DIR/sleephook.sh"
    # The hook carries its own tag, so the container's leftovers can be told from it.
    cfg '.hooks.createRuntime = [{path: $p, env: [("BERTH_ITEST_HOOK=" + $tag)]}]' \
        --arg p "$TEST_DIR/sleephook.sh" --arg tag "$TAG"
    ctl_dir
    set_args sh -c "$WAIT_STOP"
    env BERTH_ITEST_TAG="$TAG" "$BERTH" --root "$ROOT" create -b "$BUNDLE" "$ID" \
        </dev/null >"$TEST_DIR/create.log" 2>&1 &
    BPID=$!
    bg_register "$BPID"
    wait_for 200 test -e "$TEST_DIR/hook-running" || fail "the hook did not start" "$(cat "$TEST_DIR/create.log")"
}

kill_hook() {
    local files=(/proc/[0-9]*/environ) f
    for f in $(grep -lsxzF -- "BERTH_ITEST_HOOK=$TAG" "${files[@]}"); do
        f="${f#/proc/}"
        kill -9 "${f%/environ}" 2>/dev/null
    done
    return 0
}

@test "create killed with SIGKILL while a hook runs: state reports it, delete --force cleans up" {
    start_create_blocked_in_hook
    local cgs_during pid
    cgs_during="$(cgroup_dirs "$ID")"
    pid="$(ctr_pid "$ID")"
    kill -9 "$BPID"
    wait "$BPID" || true
    kill_hook

    rb state "$ID"
    assert_ok
    local st
    st="$(jq -r .status <<<"$output")"
    [[ "$st" == stopped || "$st" == creating ]] || fail "status of a half-created container: $st" "$output"
    [[ "$(jq -r .id <<<"$output")" == "$ID" ]]
    rb list -q
    assert_ok
    [[ "$output" == "$ID" ]] || fail "list -q: $output"

    # Plain delete refuses nothing it cannot handle: --force must always work.
    rb delete --force "$ID"
    assert_ok
    assert_no_leftovers "$ID"
    if [[ "$pid" =~ ^[0-9]+$ && "$pid" -gt 0 ]]; then
        ! pid_alive "$pid" || fail "the init $pid survived delete --force"
    fi
    [[ -z "$(root_entries)" ]] || fail "left under --root: $(root_entries)"
    # The cgroup existed during create (so the check above is meaningful).
    [[ -n "$cgs_during" ]] || fail "no cgroup named $ID existed while create was blocked"
}

@test "after a crashed create, the id can be reused once deleted" {
    start_create_blocked_in_hook
    kill -9 "$BPID"
    wait "$BPID" || true
    kill_hook
    # A new create with the same id fails while the leftover exists...
    cfg 'del(.hooks)'
    rb create -b "$BUNDLE" "$ID"
    assert_berth_error 'exists'
    # ...and works after delete --force.
    rb delete -f "$ID"
    assert_ok
    create_ctr "$ID"
    [[ "$(ctr_status "$ID")" == created ]]
    rb start "$ID"
    assert_ok
    [[ "$(ctr_status "$ID")" == running ]]
}

@test "a container whose init was killed behind the runtime's back is stopped and deletable" {
    ctl_dir
    set_args sh -c "sleep 1000 & $WAIT_STOP"
    run_d "$ID"
    local pid
    pid="$(ctr_pid "$ID")"
    kill -9 "$pid"
    wait_status "$ID" stopped
    rb delete "$ID"
    assert_ok
    assert_no_leftovers "$ID"
}
