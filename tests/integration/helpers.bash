# Shared setup for the root integration tests (tests/integration/*.bats).
#
# Each test gets its own temp dir ($TEST_DIR) holding a --root ($ROOT), a bundle ($BUNDLE: a copy
# of a busybox bundle made once per run by tests/lib/make-bundle.sh) and unique container ids
# ($ID, or `new_id`). Teardown force-deletes every container under $ROOT, kills whatever the test
# left running (found by a per-test tag in the environment), removes leftover cgroups named after
# the test's ids, unmounts anything under $TEST_DIR and removes it — also when the test failed.
#
# Every berth call made through these helpers has stdin from /dev/null and its stdout/stderr in
# files, so a container that inherits them can never hang the test's output capture.
#
#   BERTH=/path/to/berth bats tests/integration/      (ctest sets BERTH itself)
#   BERTH=/usr/sbin/runc BERTH_ITEST_ANY_ERROR_FORMAT=1 bats tests/integration/X.bats
#       checks the tests against runc: error lines are then only matched, not held to berth's
#       one-line "berth: " format and exit status 1.

bats_require_minimum_version 1.5.0

if [[ -z "${BERTH:-}" ]]; then
    BERTH="${BERTH_BUILD_DIR:-$BATS_TEST_DIRNAME/../../build}/cli/berth"
fi
# Tests change directories: make the path absolute.
if [[ "$BERTH" != /* ]]; then
    if [[ "$BERTH" == */* ]]; then
        BERTH="$(realpath -m "$BERTH")"
    else
        BERTH="$(command -v "$BERTH" || echo "$BERTH")"
    fi
fi
MAKE_BUNDLE="${BERTH_SOURCE_DIR:-$BATS_TEST_DIRNAME/../..}/tests/lib/make-bundle.sh"
# Upper bound for one berth call; a runtime that hangs fails the test instead of the suite.
BERTH_TIMEOUT="${BERTH_TIMEOUT:-60}"

fail() {
    printf '%s\n' "$@" >&2
    return 1
}

# skip_part REASON: a part of the test needs something this host lacks (an I/O scheduler, a huge
# page size, swap accounting...): the rest of the test still runs, and this line goes to the TAP
# stream, where the test command's skip report lists it with the test's name (a skipped part is
# not a pass either).
skip_part() {
    printf '# part skipped: %s\n' "$*" >&3
}

# Host features some tests need in part. Each answers for the hierarchy berth creates in.
host_has_blkio_weight() {
    [[ -f /sys/fs/cgroup/blkio/blkio.weight || -f /sys/fs/cgroup/blkio/blkio.bfq.weight ]]
}
host_has_swap_accounting() { [[ -f /sys/fs/cgroup/memory/memory.memsw.limit_in_bytes ]]; }
host_has_hugepages() { [[ -d "/sys/kernel/mm/hugepages/hugepages-$1" ]]; }
host_has_v1_controller() { awk -v c="$1" '$1 == c && $4 == 1 { f = 1 } END { exit !f }' /proc/cgroups && [[ -d "/sys/fs/cgroup/$1" ]]; }

# ---------------------------------------------------------------------------------------------
# setup_file / setup / teardown

# itest_setup_file: check the host, make the template bundle (shared by every file of one bats
# run) and export what the tests need. Problems become ITEST_SKIP, reported by every test.
itest_setup_file() {
    export ITEST_SKIP=""
    if [[ $(id -u) -ne 0 ]]; then
        export ITEST_SKIP="the integration tests need root"
        return 0
    fi
    if [[ ! -x "$BERTH" ]]; then
        export ITEST_SKIP="runtime not found: $BERTH (build first, or set BERTH)"
        return 0
    fi
    local tool
    for tool in jq busybox timeout flock; do
        if ! command -v "$tool" >/dev/null; then
            export ITEST_SKIP="$tool is not installed (run scripts/setup.sh)"
            return 0
        fi
    done
    export BERTH
    # The template is made once: per build dir (ctest runs each file as its own bats run), keyed
    # by the contents of make-bundle.sh and busybox; else once per bats run.
    local cache="$BATS_RUN_TMPDIR" key
    if [[ -n "${BERTH_BUILD_DIR:-}" && -d "$BERTH_BUILD_DIR" && -w "$BERTH_BUILD_DIR" ]]; then
        cache="$BERTH_BUILD_DIR/tests/integration-cache"
        mkdir -p "$cache"
    fi
    key="$(cat "$MAKE_BUNDLE" "$(command -v busybox)" | sha256sum | cut -c1-16)"
    export TEMPLATE="$cache/bundle-$key"
    (
        flock 9
        if [[ ! -f "$TEMPLATE/config.json" ]]; then
            rm -rf "$TEMPLATE" "$TEMPLATE.tmp"
            "$MAKE_BUNDLE" "$TEMPLATE.tmp" sh >&2 && mv "$TEMPLATE.tmp" "$TEMPLATE"
        fi
    ) 9>"$cache/bundle.lock"
    [[ -f "$TEMPLATE/config.json" ]] || export ITEST_SKIP="could not make the busybox bundle with $MAKE_BUNDLE"
}

