#!/usr/bin/env bats
# cgroup v2 on the real kernel. On a hybrid host (these machines: v1 controllers plus a cgroup2
# mount with hugetlb only) every berth call runs in a private mount namespace where the tmpfs
# tree at /sys/fs/cgroup is replaced by a cgroup2 mount, so berth sees a unified host and uses
# its v2 manager. The hierarchy is the host's own: a container's cgroup shows on the host under
# the cgroup2 mount ($V2_HOST). Core cgroup2 features (cgroup.procs, .freeze, .kill, .events,
# the eBPF device filter) work there; of the controllers only hugetlb is available.

load helpers

setup_file() {
    itest_setup_file
    [[ -n "$ITEST_SKIP" ]] && return 0
    export V2_HOST
    V2_HOST="$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)"
    if [[ -z "$V2_HOST" ]]; then
        export ITEST_SKIP="no cgroup2 hierarchy is mounted"
        return 0
    fi
    if [[ -f /sys/fs/cgroup/cgroup.controllers ]]; then
        return 0  # already a unified host: berth as is
    fi
    command -v unshare >/dev/null || { export ITEST_SKIP="unshare (util-linux) is not installed"; return 0; }
    # berth, each call in its own private mount namespace with cgroup2 at /sys/fs/cgroup.
    export REAL_BERTH="$BERTH"
    BERTH="$BATS_FILE_TMPDIR/berth-unified"
    cat >"$BERTH" <<'EOF'
#!/bin/sh
exec unshare -m --propagation private sh -c \
    'umount -R /sys/fs/cgroup && mount -t cgroup2 cgroup2 /sys/fs/cgroup && exec "$0" "$@"' "$REAL_BERTH" "$@"
EOF
    chmod +x "$BERTH"
    export BERTH
    if ! "$BERTH" --version >/dev/null 2>&1; then
        export ITEST_SKIP="cannot make a private cgroup2 view with unshare -m (see $BERTH)"
    fi
}

setup() {
    itest_setup
    OWN_V2="$(awk -F: '$1 == "0" { print $3 }' /proc/self/cgroup)"
    [[ "$OWN_V2" == "/" ]] && OWN_V2=""
}
teardown() { itest_teardown; }

# cg_dir ID: the container's cgroup2 directory on the host (from its init's /proc/PID/cgroup).
cg_dir() {
    local pid rel
    pid="$(ctr_pid "$1")"
    rel="$(awk -F: '$1 == "0" { print $3 }' "/proc/$pid/cgroup")"
    [[ -n "$rel" ]] || { fail "no cgroup2 line in /proc/$pid/cgroup"; return 1; }
    echo "$V2_HOST$rel"
}

add_caps() {
    local cap
    for cap in "$@"; do
        cfg '.process.capabilities |= with_entries(.value += [$c])' --arg c "$cap"
    done
}

@test "v2: the cgroup is made under the caller's, holds the init, and goes with delete" {
    ctl_dir
    set_args sh -c "$WAIT_STOP"
    mounts_snapshot
    run_d "$ID"
    local dir pid
    dir="$(cg_dir "$ID")"
    pid="$(ctr_pid "$ID")"
    [[ "$dir" == "$V2_HOST$OWN_V2/$ID" ]] || fail "cgroup $dir is not $V2_HOST$OWN_V2/$ID"
    grep -qx "$pid" "$dir/cgroup.procs" || fail "init $pid is not in $dir/cgroup.procs: $(cat "$dir/cgroup.procs")"
    # The container sees its own cgroup at /sys/fs/cgroup (cgroup2, bind-mounted: no cgroupns).
    rb exec "$ID" sh -c 'grep -q " /sys/fs/cgroup .* - cgroup2 " /proc/self/mountinfo && cat /sys/fs/cgroup/cgroup.procs'
    assert_ok
    # (pids as its pid namespace sees them: the init is 1)
    grep -qx 1 <<<"$output" || fail "the container's /sys/fs/cgroup is not its cgroup:" "$output"
    touch "$CTL/stop"
    wait_status "$ID" stopped
    rb delete "$ID"
    assert_ok
    [[ ! -e "$dir" ]] || fail "$dir remains"
    assert_no_leftovers "$ID"
}

