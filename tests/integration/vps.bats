#!/usr/bin/env bats
# VPS slicing (label root): `berth vps` on the real kernel — a busybox-init template imported
# into a per-test store, create/start/exec/enter/set/stop/start/destroy, the VPS's id range seen
# from the host, idmapped template layers that keep their owners, a graceful stop that runs the
# init's shutdown actions, and bad input that changes nothing. Every test has its own config,
# data, state and store dirs under $TEST_DIR.
load helpers
load vps_helpers

setup_file() {
    itest_setup_file
    [[ -n "$ITEST_SKIP" ]] && return 0
    # The busybox rootfs as one layer, and an inittab layer on top: busybox init runs sysinit,
    # then waits (no getty or console shell); its shutdown action leaves a marker in the VPS.
    vps_busybox_layout "::sysinit:/bin/sh -c 'echo booted >/run/booted'
::shutdown:/bin/sh -c 'echo ran >/shutdown-ran'"
    vps_make_layout
}

setup() {
    itest_setup
    vps_test_env
    VPS="${TAG}v"
    rs image import "$LAYOUT" localhost/vpsbb:v1
    assert_ok
}

teardown() {
    vps_teardown
    [[ -n "${HOSTNS:-}" ]] && ip netns del "$HOSTNS" 2>/dev/null
    itest_teardown
}

# vps_cgroup NAME CONTROLLER: the VPS's cgroup dir in that v1 hierarchy.
vps_cgroup() {
    find "/sys/fs/cgroup/$2" -type d -name "vps-$1" 2>/dev/null | head -n1
}

