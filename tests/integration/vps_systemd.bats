#!/usr/bin/env bats
# VPS slicing with the Debian 12 systemd template (label root): the debootstrapped bookworm
# rootfs that tests/e2e/systemd.bats uses (tests/lib/make-systemd-rootfs.sh, cached under
# /var/cache/berth-tests) is imported into the test's store as a one-layer image (the OCI layout
# is cached next to the rootfs, so a run tars nothing), and a VPS made from it boots systemd as
# PID 1 in its own user namespace: is-system-running says running or degraded, exec and enter
# work, /proc/meminfo shows --ram (lxcfs), a graceful stop runs systemd's shutdown (its stop
# signal, SIGRTMIN+4), a second start keeps the VPS's files, and destroy leaves nothing.
load helpers
load vps_helpers

LIB="${BERTH_SOURCE_DIR:-$BATS_TEST_DIRNAME/../..}/tests/lib"

# sd_layout: the cached rootfs's OCI layout (uncompressed), made once under the cache's lock.
sd_layout() {
    local lower="$1" layout="$1.oci-v1"
    (
        flock 9
        if [[ ! -f "$layout/index.json" ]]; then
            rm -rf "$layout.tmp"
            "$LIB/make-oci-layout.sh" -z none -c '{"Cmd":["/sbin/init"]}' -t v1 "$layout.tmp" "$lower" >/dev/null &&
                mv -T "$layout.tmp" "$layout"
        fi
    ) 9>"$(dirname "$lower")/.lock"
    [[ -f "$layout/index.json" ]] && echo "$layout"
}

setup_file() {
    itest_setup_file
    [[ -n "$ITEST_SKIP" ]] && return 0
    local lower
    if ! lower="$("$LIB/make-systemd-rootfs.sh" 2>"$BATS_FILE_TMPDIR/rootfs.err")"; then
        if ! command -v debootstrap >/dev/null; then
            export ITEST_SKIP="debootstrap is not installed and no Debian rootfs is cached (run scripts/setup.sh)"
        else
            export ITEST_SKIP="could not debootstrap a Debian rootfs: $(tail -n 3 "$BATS_FILE_TMPDIR/rootfs.err" | tr '\n' ' ')"
        fi
        return 0
    fi
    SD_LAYOUT="$(sd_layout "$lower")" || { export ITEST_SKIP="could not make an OCI layout of $lower"; return 0; }
    export SD_LAYOUT
}

setup() {
    itest_setup
    vps_test_env
    VPS="${TAG}v"
    rs image import "$SD_LAYOUT" localhost/debian:12
    assert_ok
}

teardown() {
    vps_teardown
    itest_teardown
}

# boot_wait: until `systemctl is-system-running` inside says running or degraded (generous: two
# minutes on a loaded machine); on failure, the state, the failed units and the console log.
boot_wait() {
    local i s=""
    for ((i = 0; i < 600; i++)); do
        s="$("$BERTH" --root "$ROOT" --store "$STORE" vps exec "$VPS" systemctl is-system-running </dev/null 2>&1)" || true
        [[ "$s" == running || "$s" == degraded ]] && return 0
        sleep 0.2
    done
    fail "systemd did not come up (is-system-running: $s); failed units:" \
        "$("$BERTH" --root "$ROOT" --store "$STORE" vps exec "$VPS" systemctl --failed --no-legend --plain </dev/null 2>&1)" \
        "console: $(tail -n 20 "$BERTH_VPS_DATA/$VPS/console.log" 2>&1)"
}

# disk_loops: the loop devices backed by the VPS's disk image (which may be gone already).
disk_loops() {
    local f
    for f in /sys/block/loop*/loop/backing_file; do
        [[ -f "$f" ]] && grep -qF "$BERTH_VPS_DATA/$VPS/disk.img" "$f" 2>/dev/null && echo "${f%/loop/backing_file}"
    done
    return 0
}

