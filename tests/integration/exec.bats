#!/usr/bin/env bats
# exec: joins every namespace and the cgroup of the container; exit status; -d --pid-file;
# --process; -e, --cwd, -u; --cap.

load helpers

setup_file() { itest_setup_file; }

# A running container with every namespace but user and time.
start_long_running() {
    add_ns cgroup
    ctl_dir
    set_args sh -c "$WAIT_STOP"
    run_d "$ID"
    INIT="$(ctr_pid "$ID")"
}

@test "exec joins every namespace of the container" {
    start_long_running
    rb exec "$ID" sh -c 'for n in pid net ipc uts mnt cgroup user; do readlink /proc/self/ns/$n; done'
    assert_ok
    local i=0 ns
    for ns in pid net ipc uts mnt cgroup user; do
        [[ "${lines[$i]}" == "$(ns_of "$INIT" "$ns")" ]] ||
            fail "exec'd process: $ns is '${lines[$i]}', the init's is '$(ns_of "$INIT" "$ns")'"
        i=$((i + 1))
    done
    # It sees the container's processes (pid namespace) and hostname.
    rb exec "$ID" sh -c 'cat /proc/1/cmdline | tr "\0" " "; echo; hostname'
    assert_ok
    [[ "${lines[0]}" == *"/ctl/stop"* ]] || fail "pid 1 in the exec'd process's view: ${lines[0]}"
    [[ "${lines[1]}" == runc ]] || fail "hostname: ${lines[1]}"
}

@test "exec -d --pid-file: the process is in the init's namespaces and cgroups" {
    start_long_running
    rb exec -d --pid-file "$TEST_DIR/exec.pid" "$ID" sleep 1000
    assert_ok
    [[ -s "$TEST_DIR/exec.pid" ]] || fail "no pid file"
    local pid ns
    pid="$(cat "$TEST_DIR/exec.pid")"
    [[ "$pid" =~ ^[0-9]+$ ]] || fail "pid file: $pid"
    pid_alive "$pid" || fail "exec'd process $pid is not running"
    [[ "$(tr '\0' ' ' <"/proc/$pid/cmdline")" == "sleep 1000 " ]] || fail "pid $pid runs $(tr '\0' ' ' <"/proc/$pid/cmdline")"
    for ns in pid net ipc uts mnt cgroup user; do
        [[ "$(ns_of "$pid" "$ns")" == "$(ns_of "$INIT" "$ns")" ]] || fail "$ns of the exec'd process differs"
    done
    # The host's view of both processes' cgroups is the same.
    diff <(cat "/proc/$INIT/cgroup") <(cat "/proc/$pid/cgroup") >&2 || fail "cgroups differ"
    grep -q "/$ID\$" "/proc/$pid/cgroup" || fail "not in a cgroup named $ID: $(cat "/proc/$pid/cgroup")"
    rb ps -f json "$ID"
    assert_ok
    jq -e --argjson p "$pid" 'index($p) != null' <<<"$output" >/dev/null || fail "ps does not list $pid" "$output"
    # The container's own view of cgroups matches too.
    rb exec "$ID" sh -c 'cat /proc/self/cgroup; echo ---; cat /proc/1/cgroup'
    assert_ok
    [[ "$(sed -n '1,/^---$/p' <<<"$output" | sed '$d')" == "$(sed -n '/^---$/,$p' <<<"$output" | sed 1d)" ]] ||
        fail "inside, /proc/self/cgroup differs from the init's" "$output"
}

@test "exec without a cgroup namespace: /proc/self/cgroup inside equals the init's on the host" {
    ctl_dir
    set_args sh -c "$WAIT_STOP"
    run_d "$ID"
    local init
    init="$(ctr_pid "$ID")"
    rb exec "$ID" cat /proc/self/cgroup
    assert_ok
    [[ "$output" == "$(cat "/proc/$init/cgroup")" ]] || fail "exec: $output" "init: $(cat "/proc/$init/cgroup")"
}

