#!/usr/bin/env bats
# Lifecycle: create → start → running → stopped → delete, as `state` and `list` report it; `run`
# exit statuses; --pid-file; --preserve-fds; ps.

load helpers

setup_file() { itest_setup_file; }

@test "create, start, stop and delete: state reports each step" {
    ctl_dir
    set_args sh -c "touch /ctl/started; $WAIT_STOP"
    create_ctr "$ID"

    rb state "$ID"
    assert_ok
    local st="$output" pid
    [[ "$(jq -r .status <<<"$st")" == created ]] || fail "status after create" "$st"
    [[ "$(jq -r .id <<<"$st")" == "$ID" ]] || fail "id" "$st"
    pid="$(jq -r .pid <<<"$st")"
    [[ "$pid" =~ ^[0-9]+$ && "$pid" -gt 0 ]] || fail "pid must be > 0" "$st"
    pid_alive "$pid" || fail "init $pid is not alive after create"
    [[ "$(jq -r .bundle <<<"$st")" == "$BUNDLE" ]] || fail "bundle must be $BUNDLE" "$st"
    [[ "$(jq -r .rootfs <<<"$st")" == "$BUNDLE/rootfs" ]] || fail "rootfs must be $BUNDLE/rootfs" "$st"
    jq -re '.ociVersion | test("^1\\.[0-9]+\\.[0-9]+")' <<<"$st" >/dev/null || fail "ociVersion" "$st"
    jq -re '.created | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$")' \
        <<<"$st" >/dev/null || fail "created must be an RFC 3339 timestamp" "$st"
    # The created time is now-ish (same day, UTC).
    [[ "$(jq -r '.created[0:10]' <<<"$st")" == "$(date -u +%Y-%m-%d)" ]] ||
        [[ "$(jq -r '.created[0:10]' <<<"$st")" == "$(date -u -d '-1 min' +%Y-%m-%d)" ]] ||
        fail "created is not today" "$st"
    # The user's process has not run yet.
    [[ ! -e "$CTL/started" ]] || fail "the process ran before start"

    rb start "$ID"
    assert_ok
    [[ -z "$output" ]] || fail "start printed: $output"
    rb state "$ID"
    assert_ok
    [[ "$(jq -r .status <<<"$output")" == running ]] || fail "status after start" "$output"
    [[ "$(jq -r .pid <<<"$output")" == "$pid" ]] || fail "pid changed" "$output"
    # The init now runs the configured command.
    grep -q "/ctl/stop" "/proc/$pid/cmdline" || fail "init runs: $(tr '\0' ' ' <"/proc/$pid/cmdline")"
    wait_for 100 test -e "$CTL/started" || fail "the process did not run after start"

    # Starting twice is an error.
    rb start "$ID"
    [[ "$status" -ne 0 ]] || fail "second start succeeded"

    touch "$CTL/stop"
    wait_status "$ID" stopped
    rb state "$ID"
    assert_ok
    [[ "$(jq -r .status <<<"$output")" == stopped ]]
    [[ "$(jq -r .bundle <<<"$output")" == "$BUNDLE" ]]

    rb delete "$ID"
    assert_ok
    [[ ! -e "$ROOT/$ID" ]] || fail "state dir remains after delete"
    [[ -z "$(cgroup_dirs "$ID")" ]] || fail "cgroup remains after delete" "$(cgroup_dirs "$ID")"

    rb state "$ID"
    assert_berth_error 'does not exist'
}

@test "list: table, json and -q show the containers and their status" {
    ctl_dir
    set_args sh -c "$WAIT_STOP"
    local a b pa pb
    a="$(new_id)"
    b="$(new_id)"
    create_ctr "$a"
    run_d "$b"
    pa="$(ctr_pid "$a")"
    pb="$(ctr_pid "$b")"

    rb list
    assert_ok
    [[ "${lines[0]}" =~ ^ID[[:space:]]+PID[[:space:]]+STATUS[[:space:]]+BUNDLE[[:space:]]+CREATED[[:space:]]+OWNER ]] ||
        fail "table header: ${lines[0]}"
    [[ "${#lines[@]}" -eq 3 ]] || fail "expected a header and 2 rows" "$output"
    grep -Eq "^$a[[:space:]]+$pa[[:space:]]+created[[:space:]]+$BUNDLE[[:space:]]" <<<"$output" || fail "row of $a" "$output"
    grep -Eq "^$b[[:space:]]+$pb[[:space:]]+running[[:space:]]+$BUNDLE[[:space:]]" <<<"$output" || fail "row of $b" "$output"

    rb list -f json
    assert_ok
    jq -e 'type == "array" and length == 2' <<<"$output" >/dev/null || fail "json list" "$output"
    [[ "$(jq -r --arg i "$a" '.[] | select(.id == $i) | "\(.pid) \(.status) \(.bundle)"' <<<"$output")" == "$pa created $BUNDLE" ]] ||
        fail "json entry of $a" "$output"
    [[ "$(jq -r --arg i "$b" '.[] | select(.id == $i) | "\(.pid) \(.status) \(.bundle)"' <<<"$output")" == "$pb running $BUNDLE" ]] ||
        fail "json entry of $b" "$output"
    jq -e 'all(.[]; (.created | type == "string") and (.ociVersion | type == "string"))' <<<"$output" >/dev/null ||
        fail "json entries need created and ociVersion" "$output"

    rb list -q
    assert_ok
    [[ "$(sort <<<"$output")" == "$(printf '%s\n' "$a" "$b" | sort)" ]] || fail "list -q" "$output"

    rb delete -f "$a"
    assert_ok
    rb list -q
    assert_ok
    [[ "$output" == "$b" ]] || fail "list -q after deleting $a" "$output"
}