@test "vps: create, start, init is PID 1, exec, enter, live set, idmapped ids, graceful stop, restart keeps files, destroy leaves nothing" {
    mounts_snapshot
    rs vps create "$VPS" --template localhost/vpsbb:v1 --ram 128M --cpulimit 50 --cpuunits 2000 --pids 200 --hostname box.example
    assert_ok
    [[ -f "$BERTH_VPS_CONFIG/$VPS.json" ]]
    [[ "$(jq -r .init.stopSignal "$BERTH_VPS_CONFIG/$VPS.json")" == SIGUSR2 ]]
    base="$(jq -r .idmap.base "$BERTH_VPS_CONFIG/$VPS.json")"
    [[ "$base" -ge 1000000 ]]

    rs vps start "$VPS"
    assert_ok
    rs vps status "$VPS"
    assert_ok
    [[ "$output" == *running* ]]
    # PID 1 is the template's init (busybox), and its sysinit ran.
    # (busybox init rewrites its argv to "init"; its exe is busybox.)
    rs vps exec "$VPS" sh -c 'cat /proc/1/comm; readlink /proc/1/exe; cat /run/booted; hostname; id -u'
    assert_ok
    [[ "${lines[*]}" == "init /bin/busybox booted box.example 0" ]] || { show_call; fail "unexpected view inside"; }
    # exec relays the exit status.
    rs vps exec "$VPS" sh -c 'exit 7'
    assert_status 7

    # enter: a root login shell in every namespace of the VPS (stdin from a here-doc).
    pid="$(vps_pid "$VPS")"
    run -0 timeout 30 "$BERTH" --root "$ROOT" --store "$STORE" vps enter "$VPS" <<'SH'
echo "uid=$(id -u) pid1=$(cat /proc/1/comm)"
for ns in mnt pid user net uts ipc; do readlink /proc/self/ns/$ns; done
SH
    [[ "${lines[0]}" == "uid=0 pid1=init" ]] || fail "enter: ${lines[*]}"
    for ns in mnt pid user net uts ipc; do
        grep -qxF "$(readlink "/proc/$pid/ns/$ns")" <<<"$output" || fail "enter is not in the VPS's $ns namespace (init $pid: $(readlink "/proc/$pid/ns/$ns"), enter: $output)"
    done

    # With a terminal, enter's shell has a pty (script gives berth one).
    if command -v script >/dev/null; then
        run timeout 30 script -qec "$BERTH --root $ROOT --store $STORE vps enter $VPS" /dev/null <<<'tty; exit 3'
        [[ "$status" -eq 3 ]] || fail "enter with a pty: status $status: $output"
        grep -q '^/dev/pts/[0-9]' <<<"${output//$'\r'/}" || fail "enter had no pty: $output"
    else
        skip_part "enter with a pty (no script(1))"
    fi

    # The host sees the VPS's root as the pool's unprivileged uid.
    grep -E "^Uid:\s+$base\s" "/proc/$pid/status" || fail "init's uid on the host is not $base: $(grep Uid "/proc/$pid/status")"
    # The template's layers are idmapped: root's files inside, still root's in the store.
    rs vps exec "$VPS" stat -c %u /bin/busybox
    assert_ok
    [[ "$output" == 0 ]]
    while read -r f; do
        [[ "$(stat -c %u "$f")" == 0 ]] || fail "store file $f changed owner"
    done < <(find "$STORE/snapshots" -path '*/bin/busybox')
    rs vps exec "$VPS" sh -c 'echo mine >/root/keep; mkdir /data'
    assert_ok
    [[ "$(stat -c %u "$BERTH_VPS_DATA/$VPS/upper/root/keep")" == "$base" ]]
    # Nothing of the VPS was copied into its upper dir but what it wrote.
    [[ ! -e "$BERTH_VPS_DATA/$VPS/upper/bin" ]]

    # Live limits: ram in the memory cgroup, cpulimit as quota, pids.
    mem="$(vps_cgroup "$VPS" memory)"
    [[ -n "$mem" ]] || fail "no memory cgroup"
    [[ "$(cat "$mem/memory.limit_in_bytes")" == $((128 << 20)) ]]
    [[ "$(cat "$(vps_cgroup "$VPS" cpu)/cpu.cfs_quota_us")" == 50000 ]]
    [[ "$(cat "$(vps_cgroup "$VPS" cpu)/cpu.shares")" == 2048 ]]
    [[ "$(cat "$(vps_cgroup "$VPS" pids)/pids.max")" == 200 ]]
    if host_has_swap_accounting; then
        rs vps set "$VPS" --swap 64M
        assert_ok
        [[ "$(cat "$mem/memory.memsw.limit_in_bytes")" == $(((128 + 64) << 20)) ]] || fail "memsw is not ram + swap"
    else
        skip_part "--swap (no swap accounting on this host)"
    fi
    rs vps set "$VPS" --ram 256M --pids 300 --hostname other
    assert_ok
    [[ "$output" == *"applied now: ram, pids"* ]] || { show_call; fail "set did not say what is live"; }
    if host_has_swap_accounting; then
        [[ "$(cat "$mem/memory.memsw.limit_in_bytes")" == $(((256 + 64) << 20)) ]] || fail "memsw did not follow ram"
    fi
    [[ "$output" == *"applied at the next start: hostname"* ]] || { show_call; fail "set did not say what waits"; }
    [[ "$(cat "$mem/memory.limit_in_bytes")" == $((256 << 20)) ]]
    [[ "$(cat "$(vps_cgroup "$VPS" pids)/pids.max")" == 300 ]]
    [[ "$(jq -r .limits.ram "$BERTH_VPS_CONFIG/$VPS.json")" == $((256 << 20)) ]]

    rs vps list
    assert_ok
    [[ "${lines[0]}" == NAME* ]]
    [[ "${lines[1]}" == "$VPS "*running* ]] || { show_call; fail "list"; }
    rs vps list -j
    assert_ok
    [[ "$(jq -r '.[0].ramlimit' <<<"$output")" == $((256 << 20)) ]]
    [[ "$(jq -r '.[0].nproc' <<<"$output")" -ge 1 ]]

    # A graceful stop: busybox init gets SIGUSR2 and runs its shutdown action.
    rs vps stop "$VPS" --timeout 30
    assert_ok
    [[ -z "$stderr" ]] || { show_call; fail "stop was not graceful"; }
    [[ "$(cat "$BERTH_VPS_DATA/$VPS/upper/shutdown-ran")" == ran ]] || fail "init's shutdown did not run"
    rs vps status "$VPS"
    [[ "$output" == *stopped* ]]
    ! grep -q " $BERTH_VPS_DATA/$VPS/" /proc/self/mountinfo || fail "a mount is left after stop"
    rs vps list
    [[ "${#lines[@]}" -eq 1 ]]
    rs vps list -a -o name,state,hostname
    [[ "${lines[1]}" == "$VPS"*stopped*other ]] || { show_call; fail "list -a"; }

    # Start again: the VPS's files are still there, and the new hostname applies.
    rs vps start "$VPS"
    assert_ok
    rs vps exec "$VPS" sh -c 'cat /root/keep; hostname; test -d /data && echo dir'
    assert_ok
    [[ "${lines[*]}" == "mine other dir" ]] || { show_call; fail "the VPS's files did not survive"; }

    # destroy refuses a running VPS without --force, then leaves nothing behind.
    rs vps destroy "$VPS"
    assert_berth_error "is running"
    [[ -f "$BERTH_VPS_CONFIG/$VPS.json" ]]
    rs vps destroy --force "$VPS"
    assert_ok
    [[ ! -e "$BERTH_VPS_CONFIG/$VPS.json" && ! -e "$BERTH_VPS_DATA/$VPS" ]]
    [[ "$(jq -r 'keys | length' "$BERTH_VPS_CONFIG/.idranges.json")" == 0 ]] || fail "the id range was not freed"
    [[ -z "$(cgroup_dirs "vps-$VPS")" ]] || fail "cgroups remain: $(cgroup_dirs "vps-$VPS")"
    [[ -z "$(root_entries)" ]] || fail "state remains: $(root_entries)"
    assert_no_leftovers "vps-$VPS"
}