@test "exec returns the process's exit status" {
    start_long_running
    rb exec "$ID" sh -c 'exit 7'
    assert_status 7
    rb exec "$ID" true
    assert_status 0
    rb exec "$ID" sh -c 'echo out; echo err >&2; exit 0'
    assert_ok
    [[ "$output" == out && "$stderr" == err ]] || fail "stdout '$output' stderr '$stderr'"
    # Killed by a signal: 128+N.
    rb exec "$ID" sh -c 'kill -9 $$'
    assert_status 137
}

@test "exec -e, --cwd, -u" {
    start_long_running
    rb exec -e FOO=bar -e BAZ=qux --cwd /tmp -u 1000:1000 "$ID" sh -c 'echo $FOO $BAZ; pwd; id -u; id -g'
    assert_ok
    [[ "$output" == "$(printf 'bar qux\n/tmp\n1000\n1000')" ]] || fail "$output"
    # The config's env is inherited; -u uid alone gives gid 0.
    rb exec -u 1000 "$ID" sh -c 'echo $BERTH_ITEST_TAG; id -u; id -g'
    assert_ok
    [[ "$output" == "$(printf '%s\n1000\n0' "$TAG")" ]] || fail "$output"
}

@test "exec --process process.json" {
    start_long_running
    jq -n --arg tag "$TAG" '{terminal: false, user: {uid: 1000, gid: 1000, additionalGids: [5]},
        args: ["sh", "-c", "echo $FOO; pwd; id -u; id -G; grep ^NoNewPrivs /proc/self/status"],
        env: ["PATH=/bin:/usr/bin", "FOO=from-json", ("BERTH_ITEST_TAG=" + $tag)], cwd: "/home/user",
        noNewPrivileges: true}' >"$TEST_DIR/process.json"
    rb exec --process "$TEST_DIR/process.json" "$ID"
    assert_ok
    [[ "${lines[0]}" == from-json ]] || fail "$output"
    [[ "${lines[1]}" == /home/user ]] || fail "$output"
    [[ "${lines[2]}" == 1000 ]] || fail "$output"
    [[ " ${lines[3]} " == *" 5 "* ]] || fail "additionalGids: $output"
    [[ "${lines[4]}" =~ ^NoNewPrivs:[[:space:]]+1$ ]] || fail "$output"
}

@test "exec --cap adds a capability" {
    start_long_running
    rb exec "$ID" grep ^CapEff /proc/self/status
    assert_ok
    [[ "$(awk '{print $2}' <<<"$output")" == 0000000020000420 ]] || fail "$output"
    rb exec --cap CAP_SYS_ADMIN "$ID" grep ^CapEff /proc/self/status
    assert_ok
    [[ "$(awk '{print $2}' <<<"$output")" == 0000000020200420 ]] || fail "with --cap CAP_SYS_ADMIN: $output"
}

@test "exec in a stopped container fails; in a created one it runs (as runc)" {
    set_args true
    run_fg "$ID" --keep
    assert_ok
    rb exec "$ID" true
    assert_berth_error_code 255 'stopped|not running'

    ctl_dir
    set_args sh -c "$WAIT_STOP"
    local id
    id="$(new_id)"
    create_ctr "$id"
    rb exec "$id" sh -c 'echo exec-ran > /ctl/exec'
    assert_ok
    [[ "$(cat "$CTL/exec")" == exec-ran ]]
    [[ "$(ctr_status "$id")" == created ]] || fail "exec changed the status to $(ctr_status "$id")"
}

@test "exec of a missing binary fails with one error line" {
    start_long_running
    rb exec "$ID" /nonexistent
    [[ "$status" -ne 0 ]] || fail "exec /nonexistent succeeded"
    assert_berth_error_code 255 'not found|no such file|not an executable'
    [[ "$(ctr_status "$ID")" == running ]]
}

