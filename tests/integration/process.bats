#!/usr/bin/env bats
# The container's process: env, cwd, user and groups, umask, rlimits, no_new_privs,
# capabilities, oom_score_adj.

load helpers

setup_file() { itest_setup_file; }

@test "env and cwd" {
    cfg '.process.env += ["FOO=bar baz", "EMPTY="] | .process.cwd = "/tmp"'
    set_args sh -c 'echo "FOO=$FOO"; echo "PATH=$PATH"; echo "HOME=$HOME"; pwd; env | grep -c "^EMPTY=$"'
    run_fg "$ID"
    assert_ok
    [[ "${lines[0]}" == "FOO=bar baz" ]] || fail "$output"
    [[ "${lines[1]}" == "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" ]] || fail "$output"
    # HOME comes from /etc/passwd when config.json does not set it (as runc).
    [[ "${lines[2]}" == "HOME=/root" ]] || fail "$output"
    [[ "${lines[3]}" == /tmp ]] || fail "cwd: $output"
    [[ "${lines[4]}" == 1 ]] || fail "EMPTY=: $output"
}

@test "user: uid, gid, additionalGids" {
    cfg '.process.user = {uid: 1000, gid: 1000, additionalGids: [5, 100]} | .process.cwd = "/home/user"'
    set_args sh -c 'id -u; id -g; grep "^Groups:" /proc/self/status; echo "HOME=$HOME"; touch /home/user/f && stat -c "%u:%g" /home/user/f'
    cfg '.root.readonly = false'
    run_fg "$ID"
    assert_ok
    [[ "${lines[0]}" == 1000 ]] || fail "uid: $output"
    [[ "${lines[1]}" == 1000 ]] || fail "gid: $output"
    local groups
    groups="$(sed 's/^Groups://' <<<"${lines[2]}" | tr -s ' \t' '\n' | grep . | sort -n | tr '\n' ' ')"
    [[ "$groups" == "5 100 " ]] || fail "supplementary groups: '${lines[2]}'"
    [[ "${lines[3]}" == "HOME=/home/user" ]] || fail "$output"
    [[ "${lines[4]}" == "1000:1000" ]] || fail "file owner: $output"
    # On the host the init ran as 1000 too.
    [[ "$(stat -c %u:%g "$BUNDLE/rootfs/home/user/f")" == 1000:1000 ]]
}

@test "umask" {
    cfg '.process.user.umask = 23 | .root.readonly = false'   # 0027
    set_args sh -c 'umask; touch /tmp/f; stat -c %a /tmp/f'
    run_fg "$ID"
    assert_ok
    [[ "$output" == "$(printf '0027\n640')" ]] || fail "$output"
    # Without user.umask the process gets 0022 (runc's default).
    cfg 'del(.process.user.umask)'
    set_args sh -c umask
    run_fg "$(new_id)"
    assert_ok
    [[ "$output" == 0022 ]] || fail "default umask: $output"
}

@test "rlimits" {
    cfg '.process.rlimits = [{type: "RLIMIT_NOFILE", soft: 512, hard: 1000},
                             {type: "RLIMIT_NPROC", soft: 300, hard: 400},
                             {type: "RLIMIT_CORE", soft: 0, hard: 0}]'
    set_args sh -c 'ulimit -n; ulimit -H -n; ulimit -u; ulimit -H -u; ulimit -c'
    run_fg "$ID"
    assert_ok
    [[ "$output" == "$(printf '512\n1000\n300\n400\n0')" ]] || fail "$output"
}

@test "an rlimit above the hard limit the runtime has fails create with one error line" {
    local hard
    hard="$(ulimit -H -n)"
    [[ "$hard" != unlimited ]] || skip "the hard RLIMIT_NOFILE is unlimited here"
    cfg '.process.rlimits = [{type: "RLIMIT_NOFILE", soft: 1024, hard: ($h + 1000)}]' --argjson h "$hard"
    set_args true
    mounts_snapshot
    rb create -b "$BUNDLE" "$ID"
    assert_berth_error 'rlimit|RLIMIT_NOFILE'
    assert_no_leftovers "$ID"
}

