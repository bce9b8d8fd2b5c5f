#!/usr/bin/env bats
# Resource control on this host's v1 (hybrid) hierarchies: every linux.resources field reaches
# its knob, limits are enforced by the kernel, `update` changes live values, `events` reports
# what the kernel counts (stats and OOM kills), and nothing of the cgroup outlives the container.

load helpers

setup_file() { itest_setup_file; }

# knob CONTROLLER FILE: the value of FILE in the container's directory of that v1 hierarchy.
knob() {
    local pid rel
    pid="$(ctr_pid "$ID")"
    rel="$(awk -F: -v c="$1" '{ n = split($2, a, ","); for (i = 1; i <= n; i++) if (a[i] == c) print $3 }' "/proc/$pid/cgroup")"
    cat "/sys/fs/cgroup/$1$rel/$2"
}

# expect_knob CONTROLLER FILE VALUE
expect_knob() {
    local got
    got="$(knob "$1" "$2")"
    [[ "$got" == "$3" ]] || { fail "$2: expected '$3', got '$got'"; return 1; }
}

# unified_dir: the container's directory in the hybrid host's cgroup2 mount.
unified_dir() {
    local pid
    pid="$(ctr_pid "$ID")"
    echo "/sys/fs/cgroup/unified$(awk -F: '$1 == 0 { print $3 }' "/proc/$pid/cgroup")"
}

has_cgroup() { [[ -n "$(cgroup_dirs "$1")" ]]; }
no_cgroup() { [[ -z "$(cgroup_dirs "$1")" ]]; }

