#!/usr/bin/env bats
# Rootless mode (runc's --rootless): an unprivileged user the test makes (useradd here, userdel
# in teardown) runs `berth spec --rootless` and `berth run` through runuser: a user namespace
# mapping the user to root, no cgroup (with a warning for limits), the state under
# $XDG_RUNTIME_DIR/berth; newuidmap/newgidmap (uidmap package) for more than the user's own id.

load helpers

setup_file() {
    itest_setup_file
    [[ -n "$ITEST_SKIP" ]] && return 0
    local tool
    for tool in useradd userdel runuser newuidmap newgidmap; do
        command -v "$tool" >/dev/null || { export ITEST_SKIP="$tool is not installed (run scripts/setup.sh)"; return 0; }
    done
}

setup() {
    itest_setup
    RUSER="b${TAG#bit}"
    useradd -m -d "$TEST_DIR/home" -s /bin/sh "$RUSER"
    RUID="$(id -u "$RUSER")"
    RGID="$(id -g "$RUSER")"
    export XDG="$TEST_DIR/xdg"
    install -d -o "$RUSER" -g "$RGID" -m 0700 "$XDG"
    # The user's bundle: `berth spec --rootless`, with the template's rootfs (root-owned files,
    # nobody inside: readable, as a rootless runc bundle over a root-owned tree).
    RB="$TEST_DIR/home/bundle"
    install -d -o "$RUSER" -g "$RGID" "$RB"
}