# compile_recvtty: builds tools/recvtty.c into $BATS_FILE_TMPDIR and exports RECVTTY.
compile_recvtty() {
    [[ -n "$ITEST_SKIP" ]] && return 0
    if ! command -v cc >/dev/null; then
        export ITEST_SKIP="no C compiler (cc) to build tools/recvtty.c"
        return 0
    fi
    export RECVTTY="$BATS_FILE_TMPDIR/recvtty"
    cc -O2 -Wall -o "$RECVTTY" "$(dirname "${BASH_SOURCE[0]}")/tools/recvtty.c"
}

# start_recvtty NAME [RECVTTY_ARGS...]: a receiver on $TEST_DIR/NAME.sock whose output goes to
# $TEST_DIR/NAME.out (time limit RECVTTY_TIMEOUT, default 20 s). Sets RPID.
start_recvtty() {
    local name="$1"
    shift
    "$RECVTTY" -t "${RECVTTY_TIMEOUT:-20}" "$@" "$TEST_DIR/$name.sock" >"$TEST_DIR/$name.out" 2>"$TEST_DIR/$name.err" &
    RPID=$!
    bg_register "$RPID"
    wait_for 100 test -S "$TEST_DIR/$name.sock" || fail "recvtty did not listen" "$(cat "$TEST_DIR/$name.err")"
}

# wait_recvtty NAME: waits for the receiver (the container closed the slave) and fails on errors.
wait_recvtty() {
    local rc=0
    wait "$RPID" || rc=$?
    [[ "$rc" -eq 0 ]] || fail "recvtty exited $rc" "$(cat "$TEST_DIR/$1.err")" "$(cat "$TEST_DIR/$1.out")"
    tr -d '\r' <"$TEST_DIR/$1.out" >"$TEST_DIR/$1.txt"
}

itest_setup() {
    [[ -z "${ITEST_SKIP:-}" ]] || skip "$ITEST_SKIP"
    TEST_DIR="$(mktemp -d /tmp/bit.XXXXXX)"
    chmod 0755 "$TEST_DIR"
    # The tag marks every process of this test (berth's environment, the container's env).
    TAG="bit${TEST_DIR##*.}"
    ROOT="$TEST_DIR/state"
    BUNDLE="$TEST_DIR/bundle"
    ID="${TAG}-a"
    CALL_SEQ=0
    cp -a "$TEMPLATE" "$BUNDLE"
    cfg '.process.env += ["BERTH_ITEST_TAG=" + $tag]' --arg tag "$TAG"
    : >"$TEST_DIR/bg.pids"
}