@test "v2: with a cgroup namespace the container sees a cgroup2 mount rooted at its cgroup" {
    add_ns cgroup
    set_args sh -c 'cat /proc/self/cgroup; grep " /sys/fs/cgroup " /proc/self/mountinfo; ls /sys/fs/cgroup'
    run_fg "$ID"
    assert_ok
    grep -qx '0::/' <<<"$output" || fail "/proc/self/cgroup inside:" "$output"
    grep -q ' - cgroup2 ' <<<"$output" || fail "not a cgroup2 mount:" "$output"
    grep -qx 'cgroup.freeze' <<<"$output" || fail "not the container's cgroup:" "$output"
    assert_no_leftovers "$ID"
}

@test "v2: exec joins the init's cgroup when the container delegates controllers below its own" {
    grep -qw hugetlb "$V2_HOST/cgroup.controllers" || skip "no controller to delegate on the cgroup2 hierarchy"
    add_ns cgroup
    cfg '(.mounts[] | select(.destination == "/sys/fs/cgroup") | .options) |= map(select(. != "ro"))'
    ctl_dir
    # A cgroup with controllers enabled for its children holds no process itself (cgroup2's
    # "no internal processes"): the init moves to a child first, as systemd in a container does.
    set_args sh -c "mkdir /sys/fs/cgroup/init && echo \$\$ > /sys/fs/cgroup/init/cgroup.procs &&
        echo +hugetlb > /sys/fs/cgroup/cgroup.subtree_control && touch /ctl/ready; $WAIT_STOP"
    run_d "$ID"
    wait_for 200 test -e "$CTL/ready" || fail "container did not start:" "$(cat "$TEST_DIR/$ID.log")"
    local dir
    dir="$(cg_dir "$ID")"
    [[ "$dir" == */"$ID"/init ]] || fail "init is in $dir"
    rb exec "$ID" cat /proc/self/cgroup
    assert_ok
    grep -qx '0::/init' <<<"$output" || fail "exec'd process is in:" "$output"
    touch "$CTL/stop"
    wait_status "$ID" stopped
    rb delete "$ID"
    assert_ok
    assert_no_leftovers "$ID"
}

@test "v2: kill -9 of the init, then delete, removes the cgroup" {
    set_args sleep 1000
    run_d "$ID"
    local dir pid
    dir="$(cg_dir "$ID")"
    pid="$(ctr_pid "$ID")"
    [[ -d "$dir" ]]
    kill -9 "$pid"
    wait_status "$ID" stopped
    rb delete "$ID"
    assert_ok
    [[ ! -e "$dir" ]] || fail "$dir remains"
    assert_no_leftovers "$ID"
}

@test "v2: delete --force kills a whole cgroup (cgroup.kill) and removes it" {
    del_ns pid
    ctl_dir
    set_args sh -c 'sleep 1000 & sleep 1001 & touch /ctl/ready; wait'
    run_d "$ID"
    wait_for 200 test -e "$CTL/ready" || fail "container did not start"
    local dir pids pid
    dir="$(cg_dir "$ID")"
    pids="$(cat "$dir/cgroup.procs")"
    [[ "$(wc -l <<<"$pids")" -eq 3 ]] || fail "expected 3 processes in $dir:" "$pids"
    rb delete --force "$ID"
    assert_ok
    for pid in $pids; do
        wait_for 100 eval '! pid_alive "$pid"' || fail "$pid still alive"
    done
    [[ ! -e "$dir" ]] || fail "$dir remains"
    assert_no_leftovers "$ID"
}

@test "v2: the eBPF device filter allows the default devices and denies the rest" {
    add_caps CAP_MKNOD
    # Allowed read and write, then write taken away again: read passes the filter (and fails
    # with ENXIO, as 42 has no driver), write does not (EPERM).
    cfg '.linux.resources.devices += [
        {allow: true, type: "c", major: 42, minor: 0, access: "rw"},
        {allow: false, type: "c", major: 42, minor: 0, access: "w"}]'
    set_args sh -c '
        echo x > /dev/null && echo null:ok
        head -c1 /dev/zero >/dev/null && echo zero:ok
        mknod /dev/d420 c 42 0 && mknod /dev/d421 c 42 1 && echo mknod:ok
        head -c1 /dev/d420 2>&1
        (echo x > /dev/d420) 2>&1
        head -c1 /dev/d421 2>&1
        true'
    run_fg "$ID"
    assert_ok
    grep -qx 'null:ok' <<<"$output" || fail "/dev/null:" "$output"
    grep -qx 'zero:ok' <<<"$output" || fail "/dev/zero:" "$output"
    grep -qx 'mknod:ok' <<<"$output" || fail "mknod (c *:* m is allowed):" "$output"
    grep -q 'd420: No such device or address' <<<"$output" || fail "read of the allowed c 42:0:" "$output"
    grep -q 'd420: Operation not permitted' <<<"$output" || fail "write of c 42:0 after the deny rule:" "$output"
    grep -q 'd421: Operation not permitted' <<<"$output" || fail "c 42:1 is not in the allow-list:" "$output"
    assert_no_leftovers "$ID"
}