# loop_of IMAGE: the loop devices backed by IMAGE (the image may already be gone).
loops_of() {
    local f
    for f in /sys/block/loop*/loop/backing_file; do
        [[ -f "$f" ]] && grep -qF "$1" "$f" 2>/dev/null && echo "${f%/loop/backing_file}"
    done
    return 0
}

@test "vps: --diskspace puts the VPS's files on its own disk: df shows it, ENOSPC past it, set grows it, destroy removes it" {
    command -v mkfs.ext4 >/dev/null || skip "no mkfs.ext4"
    rs vps create "$VPS" --template localhost/vpsbb:v1 --diskspace 64M
    assert_ok
    img="$BERTH_VPS_DATA/$VPS/disk.img"
    [[ -f "$img" ]] || fail "no disk image after create"
    rs vps start "$VPS"
    assert_ok
    grep -qF " $BERTH_VPS_DATA/$VPS/disk " /proc/self/mountinfo || fail "the disk is not mounted"
    # df / inside: the overlay reports its upper filesystem, the 64M image (less ext4's journal).
    rs vps exec "$VPS" sh -c 'df -k / | tail -n1'
    assert_ok
    size="$(awk '{print $2}' <<<"$output")"
    [[ "$size" -gt $((48 << 10)) && "$size" -le $((64 << 10)) ]] || fail "df / inside: $output"
    rs vps exec "$VPS" sh -c 'dd if=/dev/zero of=/big bs=1M count=100 2>&1; echo "rc=$?"'
    [[ "$output" == *"No space left on device"* && "$output" == *"rc=1"* ]] || { show_call; fail "writing 100M did not fail with ENOSPC"; }
    # Shrinking below what it holds: one line, nothing changed.
    rs vps set "$VPS" --diskspace 16M
    assert_berth_error "in use"
    [[ "$(jq -r .limits.diskspace "$BERTH_VPS_CONFIG/$VPS.json")" == $((64 << 20)) ]]
    rs vps exec "$VPS" rm /big
    assert_ok
    # Growing: live with CAP_SYS_RESOURCE, else at the next start (set says which).
    rs vps set "$VPS" --diskspace 128M
    assert_ok
    if [[ "$output" == *"applied at the next start: diskspace"* ]]; then
        rs vps stop --fast "$VPS"
        assert_ok
        rs vps start "$VPS"
        assert_ok
    else
        [[ "$output" == *"applied now: diskspace"* ]] || fail "set --diskspace said: $output"
    fi
    rs vps exec "$VPS" sh -c 'df -k / | tail -n1'
    size="$(awk '{print $2}' <<<"$output")"
    [[ "$size" -gt $((112 << 10)) && "$size" -le $((128 << 10)) ]] || fail "df / after the grow: $output"

    rs vps destroy --force "$VPS"
    assert_ok
    [[ ! -e "$img" && ! -e "$BERTH_VPS_DATA/$VPS" ]] || fail "disk image left"
    ! grep -qF "$BERTH_VPS_DATA/$VPS" /proc/self/mountinfo || fail "mount left"
    [[ -z "$(loops_of "$img")" ]] || fail "loop device left: $(loops_of "$img")"
}