@test "noNewPrivileges" {
    cfg '.process.noNewPrivileges = true'
    set_args grep NoNewPrivs /proc/self/status
    run_fg "$ID"
    assert_ok
    [[ "$output" =~ ^NoNewPrivs:[[:space:]]+1$ ]] || fail "$output"

    cfg '.process.noNewPrivileges = false'
    run_fg "$(new_id)"
    assert_ok
    [[ "$output" =~ ^NoNewPrivs:[[:space:]]+0$ ]] || fail "$output"
}

# cap_line NAME: the hex of a Cap* line of the output.
cap_line() {
    grep "^$1:" <<<"$output" | awk '{ print $2 }'
}

@test "capabilities: the sets in /proc/self/status match config.json" {
    # runc's defaults: AUDIT_WRITE(29) KILL(5) NET_BIND_SERVICE(10) = 0x20000420.
    set_args grep ^Cap /proc/self/status
    run_fg "$ID"
    assert_ok
    [[ "$(cap_line CapBnd)" == 0000000020000420 ]] || fail "CapBnd" "$output"
    [[ "$(cap_line CapEff)" == 0000000020000420 ]] || fail "CapEff" "$output"
    [[ "$(cap_line CapPrm)" == 0000000020000420 ]] || fail "CapPrm" "$output"

    # Different sets: bounding CHOWN(0) KILL(5) SYS_ADMIN(21), permitted CHOWN KILL, effective KILL.
    cfg '.process.capabilities = {bounding: ["CAP_CHOWN", "CAP_KILL", "CAP_SYS_ADMIN"],
                                  permitted: ["CAP_CHOWN", "CAP_KILL"], effective: ["CAP_KILL"],
                                  inheritable: ["CAP_KILL"], ambient: ["CAP_KILL"]}'
    run_fg "$(new_id)"
    assert_ok
    [[ "$(cap_line CapBnd)" == 0000000000200021 ]] || fail "CapBnd" "$output"
    [[ "$(cap_line CapPrm)" == 0000000000000021 ]] || fail "CapPrm" "$output"
    [[ "$(cap_line CapEff)" == 0000000000000021 || "$(cap_line CapEff)" == 0000000000000020 ]] || fail "CapEff" "$output"
    [[ "$(cap_line CapInh)" == 0000000000000020 ]] || fail "CapInh" "$output"
    [[ "$(cap_line CapAmb)" == 0000000000000020 ]] || fail "CapAmb" "$output"

    # No capabilities at all: a root process cannot chown.
    cfg '.process.capabilities = {bounding: [], permitted: [], effective: []}'
    set_args sh -c 'grep ^CapEff /proc/self/status; grep ^CapBnd /proc/self/status; chown 1000 /tmp 2>/dev/null && echo CHOWNED || echo denied'
    run_fg "$(new_id)"
    assert_ok
    [[ "$(cap_line CapEff)" == 0000000000000000 && "$(cap_line CapBnd)" == 0000000000000000 ]] || fail "$output"
    [[ "${lines[2]}" == denied ]] || fail "$output"
}

@test "an unknown capability name is ignored, the known ones apply (as runc)" {
    cfg '.process.capabilities.bounding += ["CAP_NOT_A_CAP"]'
    set_args grep ^CapBnd /proc/self/status
    run_fg "$ID"
    assert_ok
    [[ "$(cap_line CapBnd)" == 0000000020000420 ]] || fail "CapBnd" "$output"
}

@test "oomScoreAdj" {
    cfg '.process.oomScoreAdj = 500'
    set_args cat /proc/self/oom_score_adj
    run_fg "$ID"
    assert_ok
    [[ "$output" == 500 ]] || fail "$output"
}