@test "v2: linux.devices entries do not punch holes in linux.resources.devices' deny" {
    # The template denies everything; /dev/kmsg is made as a node but the filter keeps it denied.
    cfg '.linux.resources.devices = [{allow: false, access: "rwm"}]'
    cfg '.linux.devices = [{path: "/dev/kmsg", type: "c", major: 1, minor: 11, fileMode: 438, uid: 0, gid: 0}]'
    set_args sh -c '
        [ -c /dev/kmsg ] && echo node:ok
        (echo x > /dev/kmsg) 2>&1
        head -c1 /dev/kmsg 2>&1 >/dev/null
        echo x > /dev/null && echo null:ok
        true'
    run_fg "$ID"
    assert_ok
    grep -qx 'node:ok' <<<"$output" || fail "/dev/kmsg was not made:" "$output"
    [[ "$(grep -c 'kmsg: Operation not permitted' <<<"$output")" -eq 2 ]] ||
        fail "writing and reading /dev/kmsg must fail with EPERM:" "$output"
    grep -qx 'null:ok' <<<"$output" || fail "/dev/null (a default) is not allowed:" "$output"
    assert_no_leftovers "$ID"
}

@test "v2: a second apply replaces the device filter instead of stacking a new one" {
    # Two containers in one cgroup (as runc allows): the second one's create attaches its filter
    # and detaches the first one's. Stacked, both would have to allow c 42:0.
    add_caps CAP_MKNOD
    ctl_dir
    local path="/$TAG-shared" a b
    cfg '.linux.cgroupsPath = $p' --arg p "$path"
    set_args sh -c "mknod /dev/d420 c 42 0; touch /ctl/ready; $WAIT_STOP; head -c1 /dev/d420 > /ctl/a.out 2>&1; touch /ctl/done"
    a="$(new_id)"
    run_d "$a"
    wait_for 200 test -e "$CTL/ready" || fail "container $a did not start"
    cfg '.linux.resources.devices += [{allow: true, type: "c", major: 42, minor: 0, access: "rwm"}]'
    set_args sh -c "$WAIT_STOP"
    b="$(new_id)"
    run_d "$b"
    touch "$CTL/stop"
    wait_for 200 test -e "$CTL/done" || fail "container $a did not finish"
    grep -q 'No such device or address' "$CTL/a.out" || fail "c 42:0 still denied in the shared cgroup:" "$(cat "$CTL/a.out")"
    rb delete --force "$a"
    assert_ok
    rb delete --force "$b"
    assert_ok
    [[ ! -e "$V2_HOST$path" ]] || fail "$V2_HOST$path remains"
}

# counter: the value the test container last wrote (renamed into place: never half-written).
counter() { cat "$BUNDLE/rootfs/tmp/counter" 2>/dev/null || echo 0; }
counter_above() { [[ "$(counter)" -gt "$1" ]]; }