@test "vps: /proc inside shows the VPS's memory, CPUs and uptime (lxcfs); its lxcfs stops with it" {
    command -v lxcfs >/dev/null || skip "lxcfs is not installed (run scripts/setup.sh)"
    [[ -e /dev/fuse ]] || skip "no /dev/fuse"
    rs vps create "$VPS" --template localhost/vpsbb:v1 --ram 128M --cpus 1
    assert_ok
    rs vps start "$VPS"
    assert_ok
    rs vps exec "$VPS" sh -c 'grep ^MemTotal: /proc/meminfo; grep -c ^processor /proc/cpuinfo; cut -d. -f1 /proc/uptime'
    assert_ok
    [[ "$(awk '{print $2, $3}' <<<"${lines[0]}")" == "131072 kB" ]] || { show_call; fail "meminfo inside: ${lines[0]}"; }
    [[ "${lines[1]}" == 1 ]] || { show_call; fail "cpuinfo inside: ${lines[1]} processors"; }
    host_up="$(cut -d. -f1 /proc/uptime)"
    [[ "${lines[2]}" -lt "$host_up" || "$host_up" -lt 60 ]] || fail "uptime inside is the host's: ${lines[2]}"
    pid="$(cat "$BERTH_VPS_LXCFS/state/lxcfs.pid" 2>/dev/null || true)"
    rs vps destroy --force "$VPS"
    assert_ok
    if [[ -n "$pid" ]]; then
        wait_for 100 bash -c "! kill -0 $pid 2>/dev/null" || fail "the VPS's lxcfs $pid still runs"
        ! grep -qF " $BERTH_VPS_LXCFS/mnt " /proc/self/mountinfo || fail "lxcfs mount left"
    else
        skip_part "an lxcfs already runs on this host; start/stop of berth's own not tested"
    fi
}

@test "vps: --ip puts the VPS on the bridge (in a test-made netns) and writes hostname, hosts, resolv.conf" {
    command -v nft >/dev/null || skip "nft is not installed (nftables)"
    # The bridge and the VPS's host veth live in a network namespace of this test's own: berth
    # runs in it (nsenter --net only: mounts stay the host's), never on the host's interfaces.
    HOSTNS="${TAG}-host"
    ip netns add "$HOSTNS"
    export BERTH_VPS_BRIDGE=vtestbr1
    rs vps create "$VPS" --template localhost/vpsbb:v1 --hostname web.example --ip 10.213.9.2/24 \
        --nameserver 10.213.9.1 --searchdomain example.org
    assert_ok
    run nsenter --net="/run/netns/$HOSTNS" "$BERTH" --root "$ROOT" --store "$STORE" vps start "$VPS"
    [[ "$status" -eq 0 ]] || { ip netns del "$HOSTNS"; fail "start in the test netns: $output"; }
    rs vps exec "$VPS" sh -c 'cat /etc/hostname; grep -c "^10.213.9.2[[:space:]].*web.example" /etc/hosts; cat /etc/resolv.conf; ip -4 addr show eth0 | grep -c "inet 10.213.9.2/24"'
    ok=$status out="$output"
    ip -n "$HOSTNS" addr add 10.213.9.1/24 dev vtestbr1
    ip -n "$HOSTNS" link show master vtestbr1 >"$TEST_DIR/ports" 2>&1 || true
    ping=0
    "$BERTH" --root "$ROOT" --store "$STORE" vps exec "$VPS" ping -c1 -W5 10.213.9.1 >"$TEST_DIR/ping" 2>&1 </dev/null || ping=$?
    run nsenter --net="/run/netns/$HOSTNS" "$BERTH" --root "$ROOT" --store "$STORE" vps stop --fast "$VPS"
    stop=$status
    veths="$(ip -n "$HOSTNS" -o link show master vtestbr1 2>/dev/null)"
    ip netns del "$HOSTNS"
    [[ "$ok" -eq 0 ]] || fail "exec: $out"
    grep -qx web.example <<<"$out" || fail "/etc/hostname: $out"
    grep -qx "nameserver 10.213.9.1" <<<"$out" && grep -q "^search example.org" <<<"$out" || fail "resolv.conf: $out"
    [[ "$(grep -cx 1 <<<"$out")" -eq 2 ]] || fail "/etc/hosts or eth0's address: $out"
    grep -q bv "$TEST_DIR/ports" || fail "no VPS veth on the bridge: $(cat "$TEST_DIR/ports")"
    [[ "$ping" -eq 0 ]] || fail "the VPS does not reach the bridge's address: $(cat "$TEST_DIR/ping")"
    [[ "$stop" -eq 0 && -z "$veths" ]] || fail "stop left the veth: $veths"
}

