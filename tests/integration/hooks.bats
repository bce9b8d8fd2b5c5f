#!/usr/bin/env bats
# OCI hooks: order and state of every phase; a failing or timed-out hook fails create and
# leaves nothing behind.

load helpers

setup_file() { itest_setup_file; }

# write_hooks: $HOOK (host side: "PHASE STATUS PID ID" appended to $HOOKLOG, via jq) and
# /hook-in.sh in the rootfs (startContainer runs in the container: busybox sed, /hooklog).
write_hooks() {
    mkdir -p "$TEST_DIR/hooklog"
    chmod 0777 "$TEST_DIR/hooklog"
    HOOKLOG="$TEST_DIR/hooklog/log"
    HOOK="$TEST_DIR/hook.sh"
    cat >"$HOOK" <<'EOF'
#!/bin/sh
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
state="$(cat)"
printf '%s\n' "$state" >"$2.$1.json"
echo "$1 $(printf '%s' "$state" | jq -r .status) $(printf '%s' "$state" | jq -r .pid) $(printf '%s' "$state" | jq -r .id)" >>"$2"
EOF
    chmod 0755 "$HOOK"
    cat >"$BUNDLE/rootfs/hook-in.sh" <<'EOF'
#!/bin/sh
state="$(cat)"
f() { printf '%s' "$state" | sed -n "s/.*\"$1\": *\"\{0,1\}\([^\",}]*\).*/\1/p"; }
echo "$1 $(f status) $(f pid) $(f id)" >>/hooklog/log
EOF
    chmod 0755 "$BUNDLE/rootfs/hook-in.sh"
    add_mount /hooklog bind "$TEST_DIR/hooklog" rbind rw
}

# hook_entry PHASE: a hook object for config.json running $HOOK.
hook_entry() {
    jq -n --arg p "$HOOK" --arg phase "$1" --arg log "$HOOKLOG" '{path: $p, args: [$p, $phase, $log]}'
}

@test "hooks run in order with the container's state on stdin" {
    write_hooks
    local phase
    for phase in prestart createRuntime createContainer poststart poststop; do
        cfg '.hooks[$phase] = [$h]' --arg phase "$phase" --argjson h "$(hook_entry "$phase")"
    done
    cfg '.hooks.startContainer = [{path: "/hook-in.sh", args: ["/hook-in.sh", "startContainer"]}]'
    ctl_dir
    set_args sh -c "$WAIT_STOP"

    create_ctr "$ID"
    local pid
    pid="$(ctr_pid "$ID")"
    [[ "$(cut -d' ' -f1 "$HOOKLOG" | tr '\n' ' ')" == "prestart createRuntime createContainer " ]] ||
        fail "hooks after create:" "$(cat "$HOOKLOG")"
    rb start "$ID"
    assert_ok
    wait_for 100 grep -q '^poststart ' "$HOOKLOG" || fail "no poststart:" "$(cat "$HOOKLOG")"
    touch "$CTL/stop"
    wait_status "$ID" stopped
    rb delete "$ID"
    assert_ok

    [[ "$(cut -d' ' -f1 "$HOOKLOG" | tr '\n' ' ')" == "prestart createRuntime createContainer startContainer poststart poststop " ]] ||
        fail "hook order:" "$(cat "$HOOKLOG")"
    # Every hook got the container's id; all but poststop the init's pid.
    local line
    while read -r phase st hpid hid; do
        [[ "$hid" == "$ID" ]] || fail "$phase: id '$hid'" "$(cat "$HOOKLOG")"
        if [[ "$phase" != poststop ]]; then
            [[ "$hpid" == "$pid" ]] || fail "$phase: pid '$hpid', the init is $pid" "$(cat "$HOOKLOG")"
        fi
        case "$phase" in
        prestart | createRuntime | createContainer) [[ "$st" == creating ]] || fail "$phase: status '$st'" "$(cat "$HOOKLOG")" ;;
        startContainer) [[ "$st" == created ]] || fail "$phase: status '$st'" "$(cat "$HOOKLOG")" ;;
        poststart) [[ "$st" == running ]] || fail "$phase: status '$st'" "$(cat "$HOOKLOG")" ;;
        poststop) [[ "$st" == stopped ]] || fail "$phase: status '$st'" "$(cat "$HOOKLOG")" ;;
        esac
    done <"$HOOKLOG"
    # The full state document: ociVersion, bundle.
    for phase in prestart createRuntime createContainer poststart poststop; do
        jq -e --arg b "$BUNDLE" '.bundle == $b and (.ociVersion | type == "string")' "$HOOKLOG.$phase.json" >/dev/null ||
            fail "$phase state:" "$(cat "$HOOKLOG.$phase.json")"
    done
}

@test "run: hooks run and poststop follows the container's exit" {
    write_hooks
    local phase
    for phase in createRuntime poststart poststop; do
        cfg '.hooks[$phase] = [$h]' --arg phase "$phase" --argjson h "$(hook_entry "$phase")"
    done
    set_args true
    run_fg "$ID"
    assert_ok
    [[ "$(cut -d' ' -f1 "$HOOKLOG" | tr '\n' ' ')" == "createRuntime poststart poststop " ]] ||
        fail "hook order:" "$(cat "$HOOKLOG")"
}