@test "stdio: stdin, stdout and stderr are the runtime's" {
    set_args sh -c 'read line; echo "got:$line"; echo to-stderr >&2'
    local rc=0
    echo "from-stdin" | env BERTH_ITEST_TAG="$TAG" timeout -k 5 30 "$BERTH" --root "$ROOT" run -b "$BUNDLE" "$ID" \
        >"$TEST_DIR/out" 2>"$TEST_DIR/err" || rc=$?
    [[ "$rc" -eq 0 ]] || fail "exit $rc" "$(cat "$TEST_DIR/err")"
    [[ "$(cat "$TEST_DIR/out")" == "got:from-stdin" ]] || fail "stdout: $(cat "$TEST_DIR/out")"
    [[ "$(cat "$TEST_DIR/err")" == "to-stderr" ]] || fail "stderr: $(cat "$TEST_DIR/err")"
}

@test "signals sent to a foreground run are forwarded to the container" {
    ctl_dir
    set_args sh -c 'trap "echo usr1 > /ctl/got; exit 0" USR1; touch /ctl/ready; while :; do sleep 0.05; done'
    local pid rc=0
    env BERTH_ITEST_TAG="$TAG" timeout -k 5 30 "$BERTH" --root "$ROOT" run -b "$BUNDLE" "$ID" \
        </dev/null >"$TEST_DIR/out" 2>&1 &
    pid=$!
    bg_register "$pid"
    wait_for 200 test -e "$CTL/ready" || fail "container did not start" "$(cat "$TEST_DIR/out")"
    # $pid is timeout(1); signal berth itself, its child.
    local bpid
    bpid="$(pgrep -P "$pid" -x berth || pgrep -P "$pid")"
    kill -USR1 "$bpid"
    wait "$pid" || rc=$?
    [[ "$rc" -eq 0 ]] || fail "run exited $rc" "$(cat "$TEST_DIR/out")"
    [[ "$(cat "$CTL/got")" == usr1 ]] || fail "SIGUSR1 was not forwarded"
}

@test "capabilities of a non-root user: only the ambient ones are effective" {
    cfg '.process.user = {uid: 1000, gid: 1000}'
    set_args grep ^Cap /proc/self/status
    run_fg "$ID"
    assert_ok
    # runc's default spec has no inheritable set, so nothing can be ambient.
    [[ "$(cap_line CapEff)" == 0000000000000000 && "$(cap_line CapPrm)" == 0000000000000000 ]] || fail "$output"
    [[ "$(cap_line CapBnd)" == 0000000020000420 ]] || fail "$output"

    cfg '.process.capabilities.inheritable = ["CAP_NET_BIND_SERVICE"] | .process.capabilities.ambient = ["CAP_NET_BIND_SERVICE"]'
    run_fg "$(new_id)"
    assert_ok
    local c
    for c in CapInh CapPrm CapEff CapAmb; do
        [[ "$(cap_line "$c")" == 0000000000000400 ]] || fail "$c" "$output"
    done
}

@test "seccomp: a rule returns the configured errno, other syscalls work" {
    cfg '.root.readonly = false | .linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_X86_64"],
        syscalls: [{names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 1}]}'
    set_args sh -c 'mkdir /tmp/blocked 2>&1; touch /tmp/allowed && echo touched'
    run_fg "$ID"
    assert_ok
    grep -q "Operation not permitted" <<<"$output" || fail "mkdir was not blocked with EPERM" "$output"
    grep -qx touched <<<"$output" || fail "$output"
    [[ ! -e "$BUNDLE/rootfs/tmp/blocked" && -e "$BUNDLE/rootfs/tmp/allowed" ]]

    # SCMP_ACT_KILL kills the process: run reports 128+SIGSYS.
    cfg '.linux.seccomp.syscalls[0].action = "SCMP_ACT_KILL_PROCESS" | del(.linux.seccomp.syscalls[0].errnoRet)'
    set_args mkdir /tmp/killed
    run_fg "$(new_id)"
    assert_status 159
}