@test "vps: suspend freezes and resume thaws; --fast stop kills at once; restart" {
    rs vps create "$VPS" --template localhost/vpsbb:v1
    assert_ok
    rs vps start "$VPS"
    assert_ok
    rs vps suspend "$VPS"
    assert_ok
    rs vps status -j "$VPS"
    [[ "$(jq -r .state <<<"$output")" == paused ]]
    [[ "$(cat "$(vps_cgroup "$VPS" freezer)/freezer.state")" == FROZEN ]]
    rs vps resume "$VPS"
    assert_ok
    rs vps exec "$VPS" true
    assert_ok
    rs vps restart "$VPS" --timeout 30
    assert_ok
    [[ -f "$BERTH_VPS_DATA/$VPS/upper/shutdown-ran" ]]
    rm -f "$BERTH_VPS_DATA/$VPS/upper/shutdown-ran"
    rs vps stop --fast "$VPS"
    assert_ok
    [[ ! -e "$BERTH_VPS_DATA/$VPS/upper/shutdown-ran" ]] || fail "--fast ran the shutdown"
    rs vps status "$VPS"
    [[ "$output" == *stopped* ]]

    # An init whose shutdown outlasts --timeout is killed, and stop says so. (The VPS's own
    # /etc/inittab, in its upper dir, overrides the template's.)
    rs vps start "$VPS"
    assert_ok
    rs vps exec "$VPS" sh -c 'printf "::shutdown:/bin/sleep 600\n" >/etc/inittab'
    assert_ok
    rs vps restart "$VPS" --timeout 30
    assert_ok
    rs vps stop "$VPS" --timeout 1
    assert_ok
    [[ "$stderr" == *"did not shut down within the timeout; killed"* ]] || { show_call; fail "stop did not report the kill"; }
    rs vps status "$VPS"
    [[ "$output" == *stopped* ]]
    ! grep -q " $BERTH_VPS_DATA/$VPS/" /proc/self/mountinfo || fail "a mount is left after stop"
}

@test "vps: start --onboot starts the marked VPSes only" {
    rs vps create "${VPS}1" --template localhost/vpsbb:v1 --onboot yes
    assert_ok
    rs vps create "${VPS}2" --template localhost/vpsbb:v1
    assert_ok
    rs vps start --onboot
    assert_ok
    [[ "$output" == "started ${VPS}1" ]] || { show_call; fail "onboot"; }
    rs vps list -H -o name
    [[ "$output" == "${VPS}1" ]]
    # Two VPSes never share ids.
    [[ "$(jq -r .idmap.base "$BERTH_VPS_CONFIG/${VPS}1.json")" != "$(jq -r .idmap.base "$BERTH_VPS_CONFIG/${VPS}2.json")" ]]
}

# vps_state NAME: the state `vps status -j` reports.
vps_state() {
    "$BERTH" --root "$ROOT" --store "$STORE" vps status -j "$1" </dev/null | jq -r .state
}

vps_is_stopped() { [[ "$(vps_state "$VPS")" == stopped ]]; }

# vps_is_taken_down: status says so, and the holder's clean-up has finished (no mount, no state,
# no loop device). `status` takes no lock, so it can say "unmounted" while the holder, under the
# VPS lock, still waits for the kernel's work queue to clear the disk's autoclear loop device
# (vps/quota.cpp unmountQuotaImage, up to 5 s): wait for that too before asserting.
vps_is_taken_down() {
    [[ "$("$BERTH" --root "$ROOT" --store "$STORE" vps status "$VPS" </dev/null)" == "VPS $VPS exist unmounted stopped" ]] &&
        ! grep -q " $BERTH_VPS_DATA/$VPS/" /proc/self/mountinfo && [[ -z "$(root_entries)" ]] &&
        [[ -z "$(loops_of "$BERTH_VPS_DATA/$VPS/disk.img")" ]]
}

# holder_pid: the VPS's console holder (the init's parent, which takes the VPS down when the
# init ends on its own).
holder_pid() { cat "$BERTH_VPS_DATA/$VPS/console.pid"; }