# A whole block device of this host ("MAJ:MIN") for the per-device blkio knobs: a disk when
# there is one (its name varies: vda, sda, nvme0n1, xvda...), else any block device; nothing
# when the host has none.
block_dev() {
    local d
    for d in /sys/block/*; do
        case "$(basename "$d")" in loop* | ram* | zram*) continue ;; esac
        [[ -r "$d/dev" ]] && { cat "$d/dev"; return 0; }
    done
    for d in /sys/block/*; do
        [[ -r "$d/dev" ]] && { cat "$d/dev"; return 0; }
    done
    return 1
}

@test "every memory, cpu, cpuset and pids field is written to its v1 knob" {
    cfg '.linux.resources += {
        memory: {limit: 100663296, reservation: 50331648, swap: 134217728, kernel: 200000000,
                 kernelTCP: 30000000, swappiness: 10, disableOOMKiller: true, useHierarchy: true},
        cpu: {shares: 256, quota: 30000, period: 60000, burst: 5000, realtimePeriod: 1000000,
              realtimeRuntime: 0, cpus: "0", mems: "0", idle: 0},
        pids: {limit: 77}}'
    host_has_swap_accounting || cfg 'del(.linux.resources.memory.swap)'
    set_args sleep 100
    run_d "$ID"
    expect_knob memory memory.limit_in_bytes 100663296
    expect_knob memory memory.soft_limit_in_bytes 50331648
    if host_has_swap_accounting; then
        expect_knob memory memory.memsw.limit_in_bytes 134217728
    else
        skip_part "memory.swap: no swap accounting (memory.memsw.*) on this host"
    fi
    expect_knob memory memory.swappiness 10
    expect_knob memory memory.use_hierarchy 1
    knob memory memory.oom_control | grep -qx 'oom_kill_disable 1' || fail "oom_control: $(knob memory memory.oom_control)"
    expect_knob cpu cpu.shares 256
    expect_knob cpu cpu.cfs_period_us 60000
    expect_knob cpu cpu.cfs_quota_us 30000
    expect_knob cpu cpu.cfs_burst_us 5000
    expect_knob cpu cpu.idle 0
    expect_knob cpuset cpuset.cpus 0
    expect_knob cpuset cpuset.mems 0
    expect_knob pids pids.max 77
}

@test "blockIO weight and per-device throttles reach the blkio knobs" {
    local dev
    dev="$(block_dev)" || skip "this host has no block device for the per-device knobs"
    cfg '.linux.resources.blockIO = {weight: 300,
        throttleReadBpsDevice: [{major: $ma, minor: $mi, rate: 1048576}],
        throttleWriteBpsDevice: [{major: $ma, minor: $mi, rate: 2097152}],
        throttleReadIOPSDevice: [{major: $ma, minor: $mi, rate: 100}],
        throttleWriteIOPSDevice: [{major: $ma, minor: $mi, rate: 200}]}' \
        --argjson ma "${dev%%:*}" --argjson mi "${dev##*:}"
    set_args sleep 100
    if ! host_has_blkio_weight; then
        # CFQ's blkio.weight is gone from current kernels and BFQ's blkio.bfq.weight exists only
        # where a disk uses BFQ: berth refuses the weight (as runc does) and leaves nothing.
        mounts_snapshot
        rb run -d -b "$BUNDLE" "$ID"
        assert_berth_error 'linux.resources.blockIO.weight'
        assert_no_leftovers "$ID"
        skip_part "blockIO.weight reaching its knob: no BFQ I/O scheduler here (no blkio.weight or blkio.bfq.weight)"
        cfg 'del(.linux.resources.blockIO.weight)'
    fi
    run_d "$ID"
    expect_knob blkio blkio.throttle.read_bps_device "$dev 1048576"
    expect_knob blkio blkio.throttle.write_bps_device "$dev 2097152"
    expect_knob blkio blkio.throttle.read_iops_device "$dev 100"
    expect_knob blkio blkio.throttle.write_iops_device "$dev 200"
    if host_has_blkio_weight; then
        # CFQ's blkio.weight is gone from this kernel; BFQ's knob takes the weight.
        local w
        w="$(knob blkio blkio.weight 2>/dev/null || knob blkio blkio.bfq.weight)"
        [[ "$w" == *300* ]] || fail "blkio weight: $w"
    fi
}

@test "hugepageLimits go to the hybrid host's cgroup2 hugetlb controller" {
    grep -qw hugetlb /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null || skip "no hugetlb controller on the cgroup2 mount"
    host_has_hugepages 2048kB || skip "no 2 MB huge pages on this host"
    cfg '.linux.resources.hugepageLimits = [{pageSize: "2MB", limit: 4194304}]'
    # 1 GB pages exist only on CPUs with pdpe1gb.
    host_has_hugepages 1048576kB && cfg '.linux.resources.hugepageLimits += [{pageSize: "1GB", limit: 0}]'
    set_args sleep 100
    run_d "$ID"
    local u
    u="$(unified_dir)"
    [[ "$(cat "$u/hugetlb.2MB.max")" == 4194304 ]] || fail "hugetlb.2MB.max: $(cat "$u/hugetlb.2MB.max")"
    if host_has_hugepages 1048576kB; then
        [[ "$(cat "$u/hugetlb.1GB.max")" == 0 ]] || fail "hugetlb.1GB.max: $(cat "$u/hugetlb.1GB.max")"
    else
        skip_part "hugepageLimits 1GB: this CPU has no 1 GB pages"
    fi
    rb delete -f "$ID"
    assert_ok
    [[ ! -d "$u" ]] || fail "$u remains"
}

@test "update -r hugepageLimits of a container made without them: the hybrid host's cgroup2 hugetlb" {
    # What UpdateContainerResources sends a runtime (containerd: update --resources -) when a
    # kubelet adds hugepages; the controller must be enabled for the cgroup at update time.
    grep -qw hugetlb /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null || skip "no hugetlb controller on the cgroup2 mount"
    host_has_hugepages 2048kB || skip "no 2 MB huge pages on this host"
    set_args sleep 100
    run_d "$ID"
    local u
    u="$(unified_dir)"
    CALL_SEQ=$((CALL_SEQ + 1))
    echo '{"hugepageLimits": [{"pageSize": "2MB", "limit": 6291456}]}' | "$BERTH" --root "$ROOT" update -r - "$ID" ||
        fail "update -r hugepageLimits failed"
    [[ "$(cat "$u/hugetlb.2MB.max")" == 6291456 ]] || fail "hugetlb.2MB.max: $(cat "$u/hugetlb.2MB.max")"
    rb delete -f "$ID"
    assert_ok
    [[ ! -d "$u" ]] || fail "$u remains"
}

@test "resources this host cannot apply fail create with one line naming the field" {
    mounts_snapshot
    if host_has_v1_controller net_cls; then
        skip_part "linux.resources.network refused: this host has the net_cls controller"
    else
        cfg '.linux.resources.network = {classID: 1048577}'
        rb run -d -b "$BUNDLE" "$ID"
        assert_berth_error 'invalid configuration: linux.resources.network.classID: the net_cls cgroup controller is not available'
        assert_no_leftovers "$ID"
    fi
    cfg 'del(.linux.resources.network) | .linux.resources.unified = {"memory.high": "1000000"}'
    rb run -d -b "$BUNDLE" "$ID"
    assert_berth_error '^berth: invalid configuration: linux.resources.unified: needs cgroup v2'
    assert_no_leftovers "$ID"
    cfg 'del(.linux.resources.unified) | .linux.resources.memory = {swappiness: 101}'
    rb run -d -b "$BUNDLE" "$ID"
    assert_berth_error 'linux.resources.memory.swappiness: must be 0..100'
    assert_no_leftovers "$ID"
    cfg '.linux.resources.memory = {limit: "64m"}'
    rb run -d -b "$BUNDLE" "$ID"
    assert_berth_error 'linux.resources.memory.limit: must be an integer'
    assert_no_leftovers "$ID"
}

@test "a memory limit below what the init needs for its set-up fails create naming limit and usage, nothing left" {
    # runc sets limits after the join and the kernel refuses one below usage ("unable to set
    # memory limit to 4096 (current usage: ...)"); berth sets them before, so the kernel
    # OOM-kills the init: the line names the limit and the usage all the same.
    cfg '.linux.resources.memory = {limit: 4096}'
    set_args true
    mounts_snapshot
    rb create -b "$BUNDLE" "$ID"
    assert_berth_error 'killed during set-up: its memory limit \(4096 bytes\) is below what it uses \(usage [0-9]+'
    assert_no_leftovers "$ID"
}

@test "a memory hog is OOM-killed and events reports the OOM" {
    cfg '.linux.resources.memory = {limit: 33554432, swap: 33554432}'
    host_has_swap_accounting || cfg 'del(.linux.resources.memory.swap)'
    ctl_dir
    set_args sh -c "$WAIT_STOP"
    run_d "$ID"
    env BERTH_ITEST_TAG="$TAG" "$BERTH" --root "$ROOT" events --interval 10s "$ID" >"$TEST_DIR/events" 2>&1 &
    bg_register $!
    sleep 0.3
    # The hog volunteers as the OOM killer's first choice (raising one's own score needs no
    # privilege): under load a second OOM round, while the hog is still exiting, could otherwise
    # take the init and the container with it.
    rb exec "$ID" sh -c 'echo 1000 >/proc/self/oom_score_adj; x=$(head -c 200000000 /dev/zero | tr "\0" a); echo survived'
    [[ "$status" -eq 137 ]] || { show_call; fail "the hog was not killed by SIGKILL"; }
    [[ "$output" != *survived* ]] || fail "the hog survived"
    wait_for 100 grep -q '"type":"oom"' "$TEST_DIR/events" || fail "no oom event:" "$(cat "$TEST_DIR/events")"
    grep -q "\"id\":\"$ID\"" "$TEST_DIR/events" || fail "events name another id:" "$(cat "$TEST_DIR/events")"
    [[ "$(knob memory memory.oom_control | awk '$1 == "oom_kill" { print $2 }')" -ge 1 ]] || fail "oom_kill counter"
    rb events --stats "$ID"
    assert_ok
    [[ "$(jq -r '.data.memory.usage.limit' <<<"$output")" == 33554432 ]] || fail "stats limit:" "$output"
    [[ "$(jq -r '.data.memory.usage.max' <<<"$output")" -gt 30000000 ]] || fail "stats max usage:" "$output"
    # The stream ends by itself once the container is gone.
    touch "$CTL/stop"
    rb delete -f "$ID"
    assert_ok
}

@test "a fork bomb stops at pids.max" {
    cfg '.linux.resources.pids = {limit: 20}'
    ctl_dir
    set_args sh -c "$WAIT_STOP"
    run_d "$ID"
    rb exec "$ID" sh -c 'i=0; while [ $i -lt 100 ]; do sleep 30 & i=$((i+1)); done 2>/dev/null; echo spawned'
    [[ "$(knob pids pids.current)" -le 20 ]] || fail "pids.current: $(knob pids pids.current)"
    [[ "$(knob pids pids.events | awk '$1 == "max" { print $2 }')" -gt 0 ]] || fail "pids.events: $(knob pids pids.events)"
    # The exec'd shell and its failed forks are still leaving: compare once the count holds
    # still across the stats call.
    local before after try
    for ((try = 0; try < 50; try++)); do
        before="$(knob pids pids.current)"
        rb events --stats "$ID"
        assert_ok
        after="$(knob pids pids.current)"
        [[ "$before" == "$after" ]] && break
        sleep 0.1
    done
    [[ "$(jq -r '.data.pids.limit' <<<"$output")" == 20 ]] || fail "stats pids.limit:" "$output"
    [[ "$(jq -r '.data.pids.current' <<<"$output")" == "$after" ]] || fail "stats pids.current (cgroup: $after):" "$output"
}

@test "a busy loop under a 10% quota is throttled, as cpu.stat and events --stats show" {
    cfg '.linux.resources.cpu = {quota: 10000, period: 100000}'
    set_args sh -c 'while :; do :; done'
    run_d "$ID"
    sleep 1
    local throttled
    throttled="$(knob cpu cpu.stat | awk '$1 == "nr_throttled" { print $2 }')"
    [[ "$throttled" -gt 0 ]] || fail "cpu.stat: $(knob cpu cpu.stat)"
    rb events --stats "$ID"
    assert_ok
    [[ "$(jq -r '.data.cpu.throttling.throttledPeriods' <<<"$output")" -ge "$throttled" ]] || fail "stats:" "$output"
    [[ "$(jq -r '.data.cpu.usage.total' <<<"$output")" -gt 0 ]] || fail "stats cpu usage:" "$output"
    # Under 10% for a second: far less than a full second of CPU time.
    [[ "$(jq -r '.data.cpu.usage.total' <<<"$output")" -lt 600000000 ]] || fail "the quota did not hold:" "$output"
}

@test "update changes live limits, from flags and from --resources, and records them" {
    local swap=1 swap_flag=(--memory-swap 256m)
    host_has_swap_accounting || { swap=0; swap_flag=(); skip_part "memory.swap updates: no swap accounting (memory.memsw.*) on this host"; }
    cfg '.linux.resources += {memory: {limit: 67108864, swap: 67108864}, pids: {limit: 30}, cpu: {shares: 512}}'
    [[ $swap -eq 1 ]] || cfg 'del(.linux.resources.memory.swap)'
    set_args sleep 100
    run_d "$ID"
    rb update --memory 128m "${swap_flag[@]}" --pids-limit 40 --cpu-share 1024 --cpu-quota 50000 "$ID"
    assert_ok
    expect_knob memory memory.limit_in_bytes 134217728
    [[ $swap -eq 0 ]] || expect_knob memory memory.memsw.limit_in_bytes 268435456
    expect_knob pids pids.max 40
    expect_knob cpu cpu.shares 1024
    expect_knob cpu cpu.cfs_quota_us 50000
    # Lowering the limit below the current memsw and memsw below the old limit both work.
    echo '{"memory": {"limit": 50331648, "swap": 50331648}, "pids": {"limit": 0}}' >"$TEST_DIR/r.json"
    [[ $swap -eq 1 ]] || echo '{"memory": {"limit": 50331648}, "pids": {"limit": 0}}' >"$TEST_DIR/r.json"
    rb update --resources "$TEST_DIR/r.json" "$ID"
    assert_ok
    expect_knob memory memory.limit_in_bytes 50331648
    [[ $swap -eq 0 ]] || expect_knob memory memory.memsw.limit_in_bytes 50331648
    expect_knob pids pids.max 40
    # From stdin, as containerd sends it.
    CALL_SEQ=$((CALL_SEQ + 1))
    echo '{"pids": {"limit": 55}, "cpu": {"cpus": "0"}}' | "$BERTH" --root "$ROOT" update -r - "$ID"
    expect_knob pids pids.max 55
    expect_knob cpuset cpuset.cpus 0
    rb events --stats "$ID"
    [[ "$(jq -r '.data.memory.usage.limit' <<<"$output")" == 50331648 ]] || fail "stats:" "$output"
}

@test "cpu period and quota go in an order the kernel takes under a parent's limit (v1), in create and update" {
    host_has_v1_controller cpu || skip "no cgroup v1 cpu controller"
    # A parent limited to 2 CPUs: on v1 a child's quota/period may not exceed that, also for
    # a moment between the two writes.
    local parent="/sys/fs/cgroup/cpu/$TAG-cpu" pre
    mkdir "$parent"
    echo 100000 >"$parent/cpu.cfs_period_us"
    echo 200000 >"$parent/cpu.cfs_quota_us"
    cfg '.linux.cgroupsPath = $p | .linux.resources.cpu = {period: 100000, quota: 50000}' --arg p "/$TAG-cpu/$ID"
    set_args sleep 100
    run_d "$ID"
    expect_knob cpu cpu.cfs_period_us 100000
    expect_knob cpu cpu.cfs_quota_us 50000
    # Period first would pass through 50000/10000 (5 CPUs).
    rb update --cpu-period 10000 --cpu-quota 5000 "$ID"
    assert_ok
    expect_knob cpu cpu.cfs_period_us 10000
    expect_knob cpu cpu.cfs_quota_us 5000
    # Quota first would pass through 150000/10000 (15 CPUs).
    rb update --cpu-period 100000 --cpu-quota 150000 "$ID"
    assert_ok
    expect_knob cpu cpu.cfs_period_us 100000
    expect_knob cpu cpu.cfs_quota_us 150000
    # create into an existing cgroup that holds 50000/100000 already.
    pre="$TAG-pre"
    mkdir "$parent/$pre"
    echo 50000 >"$parent/$pre/cpu.cfs_quota_us"
    cfg '.linux.cgroupsPath = $p | .linux.resources.cpu = {period: 10000, quota: 5000}' --arg p "/$TAG-cpu/$pre"
    set_args cat /sys/fs/cgroup/cpu/cpu.cfs_period_us /sys/fs/cgroup/cpu/cpu.cfs_quota_us
    run_fg "$pre"
    assert_ok
    [[ "$output" == "$(printf '10000\n5000')" ]] || fail "period and quota in the container:" "$output"
}

@test "update refuses bad input with one line and changes nothing" {
    cfg '.linux.resources += {memory: {limit: 67108864}, pids: {limit: 30}}'
    set_args sleep 100
    run_d "$ID"
    rb update --memory lots "$ID"
    assert_berth_error '--memory: invalid size "lots"'
    rb update --pids-limit 1x "$ID"
    assert_berth_error '--pids-limit: "1x" is not an integer'
    echo '{"memory": ' >"$TEST_DIR/bad.json"
    rb update -r "$TEST_DIR/bad.json" "$ID"
    assert_berth_error 'bad\.json: invalid JSON: .*unexpected end of input'
    echo '["memory"]' >"$TEST_DIR/array.json"
    rb update -r "$TEST_DIR/array.json" "$ID"
    assert_berth_error 'array\.json: not a JSON object'
    { printf '{"memory": '; head -c 100000 /dev/zero | tr '\0' '['; } >"$TEST_DIR/deep.json"
    rb update -r "$TEST_DIR/deep.json" "$ID"
    assert_berth_error 'deep\.json: JSON nested deeper than 512 levels'
    rb update -r "$TEST_DIR/missing.json" "$ID"
    assert_berth_error 'missing.json'
    rb update --memory-swap 1m "$ID"
    assert_berth_error 'memory.swap'
    rb update --pids-limit 5 nosuch-"$TAG"
    assert_berth_error 'does not exist'
    echo '{"memory": {"limit": 4096, "checkBeforeUpdate": true}}' >"$TEST_DIR/below.json"
    rb update -r "$TEST_DIR/below.json" "$ID"
    assert_berth_error 'memory.limit: 4096 is below the current usage'
    rb update --l3-cache-schema L3:0=f "$ID"
    assert_berth_error 'Intel RDT'
    expect_knob memory memory.limit_in_bytes 67108864
    expect_knob pids pids.max 30
    rb kill "$ID" KILL
    wait_status "$ID" stopped
    rb update --pids-limit 5 "$ID"
    assert_berth_error 'it is stopped'
    rb events --stats "$ID"
    assert_berth_error 'it is stopped'
}

@test "events: bad interval, unknown id" {
    set_args sleep 100
    run_d "$ID"
    rb events --interval 5 "$ID"
    assert_berth_error '--interval: invalid duration "5"'
    rb events --stats nosuch-"$TAG"
    assert_berth_error 'does not exist'
}

@test "no cgroup is left after SIGKILL of the container, or of berth during create" {
    cfg '.linux.resources.pids = {limit: 10}'
    set_args sleep 100
    run_d "$ID"
    kill -9 "$(ctr_pid "$ID")"
    wait_status "$ID" stopped
    rb delete "$ID"
    assert_ok
    assert_no_leftovers "$ID"
    # berth itself killed while a createRuntime hook holds it: delete --force still cleans.
    local id2
    id2="$(new_id)"
    # The hook carries the tag, so teardown kills it (untagged, it outlived the test holding
    # bats' fd 3: the file waited out its 30 s); berth gets no fd 3 either.
    cfg '.hooks.createRuntime = [{path: "/bin/sleep", args: ["sleep", "30"], env: [("BERTH_ITEST_TAG=" + $tag)]}]' \
        --arg tag "$TAG"
    env BERTH_ITEST_TAG="$TAG" "$BERTH" --root "$ROOT" create -b "$BUNDLE" "$id2" >/dev/null 2>&1 3>&- &
    local pid=$!
    bg_register $pid
    wait_for 200 has_cgroup "$id2" || fail "no cgroup made"
    kill -9 "$pid"
    rb delete -f "$id2"
    assert_ok
    wait_for 100 no_cgroup "$id2" || fail "cgroups remain:" "$(cgroup_dirs "$id2")"
}