itest_teardown() {
    [[ -n "${TEST_DIR:-}" && -d "$TEST_DIR" ]] || return 0
    local d id pid cg mp
    # Background helpers the test started (recvtty, a backgrounded berth).
    while read -r pid; do
        [[ -n "$pid" ]] && kill -9 "$pid" 2>/dev/null
    done <"$TEST_DIR/bg.pids"
    if [[ -d "$ROOT" ]]; then
        for d in "$ROOT"/*/; do
            [[ -d "$d" ]] || continue
            id="$(basename "$d")"
            timeout -k 5 20 "$BERTH" --root "$ROOT" delete -f -- "$id" </dev/null >/dev/null 2>&1
        done
    fi
    for pid in $(tagged_pids); do
        kill -9 "$pid" 2>/dev/null
    done
    # Cgroups named after this test's ids (processes first, then the directories, deepest first;
    # the pause for the killed processes to leave only when there was one: most tests leave none).
    local left=0
    while read -r cg; do
        [[ -n "$cg" ]] || continue
        left=1
        [[ -f "$cg/cgroup.procs" ]] && xargs -r kill -9 <"$cg/cgroup.procs" 2>/dev/null
    done < <(find /sys/fs/cgroup -type d -name "${TAG}*" 2>/dev/null)
    if [[ $left == 1 ]]; then
        sleep 0.05
        find /sys/fs/cgroup -depth -type d -name "${TAG}*" -exec rmdir {} \; 2>/dev/null
    fi
    # Mounts a broken runtime left on the host under the temp dir.
    while read -r mp; do
        umount -l "$mp" 2>/dev/null
    done < <(awk -v d="$TEST_DIR" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r)
    rm -rf --one-file-system "$TEST_DIR"
    return 0
}

setup() { itest_setup; }
teardown() { itest_teardown; }

# ---------------------------------------------------------------------------------------------
# bundle and config

# cfg JQ_FILTER [JQ_ARGS...]: edit $BUNDLE/config.json (or $CFG_FILE) in place.
cfg() {
    local filter="$1" file="${CFG_FILE:-$BUNDLE/config.json}"
    shift
    jq --tab "$filter" "$@" <"$file" >"$file.tmp" || { fail "jq failed: $filter"; return 1; }
    mv -f "$file.tmp" "$file"
}

# set_args ARG...: process.args of the bundle.
set_args() {
    cfg '.process.args = $ARGS.positional' --args -- "$@"
}

# add_mount DEST TYPE SOURCE [OPTION...]
add_mount() {
    local dest="$1" type="$2" src="$3"
    shift 3
    cfg '.mounts += [{destination: $d, type: $t, source: $s, options: $ARGS.positional}]' \
        --arg d "$dest" --arg t "$type" --arg s "$src" --args -- "$@"
}

# add_ns TYPE [PATH]: a namespace entry (replacing one of the same type).
add_ns() {
    if [[ -n "${2:-}" ]]; then
        cfg '.linux.namespaces = ([.linux.namespaces[] | select(.type != $t)] + [{type: $t, path: $p}])' \
            --arg t "$1" --arg p "$2"
    else
        cfg '.linux.namespaces = ([.linux.namespaces[] | select(.type != $t)] + [{type: $t}])' --arg t "$1"
    fi
}

del_ns() {
    cfg '.linux.namespaces = [.linux.namespaces[] | select(.type != $t)]' --arg t "$1"
}

# ctl_dir: a host dir bind-mounted read-write at /ctl in the container, for signalling and
# collecting results ($CTL on the host).
ctl_dir() {
    CTL="$TEST_DIR/ctl"
    mkdir -p "$CTL"
    chmod 0777 "$CTL"
    add_mount /ctl bind "$CTL" rbind rw
}

# A process that runs until the host creates $CTL/stop (needs ctl_dir).
WAIT_STOP='while [ ! -e /ctl/stop ]; do sleep 0.05; done'

# ---------------------------------------------------------------------------------------------
# running berth

# new_id: a fresh container id (works in $(...): the counter is a file).
new_id() {
    local n
    n=$(($(cat "$TEST_DIR/id.seq" 2>/dev/null || echo 0) + 1))
    echo "$n" >"$TEST_DIR/id.seq"
    echo "${TAG}-${n}"
}

# rb ARGS...: berth --root $ROOT ARGS. Sets status, output (stdout), stderr, lines, err_lines.
rb() {
    rb_raw --root "$ROOT" "$@"
}

# rb_raw ARGS...: like rb but without --root (global flags are the caller's).
rb_raw() {
    capture "berth $*" env BERTH_ITEST_TAG="$TAG" timeout -k 5 "$BERTH_TIMEOUT" "$BERTH" "$@"
}

# capture LABEL CMD...: runs CMD with stdin from /dev/null; sets status, output, stderr, lines,
# err_lines, and LAST_CMD=LABEL (what show_call prints).
capture() {
    local label="$1"
    shift
    CALL_SEQ=$((CALL_SEQ + 1))
    local out="$TEST_DIR/call.$CALL_SEQ.out" err="$TEST_DIR/call.$CALL_SEQ.err"
    status=0
    "$@" </dev/null >"$out" 2>"$err" || status=$?
    output="$(cat "$out")"
    stderr="$(cat "$err")"
    mapfile -t lines <"$out"
    mapfile -t err_lines <"$err"
    LAST_CMD="$label"
}

show_call() {
    printf '%s\n' "command: $LAST_CMD" "status: $status" "--- stdout:" "$output" "--- stderr:" "$stderr" >&2
}

assert_ok() {
    if [[ "$status" -ne 0 ]]; then
        show_call
        fail "expected exit status 0"; return 1
    fi
}

assert_status() {
    if [[ "$status" -ne "$1" ]]; then
        show_call
        fail "expected exit status $1"; return 1
    fi
}

# assert_berth_error [REGEX]: failed with exit status 1 and exactly one stderr line, which starts
# with "berth: " and matches REGEX (extended, case-insensitive).
assert_berth_error() {
    assert_berth_error_code 1 "$@"
}

# assert_berth_error_code CODE [REGEX]: the same with exit status CODE (exec's failures exit 255,
# as runc's). Against another runtime the status is still checked when CODE is not 1.
assert_berth_error_code() {
    local code="$1" re="${2:-}"
    if [[ -n "${BERTH_ITEST_ANY_ERROR_FORMAT:-}" ]]; then
        # For checking the tests against another runtime (runc): any failure, REGEX anywhere.
        if [[ "$status" -eq 0 ]] || { [[ "$code" -ne 1 && "$status" -ne "$code" ]]; } ||
            { [[ -n "$re" ]] && ! grep -qEi -- "$re" <<<"$stderr"; }; then
            show_call
            fail "expected a failure (status $code) matching /$re/"; return 1
        fi
        return 0
    fi
    if [[ "$status" -ne "$code" ]]; then
        show_call
        fail "expected exit status $code"; return 1
    fi
    if [[ "${#err_lines[@]}" -ne 1 ]]; then
        show_call
        fail "expected exactly one line on stderr, got ${#err_lines[@]}"; return 1
    fi
    if [[ "${err_lines[0]}" != "berth: "* ]]; then
        show_call
        fail "expected the error line to start with 'berth: '"; return 1
    fi
    if [[ -n "$re" ]] && ! grep -qEi -- "$re" <<<"${err_lines[0]}"; then
        show_call
        fail "expected the error line to match /$re/"; return 1
    fi
}

# create_ctr ID [CREATE_FLAGS...]: berth create -b $BUNDLE; the container's stdio (and berth's)
# go to $TEST_DIR/ID.log. Fails the test if create fails.
create_ctr() {
    local id="$1"
    shift
    rb_ctr "$id" create -b "$BUNDLE" "$@" "$id"
}

# run_d ID [RUN_FLAGS...]: berth run -d.
run_d() {
    local id="$1"
    shift
    rb_ctr "$id" run -d -b "$BUNDLE" "$@" "$id"
}

rb_ctr() {
    local id="$1"
    shift
    status=0
    env BERTH_ITEST_TAG="$TAG" timeout -k 5 "$BERTH_TIMEOUT" "$BERTH" --root "$ROOT" "$@" \
        </dev/null >>"$TEST_DIR/$id.log" 2>&1 || status=$?
    LAST_CMD="berth --root $ROOT $*"
    if [[ "$status" -ne 0 ]]; then
        output=""
        stderr="$(cat "$TEST_DIR/$id.log")"
        show_call
        fail "berth $1 $id failed"; return 1
    fi
}

# run_fg ID [RUN_FLAGS...]: berth run (foreground) -b $BUNDLE ID; output = the container's stdout.
run_fg() {
    local id="$1"
    shift
    rb run -b "$BUNDLE" "$@" "$id"
}

ctr_state() {
    env BERTH_ITEST_TAG="$TAG" timeout -k 5 "$BERTH_TIMEOUT" "$BERTH" --root "$ROOT" state "$1" </dev/null 2>/dev/null
}

ctr_pid() {
    ctr_state "$1" | jq -r .pid
}

ctr_status() {
    ctr_state "$1" | jq -r .status
}

# wait_for TRIES CMD...: retry CMD every 0.05 s until it succeeds (TRIES times at most).
wait_for() {
    local tries="$1" i
    shift
    for ((i = 0; i < tries; i++)); do
        "$@" && return 0
        sleep 0.05
    done
    return 1
}

status_is() {
    [[ "$(ctr_status "$1")" == "$2" ]]
}

# wait_status ID STATUS: polls `state` (up to 10 s).
wait_status() {
    wait_for 200 status_is "$1" "$2" || { fail "container $1: status is '$(ctr_status "$1")', expected '$2'"; return 1; }
}

# bg_register PID: killed in teardown if still alive.
bg_register() {
    echo "$1" >>"$TEST_DIR/bg.pids"
}

# ---------------------------------------------------------------------------------------------
# host-side checks

# tagged_pids: processes (not this shell) whose environment carries this test's tag.
# One grep over every environ file (NUL-separated entries, whole-entry match): a loop forking
# tr and grep per process cost ~0.7 s per call with ~130 processes, once or more per test.
# The list is taken before grep runs, so grep (and a subshell) never lists itself.
tagged_pids() {
    local files=(/proc/[0-9]*/environ) found f p
    found="$(grep -lsxzF -- "BERTH_ITEST_TAG=$TAG" "${files[@]}")"
    for f in $found; do
        p="${f#/proc/}"
        p="${p%/environ}"
        [[ "$p" == "$$" || "$p" == "$BASHPID" ]] && continue
        echo "$p"
    done
    return 0
}