@test "run: foreground returns the exit status (0, 3, 137 for SIGKILL)" {
    set_args true
    run_fg "$(new_id)"
    assert_status 0

    set_args sh -c 'echo out; echo err >&2; exit 3'
    run_fg "$(new_id)"
    assert_status 3
    [[ "$output" == out ]] || fail "stdout of the container: $output"
    [[ "$stderr" == err ]] || fail "stderr of the container: $stderr"

    # Killed by SIGKILL from outside: run returns 128+9.
    ctl_dir
    set_args sh -c "$WAIT_STOP"
    local id rc=0 pid
    id="$(new_id)"
    env BERTH_ITEST_TAG="$TAG" timeout -k 5 30 "$BERTH" --root "$ROOT" run -b "$BUNDLE" "$id" \
        </dev/null >"$TEST_DIR/fg.out" 2>&1 &
    pid=$!
    bg_register "$pid"
    wait_status "$id" running
    rb kill "$id" KILL
    assert_ok
    wait "$pid" || rc=$?
    [[ "$rc" -eq 137 ]] || fail "run returned $rc after SIGKILL, expected 137" "$(cat "$TEST_DIR/fg.out")"
    # Without --keep the container is gone.
    [[ ! -e "$ROOT/$id" ]] || fail "run left its state dir"
    [[ -z "$(cgroup_dirs "$id")" ]] || fail "run left its cgroup"
}

@test "run --keep keeps the stopped container; run -d returns at once" {
    local id
    id="$(new_id)"
    set_args sh -c 'exit 5'
    run_fg "$id" --keep
    assert_status 5
    [[ "$(ctr_status "$id")" == stopped ]] || fail "status after run --keep: $(ctr_status "$id")"
    rb delete "$id"
    assert_ok
    [[ ! -e "$ROOT/$id" ]]

    ctl_dir
    set_args sh -c "$WAIT_STOP"
    id="$(new_id)"
    run_d "$id"
    [[ "$(ctr_status "$id")" == running ]] || fail "run -d: status $(ctr_status "$id")"
    touch "$CTL/stop"
    wait_status "$id" stopped
}

@test "--pid-file holds the init's pid" {
    ctl_dir
    set_args sh -c "$WAIT_STOP"
    create_ctr "$ID" --pid-file "$TEST_DIR/init.pid"
    [[ -f "$TEST_DIR/init.pid" ]] || fail "no pid file"
    local pid
    pid="$(ctr_pid "$ID")"
    [[ "$(cat "$TEST_DIR/init.pid")" == "$pid" ]] || fail "pid file has '$(cat "$TEST_DIR/init.pid")', state says $pid"

    local id2
    id2="$(new_id)"
    run_d "$id2" --pid-file "$TEST_DIR/run.pid"
    [[ "$(cat "$TEST_DIR/run.pid")" == "$(ctr_pid "$id2")" ]] || fail "run -d --pid-file"
    # A relative pid file is relative to berth's working directory.
    local id3
    id3="$(new_id)"
    (cd "$TEST_DIR" && create_ctr "$id3" --pid-file rel.pid)
    [[ "$(cat "$TEST_DIR/rel.pid")" == "$(ctr_pid "$id3")" ]] || fail "relative --pid-file"
}

