#!/usr/bin/env bats
# Pods on the micro-VM handler (ctest label vm): a CRI sandbox container owns the VM, and the
# containers annotated as its members run inside that VM (vm/pod.hpp, vm/agent/containers.cpp).
# One boot for the whole pod: every check of a running pod is in the first test.

load ../integration/helpers
load vm_helpers

setup_file() { vm_setup_file --generic; }

setup() {
    itest_setup
    BERTH_VM="$(dirname "$BERTH")/berth-vm"
    SB="${TAG}-sb"
}
teardown() { itest_teardown; }

# pod_bundle NAME TYPE ARGS...: $TEST_DIR/NAME, a copy of the busybox bundle running ARGS, with
# the CRI annotations of a sandbox (TYPE sandbox) or of a member of $SB (TYPE container).
pod_bundle() {
    local name="$1" type="$2"
    shift 2
    cp -a "$TEMPLATE" "$TEST_DIR/$name"
    CFG_FILE="$TEST_DIR/$name/config.json" cfg '.process.env += ["BERTH_ITEST_TAG=" + $tag] | .process.args = $ARGS.positional |
        .annotations = {"io.kubernetes.cri.container-type": $type, "io.kubernetes.cri.sandbox-id": $sb} |
        .linux.cgroupsPath = $cg' \
        --arg tag "$TAG" --arg type "$type" --arg sb "$SB" --arg cg "$(pod_cgroup "$name")" --args -- "$@"
}

# pod_cgroup NAME: the cgroupsPath pod_bundle gives NAME, under a pod cgroup (the kubelet's
# kubepods/pod<uid>; here the sandbox's create makes it, and the test removes it at the end).
pod_cgroup() {
    echo "/${TAG}-pod/${TAG}-$1"
}

# assert_shim_cgroup ID NAME: ID's pid (its shim) and the shim's children (QEMU) are in NAME's
# cgroup in every v1 hierarchy the memory, cpu and pids controllers are on.
assert_shim_cgroup() {
    local pid c want
    want="$(pod_cgroup "$2")"
    for pid in "$(ctr_pid "$1")" $(cat "/proc/$(ctr_pid "$1")/task/"*/children 2>/dev/null); do
        for c in memory cpu pids; do
            grep -Eq "^[0-9]+:([^:]*,)?$c(,[^:]*)?:$want\$" "/proc/$pid/cgroup" ||
                { fail "$1: process $pid ($(cat "/proc/$pid/comm")) is not in $want ($c):" "$(cat "/proc/$pid/cgroup")"; return 1; }
        done
    done
}