@test "exec forwards signals to the process and returns its status" {
    start_long_running
    local pid rc=0 bpid
    env BERTH_ITEST_TAG="$TAG" "$BERTH" --root "$ROOT" exec "$ID" \
        sh -c 'trap "exit 9" USR1; touch /ctl/exec-ready; while :; do sleep 0.05; done' \
        </dev/null >"$TEST_DIR/exec.out" 2>&1 &
    bpid=$!
    bg_register "$bpid"
    wait_for 200 test -e "$CTL/exec-ready" || fail "exec did not start" "$(cat "$TEST_DIR/exec.out")"
    kill -USR1 "$bpid"
    wait "$bpid" || rc=$?
    [[ "$rc" -eq 9 ]] || fail "exec returned $rc, expected 9 from the USR1 trap" "$(cat "$TEST_DIR/exec.out")"
}

@test "exec --preserve-fds passes extra fds" {
    start_long_running
    echo "exec-fd-content" >"$TEST_DIR/fd3"
    local rc=0
    env BERTH_ITEST_TAG="$TAG" timeout -k 5 30 "$BERTH" --root "$ROOT" exec --preserve-fds 1 "$ID" sh -c 'cat <&3' \
        </dev/null >"$TEST_DIR/out" 2>&1 3<"$TEST_DIR/fd3" || rc=$?
    [[ "$rc" -eq 0 ]] || fail "exit $rc" "$(cat "$TEST_DIR/out")"
    [[ "$(cat "$TEST_DIR/out")" == exec-fd-content ]] || fail "$(cat "$TEST_DIR/out")"
}

@test "exec errors before the process runs: one error line, exit 255 (as runc)" {
    start_long_running
    rb exec --cwd /nonexistent-dir "$ID" true
    assert_berth_error_code 255 'nonexistent-dir'
    rb exec "$ID" /etc/passwd
    assert_berth_error_code 255 'permission denied|not an executable'
    rb exec --process "$TEST_DIR/missing.json" "$ID"
    assert_berth_error_code 255 'missing\.json'
    echo '{"args": "x"}' >"$TEST_DIR/bad.json"
    rb exec --process "$TEST_DIR/bad.json" "$ID"
    assert_berth_error_code 255 'args'
    rb exec --pid-file "$TEST_DIR/no-such-dir/pid" "$ID" true
    assert_berth_error_code 255 'no-such-dir|no such file'
    rb exec "no-such-$TAG" true
    assert_berth_error_code 255 'does not exist'
    rb exec "$ID"
    assert_berth_error_code 255 'command|args'
    # A command line that names no container is a usage error: exit 1, as runc.
    rb exec
    assert_berth_error
    [[ "$(ctr_status "$ID")" == running ]]
}