@test "--preserve-fds passes extra fds to the container" {
    echo "preserved-content" >"$TEST_DIR/fd3"
    echo "second-fd" >"$TEST_DIR/fd4"
    set_args sh -c 'cat <&3; cat <&4'
    local rc=0
    env BERTH_ITEST_TAG="$TAG" timeout -k 5 30 "$BERTH" --root "$ROOT" run --preserve-fds 2 -b "$BUNDLE" "$ID" \
        </dev/null >"$TEST_DIR/out" 2>&1 3<"$TEST_DIR/fd3" 4<"$TEST_DIR/fd4" || rc=$?
    [[ "$rc" -eq 0 ]] || fail "run --preserve-fds 2: exit $rc" "$(cat "$TEST_DIR/out")"
    [[ "$(cat "$TEST_DIR/out")" == "$(printf 'preserved-content\nsecond-fd')" ]] || fail "got: $(cat "$TEST_DIR/out")"

    # Without --preserve-fds the fd is not passed.
    set_args sh -c 'cat <&3'
    rc=0
    env BERTH_ITEST_TAG="$TAG" timeout -k 5 30 "$BERTH" --root "$ROOT" run -b "$BUNDLE" "$(new_id)" \
        </dev/null >"$TEST_DIR/out2" 2>&1 3<"$TEST_DIR/fd3" || rc=$?
    [[ "$rc" -ne 0 ]] || fail "fd 3 leaked into the container without --preserve-fds" "$(cat "$TEST_DIR/out2")"
    ! grep -q preserved-content "$TEST_DIR/out2"
}

@test "ps lists the container's processes" {
    ctl_dir
    set_args sh -c "sleep 100 & $WAIT_STOP"
    run_d "$ID"
    local pid
    pid="$(ctr_pid "$ID")"
    wait_for 100 eval '[[ -n "$(pgrep -P "$pid" sleep)" ]]' || fail "no sleep child"
    rb ps -f json "$ID"
    assert_ok
    jq -e --argjson p "$pid" 'type == "array" and (index($p) != null) and length >= 2' <<<"$output" >/dev/null ||
        fail "ps -f json must list init $pid and its child" "$output"
    rb ps "$ID"
    assert_ok
    grep -q "sleep 100" <<<"$output" || fail "ps table lacks the sleep" "$output"
    [[ "${lines[0]}" =~ PID ]] || fail "ps header" "$output"
}

@test "state shows annotations; owner is empty" {
    cfg '.annotations = {"org.example.key": "value-1", "other": "2"}'
    ctl_dir
    set_args sh -c "$WAIT_STOP"
    create_ctr "$ID"
    rb state "$ID"
    assert_ok
    [[ "$(jq -r '.annotations["org.example.key"]' <<<"$output")" == value-1 ]] || fail "$output"
    [[ "$(jq -r '.annotations.other' <<<"$output")" == 2 ]] || fail "$output"
    [[ "$(jq -r '.owner' <<<"$output")" == "" ]] || fail "owner: $output"
}

@test "delete of a created (never started) container needs no --force (as runc)" {
    ctl_dir
    set_args sh -c "touch /ctl/ran; $WAIT_STOP"
    create_ctr "$ID"
    local pid
    pid="$(ctr_pid "$ID")"
    mounts_snapshot
    rb delete "$ID"
    assert_ok
    ! pid_alive "$pid" || fail "init $pid survived delete"
    assert_no_leftovers "$ID"
    [[ ! -e "$CTL/ran" ]] || fail "the process ran"
}

@test "start of a stopped container fails" {
    set_args true
    run_fg "$ID" --keep
    assert_ok
    rb start "$ID"
    assert_berth_error 'stopped|not created|cannot start'
    [[ "$(ctr_status "$ID")" == stopped ]]
}

@test "run -d: the container's stdout and stderr are the ones berth was given" {
    set_args sh -c 'echo detached-out; echo detached-err >&2'
    run_d "$ID"
    wait_status "$ID" stopped
    grep -qx detached-out "$TEST_DIR/$ID.log" || fail "$(cat "$TEST_DIR/$ID.log")"
    grep -qx detached-err "$TEST_DIR/$ID.log" || fail "$(cat "$TEST_DIR/$ID.log")"
}

@test "no file descriptor of the runtime leaks into the container" {
    # ls opens the directory as fd 3: 0 1 2 3 and nothing else.
    set_args ls /proc/self/fd
    run_fg "$ID"
    assert_ok
    [[ "$(echo $output)" == "0 1 2 3" ]] || fail "fds in the container: $(echo $output)"
    # Through create + start too, and in exec.
    ctl_dir
    set_args sh -c "ls /proc/self/fd > /ctl/fds; $WAIT_STOP"
    local id
    id="$(new_id)"
    create_ctr "$id"
    rb start "$id"
    assert_ok
    wait_for 100 test -s "$CTL/fds" || fail "no output"
    [[ "$(echo $(cat "$CTL/fds"))" == "0 1 2 3" ]] || fail "fds after create+start: $(echo $(cat "$CTL/fds"))"
    rb exec "$id" ls /proc/self/fd
    assert_ok
    [[ "$(echo $output)" == "0 1 2 3" ]] || fail "fds in exec: $(echo $output)"
}