@test "seccomp: syscall numbers above the highest the profile names get ENOSYS, not the default errno" {
    [[ "$(uname -m)" == x86_64 ]] || skip "the syscall numbers below are x86_64's"
    local unistd=/usr/include/x86_64-linux-gnu/asm/unistd_64.h names
    [[ -f "$unistd" ]] || skip "no $unistd to list the syscalls from"
    command -v cc >/dev/null || skip "no C compiler (cc) to build tools/syscall_errno.c"
    cc -static -O2 -Wall -o "$BUNDLE/rootfs/syscall_errno" "$BATS_TEST_DIRNAME/tools/syscall_errno.c" ||
        skip "cannot link tools/syscall_errno.c statically (no libc.a)"
    # An allow-list profile (default: the profile's errno, EPERM) naming every syscall up to
    # rseq (334) but getppid (110), and open_tree (428) with the default action: the highest
    # name is 428. libc falls back on ENOSYS (clone3 -> clone), never on EPERM.
    names="$(awk '$1 == "#define" && $2 ~ /^__NR_/ && $3 + 0 <= 334 { sub(/^__NR_/, "", $2); print $2 }' "$unistd" |
        grep -vx getppid | jq -R . | jq -sc .)"
    cfg '.linux.seccomp = {defaultAction: "SCMP_ACT_ERRNO", architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"],
        syscalls: [{names: $names, action: "SCMP_ACT_ALLOW"},
                   {names: ["open_tree"], action: "SCMP_ACT_ERRNO"}]}' --argjson names "$names"
    #   39 getpid: allowed                110 getppid: not named, below 428: the default errno
    #  424 pidfd_send_signal: not named, below 428       428 open_tree: named, denied
    #  429 move_mount, 435 clone3, 1000: above 428: ENOSYS
    set_args /syscall_errno 39 110 424 428 429 435 1000
    run_fg "$ID"
    assert_ok
    local want
    want="$(printf '%s\n' 39:ok 110:EPERM 424:EPERM 428:EPERM 429:ENOSYS 435:ENOSYS 1000:ENOSYS)"
    [[ "$output" == "$want" ]] || fail "expected:" "$want" "got:" "$output"

    # With defaultErrnoRet EACCES, what no rule names up to 428 gets EACCES; open_tree's rule,
    # without an errnoRet of its own, EPERM (runtime-spec: a rule's errnoRet defaults to EPERM).
    cfg '.linux.seccomp.defaultErrnoRet = 13'
    run_fg "$(new_id)"
    assert_ok
    want="$(printf '%s\n' 39:ok 110:EACCES 424:EACCES 428:EPERM 429:ENOSYS 435:ENOSYS 1000:ENOSYS)"
    [[ "$output" == "$want" ]] || fail "expected:" "$want" "got:" "$output"
}

@test "a cwd missing from the rootfs is created (as runc)" {
    cfg '.process.cwd = "/missing/deeper"'
    set_args pwd
    run_fg "$ID"
    assert_ok
    [[ "$output" == /missing/deeper ]] || fail "$output"
}

@test "a relative bundle path is stored as an absolute one" {
    ctl_dir
    set_args sh -c "$WAIT_STOP"
    (cd "$TEST_DIR" && create_ctr "$ID" && rb_ctr "$(new_id)" create -b ./bundle/../bundle "$TAG-rel")
    [[ "$(ctr_state "$ID" | jq -r .bundle)" == "$BUNDLE" ]] || fail "$(ctr_state "$ID")"
    [[ "$(ctr_state "$TAG-rel" | jq -r .bundle)" == "$BUNDLE" ]] || fail "$(ctr_state "$TAG-rel")"
    [[ "$(ctr_state "$TAG-rel" | jq -r .rootfs)" == "$BUNDLE/rootfs" ]] || fail "$(ctr_state "$TAG-rel")"
}

@test "no process.capabilities means no capabilities, not the runtime's (as runc)" {
    cfg 'del(.process.capabilities) | .process.noNewPrivileges = false'
    set_args grep -E '^Cap(Bnd|Eff|Prm)' /proc/self/status
    run_fg "$ID"
    assert_ok
    local line
    for line in "${lines[@]}"; do
        [[ "$line" =~ :[[:space:]]+0+$ ]] || fail "capability left: $line" "$output"
    done
}

@test "--preserve-fds naming fds the caller does not hold is refused" {
    set_args true
    rb run --preserve-fds 3 -b "$BUNDLE" "$ID"
    assert_berth_error 'preserve-fds'
    [[ -z "$(ls "$ROOT" 2>/dev/null)" ]] || fail "state left: $(ls "$ROOT")"
}