@test "exec: the process's set-up errors (a capability the host cannot grant, AppArmor) are exec's (as runc)" {
    start_long_running
    local bnd
    bnd="$(awk '/^CapBnd:/ { print $2 }' /proc/self/status)"
    if (( ((16#$bnd >> 24) & 1) == 0 )); then
        rb exec --cap CAP_SYS_RESOURCE "$ID" true
        assert_berth_error_code 255 'CAP_SYS_RESOURCE|apply caps'
    else
        skip_part "this host can grant CAP_SYS_RESOURCE"
    fi
    if [[ "$(cat /sys/module/apparmor/parameters/enabled 2>/dev/null)" != Y ]]; then
        rb exec --apparmor berth-itest-profile "$ID" true
        assert_berth_error_code 255 'apparmor'
    else
        skip_part "AppArmor is enabled here"
    fi
    [[ "$(ctr_status "$ID")" == running ]]
}

# The host's cgroup paths of PID, one "controllers:path" per line (the hierarchy id dropped).
cgroup_paths_of() { cut -d: -f2- "/proc/$1/cgroup"; }

@test "exec --cgroup SUBPATH and --cgroup CTRL:SUBPATH join an existing sub-cgroup (as runc)" {
    ctl_dir
    set_args sh -c "$WAIT_STOP"
    run_d "$ID"
    local sub="${TAG}-sub" mem="${TAG}-mem" d pid line
    while read -r d; do
        mkdir "$d/$sub"
        # A v1 cpuset cgroup takes processes only once it has cpus and mems.
        if [[ -f "$d/cpuset.cpus" ]]; then
            cat "$d/cpuset.cpus" >"$d/$sub/cpuset.cpus"
            cat "$d/cpuset.mems" >"$d/$sub/cpuset.mems"
        fi
        [[ "$d" == /sys/fs/cgroup/memory/* ]] && mkdir "$d/$mem"
    done < <(cgroup_dirs "$ID")
    rb exec -d --pid-file "$TEST_DIR/a.pid" --cgroup "$sub" "$ID" sleep 1000
    assert_ok
    pid="$(cat "$TEST_DIR/a.pid")"
    while read -r line; do
        [[ "$line" == *"/$ID/$sub" ]] || fail "--cgroup $sub: $line" "$(cat "/proc/$pid/cgroup")"
    done < <(cgroup_paths_of "$pid")
    kill -9 "$pid"

    rb exec -d --pid-file "$TEST_DIR/b.pid" --cgroup "memory:$mem" "$ID" sleep 1000
    assert_ok
    pid="$(cat "$TEST_DIR/b.pid")"
    grep -q "^[0-9]*:memory:.*/$ID/$mem\$" "/proc/$pid/cgroup" || fail "memory:$mem" "$(cat "/proc/$pid/cgroup")"
    grep -q "^[0-9]*:pids:.*/$ID\$" "/proc/$pid/cgroup" || fail "pids moved" "$(cat "/proc/$pid/cgroup")"
    kill -9 "$pid"

    # A sub-cgroup that does not exist, a path leaving the container's cgroup, an unknown
    # controller: one error line, exit 255 (exec's failures), nothing left running.
    rb exec --cgroup "${TAG}-missing" "$ID" true
    assert_berth_error_code 255 "${TAG}-missing"
    rb exec --cgroup ../.. "$ID" true
    assert_berth_error_code 255 'cgroup'
    rb exec --cgroup "nosuchctrl:$sub" "$ID" true
    assert_berth_error_code 255 'nosuchctrl'
    rb exec --cgroup "$sub" --cgroup "memory:$mem" "$ID" true
    assert_berth_error_code 255 'controller'
    touch "$CTL/stop"
}

@test "exec --ignore-paused runs in a paused container once it is resumed (as runc)" {
    ctl_dir
    set_args sh -c "$WAIT_STOP"
    run_d "$ID"
    rb pause "$ID"
    assert_ok
    rb exec "$ID" true
    assert_berth_error_code 255 'paused'
    local bpid rc=0 procs n0
    procs="$(cgroup_dirs "$ID" | grep freezer)/cgroup.procs"
    n0="$(wc -l <"$procs")"
    env BERTH_ITEST_TAG="$TAG" timeout -k 5 60 "$BERTH" --root "$ROOT" exec --ignore-paused "$ID" \
        sh -c 'echo ran >/ctl/exec-ran' </dev/null >"$TEST_DIR/exec.out" 2>&1 &
    bpid=$!
    bg_register "$bpid"
    # The process joins the frozen cgroup and runs at resume; wait until it is there.
    wait_for 200 sh -c "[ \$(wc -l <$procs) -gt $n0 ]" ||
        fail "the exec'd process did not join the paused container" "$(cat "$TEST_DIR/exec.out")"
    rb resume "$ID"
    assert_ok
    wait "$bpid" || rc=$?
    [[ "$rc" -eq 0 ]] || fail "exec --ignore-paused exited $rc" "$(cat "$TEST_DIR/exec.out")"
    [[ "$(cat "$CTL/exec-ran")" == ran ]] || fail "the process did not run"
    touch "$CTL/stop"
}