@test "concurrent creates: one id once, different ids all" {
    ctl_dir
    set_args sh -c "$WAIT_STOP"
    local i pids=() ok=0 rc
    for i in 1 2 3 4; do
        env BERTH_ITEST_TAG="$TAG" timeout -k 5 30 "$BERTH" --root "$ROOT" create -b "$BUNDLE" "$ID" \
            </dev/null >"$TEST_DIR/c$i.log" 2>&1 &
        pids+=($!)
    done
    for i in "${pids[@]}"; do
        rc=0
        wait "$i" || rc=$?
        [[ "$rc" -eq 0 ]] && ok=$((ok + 1))
    done
    [[ "$ok" -eq 1 ]] || fail "$ok of 4 concurrent creates of one id succeeded" "$(cat "$TEST_DIR"/c*.log)"
    [[ "$(ctr_status "$ID")" == created ]]

    pids=()
    for i in 1 2 3 4; do
        env BERTH_ITEST_TAG="$TAG" timeout -k 5 30 "$BERTH" --root "$ROOT" run -d -b "$BUNDLE" "$TAG-p$i" \
            </dev/null >"$TEST_DIR/p$i.log" 2>&1 &
        pids+=($!)
    done
    for i in "${pids[@]}"; do
        wait "$i" || fail "a concurrent run -d failed" "$(cat "$TEST_DIR"/p*.log)"
    done
    rb list -q
    assert_ok
    [[ "$(wc -l <<<"$output")" -eq 5 ]] || fail "list -q" "$output"
}

@test "list and delete --force cope with a state dir a crashed runtime left empty" {
    ctl_dir
    set_args sh -c "$WAIT_STOP"
    run_d "$ID"
    mkdir -p "$ROOT/$TAG-garbage"
    rb list -q
    assert_ok
    grep -qx "$ID" <<<"$output" || fail "list -q lost the real container" "$output"
    rb list -f json
    assert_ok
    jq -e --arg i "$ID" 'any(.[]; .id == $i)' <<<"$output" >/dev/null || fail "$output"
    rb delete -f "$TAG-garbage"
    assert_ok
    [[ ! -e "$ROOT/$TAG-garbage" ]] || fail "delete -f left the empty state dir"
}

@test "a nested --root that does not exist yet is created" {
    ROOT="$TEST_DIR/a/b/c"
    set_args true
    run_fg "$ID" --keep
    assert_ok
    [[ -d "$ROOT/$ID" ]] || fail "no state dir under the nested root"
    rb delete "$ID"
    assert_ok
}

@test "list of an empty --root" {
    rb list -q
    assert_ok
    [[ -z "$output" ]] || fail "$output"
    rb list
    assert_ok
    [[ "${#lines[@]}" -eq 1 && "${lines[0]}" == ID* ]] || fail "$output"
    rb list -f json
    assert_ok
    [[ "$output" == "[]" || "$output" == null ]] || fail "$output"
}

# The config is the state dir's config.json, written once at create; state.json is the small
# record saved at each step. A container created by a build before that split (its state.json
# holding the config, no config.json) must still work after an upgrade: state, list, ps, exec
# (which needs the config's process defaults), update, start, and delete with its poststop hook.
@test "state.json without the config; a record holding its config (older build) still works" {
    ctl_dir
    cfg '.hooks.poststop = [{path: "/bin/sh", args: ["sh", "-c", $c]}]' --arg c "touch $CTL/poststop"
    set_args sh -c "$WAIT_STOP"
    create_ctr "$ID"
    local dir="$ROOT/$ID"
    jq -e 'has("config") | not' "$dir/state.json" >/dev/null || fail "state.json holds the config"
    jq -e '.hooks.poststop[0].path == "/bin/sh"' "$dir/config.json" >/dev/null || fail "no config.json"

    # Rewrite it as the previous build wrote it.
    jq --slurpfile c "$dir/config.json" '. + {config: $c[0]}' "$dir/state.json" >"$dir/state.old"
    mv "$dir/state.old" "$dir/state.json"
    rm "$dir/config.json"
    [[ "$(ctr_status "$ID")" == created ]] || fail "state of the old record"
    rb list -q
    assert_ok
    grep -qx "$ID" <<<"$output" || fail "list lost the old record" "$output"
    rb start "$ID"
    assert_ok
    wait_status "$ID" running
    rb ps "$ID"
    assert_ok
    rb exec "$ID" true
    assert_ok
    rb update --pids-limit 77 "$ID"
    assert_ok
    jq -e '.linux.resources.pids.limit == 77' "$dir/config.json" >/dev/null || fail "update did not record"
    rb exec "$ID" true
    assert_ok
    touch "$CTL/stop"
    wait_status "$ID" stopped
    rb delete "$ID"
    assert_ok
    [[ -e "$CTL/poststop" ]] || fail "poststop hook of the old record's config did not run"
    [[ ! -e "$dir" ]] || fail "state dir left"
}