# die_inside HOW: the VPS's init ends on its own — "poweroff" inside, or "crash" (SIGKILL from
# the host) — and its holder takes the VPS down at once: rootfs, disk, lxcfs use, runtime state.
die_inside() {
    if [[ "$1" == poweroff ]]; then
        # It signals the init and exits, unless the init's SIGTERM to all comes first (143).
        rs vps exec "$VPS" busybox poweroff
        [[ "$status" == 0 || "$status" == 143 ]] || { show_call; fail "poweroff inside"; }
    else
        kill -9 "$(vps_pid "$VPS")"
    fi
    wait_for 600 vps_is_taken_down || fail "the VPS was not taken down after $1: $(vps_state "$VPS")"
    assert_taken_down
    rs vps list -H
    [[ -z "$output" ]] || { show_call; fail "list shows a dead VPS as running"; }
    rs vps list -a -j
    [[ "$(jq -r '.[0] | "\(.state) \(.nproc) \(.pid) \(.mounted)"' <<<"$output")" == "stopped 0 0 false" ]] ||
        { show_call; fail "list -a -j after $1"; }
}

# assert_taken_down: no mount of the VPS, no runtime state, no loop device for its disk.
assert_taken_down() {
    ! grep -q " $BERTH_VPS_DATA/$VPS/" /proc/self/mountinfo || fail "a mount is left: $(grep " $BERTH_VPS_DATA/$VPS/" /proc/self/mountinfo)"
    [[ -z "$(root_entries)" ]] || fail "runtime state remains: $(root_entries)"
    [[ -z "$(loops_of "$BERTH_VPS_DATA/$VPS/disk.img")" ]] || fail "loop device left: $(loops_of "$BERTH_VPS_DATA/$VPS/disk.img")"
}

@test "vps: an init that ends on its own is taken down at once (poweroff inside, a crash); reboot inside starts it again; without its holder, start/stop/destroy take down what it left" {
    mounts_snapshot
    rs vps create "$VPS" --template localhost/vpsbb:v1 --ram 64M --diskspace 32M
    assert_ok
    rs vps start "$VPS"
    assert_ok
    lxcfs_pid="$(cat "$BERTH_VPS_LXCFS/state/lxcfs.pid" 2>/dev/null)" || true  # none: an lxcfs already runs on this host
    [[ "$(ps -o ppid= -p "$(vps_pid "$VPS")" | tr -d ' ')" == "$(holder_pid)" ]] || fail "the holder is not the init's parent"
    die_inside poweroff
    if [[ -n "$lxcfs_pid" ]]; then
        wait_for 100 bash -c "! kill -0 $lxcfs_pid 2>/dev/null" || fail "the dead VPS still holds its lxcfs $lxcfs_pid"
    fi
    rs vps stop "$VPS"
    assert_ok
    [[ -z "$stderr" ]] || { show_call; fail "stop of a stopped VPS warned"; }

    # Reboot inside (busybox reboot: the init runs its shutdown, then reboot(2), which ends a
    # PID namespace's init with SIGHUP): the holder starts the VPS again, with its files.
    rs vps start "$VPS"
    assert_ok
    rs vps exec "$VPS" cat /shutdown-ran
    assert_ok
    [[ "$output" == ran ]] || fail "poweroff did not run the init's shutdown"
    rs vps exec "$VPS" rm /shutdown-ran
    local old
    old="$(vps_pid "$VPS")"
    rs vps exec "$VPS" busybox reboot
    [[ "$status" == 0 || "$status" == 143 ]] || { show_call; fail "reboot inside"; }
    new_boot() { local p; p="$(vps_pid "$VPS")"; [[ "$(vps_state "$VPS")" == running && "$p" != "$old" && "$p" != 0 ]]; }
    wait_for 600 new_boot || fail "the VPS did not come back after reboot: $(vps_state "$VPS") $(vps_pid "$VPS")"
    wait_for 100 test -s "$BERTH_VPS_DATA/$VPS/console.pid" || fail "no holder after the reboot"
    [[ "$(ps -o ppid= -p "$(vps_pid "$VPS")" | tr -d ' ')" == "$(holder_pid)" ]] || fail "the new init's parent is not its holder"
    [[ "$(grep -c " $BERTH_VPS_DATA/$VPS/rootfs " /proc/self/mountinfo)" == 1 ]] || fail "the rootfs is mounted twice"
    rs vps exec "$VPS" cat /shutdown-ran
    assert_ok
    [[ "$output" == ran ]] || fail "reboot did not run the init's shutdown"

    die_inside crash

    # Without its holder (killed: OOM, an admin), the dead VPS stays as it was left; start,
    # stop and destroy take that down.
    rs vps start "$VPS"
    assert_ok
    kill -9 "$(holder_pid)"
    kill -9 "$(vps_pid "$VPS")"
    wait_for 600 vps_is_stopped || fail "the VPS did not stop: $(vps_state "$VPS")"
    rs vps status "$VPS"
    [[ "$output" == "VPS $VPS exist mounted stopped" ]] || { show_call; fail "status without a holder"; }
    rs vps start "$VPS"
    assert_ok
    [[ "$(vps_state "$VPS")" == running ]]
    [[ "$(grep -c " $BERTH_VPS_DATA/$VPS/rootfs " /proc/self/mountinfo)" == 1 ]] || fail "the rootfs is mounted twice"
    kill -9 "$(holder_pid)"
    kill -9 "$(vps_pid "$VPS")"
    wait_for 600 vps_is_stopped || fail "the VPS did not stop: $(vps_state "$VPS")"
    rs vps destroy "$VPS"
    assert_ok
    assert_taken_down
    [[ ! -e "$BERTH_VPS_CONFIG/$VPS.json" && ! -e "$BERTH_VPS_DATA/$VPS" ]] || fail "files remain"
    [[ "$(jq -r 'keys | length' "$BERTH_VPS_CONFIG/.idranges.json")" == 0 ]] || fail "the id range was not freed"
    assert_no_leftovers "vps-$VPS"
}