# A unit whose stop leaves a marker in the VPS: it runs only when systemd shuts down properly.
MARKER_UNIT='[Unit]
Description=leaves /shutdown-ran when stopped
[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/true
ExecStop=/bin/sh -c "echo ran >/shutdown-ran"
[Install]
WantedBy=multi-user.target'

@test "vps systemd: Debian 12 boots to running, exec, enter, lxcfs meminfo, graceful stop runs the shutdown, restart keeps files, destroy leaves nothing" {
    mounts_snapshot
    rs vps create "$VPS" --template localhost/debian:12 --ram 384M --diskspace 1G
    assert_ok
    [[ "$(jq -r '.init.kind + " " + .init.stopSignal' "$BERTH_VPS_CONFIG/$VPS.json")" == "systemd SIGRTMIN+4" ]] ||
        fail "init: $(jq -c .init "$BERTH_VPS_CONFIG/$VPS.json")"
    base="$(jq -r .idmap.base "$BERTH_VPS_CONFIG/$VPS.json")"

    rs vps start "$VPS"
    assert_ok
    boot_wait
    rs vps exec "$VPS" sh -c 'cat /proc/1/comm; id -u; echo "$container"; findmnt -no FSTYPE /run; test -w /sys/fs/cgroup/systemd/init.scope/cgroup.procs && echo cg-rw'
    assert_ok
    [[ "${lines[*]}" == "systemd 0 berth tmpfs cg-rw" ]] || { show_call; fail "unexpected view inside"; }
    pid="$("$BERTH" --root "$ROOT" --store "$STORE" vps status -j "$VPS" </dev/null | jq -r .pid)"
    grep -E "^Uid:\s+$base\s" "/proc/$pid/status" || fail "systemd's uid on the host is not $base"

    run -0 timeout 30 "$BERTH" --root "$ROOT" --store "$STORE" vps enter "$VPS" <<'SH'
echo "uid=$(id -u) pid1=$(cat /proc/1/comm) mnt=$(readlink /proc/self/ns/mnt)"
SH
    [[ "$output" == "uid=0 pid1=systemd mnt=$(readlink "/proc/$pid/ns/mnt")" ]] || fail "enter: $output"

    if command -v lxcfs >/dev/null && [[ -e /dev/fuse ]]; then
        rs vps exec "$VPS" sh -c "awk '/^MemTotal:/ { print \$2 }' /proc/meminfo"
        assert_ok
        [[ "$output" == $((384 * 1024)) ]] || { show_call; fail "/proc/meminfo does not show --ram (384M)"; }
    else
        skip_part "/proc/meminfo through lxcfs (no lxcfs or /dev/fuse; run scripts/setup.sh)"
    fi

    rs vps exec "$VPS" sh -c "cat >/etc/systemd/system/marker.service <<'U'
$MARKER_UNIT
U
systemctl daemon-reload && systemctl enable --now marker.service && echo mine >/root/keep"
    assert_ok

    # Graceful: SIGRTMIN+4 starts poweroff.target, which stops the marker unit; stop is quiet
    # (no "killed after the timeout" warning).
    rs vps stop "$VPS" --timeout 60
    assert_ok
    [[ -z "$stderr" ]] || { show_call; fail "stop was not graceful"; }
    rs vps status "$VPS"
    [[ "$output" == *stopped* ]] || { show_call; fail "status after stop"; }
    ! grep -q " $BERTH_VPS_DATA/$VPS/" /proc/self/mountinfo || fail "a mount is left after stop"

    rs vps start "$VPS"
    assert_ok
    boot_wait
    [[ -n "$(disk_loops)" ]] || fail "no loop device for the VPS's disk"
    rs vps exec "$VPS" cat /root/keep /shutdown-ran
    assert_ok
    [[ "${lines[0]}" == mine ]] || { show_call; fail "the VPS's files did not survive"; }
    [[ "${lines[1]}" == ran ]] || { show_call; fail "systemd's shutdown did not run (no marker)"; }

    rs vps destroy --force "$VPS"
    assert_ok
    [[ ! -e "$BERTH_VPS_CONFIG/$VPS.json" && ! -e "$BERTH_VPS_DATA/$VPS" ]] || fail "files remain"
    [[ "$(jq -r 'keys | length' "$BERTH_VPS_CONFIG/.idranges.json")" == 0 ]] || fail "the id range was not freed"
    [[ -z "$(find /sys/fs/cgroup -type d -path "*/vps-$VPS*" 2>/dev/null)" ]] ||
        fail "cgroups remain: $(find /sys/fs/cgroup -type d -path "*/vps-$VPS*")"
    [[ -z "$(root_entries)" ]] || fail "state remains: $(root_entries)"
    [[ -z "$(disk_loops)" ]] || fail "a loop device remains: $(disk_loops)"
    assert_no_leftovers "vps-$VPS"
}
