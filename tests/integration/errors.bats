#!/usr/bin/env bats
# Bad inputs: each fails with exactly one "berth: ..." line on stderr and exit status 1, and
# leaves no state dir, no cgroup, no process and no new mount on the host.

load helpers

setup_file() { itest_setup_file; }

# create_fails REGEX: `create` of $BUNDLE as $ID fails cleanly with a message matching REGEX.
create_fails() {
    mounts_snapshot
    rb create -b "$BUNDLE" "$ID"
    assert_berth_error "$1"
    [[ -z "$output" ]] || fail "stdout: $output"
    assert_no_leftovers "$ID"
    [[ -z "$(root_entries)" ]] || fail "left under --root: $(root_entries)"
    # run fails the same way.
    rb run -b "$BUNDLE" "$ID"
    assert_berth_error "$1"
    assert_no_leftovers "$ID"
    [[ -z "$(root_entries)" ]] || fail "left under --root after run: $(root_entries)"
}

@test "malformed config.json: invalid JSON" {
    printf '{"ociVersion": "1.0.2", "process": {' >"$BUNDLE/config.json"
    create_fails 'config\.json'
}

@test "malformed config.json: wrong type for process.args" {
    cfg '.process.args = "sh"'
    create_fails 'process\.args|args'
}

@test "malformed config.json: wrong type for a namespace and a mount" {
    cfg '.linux.namespaces += [{type: "bogusns"}]'
    create_fails 'bogusns|namespace'
    cp "$TEMPLATE/config.json" "$BUNDLE/config.json"
    cfg '.mounts[0].destination = 42'
    create_fails 'mounts|destination'
}

@test "a bundle path that is not UTF-8 is one error line (state.json is JSON), not an abort" {
    local odd="$TEST_DIR/bun"$'\xff'"dle"
    mv "$BUNDLE" "$odd"
    BUNDLE="$odd"
    create_fails 'bundle is not valid UTF-8'
}

@test "missing rootfs" {
    rm -rf "$BUNDLE/rootfs"
    create_fails 'rootfs|no such file'
}

@test "a rootfs that resolves to / is an invalid rootfs" {
    rm -rf "$BUNDLE/rootfs"
    ln -s ../../../../../../.. "$BUNDLE/rootfs"
    create_fails 'invalid rootfs'
    cfg '.root.path = "/"'
    create_fails 'invalid rootfs'
}

@test "missing config.json" {
    rm -f "$BUNDLE/config.json"
    create_fails 'config\.json'
}

@test "missing bundle directory" {
    mounts_snapshot
    rb create -b "$TEST_DIR/no-such-bundle" "$ID"
    assert_berth_error 'no-such-bundle|bundle'
    assert_no_leftovers "$ID"
}

@test "process.args names a binary that does not exist or is not executable" {
    cfg '.process.args = ["/nonexistent"]'
    create_fails 'not found|no such file|not an executable'
    cfg '.process.args = ["no-such-command-in-path"]'
    create_fails 'not found|no such file|not an executable'
    cfg '.process.args = ["/etc/passwd"]'
    create_fails 'not an executable|permission denied'
    cfg '.process.args = []'
    create_fails 'args'
}

@test "a bad mount (unknown filesystem type) fails create cleanly" {
    add_mount /mnt/x nosuchfs none
    create_fails 'nosuchfs|/mnt/x|mount'
}

@test "a bind mount of a missing source fails create cleanly" {
    add_mount /mnt/x bind "$TEST_DIR/missing-source" rbind ro
    create_fails 'missing-source'
}

@test "duplicate id: the second create fails, the first container is unaffected" {
    ctl_dir
    set_args sh -c "$WAIT_STOP"
    create_ctr "$ID"
    local pid before
    pid="$(ctr_pid "$ID")"
    before="$(ctr_state "$ID")"
    rb create -b "$BUNDLE" "$ID"
    assert_berth_error 'exists'
    rb run -d -b "$BUNDLE" "$ID"
    assert_berth_error 'exists'
    [[ "$(ctr_state "$ID")" == "$before" ]] || fail "state changed:" "$before" "$(ctr_state "$ID")"
    pid_alive "$pid" || fail "the first container's init died"
    [[ "$(cgroup_dirs "$ID" | wc -l)" -ge 1 ]] || fail "the first container's cgroup was removed"
    rb start "$ID"
    assert_ok
    [[ "$(ctr_status "$ID")" == running ]]
}

@test "unknown id: state, start, kill, delete, exec, ps say it does not exist" {
    local verb
    for verb in state start kill delete exec ps; do
        if [[ "$verb" == exec ]]; then
            rb exec no-such-ctr true
            assert_berth_error_code 255 'does not exist'
            continue
        fi
        rb "$verb" no-such-ctr
        assert_berth_error 'does not exist'
    done
    [[ ! -e "$ROOT/no-such-ctr" ]]
}

@test "delete --force of an unknown id succeeds silently (idempotent, as runc)" {
    rb delete --force no-such-ctr
    assert_ok
    [[ -z "$stderr" ]] || fail "stderr: $stderr"
    mkdir -p "$ROOT"
    rb delete -f no-such-ctr
    assert_ok
    [[ ! -e "$ROOT/no-such-ctr" ]]
}

@test "invalid container ids are refused without touching anything outside --root" {
    mkdir -p "$ROOT"
    mounts_snapshot
    local id
    for id in "../escape" "a/b" "." ".." "with space" "semi;colon"; do
        rb create -b "$BUNDLE" -- "$id"
        assert_berth_error 'id'
        [[ ! -e "$TEST_DIR/escape" && ! -e "$ROOT/a" ]] || fail "create '$id' made something"
        [[ -z "$(root_entries)" ]] || fail "left under --root: $(root_entries)"
    done
    assert_no_leftovers "$TAG"
}