teardown() {
    local d
    for d in "$XDG"/berth/*/; do
        [[ -d "$d" ]] && as_user berth delete -f "$(basename "$d")" >/dev/null 2>&1
    done
    pkill -9 -U "$RUID" 2>/dev/null
    for d in 1 2 3 4 5 6 7 8 9 10; do pgrep -U "$RUID" >/dev/null || break; sleep 0.1; done
    userdel "$RUSER" 2>/dev/null
    sed -i "/^$RUSER:/d" /etc/subuid /etc/subgid
    itest_teardown
}

# as_user [berth ARGS... | CMD ARGS...]: as the test's user, in its bundle dir, with its
# XDG_RUNTIME_DIR and the test's tag; sets status/output/stderr like rb.
as_user() {
    local cmd="$1"
    shift
    [[ "$cmd" == berth ]] && cmd="$BERTH"
    capture "(as $RUSER) $cmd $*" env -C "$RB" runuser -u "$RUSER" -- env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
        HOME="$TEST_DIR/home" XDG_RUNTIME_DIR="$XDG" BERTH_ITEST_TAG="$TAG" timeout -k 5 "$BERTH_TIMEOUT" "$cmd" "$@"
}

# user_spec: berth spec --rootless in the user's bundle dir, the template's rootfs as root.
user_spec() {
    as_user berth spec --rootless
    assert_ok
    CFG_FILE="$RB/config.json" cfg '.root.path = $r | .process.terminal = false | .process.env += ["BERTH_ITEST_TAG=" + $t]' \
        --arg r "$BUNDLE/rootfs" --arg t "$TAG"
}

user_args() {
    CFG_FILE="$RB/config.json" cfg '.process.args = $ARGS.positional' --args -- "$@"
}

@test "rootless: spec --rootless then run as an unprivileged user: root in a user namespace, no cgroup, state under XDG_RUNTIME_DIR" {
    user_spec
    user_args sh -c 'id -u; cat /proc/self/uid_map; cat /proc/self/gid_map; echo $$; ls /proc/1/ns >/dev/null && echo proc-ok'
    local id
    id="$(new_id)"
    as_user berth run "$id"
    assert_ok
    [[ "${lines[0]}" == 0 ]] || fail "id -u" "$output"
    read -r -a m <<<"${lines[1]}"
    [[ "${m[*]}" == "0 $RUID 1" ]] || fail "uid_map" "$output"
    read -r -a m <<<"${lines[2]}"
    [[ "${m[*]}" == "0 $RGID 1" ]] || fail "gid_map" "$output"
    [[ "${lines[3]}" == 1 ]] || fail "not pid 1 of its pid namespace" "$output"
    [[ "${lines[4]}" == proc-ok ]] || fail "/proc" "$output"
    [[ -z "$stderr" ]] || fail "stderr: $stderr"
    # No cgroup was made for it, nothing is left.
    [[ -z "$(cgroup_dirs "$id")" ]] || fail "cgroup dirs: $(cgroup_dirs "$id")"
    [[ ! -e "$XDG/berth/$id" ]] || fail "state left: $(ls -A "$XDG/berth")"
    [[ -d "$XDG/berth" ]] || fail "the state root is not under XDG_RUNTIME_DIR"
    [[ ! -e "/run/berth/$id" ]]
}

@test "rootless: create, state, list, exec, kill, delete as the user; a limit that cannot apply is a warning" {
    user_spec
    CFG_FILE="$RB/config.json" cfg '.linux.resources = {memory: {limit: 100000000}, pids: {limit: 50}}'
    user_args sh -c 'while :; do sleep 0.05; done'
    local id pid
    id="$(new_id)"
    as_user berth create "$id"
    assert_ok
    grep -q "warning.*rootless: no cgroup.*linux.resources memory, pids not applied" <<<"$stderr" ||
        fail "no warning: $stderr"
    [[ -p "$XDG/berth/$id/exec.fifo" ]] || fail "no state under $XDG/berth"
    as_user berth start "$id"
    assert_ok
    as_user berth state "$id"
    assert_ok
    [[ "$(jq -r .status <<<"$output")" == running ]] || fail "state" "$output"
    pid="$(jq -r .pid <<<"$output")"
    [[ "$(stat -c %u "/proc/$pid")" == "$RUID" ]] || fail "the init runs as uid $(stat -c %u "/proc/$pid") on the host"
    as_user berth list -q
    [[ "$output" == "$id" ]] || fail "list" "$output"
    as_user berth exec "$id" id -u
    assert_ok
    [[ "$output" == 0 ]] || fail "exec" "$output"
    # No cgroup: pausing cannot work, and says why.
    as_user berth pause "$id"
    assert_berth_error "no cgroup"
    as_user berth kill "$id" KILL
    assert_ok
    for _ in $(seq 100); do
        as_user berth state "$id"
        [[ "$(jq -r .status <<<"$output")" == stopped ]] && break
        sleep 0.05
    done
    [[ "$(jq -r .status <<<"$output")" == stopped ]] || fail "state after kill" "$output"
    as_user berth delete "$id"
    assert_ok
    [[ ! -e "$XDG/berth/$id" ]]
}

@test "rootless: --rootless false as the user fails on the cgroup, as runc; bad values are refused" {
    user_spec
    user_args true
    as_user berth --rootless false run "$(new_id)"
    assert_berth_error "cgroup.*Permission denied"
    [[ -z "$(ls -A "$XDG/berth" 2>/dev/null)" ]] || fail "state left: $(ls -A "$XDG/berth")"
    as_user berth --rootless maybe list
    assert_berth_error "--rootless: invalid value \"maybe\""
}

@test "rootless: more than the user's own id is mapped through newuidmap/newgidmap (/etc/subuid)" {
    local sub
    sub="$(awk -F: -v u="$RUSER" '$1 == u { print $2 }' /etc/subuid)"
    if [[ -z "$sub" ]]; then
        sub=300000
        echo "$RUSER:$sub:65536" >>/etc/subuid
        echo "$RUSER:$sub:65536" >>/etc/subgid
    fi
    user_spec
    CFG_FILE="$RB/config.json" cfg '.linux.uidMappings = [{containerID: 0, hostID: $u, size: 1}, {containerID: 1, hostID: $s, size: 1000}]
        | .linux.gidMappings = [{containerID: 0, hostID: $g, size: 1}, {containerID: 1, hostID: $s, size: 1000}]' \
        --argjson u "$RUID" --argjson g "$RGID" --argjson s "$sub"
    user_args sh -c 'cat /proc/self/uid_map /proc/self/gid_map'
    as_user berth run "$(new_id)"
    assert_ok
    [[ "$(echo "$output" | awk '{ print $1, $2, $3 }' | tr '\n' ';')" == "0 $RUID 1;1 $sub 1000;0 $RGID 1;1 $sub 1000;" ]] ||
        fail "maps" "$output"
}
