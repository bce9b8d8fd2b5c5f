#!/usr/bin/env bats
# seccomp SCMP_ACT_NOTIFY: the listener fd reaches the agent at linux.seccomp.listenerPath with
# the container state (runtime-spec's ContainerProcessState), for the init and for exec, and
# the agent's answer is what the container's syscall returns.

load helpers

setup_file() {
    itest_setup_file
    [[ -n "$ITEST_SKIP" ]] && return 0
    export AGENT="$BATS_FILE_TMPDIR/seccomp_agent"
    cc -O2 -Wall -o "$AGENT" "$BATS_TEST_DIRNAME/tools/seccomp_agent.c"
}

# notify_profile: allow everything, notify mkdir/mkdirat.
notify_profile() {
    cfg '.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_X86_64"],
          listenerPath: $sock, listenerMetadata: "meta-berth",
          syscalls: [{names: ["mkdir", "mkdirat"], action: "SCMP_ACT_NOTIFY"}]}' --arg sock "$TEST_DIR/agent.sock"
}

start_agent() {
    "$AGENT" "$TEST_DIR/agent.sock" "$TEST_DIR/agent.out" 28 &  # 28 = ENOSPC
    bg_register $!
    wait_for 100 test -S "$TEST_DIR/agent.sock" || fail "the agent did not start"
}

@test "SCMP_ACT_NOTIFY: the agent gets the listener fd and the state, and answers the syscall" {
    notify_profile
    start_agent
    ctl_dir
    set_args sh -c "mkdir /x 2>&1; $WAIT_STOP"
    run_d "$ID"
    wait_for 100 grep -q 'No space left on device' "$TEST_DIR/$ID.log" || fail "init:" "$(cat "$TEST_DIR/$ID.log")"
    local line
    line="$(head -n1 "$TEST_DIR/agent.out")"
    [[ "$(jq -r '.fds[0]' <<<"$line")" == seccompFd ]] || fail "fds:" "$line"
    [[ "$(jq -r '.metadata' <<<"$line")" == meta-berth ]] || fail "metadata:" "$line"
    [[ "$(jq -r '.state.id' <<<"$line")" == "$ID" ]] || fail "state.id:" "$line"
    [[ "$(jq -r '.state.status' <<<"$line")" == creating ]] || fail "state.status:" "$line"
    [[ "$(jq -r '.pid' <<<"$line")" == "$(ctr_pid "$ID")" ]] || fail "pid:" "$line"
    # exec gets the same filter and its own listener.
    rb exec "$ID" sh -c 'mkdir /y 2>&1; echo rc=$?'
    assert_ok
    [[ "$output" == *"No space left on device"* ]] || fail "exec:" "$output"
    wait_for 100 test "$(wc -l <"$TEST_DIR/agent.out")" -ge 2 || fail "no second message"
    [[ "$(sed -n 2p "$TEST_DIR/agent.out" | jq -r '.state.status')" == running ]] || fail "exec state:" "$(cat "$TEST_DIR/agent.out")"
    touch "$CTL/stop"
}

@test "SCMP_ACT_NOTIFY without a listenerPath, or on write, or with no agent: one line, nothing left" {
    mounts_snapshot
    cfg '.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW", syscalls: [{names: ["mkdir"], action: "SCMP_ACT_NOTIFY"}]}'
    rb run -b "$BUNDLE" "$ID"
    assert_berth_error 'listenerPath: required when an action is SCMP_ACT_NOTIFY'
    assert_no_leftovers "$ID"
    cfg '.linux.seccomp.listenerPath = $s | .linux.seccomp.syscalls[0].names = ["write"]' --arg s "$TEST_DIR/none.sock"
    rb run -b "$BUNDLE" "$ID"
    assert_berth_error 'SCMP_ACT_NOTIFY cannot be used for "write"'
    assert_no_leftovers "$ID"
    cfg '.linux.seccomp.syscalls[0].names = ["mkdir"]'
    rb run -b "$BUNDLE" "$ID"
    assert_berth_error 'failed to connect with seccomp agent.*none.sock'
    assert_no_leftovers "$ID"
}

@test "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: the filter is loaded with it and notify still works" {
    # libseccomp 2.5 cannot pass this flag: berth installs the exported program with seccomp(2).
    notify_profile
    cfg '.linux.seccomp.flags = ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", "SECCOMP_FILTER_FLAG_LOG"]'
    start_agent
    set_args sh -c 'mkdir /x 2>&1; grep ^Seccomp: /proc/self/status'
    run_fg "$ID"
    assert_ok
    [[ "$output" == *"No space left on device"* ]] || fail "init:" "$output"
    [[ "$output" == *$'Seccomp:\t2'* ]] || fail "no filter:" "$output"
    [[ "$(head -n1 "$TEST_DIR/agent.out" | jq -r '.fds[0]')" == seccompFd ]] || fail "agent:" "$(cat "$TEST_DIR/agent.out")"
    # Without a notify action the flag means nothing to the kernel (it refuses it there): the
    # filter loads without it.
    cfg '.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW", flags: ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"],
          syscalls: [{names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 1}]}'
    run_fg "$(new_id)"
    assert_ok
    [[ "$output" == *"Operation not permitted"* ]] || fail "errno profile:" "$output"
}

@test "SCMP_ACT_NOTIFY on close is allowed (as runc): the container starts and the agent is asked" {
    notify_profile
    cfg '.linux.seccomp.syscalls[0].names += ["close"]'
    start_agent
    ctl_dir
    set_args sh -c "mkdir /x 2>&1; $WAIT_STOP"
    run_d "$ID"
    wait_for 100 grep -q 'No space left on device' "$TEST_DIR/$ID.log" || fail "init:" "$(cat "$TEST_DIR/$ID.log")"
    [[ "$(ctr_status "$ID")" == running ]] || fail "status: $(ctr_status "$ID")"
    touch "$CTL/stop"
}
