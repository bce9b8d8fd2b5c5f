#!/usr/bin/env bats
# scripts/quickstart.sh (label root), without its apt and build steps (--no-setup --no-build: the
# build tree is the one under test): as root it prints one line per step and ends with the
# container's `hello`; as a user it re-runs itself through sudo, or, without sudo, says to run it
# as root; a failing step prints the log's tail and the log's name, and the log is kept.
load helpers

SRC="${BERTH_SOURCE_DIR:-$BATS_TEST_DIRNAME/../..}"

setup_file() {
    itest_setup_file
}

# qs [ENV=VALUE...]: the quickstart as root, without setup and build, on $BERTH.
qs() {
    run --separate-stderr env BERTH="$BERTH" "$@" timeout -k 5 120 "$SRC/scripts/quickstart.sh" --no-setup --no-build
}

@test "quickstart as root: a line per step, then hello from the container; no log left" {
    local before
    before="$(ls /tmp/berth-quickstart.*.log 2>/dev/null | sort)"
    qs
    [[ "$status" -eq 0 ]] || fail "status $status" "$output" "$stderr"
    [[ "${lines[-1]}" == hello ]] || fail "last line: ${lines[-1]}" "$output"
    [[ "${lines[0]}" == "quickstart: making a busybox bundle in "* ]] || fail "$output"
    [[ ${#lines[@]} -le 4 ]] || fail "more than a few lines:" "$output"
    [[ "$(ls /tmp/berth-quickstart.*.log 2>/dev/null | sort)" == "$before" ]] || fail "a log was left behind"
}

@test "quickstart: a failing step names its log and shows its last lines" {
    local log
    qs BUSYBOX=/nonexistent/busybox
    [[ "$status" -eq 1 ]] || fail "status $status" "$output" "$stderr"
    [[ "$stderr" == *"quickstart: FAILED: making a busybox bundle"* ]] || fail "$stderr"
    [[ "$stderr" == *"/nonexistent/busybox not found"* ]] || fail "no log tail: $stderr"
    log="$(sed -n 's/^quickstart: full log: //p' <<<"$stderr")"
    [[ -f "$log" ]] || fail "log not kept: '$log'"
    grep -q "not found" "$log"
    rm -f "$log"
}

@test "quickstart as a user: re-runs itself through sudo; without sudo, says to run it as root" {
    local bin="$TEST_DIR/bin"
    mkdir -p "$bin"
    # A sudo that reports how it was called (the real one would ask for a password).
    printf '#!/bin/sh\necho "sudo called: $*"\n' >"$bin/sudo"
    chmod 0755 "$bin" "$bin/sudo" "$TEST_DIR"
    run --separate-stderr setpriv --reuid=65534 --regid=65534 --clear-groups \
        env PATH="$bin:/usr/bin:/bin" "$SRC/scripts/quickstart.sh" --no-build
    [[ "$status" -eq 0 ]] || fail "status $status" "$output" "$stderr"
    [[ "$output" == "sudo called: -- $(realpath "$SRC")/scripts/quickstart.sh --no-build" ]] || fail "$output"
    [[ "$stderr" == *"re-running through sudo"* ]] || fail "$stderr"

    rm "$bin/sudo"
    run --separate-stderr setpriv --reuid=65534 --regid=65534 --clear-groups \
        env PATH="$bin:/usr/bin:/bin" "$SRC/scripts/quickstart.sh"
    [[ "$status" -eq 1 ]] || fail "status $status" "$output"
    [[ "$stderr" == "quickstart: needs root, and there is no sudo here: run it as root"* ]] || fail "$stderr"
}