@test "vps: a VPS pins its template: image rm and prune keep its layers (running or stopped); destroy unpins" {
    rs vps create "$VPS" --template localhost/vpsbb:v1
    assert_ok
    snaps="$(ls "$STORE/snapshots" | sort)"
    [[ -n "$snaps" ]]
    rs image rm localhost/vpsbb:v1
    assert_ok
    rs image prune
    assert_ok
    [[ "$(ls "$STORE/snapshots" | sort)" == "$snaps" ]] || fail "prune removed a stopped VPS's template layers"
    rs vps start "$VPS"
    assert_ok
    rs image prune
    assert_ok
    rs vps exec "$VPS" cat /run/booted
    assert_ok
    [[ "$output" == booted ]]
    rs vps restart "$VPS"
    assert_ok
    rs vps list -H -o name,state,template
    [[ "$output" == "$VPS"*running*localhost/vpsbb:v1 ]] || { show_call; fail "list after image rm"; }
    rs vps destroy --force "$VPS"
    assert_ok
    [[ -z "$(ls -A "$STORE/pins" 2>/dev/null)" ]] || fail "pins remain: $(ls -A "$STORE/pins")"
    rs image prune
    assert_ok
    [[ -z "$(ls -A "$STORE/snapshots")" ]] || fail "the template's layers outlived the last VPS: $(ls -A "$STORE/snapshots")"
}

# assert_unchanged: no config, data, id range, state or mount appeared.
assert_nothing_made() {
    [[ -z "$(ls -A "$BERTH_VPS_CONFIG" 2>/dev/null | grep -v '^\.lock$')" || "$(ls -A "$BERTH_VPS_CONFIG" | grep -v '^\.lock$')" == ".idranges.json" && "$(jq -r 'keys | length' "$BERTH_VPS_CONFIG/.idranges.json")" == 0 ]] \
        || fail "config dir changed: $(ls -A "$BERTH_VPS_CONFIG")"
    [[ -z "$(ls -A "$BERTH_VPS_DATA" 2>/dev/null)" ]] || fail "data left: $(ls -A "$BERTH_VPS_DATA")"
    [[ -z "$(ls -A "$STORE/pins" 2>/dev/null)" ]] || fail "template pinned: $(ls -A "$STORE/pins")"
}