# no_pod_cgroups: nothing of the pod's cgroups is left but the pod cgroup itself.
no_pod_cgroups() {
    [[ -z "$(find /sys/fs/cgroup -mindepth 2 -path "*/${TAG}-pod/*" -type d 2>/dev/null)" ]]
}

# vm ARGS...: berth-vm --root $ROOT ARGS (status, output, stderr as rb sets them).
vm() {
    capture "berth-vm $*" env BERTH_ITEST_TAG="$TAG" timeout -k 5 "$BERTH_TIMEOUT" "$BERTH_VM" --root "$ROOT" "$@"
}

qemu_count() {
    local n=0 p
    for p in $(tagged_pids); do
        [[ "$(cat "/proc/$p/comm" 2>/dev/null)" == qemu-system* ]] && n=$((n + 1))
    done
    echo "$n"
}

@test "vm pod: sandbox and members in ONE VM — localhost between members, exec, exit codes, kill, delete" {
    mounts_snapshot
    pod_bundle sb sandbox sleep 1000
    # (containerd binds the sandbox's /dev/shm read-only, the members' read-write)
    CFG_FILE="$TEST_DIR/sb/config.json" cfg '.linux.resources.memory.limit = 134217728 |
        .mounts += [{destination: "/dev/shm", type: "bind", source: $d, options: ["rbind", "ro", "nosuid", "nodev", "noexec"]}]' \
        --arg d "$TEST_DIR"
    pod_bundle web container httpd -f -p 8080 -h /www
    CFG_FILE="$TEST_DIR/web/config.json" cfg '.linux.resources.memory.limit = 104857600'  # its own guest cgroup's
    mkdir "$TEST_DIR/web/rootfs/www" && echo pod-ok >"$TEST_DIR/web/rootfs/www/index.html"
    pod_bundle client container sh -c 'for i in $(seq 100); do wget -q -O- http://127.0.0.1:8080/ && exit 7; sleep 0.1; done; exit 1'
    pod_bundle idle container sleep 1000

    # A member of a sandbox that is created but not started: refused, nothing left of it.
    vm create -b "$TEST_DIR/sb" "$SB"
    assert_ok
    vm create -b "$TEST_DIR/web" web
    assert_berth_error "its sandbox \"$SB\" is not running \(created\)"
    [[ "$(root_entries)" == "$SB" && -z "$(ls -A "$ROOT/$SB/pod")" ]] || fail "left: $(root_entries) $(ls -A "$ROOT/$SB/pod")"
    vm start "$SB"
    assert_ok
    vm run -d -b "$TEST_DIR/web" web
    assert_ok
    [[ "$(qemu_count)" == 1 ]] || fail "QEMU processes: $(qemu_count), expected 1"
    # The host cgroup each spec names holds its shim (and the sandbox's QEMU), for accounting:
    # the spec's memory limit is not applied there (the guest applies it).
    assert_shim_cgroup "$SB" sb
    assert_shim_cgroup web web
    [[ "$(cat "/proc/$(ctr_pid "$SB")/task/"*/children | wc -w)" -ge 1 ]] || fail "the sandbox's shim has no QEMU child"
    [[ "$(cat "/sys/fs/cgroup/memory$(pod_cgroup sb)/memory.limit_in_bytes")" -gt $((1 << 40)) ]] ||
        fail "a memory limit on the VM's host cgroup: $(cat "/sys/fs/cgroup/memory$(pod_cgroup sb)/memory.limit_in_bytes")"

    # A member reaches a server in another member over localhost (the sandbox's network), and
    # its exit code is the member's own.
    vm run -b "$TEST_DIR/client" client
    assert_status 7
    [[ "$output" == "pod-ok" ]] || fail "client output: $output"

    # exec in a member: its own PID namespace (httpd is its PID 1) and rootfs, its exit code.
    vm exec web sh -c 'cat /proc/1/cmdline | tr "\0" " "; cat /www/index.html; echo shm-ok >/dev/shm/from-web; exit 4'
    assert_status 4
    [[ "$output" == "httpd -f -p 8080 -h /www pod-ok" ]] || fail "exec output: $output"
    [[ "$(qemu_count)" == 1 ]] || fail "QEMU processes: $(qemu_count), expected 1"
    # exec -t in a member: its pty's size (consoleSize, then the master's) and exact bytes.
    check_exec_tty vm web "$TEST_DIR/web/config.json"

    # A member's limits are those of its own cgroup in the guest: seen inside, by events
    # --stats and ps, and changed by update (under the sandbox's RAM).
    vm exec web cat /sys/fs/cgroup/memory.max
    [[ "$output" == 104857600 ]] || fail "the member's memory.max at create: $output"
    vm update --memory 64m web
    assert_ok
    vm exec web cat /sys/fs/cgroup/memory.max
    [[ "$output" == 67108864 ]] || fail "the member's memory.max: $output"
    vm exec "$SB" cat /sys/fs/cgroup/memory.max
    [[ "$output" == 134217728 ]] || fail "the sandbox's memory.max: $output"
    vm events --stats web
    assert_ok
    [[ "$(jq -r .data.memory.usage.limit <<<"$output")" == 67108864 ]] || fail "events --stats of the member: $output"
    vm ps --format json web
    assert_ok
    [[ "$(jq -c 'sort' <<<"$output")" == "[1]" ]] || fail "ps of the member: $output"
    vm update --memory 1g web
    assert_berth_error 'above the .* MiB'

    # A member whose sandbox is deleted under it stops as if killed (137), as Kata stops them.
    # This one names its PID namespace by path (CRI's shareProcessNamespace): it joins the
    # sandbox's, where the sandbox's sleep is PID 1.
    CFG_FILE="$TEST_DIR/idle/config.json" cfg '.linux.namespaces |= map(if .type == "pid" then .path = $p else . end)' \
        --arg p "/proc/$(ctr_pid "$SB")/ns/pid"
    ( rc=0; env BERTH_ITEST_TAG="$TAG" timeout -k 5 "$BERTH_TIMEOUT" "$BERTH_VM" --root "$ROOT" run -b "$TEST_DIR/idle" idle \
        </dev/null >/dev/null 2>"$TEST_DIR/idle.err" || rc=$?; echo "$rc" >"$TEST_DIR/idle.rc" ) &
    bg_register $!
    wait_status idle running

    # Killing a member leaves the sandbox and the other members running; an exec in the
    # stopped member is one clear line.
    vm kill web KILL
    assert_ok
    wait_status web stopped
    [[ "$(ctr_status "$SB")" == running && "$(ctr_status idle)" == running ]] || fail "sandbox $(ctr_status "$SB"), idle $(ctr_status idle)"
    # The pod shares IPC (/dev/shm) and, for idle, the PID namespace.
    vm exec idle sh -c 'cat /proc/1/cmdline | tr "\0" " "; pidof sleep | wc -w; cat /dev/shm/from-web'
    assert_ok
    [[ "$output" == "sleep 1000 2"*"shm-ok" ]] || fail "exec in idle: $output"
    vm exec web true
    assert_berth_error_code 255 'container "web".*stopped'
    vm delete web
    assert_ok
    [[ ! -e "$ROOT/$SB/pod/web" ]] || fail "the deleted member's pod dir remains: $(ls -la "$ROOT/$SB/pod/web")"

    # Deleting the sandbox stops the VM and its members, and leaves nothing.
    vm delete -f "$SB"
    assert_ok
    wait_for 200 test -s "$TEST_DIR/idle.rc" || fail "the member did not stop with its sandbox"
    [[ "$(cat "$TEST_DIR/idle.rc")" == 137 ]] || fail "member exit: $(cat "$TEST_DIR/idle.rc") $(cat "$TEST_DIR/idle.err")"
    # (both were foreground runs: gone with their ends, as runc's)
    [[ -z "$(root_entries)" ]] || fail "left under --root: $(root_entries)"
    assert_no_leftovers "$SB"
    no_pod_cgroups || fail "cgroups left:" "$(find /sys/fs/cgroup -path "*/${TAG}-pod/*" -type d)"
    # The pod cgroup is the kubelet's to remove (the sandbox's delete could not: members were in it).
    # (2>/dev/null: other tests' cgroups may come and go under the same walk)
    find /sys/fs/cgroup -depth -type d -name "${TAG}-pod" -exec rmdir {} + 2>/dev/null || true
    [[ -z "$(find /sys/fs/cgroup -type d -name "${TAG}-pod" 2>/dev/null)" ]] || fail "the pod cgroup could not be removed"
}

@test "vm pod: a member whose sandbox does not exist or is not a VM fails in one line and leaves nothing" {
    mounts_snapshot
    pod_bundle m container true
    vm create -b "$TEST_DIR/m" m
    assert_berth_error 'container "m": its sandbox "'"$SB"'" does not exist'
    [[ -z "$(root_entries)" ]] || fail "left under --root: $(root_entries)"
    # That create failed after it made the cgroup (and its pod parent): none is left.
    [[ -z "$(find /sys/fs/cgroup -path "*/${TAG}-pod*" -type d 2>/dev/null)" ]] || fail "cgroups left:" "$(find /sys/fs/cgroup -path "*/${TAG}-pod*")"
    # Killed once the cgroup exists: it is recorded, and delete --force removes it.
    status=0
    env BERTH_CRASH_AT=create:cgroup-made "$BERTH_VM" --root "$ROOT" create -b "$TEST_DIR/m" m 2>/dev/null || status=$?
    [[ "$status" == 137 ]] || fail "create exited $status, not killed at create:cgroup-made (a build without --crash-points?)"
    [[ -n "$(find /sys/fs/cgroup/memory -path "*$(pod_cgroup m)" -type d 2>/dev/null)" ]] || fail "no cgroup made before the crash point"
    vm delete -f m
    assert_ok
    [[ -z "$(find /sys/fs/cgroup -path "*/${TAG}-pod*" -type d 2>/dev/null)" ]] || fail "cgroups left:" "$(find /sys/fs/cgroup -path "*/${TAG}-pod*")"

    # A sandbox on the namespaces path: its members cannot join a VM it does not have.
    pod_bundle sb sandbox sleep 100
    rb run -d -b "$TEST_DIR/sb" "$SB"
    assert_ok
    vm create -b "$TEST_DIR/m" m
    assert_berth_error "its sandbox \"$SB\" does not run in a VM \\(handler \"namespaces\"\\)"
    [[ "$(root_entries)" == "$SB" ]] || fail "left under --root: $(root_entries)"
    rb delete -f "$SB"
    assert_ok
    assert_no_leftovers m

    # A sandbox whose CRI sizing annotation is malformed: one line naming it, before anything
    # of the VM is made (no QEMU, pod dir, socket or state dir).
    pod_bundle sb sandbox sleep 100
    CFG_FILE="$TEST_DIR/sb/config.json" cfg '.annotations["io.kubernetes.cri.sandbox-memory"] = "lots"'
    vm create -b "$TEST_DIR/sb" "$SB"
    assert_berth_error 'annotation io.kubernetes.cri.sandbox-memory="lots": expected a number \(0 or more\)$'
    assert_no_leftovers "$SB"
    [[ -z "$(find /sys/fs/cgroup -path "*/${TAG}-pod*" -type d 2>/dev/null)" ]] || fail "cgroups left:" "$(find /sys/fs/cgroup -path "*/${TAG}-pod*")"
}