@test "an id longer than a file name is refused up front with a short line" {
    mkdir -p "$ROOT"
    local id
    id="$TAG$(printf 'x%.0s' {1..300})"
    rb create -b "$BUNDLE" "$id"
    assert_berth_error 'too long'
    (( ${#stderr} < 200 )) || fail "the error line is ${#stderr} characters" "$stderr"
    [[ -z "$(root_entries)" ]] || fail "left under --root: $(root_entries)"
    # NAME_MAX itself is fine for the check (255 characters).
    id="$TAG$(printf 'y%.0s' $(seq 1 $((255 - ${#TAG}))))"
    rb state "$id"
    assert_berth_error 'does not exist'
}

@test "unwritable --root" {
    mounts_snapshot
    rb_raw --root /proc/berth-itest create -b "$BUNDLE" "$ID"
    assert_berth_error '/proc/berth-itest'
    [[ ! -e /proc/berth-itest ]]
    assert_no_leftovers "$ID"
    # A --root that is a file.
    : >"$TEST_DIR/rootfile"
    rb_raw --root "$TEST_DIR/rootfile" create -b "$BUNDLE" "$ID"
    assert_berth_error 'rootfile'
    assert_no_leftovers "$ID"
}

@test "bad flags and missing arguments" {
    rb create --bogus-flag "$ID"
    assert_berth_error 'bogus'
    rb_raw --bogus-global state x
    assert_berth_error 'bogus'
    rb create
    assert_berth_error 'id|required'
    rb nosuchverb
    assert_berth_error 'nosuchverb'
    rb --log-format xml state x
    assert_berth_error 'xml|log-format'
    rb create --preserve-fds notanumber -b "$BUNDLE" "$ID"
    assert_berth_error 'preserve-fds|notanumber'
    [[ -z "$(root_entries)" ]] || fail "left under --root: $(root_entries)"
}

@test "bad signal to a running container" {
    ctl_dir
    set_args sh -c "$WAIT_STOP"
    run_d "$ID"
    rb kill "$ID" SIGNOPE
    assert_berth_error 'SIGNOPE|signal'
    [[ "$(ctr_status "$ID")" == running ]]
}

@test "a joined namespace path that does not exist fails create cleanly" {
    add_ns network /proc/999999999/ns/net
    create_fails '/proc/999999999/ns/net'
}

@test "a sysctl that is not namespaced is refused" {
    local before
    before="$(cat /proc/sys/vm/swappiness)"
    cfg '.linux.sysctl = {"vm.swappiness": "13"}'
    create_fails 'vm\.swappiness'
    [[ "$(cat /proc/sys/vm/swappiness)" == "$before" ]] || fail "the host's vm.swappiness changed!"
}

@test "a net.* sysctl without a network namespace is refused" {
    local before
    before="$(cat /proc/sys/net/ipv4/ip_forward)"
    del_ns network
    cfg '.linux.sysctl = {"net.ipv4.ip_forward": (if $b == "1" then "0" else "1" end)}' --arg b "$before"
    create_fails 'net\.ipv4\.ip_forward'
    [[ "$(cat /proc/sys/net/ipv4/ip_forward)" == "$before" ]] || fail "the host's ip_forward changed!"
}

@test "a user namespace without uid mappings is refused" {
    add_ns user
    cfg 'del(.linux.uidMappings) | del(.linux.gidMappings)'
    create_fails 'mapping'
}

@test "a relative process.cwd is refused" {
    cfg '.process.cwd = "tmp"'
    create_fails 'cwd'
}

@test "no mount namespace: settings that would mount on the host are refused" {
    del_ns mount
    # runc 1.1 makes these mounts in the host's namespace and leaves them there.
    cfg '.linux.maskedPaths = [] | .linux.readonlyPaths = [] | .root.readonly = false'
    create_fails 'mounts.*mount namespace'
    cfg '.mounts = [] | .root.readonly = true'
    create_fails 'root\.readonly.*mount namespace'
    cfg '.root.readonly = false | .linux.devices = [{path: "/dev/fuse", type: "c", major: 10, minor: 229}]'
    create_fails 'linux\.devices.*mount namespace'
}

# deep_config DEPTH: config.json with an extra member nested DEPTH arrays deep (jq cannot write
# it: its parser stops far earlier).
deep_config() {
    local cfg
    cfg="$(jq -c . "$BUNDLE/config.json")"
    {
        printf '%s, "x": ' "${cfg%\}}"
        head -c "$1" /dev/zero | tr '\0' '['
        head -c "$1" /dev/zero | tr '\0' ']'
        printf '}'
    } >"$BUNDLE/config.json.deep"
    mv "$BUNDLE/config.json" "$BUNDLE/config.json.good"
    mv "$BUNDLE/config.json.deep" "$BUNDLE/config.json"
}

@test "hostile config.json: arrays nested 100,000 deep are one error line, before any state is made" {
    set_args true
    deep_config 100000
    # Before the fix: SIGSEGV after the state dir was made (run then said "already exists").
    create_fails '^berth: config\.json: JSON nested deeper than 512 levels$'
    # The same id runs once the config is sane again.
    mv -f "$BUNDLE/config.json.good" "$BUNDLE/config.json"
    rb run -b "$BUNDLE" "$ID"
    assert_ok
    # 512 levels (the config object and 511 arrays) are accepted, and the record that holds
    # the config one level deeper still loads.
    deep_config 511
    create_ctr "$ID"
    rb state "$ID"
    assert_ok
    rb delete "$ID"
    assert_ok
    assert_no_leftovers "$ID"
}