# cgroup_dirs ID: every cgroup directory named ID.
cgroup_dirs() {
    find /sys/fs/cgroup -type d -name "$1" 2>/dev/null
    return 0
}

pid_alive() {
    [[ -d "/proc/$1" ]] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null
}

# host_mounts: the host's mount table (mount point onward), without the mounts other users of
# this machine make concurrently in their own temp dirs (podman e2e runs, other test runs):
# mount points under /tmp other than $TEST_DIR, and podman's /run/netns, /run/containers,
# /var/lib/containers. Anything a runtime could leak — under $TEST_DIR, at a container path
# such as /proc, /dev/*, /sys/*, /mnt/*, or a host mount it removed — still shows.
host_mounts() {
    cut -d' ' -f5- /proc/self/mountinfo | awk -v mine="$TEST_DIR" '
        index($1, mine) == 1 { print; next }
        $1 ~ "^/tmp/" || $1 ~ "^/run/netns/" || $1 ~ "^/run/containers/" || $1 ~ "^/var/lib/containers/" { next }
        { print }' | sort
}

# mounts_snapshot: remembers the host's mount table (compare with assert_no_leftovers).
mounts_snapshot() {
    host_mounts >"$TEST_DIR/mounts.before"
}

# assert_no_leftovers ID: no state dir, cgroup, process or new host mount left for ID.
assert_no_leftovers() {
    local id="$1" cgs pids
    if [[ -e "$ROOT/$id" ]]; then
        ls -la "$ROOT/$id" >&2
        fail "state dir $ROOT/$id remains"; return 1
    fi
    cgs="$(cgroup_dirs "$id")"
    [[ -z "$cgs" ]] || { fail "cgroup dirs remain:" "$cgs"; return 1; }
    wait_for 40 no_tagged_pids || { fail "processes remain:" "$(tagged_pids | xargs -r ps -o pid,args -p)"; return 1; }
    if [[ -f "$TEST_DIR/mounts.before" ]]; then
        local new
        new="$(comm -3 "$TEST_DIR/mounts.before" <(host_mounts))"
        [[ -z "$new" ]] || { fail "the host's mount table changed (left: gone, indented: new):" "$new"; return 1; }
    fi
}

no_tagged_pids() {
    [[ -z "$(tagged_pids)" ]]
}

# root_entries: what is under --root (empty if it does not exist).
root_entries() {
    ls -A "$ROOT" 2>/dev/null
    return 0
}

# ns_of PID NS: the namespace link of PID (e.g. "net:[4026531840]").
ns_of() {
    readlink "/proc/$1/ns/$2"
}