@test "hook env and args are passed; several hooks of one phase run in order" {
    write_hooks
    # The hook binary is busybox, which picks its applet by argv[0]: args[0] must be passed as
    # argv[0]. The environment is exactly hooks[].env (not berth's).
    local script='echo "$0|$1|$2|${HOOKVAR-unset}|${BERTH_ITEST_TAG-unset}" >>"$LOG"'
    cfg '.hooks.createRuntime = [
            {path: "/bin/busybox", args: ["sh", "-c", $s, "a0", "a1"], env: ["HOOKVAR=one", ("LOG=" + $log)]},
            {path: "/bin/busybox", args: ["sh", "-c", $s, "b0"], env: [("LOG=" + $log)]}]' \
        --arg s "$script" --arg log "$HOOKLOG"
    set_args true
    run_fg "$ID"
    assert_ok
    [[ "$(cat "$HOOKLOG")" == "$(printf '%s\n' "a0|a1||one|unset" "b0|||unset|unset")" ]] ||
        fail "hook invocations:" "$(cat "$HOOKLOG")"
}

@test "a failing createRuntime hook fails create and leaves nothing behind" {
    write_hooks
    cat >"$TEST_DIR/failhook.sh" <<'EOF'
#!/bin/sh
exit 3
EOF
    chmod 0755 "$TEST_DIR/failhook.sh"
    cfg '.hooks.createRuntime = [{path: $p}]' --arg p "$TEST_DIR/failhook.sh"
    cfg '.hooks.poststart = [$h]' --argjson h "$(hook_entry poststart)"
    set_args true
    mounts_snapshot
    rb create -b "$BUNDLE" "$ID"
    assert_berth_error 'createRuntime|failhook'
    assert_no_leftovers "$ID"
    [[ -z "$(root_entries)" ]] || fail "left under --root: $(root_entries)"
    [[ ! -e "$HOOKLOG" ]] || fail "later hooks ran:" "$(cat "$HOOKLOG")"

    # The same through run.
    rb run -b "$BUNDLE" "$ID"
    assert_berth_error 'createRuntime|failhook'
    assert_no_leftovers "$ID"
}

@test "a failing prestart or createContainer hook fails create too" {
    cat >"$TEST_DIR/failhook.sh" <<'EOF'
#!/bin/sh
exit 1
EOF
    chmod 0755 "$TEST_DIR/failhook.sh"
    set_args true
    mounts_snapshot
    local phase
    for phase in prestart createContainer; do
        cfg 'del(.hooks) | .hooks[$phase] = [{path: $p}]' --arg phase "$phase" --arg p "$TEST_DIR/failhook.sh"
        rb create -b "$BUNDLE" "$ID"
        assert_berth_error "$phase|failhook"
        assert_no_leftovers "$ID"
    done
}

@test "a hook that outlives its timeout is killed and create fails" {
    cat >"$TEST_DIR/slowhook.sh" <<'EOF'
#!/bin/sh
exec /bin/sleep 30
EOF
    chmod 0755 "$TEST_DIR/slowhook.sh"
    cfg '.hooks.createRuntime = [{path: $p, timeout: 1, env: [("BERTH_ITEST_TAG=" + $tag)]}]' \
        --arg p "$TEST_DIR/slowhook.sh" --arg tag "$TAG"
    set_args true
    mounts_snapshot
    BERTH_TIMEOUT=20 rb create -b "$BUNDLE" "$ID"
    [[ "$status" -ne 124 && "$status" -ne 137 ]] || fail "create hung on the hook"
    assert_berth_error 'createRuntime|slowhook|time'
    # The hook (tagged) is gone with everything else.
    assert_no_leftovers "$ID"
}

@test "a failing poststop hook is only a warning: delete succeeds" {
    cat >"$TEST_DIR/failhook.sh" <<'EOF'
#!/bin/sh
exit 1
EOF
    chmod 0755 "$TEST_DIR/failhook.sh"
    cfg '.hooks.poststop = [{path: $p}]' --arg p "$TEST_DIR/failhook.sh"
    set_args true
    # A failing poststop hook is only a warning: delete succeeds.
    run_fg "$ID" --keep
    assert_ok
    rb delete "$ID"
    assert_ok
    [[ ! -e "$ROOT/$ID" ]]
}

@test "a hook that never reads a large state on stdin is still killed at its timeout" {
    cat >"$TEST_DIR/deafhook.sh" <<'EOF2'
#!/bin/sh
exec /bin/sleep 30
EOF2
    chmod 0755 "$TEST_DIR/deafhook.sh"
    # 200 KB of annotations: the state JSON no longer fits the pipe the hook never reads.
    cfg '.annotations = {big: ("x" * 200000)}
         | .hooks.createRuntime = [{path: $p, timeout: 1, env: [("BERTH_ITEST_TAG=" + $tag)]}]' \
        --arg p "$TEST_DIR/deafhook.sh" --arg tag "$TAG"
    set_args true
    mounts_snapshot
    # Before the fix create blocked writing the state forever; a hang is caught by BERTH_TIMEOUT.
    BERTH_TIMEOUT=20 rb create -b "$BUNDLE" "$ID"
    [[ "$status" -ne 124 && "$status" -ne 137 ]] || fail "create hung on the hook"
    assert_berth_error 'timed out'
    assert_no_leftovers "$ID"
}