@test "v2: pause and resume freeze through cgroup.freeze" {
    cfg '.root.readonly = false'
    set_args sh -c 'i=0; while true; do i=$((i+1)); echo $i > /tmp/c.tmp; mv /tmp/c.tmp /tmp/counter; sleep 0.02; done'
    run_d "$ID"
    wait_for 200 test -s "$BUNDLE/rootfs/tmp/counter"
    local dir a b
    dir="$(cg_dir "$ID")"
    rb pause "$ID"
    assert_ok
    [[ "$(ctr_status "$ID")" == paused ]] || fail "status: $(ctr_status "$ID")"
    [[ "$(cat "$dir/cgroup.freeze")" == 1 ]] || fail "cgroup.freeze: $(cat "$dir/cgroup.freeze")"
    grep -qx 'frozen 1' "$dir/cgroup.events" || fail "cgroup.events:" "$(cat "$dir/cgroup.events")"
    a="$(counter)"; sleep 0.3; b="$(counter)"
    [[ "$a" == "$b" ]] || fail "the counter moved while paused: $a -> $b"
    rb resume "$ID"
    assert_ok
    [[ "$(ctr_status "$ID")" == running ]] || fail "status after resume: $(ctr_status "$ID")"
    grep -qx 'frozen 0' "$dir/cgroup.events" || fail "cgroup.events:" "$(cat "$dir/cgroup.events")"
    wait_for 200 counter_above "$b" || fail "the counter did not move after resume: $b -> $(counter)"
    # A paused container is killed and removed by delete --force.
    rb pause "$ID"
    assert_ok
    rb delete --force "$ID"
    assert_ok
    [[ ! -e "$dir" ]] || fail "$dir remains"
    assert_no_leftovers "$ID"
}

@test "v2: hugepageLimits reach hugetlb.<size>.max" {
    grep -qw hugetlb "$V2_HOST/cgroup.controllers" || skip "hugetlb is not on the cgroup2 hierarchy"
    [[ -d /sys/kernel/mm/hugepages/hugepages-2048kB ]] || skip "no 2 MB huge pages"
    cfg '.linux.resources.hugepageLimits = [{pageSize: "2MB", limit: 4194304}]'
    ctl_dir
    set_args sh -c "$WAIT_STOP"
    run_d "$ID"
    local dir
    dir="$(cg_dir "$ID")"
    [[ "$(cat "$dir/hugetlb.2MB.max")" == 4194304 ]] || fail "hugetlb.2MB.max: $(cat "$dir/hugetlb.2MB.max")"
    if [[ -f "$dir/hugetlb.2MB.rsvd.max" ]]; then
        [[ "$(cat "$dir/hugetlb.2MB.rsvd.max")" == 4194304 ]] || fail "rsvd.max: $(cat "$dir/hugetlb.2MB.rsvd.max")"
    fi
}

@test "v2: ps lists the cgroup's processes and kill --all signals every one" {
    del_ns pid
    ctl_dir
    set_args sh -c 'sleep 1000 & sleep 1001 & touch /ctl/ready; wait'
    run_d "$ID"
    wait_for 200 test -e "$CTL/ready" || fail "container did not start"
    local dir pids pid
    dir="$(cg_dir "$ID")"
    rb ps -f json "$ID"
    assert_ok
    pids="$(jq -r '.[]' <<<"$output" | sort -n)"
    [[ "$pids" == "$(sort -n "$dir/cgroup.procs")" ]] || fail "ps: $pids" "cgroup.procs: $(cat "$dir/cgroup.procs")"
    [[ "$(wc -l <<<"$pids")" -eq 3 ]] || fail "expected 3 processes:" "$pids"
    rb kill --all "$ID" KILL
    assert_ok
    for pid in $pids; do
        wait_for 100 eval '! pid_alive "$pid"' || fail "kill --all: $pid still alive"
    done
    wait_status "$ID" stopped
}

@test "v2: a limit whose controller is not enabled fails with one line naming it, leaving nothing" {
    if grep -qw memory "$V2_HOST/cgroup.controllers"; then
        skip "the memory controller is available here"
    fi
    cfg '.linux.resources.memory = {limit: 67108864}'
    set_args true
    mounts_snapshot
    run_fg "$ID"
    assert_berth_error 'linux\.resources\.memory\.limit: the memory controller is not available'
    assert_no_leftovers "$ID"
}

@test "v2: linux.resources.unified refuses keys that are not knobs" {
    cfg '.linux.resources.unified = {"cgroup.procs": "1"}'
    set_args true
    run_fg "$ID"
    assert_berth_error 'linux\.resources\.unified\["cgroup\.procs"\]'
    assert_no_leftovers "$ID"
    cfg '.linux.resources.unified = {"cgroup.max.depth": "4"}'
    ctl_dir
    set_args sh -c "$WAIT_STOP"
    run_d "$ID"
    [[ "$(cat "$(cg_dir "$ID")/cgroup.max.depth")" == 4 ]]
}
