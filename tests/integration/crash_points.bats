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

@test "250 runs of create, start or delete killed at random moments: delete --force always cleans" {
    cfg '.linux.resources.memory = {limit: 67108864}'
    set_args sleep 100
    mounts_snapshot
    local i id pid delay op
    local -A runs=([create]=0 [start]=0 [delete]=0)
    for i in $(seq 250); do
        id="$(new_id)"
        op=$(printf '%s\n' create start delete | shuf -n1)
        if [[ "$op" != create ]]; then
            rb create -b "$BUNDLE" "$id"
            assert_ok
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
        assert_ok
        [[ ! -e "$ROOT/$id" ]] || fail "run $i ($op killed after ${delay} ms): state dir left"
        [[ -z "$(cgroup_dirs "$id")" ]] || fail "run $i ($op killed after ${delay} ms): cgroups left: $(cgroup_dirs "$id")"
    done
    echo "# killed: ${runs[create]} creates, ${runs[start]} starts, ${runs[delete]} deletes" >&3
    assert_no_leftovers "$id"
}
