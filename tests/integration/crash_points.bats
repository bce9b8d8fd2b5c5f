#!/usr/bin/env bats
# Crash safety: berth killed with SIGKILL at each step of create, start, exec and delete (the
# BERTH_CRASH_AT points of a --crash-points build), and at random moments of create, start and
# delete (250 runs), leaves nothing that `delete --force` does not clean: no state dir, cgroup,
# process or mount.

load helpers

setup_file() { itest_setup_file; }

# crash_at POINT ARGS...: berth ARGS with BERTH_CRASH_AT=POINT; must die of SIGKILL there.
crash_at() {
    local point="$1"
    shift
    status=0
    env BERTH_ITEST_TAG="$TAG" BERTH_CRASH_AT="$point" timeout -k 5 30 "$BERTH" --root "$ROOT" "$@" \
        </dev/null >>"$TEST_DIR/crash.log" 2>&1 || status=$?
    if [[ "$status" -ne 137 ]]; then
        cat "$TEST_DIR/crash.log" >&2
        fail "berth $* with BERTH_CRASH_AT=$point exited $status, not killed at the point" \
            "(a build without crash points? scripts/build.sh --crash-points)"
        return 1
    fi
}

@test "killed at each step of create, then delete --force: nothing left" {
    cfg '.linux.resources.pids = {limit: 50}'
    set_args sleep 100
    mounts_snapshot
    local point id
    for point in create:state-saved create:cgroup-made create:cloned create:ready create:created; do
        id="$(new_id)"
        crash_at "$point" create -b "$BUNDLE" "$id"
        rb delete -f "$id"
        assert_ok
        assert_no_leftovers "$id" || fail "after a crash at $point"
    done
}

@test "killed in start after releasing the init, in exec, and in delete: delete --force cleans" {
    ctl_dir
    set_args sh -c "$WAIT_STOP"
    mounts_snapshot
    local id
    id="$(new_id)"
    create_ctr "$id"
    crash_at start:released start "$id"
    # The init was released: the container runs although start died before recording it.
    wait_status "$id" running
    crash_at exec:cloned exec "$id" true
    rb exec "$id" true
    assert_ok
    crash_at delete:killed delete -f "$id"
    rb delete -f "$id"
    assert_ok
    assert_no_leftovers "$id"
    id="$(new_id)"
    run_d "$id"
    crash_at delete:cgroup-removed delete -f "$id"
    rb delete -f "$id"
    assert_ok
    assert_no_leftovers "$id"
}

# crash_loop W N: N runs of create, start or delete killed at a random moment, each followed by
# delete --force, with ids of worker W's own; the counts of each kind go to $TEST_DIR/runs.W.
# The cgroups are checked once at the end, over every run's id (a leaked cgroup stays).
crash_loop() {
    local w="$1" n="$2" i id pid delay op
    local -A runs=([create]=0 [start]=0 [delete]=0)
    CALL_SEQ=$((w * 100000))  # capture's files: one set per worker
    for ((i = 1; i <= n; i++)); do
        id="${TAG}-w${w}-${i}"
        op=$(printf '%s\n' create start delete | shuf -n1)
        if [[ "$op" != create ]]; then
            rb create -b "$BUNDLE" "$id"
            assert_ok || return 1
        fi
        case "$op" in
            create) env BERTH_ITEST_TAG="$TAG" "$BERTH" --root "$ROOT" create -b "$BUNDLE" "$id" </dev/null >/dev/null 2>&1 & ;;
            start) "$BERTH" --root "$ROOT" start "$id" </dev/null >/dev/null 2>&1 & ;;
            delete) "$BERTH" --root "$ROOT" delete -f "$id" </dev/null >/dev/null 2>&1 & ;;
        esac
        pid=$!
        runs[$op]=$((runs[$op] + 1))
        delay=$((RANDOM % 40))
        sleep "0.0$(printf '%02d' "$delay")"
        kill -9 "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        rb delete -f "$id"
        assert_ok || { echo "run $i of worker $w ($op killed after ${delay} ms)" >&2; return 1; }
        [[ ! -e "$ROOT/$id" ]] || { fail "run $i of worker $w ($op killed after ${delay} ms): state dir left"; return 1; }
    done
    echo "${runs[create]} ${runs[start]} ${runs[delete]}" >"$TEST_DIR/runs.$w"
}

@test "250 runs of create, start or delete killed at random moments: delete --force always cleans" {
    cfg '.linux.resources.memory = {limit: 67108864}'
    set_args sleep 100
    mounts_snapshot
    # Two workers side by side (125 runs each), against the same --root: the runs also race
    # each other's creates and deletes, and the test takes half the time.
    local p1 p2 failed=0 c=0 s=0 d=0 a b e w
    crash_loop 1 125 &
    p1=$!
    crash_loop 2 125 &
    p2=$!
    wait "$p1" || failed=1
    wait "$p2" || failed=1
    [[ "$failed" == 0 ]] || fail "a crash loop failed (above)"
    for w in 1 2; do
        read -r a b e <"$TEST_DIR/runs.$w"
        c=$((c + a)) s=$((s + b)) d=$((d + e))
    done
    echo "# killed: $c creates, $s starts, $d deletes" >&3
    local left
    left="$(find /sys/fs/cgroup -type d -name "${TAG}-w*" 2>/dev/null)"
    [[ -z "$left" ]] || fail "cgroups left:" "$left"
    assert_no_leftovers "${TAG}-w1-125"
    assert_no_leftovers "${TAG}-w2-125"
}
