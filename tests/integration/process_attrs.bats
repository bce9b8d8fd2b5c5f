#!/usr/bin/env bats
# Per-process kernel attributes from the spec: personality, scheduler, I/O priority and the
# exec'd process's CPU affinity — each read back from inside the container.

load helpers

setup_file() { itest_setup_file; }

@test "linux.personality LINUX32 makes uname -m report i686, in the init and in exec" {
    [[ "$(uname -m)" == x86_64 ]] || skip "needs an x86_64 host"
    cfg '.linux.personality = {domain: "LINUX32"}'
    set_args sh -c 'uname -m; sleep 100'
    run_d "$ID"
    wait_for 100 grep -q i686 "$TEST_DIR/$ID.log" || fail "init: $(cat "$TEST_DIR/$ID.log")"
    rb exec "$ID" uname -m
    assert_ok
    [[ "$output" == i686 ]] || fail "exec: $output"
}

@test "process.scheduler and process.ioPriority are applied before the process runs" {
    cfg '.process.scheduler = {policy: "SCHED_BATCH", nice: 7} | .process.ioPriority = {class: "IOPRIO_CLASS_BE", priority: 6}'
    set_args sh -c 'grep -E "^(policy|prio) " /proc/self/sched | tr -s " "; cat /proc/self/stat | cut -d" " -f19'
    run_fg "$ID"
    assert_ok
    grep -qx 'policy : 3' <<<"$output" || fail "not SCHED_BATCH:" "$output"
    [[ "${lines[2]}" == 7 ]] || fail "nice is not 7:" "$output"
}

@test "process.ioPriority reaches ioprio_get (IDLE class)" {
    command -v ionice >/dev/null || skip "util-linux ionice not installed"
    cfg '.process.ioPriority = {class: "IOPRIO_CLASS_IDLE", priority: 0}'
    set_args sleep 100
    run_d "$ID"
    run ionice -p "$(ctr_pid "$ID")"
    [[ "$output" == idle ]] || fail "ionice: $output"
}

@test "a scheduler the kernel refuses, or a bad personality, fails create with one line" {
    mounts_snapshot
    cfg '.process.scheduler = {policy: "SCHED_DEADLINE", runtime: 1, deadline: 2, period: 3}'
    rb run -d -b "$BUNDLE" "$ID"
    assert_berth_error 'process.scheduler: sched_setattr SCHED_DEADLINE'
    assert_no_leftovers "$ID"
    cfg '.process.scheduler = {policy: "SCHED_OTHER"} | .linux.personality = {domain: "PER_BSD"}'
    rb run -d -b "$BUNDLE" "$ID"
    assert_berth_error 'linux.personality.domain: must be LINUX or LINUX32'
    assert_no_leftovers "$ID"
}

@test "exec: execCPUAffinity.final is the affinity the process runs with" {
    [[ "$(nproc)" -ge 2 ]] || skip "needs 2 CPUs"
    set_args sleep 100
    run_d "$ID"
    cat >"$TEST_DIR/p.json" <<'EOF2'
{"args": ["sh", "-c", "grep Cpus_allowed_list /proc/self/status | cut -f2"], "cwd": "/",
 "env": ["PATH=/bin"], "user": {"uid": 0, "gid": 0},
 "execCPUAffinity": {"initial": "0", "final": "1"}}
EOF2
    rb exec --process "$TEST_DIR/p.json" "$ID"
    assert_ok
    [[ "$output" == 1 ]] || fail "affinity: $output"
    jq '.execCPUAffinity.final = "1-x"' "$TEST_DIR/p.json" >"$TEST_DIR/bad.json"
    rb exec --process "$TEST_DIR/bad.json" "$ID"
    assert_berth_error_code 255 'execCPUAffinity.final: must be a CPU list'
}

# sesskey_into_bundle: tools/session_keyring.c, static, as /sesskey in the bundle.
sesskey_into_bundle() {
    command -v cc >/dev/null || skip "no C compiler (cc) to build tools/session_keyring.c"
    cc -static -O2 -Wall -o "$BUNDLE/rootfs/sesskey" "$BATS_TEST_DIRNAME/tools/session_keyring.c" ||
        skip "cannot link tools/session_keyring.c statically (no libc.a)"
}

@test "the container's init gets a session keyring of its own (_ses.ID) and exec joins it, as with runc" {
    # The kernel's keyrings are not namespaced: without its own, a container shares the session
    # keyring of whoever started it (a shim, containerd) with every container started so.
    sesskey_into_bundle
    cfg '.linux.maskedPaths -= ["/proc/keys"]'
    set_args sh -c '/sesskey; sleep 100'
    run_d "$ID"
    wait_for 100 grep -q . "$TEST_DIR/$ID.log" || fail "no output from /sesskey"
    local init mine
    init="$(head -n 1 "$TEST_DIR/$ID.log")"
    [[ "$init" =~ ^[0-9]+\ keyring\;0\;0\;[0-9a-f]{8}\;_ses\.$ID$ ]] || fail "init's session keyring: $init"
    mine="$("$BUNDLE/rootfs/sesskey")"
    [[ "${mine%% *}" != "${init%% *}" ]] || fail "the container shares this shell's session keyring: $mine"
    # The owner's uid may search it (how exec finds it): KEY_USR_SEARCH.
    local perm="${init#*;*;*;}"
    perm="${perm%%;*}"
    (((16#$perm & 16#00080000) != 0)) || fail "perm $perm: no search for the owner's uid"
    rb exec "$ID" /sesskey
    assert_ok
    [[ "$output" == "$init" ]] || fail "exec's session keyring: $output (the init's: $init)"
}

@test "--no-new-keyring: the container keeps the caller's session keyring, exec too" {
    sesskey_into_bundle
    set_args sh -c '/sesskey; sleep 100'
    run_d "$ID" --no-new-keyring
    wait_for 100 grep -q . "$TEST_DIR/$ID.log" || fail "no output from /sesskey"
    local init mine
    init="$(head -n 1 "$TEST_DIR/$ID.log")"
    mine="$("$BUNDLE/rootfs/sesskey")"
    [[ "$init" == "$mine" ]] || fail "init: $init, this shell: $mine"
    rb exec "$ID" /sesskey
    assert_ok
    [[ "$output" == "$mine" ]] || fail "exec: $output, this shell: $mine"
}
