# Shared by the tests/integration/vps*.bats files (load vps_helpers after helpers): a busybox-init
# template layout, per-test VPS config/data/store/lxcfs dirs, and a teardown that destroys every
# VPS the test made and anything a failed test left (cgroups, the test's own lxcfs).

VPS_LIB="${BERTH_SOURCE_DIR:-$BATS_TEST_DIRNAME/../..}/tests/lib"

# vps_busybox_layout INITTAB [DIR...]: $LAYOUT, an OCI layout of the busybox rootfs plus a layer
# with INITTAB as /etc/inittab and the given extra dirs (relative to that layer, made empty).
# Call from setup_file.
vps_busybox_layout() {
    local inittab="$1" d
    shift
    export BASE_TAR="$BATS_FILE_TMPDIR/base.tar"
    tar -C "$TEMPLATE/rootfs" --numeric-owner -cf "$BASE_TAR" .
    mkdir -p "$BATS_FILE_TMPDIR/l2/etc"
    for d in "$@"; do mkdir -p "$BATS_FILE_TMPDIR/l2/$d"; done
    printf '%s\n' "$inittab" >"$BATS_FILE_TMPDIR/l2/etc/inittab"
    export VPS_LAYER="$BATS_FILE_TMPDIR/l2"
    export LAYOUT="$BATS_FILE_TMPDIR/layout"
}

# vps_make_layout: makes $LAYOUT from $BASE_TAR and $VPS_LAYER (after the caller added files).
vps_make_layout() {
    "$VPS_LIB/make-oci-layout.sh" -t v1 "$LAYOUT" "$BASE_TAR" "$VPS_LAYER" >/dev/null
}

# vps_test_env: the test's own VPS config, data, id pool, store and lxcfs dirs. Call from setup.
vps_test_env() {
    STORE="$TEST_DIR/store"
    export BERTH_VPS_CONFIG="$TEST_DIR/etc" BERTH_VPS_DATA="$TEST_DIR/data" BERTH_VPS_IDPOOL="1000000:4"
    # The VPSes' lxcfs (when this host has none running) is the test's own, stopped in teardown.
    export BERTH_VPS_LXCFS="$TEST_DIR/lxcfs"
}

# rs ARGS...: berth --root $ROOT --store $STORE ARGS (through $VPS_BERTH when a test sets it,
# e.g. berth run in a test-made network namespace).
rs() {
    local saved="$BERTH"
    BERTH="${VPS_BERTH:-$BERTH}"
    rb_raw --root "$ROOT" --store "$STORE" "$@"
    BERTH="$saved"
}

vps_pid() {
    "$BERTH" --root "$ROOT" --store "$STORE" vps status -j "$1" </dev/null | jq -r .pid
}

# vps_teardown: destroy every VPS of the test; kill and remove what a failed test left in the
# VPSes' cgroups (systemd's slices included: deepest dirs first); stop the test's lxcfs.
vps_teardown() {
    local f n cg
    for f in "$BERTH_VPS_CONFIG"/*.json; do
        [[ -f "$f" ]] || continue
        n="$(basename "$f" .json)"
        timeout -k 5 60 "${VPS_BERTH:-$BERTH}" --root "$ROOT" --store "$STORE" vps destroy --force "$n" </dev/null >/dev/null 2>&1
    done
    local left=0
    while read -r cg; do
        [[ -n "$cg" ]] && left=1
        [[ -n "$cg" && -f "$cg/cgroup.procs" ]] && xargs -r kill -9 <"$cg/cgroup.procs" 2>/dev/null
    done < <(find /sys/fs/cgroup -type d -path "*/vps-${TAG}*" 2>/dev/null)
    if [[ $left == 1 ]]; then
        sleep 0.05
        find /sys/fs/cgroup -depth -type d -path "*/vps-${TAG}*" -exec rmdir {} \; 2>/dev/null
    fi
    stop_test_lxcfs
    return 0
}

# The lxcfs a failed test may have left running at $BERTH_VPS_LXCFS.
stop_test_lxcfs() {
    local pid
    pid="$(cat "$BERTH_VPS_LXCFS/state/lxcfs.pid" 2>/dev/null || true)"
    # Unmounted first, a killed lxcfs leaves nothing behind (it keeps no state).
    grep -qF " $BERTH_VPS_LXCFS/mnt " /proc/self/mountinfo && umount -l "$BERTH_VPS_LXCFS/mnt"
    [[ -n "$pid" && "$(cat "/proc/$pid/comm" 2>/dev/null)" == lxcfs ]] && kill -9 "$pid"
    return 0
}
