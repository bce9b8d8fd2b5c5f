#!/usr/bin/env bats
# `berth vps console` (label root): the VPS's /dev/console is a pty whose master a per-VPS
# holder process (berth-console) keeps — attach sees the console log since boot, then live
# output; keys go to the console (busybox init's askfirst shell); Ctrl-] detaches and the VPS
# runs on; one client at a time; a dead holder leaves the VPS running; stop and destroy leave no
# holder, socket or pid file. Driven through tools/pty_expect.py (a tiny expect on a pty).
load helpers
load vps_helpers

PTY_EXPECT="$BATS_TEST_DIRNAME/tools/pty_expect.py"

setup_file() {
    itest_setup_file
    [[ -n "$ITEST_SKIP" ]] && return 0
    # busybox init: a boot marker on the console, an askfirst shell on it, a shutdown marker.
    vps_busybox_layout '::sysinit:/bin/echo console-boot-marker
::askfirst:-/bin/sh
::shutdown:/bin/echo console-shutdown-marker'
    vps_make_layout
}

setup() {
    itest_setup
    command -v python3 >/dev/null || skip "no python3 (tools/pty_expect.py)"
    vps_test_env
    VPS="${TAG}c"
    DATA="$BERTH_VPS_DATA/$VPS"
    rs image import "$LAYOUT" localhost/vpscon:v1
    assert_ok
    rs vps create "$VPS" --template localhost/vpscon:v1
    assert_ok
}

teardown() {
    vps_teardown
    itest_teardown
}

# console STEP...: `vps console $VPS` on a pty through pty_expect; output in $output.
console() {
    run timeout -k 5 90 env BERTH_ITEST_TAG="$TAG" "$PTY_EXPECT" --timeout 30 "$@" -- \
        "$BERTH" --root "$ROOT" --store "$STORE" vps console "$VPS"
}

holder_pid() {
    cat "$DATA/console.pid" 2>/dev/null
}

# no_holder PID: the holder is gone and its socket and pid file with it.
no_holder() {
    ! pid_alive "$1" && [[ ! -e "$DATA/console.sock" && ! -e "$DATA/console.pid" ]]
}

@test "vps console: boot messages and a shell, keys in, Ctrl-] detaches, reattach replays, stop and destroy leave nothing" {
    rs vps start "$VPS"
    assert_ok
    pid="$(holder_pid)"
    [[ -n "$pid" ]] && pid_alive "$pid" || fail "no console holder after start"
    [[ "$(cat "/proc/$pid/comm")" == berth-console ]] || fail "holder comm: $(cat "/proc/$pid/comm")"
    # Its own session (double-forked: not its leader, so it never gets a terminal), not a child
    # of berth (which has exited); the socket is root's only.
    [[ "$(ps -o sid= -p "$pid" | tr -d ' ')" != "$(ps -o sid= -p $$ | tr -d ' ')" ]] || fail "the holder is in the test's session"
    [[ "$(stat -c %a:%u "$DATA/console.sock")" == 600:0 ]] || fail "socket mode: $(stat -c %a:%u "$DATA/console.sock")"
    echo "# console holder RSS: $(awk '/^VmRSS/ {print $2, $3}' "/proc/$pid/status")" >&3

    # The boot message, the askfirst prompt; Enter gives a shell; a command's output; Ctrl-].
    console 'e:console-boot-marker' 'e:Please press Enter' 's:\r' 'e:# ' \
        's:echo $((6*7))-ok\r' 'e:42-ok' 's:\x1d' 'eof'
    [[ "$status" -eq 0 ]] || fail "first attach: $output"
    [[ "$output" == *"Detached from the console of VPS $VPS"* ]] || fail "no detach message: $output"
    rs vps status "$VPS"
    [[ "$output" == *running* ]] || fail "the VPS did not keep running after the detach: $output"
    pid_alive "$pid" || fail "the holder exited on detach"

    # A later attach replays the log since boot (the marker, the earlier command), then is live.
    console 'e:console-boot-marker' 'e:42-ok' 's:echo again-$((2+3))\r' 'e:again-5' 's:\x1d' 'eof'
    [[ "$status" -eq 0 ]] || fail "reattach: $output"
    # Without a terminal: the replay, then the end of stdin detaches.
    rs vps console "$VPS"
    assert_ok
    [[ "$output" == *console-boot-marker*again-5* ]] || fail "replay without a tty: $output"

    # stop: the shutdown message reaches the log; no holder, socket or pid file stays.
    rs vps stop "$VPS"
    assert_ok
    wait_for 100 no_holder "$pid" || fail "holder $pid or its files remain after stop: $(ls "$DATA")"
    grep -q console-shutdown-marker "$DATA/console.log" || fail "no shutdown message in the log: $(cat "$DATA/console.log")"
    rs vps console "$VPS"
    assert_berth_error "is not running"

    # A new start, a new holder and log; destroy leaves no holder.
    rs vps start "$VPS"
    assert_ok
    pid2="$(holder_pid)"
    [[ -n "$pid2" && "$pid2" != "$pid" ]] && pid_alive "$pid2" || fail "no new holder"
    ! grep -q 42-ok "$DATA/console.log" || fail "the log of the previous boot was kept"
    rs vps destroy --force "$VPS"
    assert_ok
    wait_for 100 eval "! pid_alive $pid2" || fail "holder $pid2 survived destroy"
    [[ ! -e "$DATA" ]] || fail "data dir remains: $(ls -la "$DATA")"
    ! pgrep -f "berth-console $DATA" >/dev/null || fail "a holder for $DATA remains"
}

@test "vps console: one client at a time; a dead holder leaves the VPS running and console says so" {
    rs vps start "$VPS"
    assert_ok
    pid="$(holder_pid)"
    # A client without a terminal stays attached until its stdin (a fifo we hold open) ends.
    mkfifo "$TEST_DIR/in"
    env BERTH_ITEST_TAG="$TAG" "$BERTH" --root "$ROOT" --store "$STORE" vps console "$VPS" \
        <"$TEST_DIR/in" >"$TEST_DIR/first.out" 2>"$TEST_DIR/first.err" 3>&- &
    first=$!
    bg_register "$first"
    exec 7>"$TEST_DIR/in"
    wait_for 200 grep -q Connected "$TEST_DIR/first.err" || fail "first client: $(cat "$TEST_DIR/first.err")"
    rs vps console "$VPS"
    assert_berth_error "attached elsewhere"

    kill -9 "$pid"
    wait_for 100 eval "! pid_alive $pid" || fail "the holder did not die"
    # The attached client sees the console close.
    exec 7>&-
    wait "$first" || fail "the first client failed: $(cat "$TEST_DIR/first.err")"
    rs vps exec "$VPS" echo alive
    assert_ok
    [[ "$output" == alive ]]
    rs vps console "$VPS"
    assert_berth_error "console holder exited"
    rs vps stop "$VPS"
    assert_ok
    [[ ! -e "$DATA/console.sock" && ! -e "$DATA/console.pid" ]] || fail "files remain after stop: $(ls "$DATA")"
}