@test "vps: bad input is one clear line and changes nothing" {
    rs vps create "$VPS" --template localhost/nosuch:v1
    assert_berth_error "template \"localhost/nosuch:v1\""
    assert_nothing_made
    rs vps create "a/b" --template localhost/vpsbb:v1
    assert_berth_error 'must not contain "/"'
    rs vps create ".." --template localhost/vpsbb:v1
    assert_berth_error 'invalid VPS name'
    rs vps create "$(printf 'x%.0s' {1..64})" --template localhost/vpsbb:v1
    assert_berth_error 'too long'
    rs vps create "$VPS" --template localhost/vpsbb:v1 --ram 12Q
    assert_berth_error '--ram: invalid size "12Q"'
    rs vps create "$VPS" --template localhost/vpsbb:v1 --cpuunits 3
    assert_berth_error '--cpuunits 3: must be 8..500000'
    rs vps create "$VPS" --template localhost/vpsbb:v1 --ip 10.0.0.300/24
    assert_berth_error '--ip "10.0.0.300/24"'
    rs vps create "$VPS" --template localhost/vpsbb:v1 --cpus 999
    assert_berth_error '--cpus 999: this host has'
    if host_has_swap_accounting; then
        skip_part "--swap refusal (this host has swap accounting)"
    else
        rs vps create "$VPS" --template localhost/vpsbb:v1 --ram 64M --swap 64M
        assert_berth_error 'swap accounting'
    fi
    if host_has_blkio_weight; then
        skip_part "--ioweight refusal (this host has an I/O weight)"
    else
        rs vps create "$VPS" --template localhost/vpsbb:v1 --ioweight 500
        assert_berth_error '--ioweight'
    fi
    assert_nothing_made
    # The VPS's root (an unprivileged uid) could not reach a data dir under a 0700 dir.
    mkdir -m 0700 "$TEST_DIR/closed"
    rs vps --data-dir "$TEST_DIR/closed/data" create "$VPS" --template localhost/vpsbb:v1
    assert_berth_error "$TEST_DIR/closed is not searchable by other users"
    [[ ! -e "$TEST_DIR/closed/data" ]]
    assert_nothing_made

    rs vps create "$VPS" --template localhost/vpsbb:v1
    assert_ok
    cp "$BERTH_VPS_CONFIG/$VPS.json" "$TEST_DIR/before.json"
    rs vps create "$VPS" --template localhost/vpsbb:v1
    assert_berth_error "already exists"
    cmp "$BERTH_VPS_CONFIG/$VPS.json" "$TEST_DIR/before.json"

    # --ram below what the VPS uses now.
    rs vps start "$VPS"
    assert_ok
    rs vps exec "$VPS" sh -c 'dd if=/dev/zero of=/dev/shm/fill bs=1M count=8 2>/dev/null'
    assert_ok
    rs vps set "$VPS" --ram 4M
    assert_berth_error "below what VPS \"$VPS\" uses now"
    cmp "$BERTH_VPS_CONFIG/$VPS.json" "$TEST_DIR/before.json"
    mem="$(vps_cgroup "$VPS" memory)"
    [[ "$(cat "$mem/memory.limit_in_bytes")" -gt $((1 << 40)) ]] || fail "the limit changed"
    # A VPS whose init is gone: start fails with one line and leaves nothing mounted or running.
    rs vps exec "$VPS" rm /sbin/init
    assert_ok
    rs vps stop --fast "$VPS"
    assert_ok
    rs vps start "$VPS"
    assert_berth_error 'start .*/sbin/init'
    ! grep -q " $BERTH_VPS_DATA/$VPS/" /proc/self/mountinfo || fail "a mount is left after a failed start"
    [[ -z "$(cgroup_dirs "vps-$VPS")" ]] || fail "cgroups remain after a failed start"
    [[ -z "$(root_entries)" ]] || fail "state remains after a failed start: $(root_entries)"

    # A hand-corrupted config: one line naming the file, and the file is left for the admin.
    echo '{"version": 1, "name": ' >"$BERTH_VPS_CONFIG/$VPS.json"
    for verb in start status; do
        rs vps "$verb" "$VPS"
        assert_berth_error "$BERTH_VPS_CONFIG/$VPS.json: invalid JSON"
    done
    rs vps list -a
    assert_berth_error "$BERTH_VPS_CONFIG/$VPS.json: invalid JSON"
    rs vps start nosuch
    assert_berth_error 'VPS "nosuch" does not exist'
    # destroy still removes a VPS whose config is corrupted.
    rs vps destroy "$VPS"
    assert_ok
    [[ ! -e "$BERTH_VPS_CONFIG/$VPS.json" && ! -e "$BERTH_VPS_DATA/$VPS" ]]
    assert_nothing_made
}

@test "vps: an exhausted id pool is one clear error" {
    export BERTH_VPS_IDPOOL="1000000:1"
    rs vps create "${VPS}1" --template localhost/vpsbb:v1
    assert_ok
    rs vps create "${VPS}2" --template localhost/vpsbb:v1
    assert_berth_error "id pool is exhausted"
    [[ ! -e "$BERTH_VPS_CONFIG/${VPS}2.json" && ! -e "$BERTH_VPS_DATA/${VPS}2" ]]
    rs vps destroy "${VPS}1"
    assert_ok
    rs vps create "${VPS}2" --template localhost/vpsbb:v1
    assert_ok
}
