#!/usr/bin/env bats
# ps, update and events of a VM container (ctest label vm): they read and write the container's
# cgroup in the guest, through the shim and the agent. One TCG boot for all the checks.

load ../integration/helpers
load vm_helpers

setup_file() { vm_setup_file; }

setup() { vm_setup; }
teardown() { itest_teardown; }

# stat_of JQ: a number from events --stats' data.
stat_of() {
    rb events --stats "$ID"
    assert_ok
    jq -r ".data | $1" <<<"$output"
}

# The guest's MemTotal (kB), QEMU's resident set on the host (kB), the guest cgroup's usage above N.
guest_memtotal_kb() { env BERTH_ITEST_TAG="$TAG" "$BERTH" --root "$ROOT" exec "$ID" awk '/^MemTotal:/ {print $2}' /proc/meminfo; }
vmrss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
guest_usage_above() { (( $(stat_of '.memory.usage.usage') > $1 )); }

# oom_events_above N: events.out has more than N oom events.
oom_events_above() {
    (( $(grep -c '"type":"oom"' "$TEST_DIR/events.out") > $1 ))
}

@test "vm: ps, update and events read the container's cgroup in the guest; an OOM kill is an oom event and fires the host cgroup's v1 OOM eventfd, the workload's own too (exit 137); bad input is one line" {
    # The second child names itself with bytes that are not UTF-8 (a tenant may): every reply
    # about it must still be made (the agent is the guest's PID 1).
    set_args sh -c 'sleep 1000 & sh -c '"'"'printf "\377\376" >/proc/$$/comm; sleep 996; exit 0'"'"' & echo ready; exec sleep 999'
    cfg '.linux.resources = {memory: {limit: 104857600}, pids: {limit: 100}}'
    # A malformed RAM ceiling: one line, nothing left (no VMM, state dir or cgroup).
    local bad
    bad="$(new_id)"
    cfg '.annotations["org.berth.vm.memory-max"] = "lots"'
    rb create -b "$BUNDLE" "$bad"
    assert_berth_error 'annotation org.berth.vm.memory-max="lots": expected a size such as 1g or 768m$'
    assert_no_leftovers "$bad"
    cfg 'del(.annotations["org.berth.vm.memory-max"])'
    # run -d under a subreaper, as containerd's shim runs it: it gets the shim's exit code.
    python3 "$BATS_TEST_DIRNAME/oom_watch.py" reap "$TEST_DIR/exit" env BERTH_ITEST_TAG="$TAG" \
        "$BERTH" --root "$ROOT" run -d -b "$BUNDLE" "$ID" >>"$TEST_DIR/$ID.log" 2>&1 &
    bg_register $!
    wait_file "$TEST_DIR/$ID.log" '^ready$'

    # ps: the guest's processes of the container, pids in its PID namespace, runc's -ef columns.
    rb ps "$ID"
    assert_ok
    [[ "${lines[0]}" =~ ^UID\ +PID\ +PPID\ +C\ +STIME\ +TTY\ +TIME\ +CMD$ ]] || fail "ps header: ${lines[0]}"
    grep -Eq '^root +1 +0 .* sleep 999$' <<<"$output" || fail "ps: no workload as pid 1:" "$output"
    grep -Eq '^root +[0-9]+ +1 .* sleep 1000$' <<<"$output" || fail "ps: no child of pid 1:" "$output"
    grep -q qemu <<<"$output" && fail "ps lists the host's VMM:" "$output"
    rb ps --format json "$ID"
    assert_ok
    [[ "$(jq -c 'sort' <<<"$output")" =~ ^\[1,[0-9]+,[0-9]+,[0-9]+\]$ ]] || fail "ps --format json: $output"
    local pids shim
    pids="$(jq -r 'sort | .[]' <<<"$output")"
    # The shim's mount namespace (where podman top reads /proc, vm/proc_view.hpp) has the
    # container's /proc: exactly its pids, their files as its own procfs shows them, and none of
    # the host's mounts it does not use.
    rb state "$ID"
    shim="$(jq -r .pid <<<"$output")"
    [[ "$(nsenter -m -t "$shim" ls /proc | grep -E '^[0-9]+$' | sort -n)" == "$pids" ]] ||
        fail "the shim's /proc: $(nsenter -m -t "$shim" ls /proc | tr '\n' ' '), ps: $pids"
    [[ "$(nsenter -m -t "$shim" cat /proc/1/cmdline | tr '\0' ' ')" == "sleep 999 " ]] || fail "pid 1's cmdline"
    grep -q '^btime [0-9]' <(nsenter -m -t "$shim" cat /proc/stat) || fail "no btime in the shim's /proc/stat"
    [[ "$(nsenter -m -t "$shim" readlink /proc/1/ns/pid)" =~ ^pid:\[[0-9]+\]$ ]] || fail "ns/pid"
    nsenter -m -t "$shim" sh -c 'cat /proc/*/status' | grep -q $'^Name:\t\xef\xbf\xbd\xef\xbf\xbd$' ||
        fail "the non-UTF-8 name:" "$(nsenter -m -t "$shim" sh -c 'cat /proc/*/status' | grep ^Name)"
    awk '{print $5}' "/proc/$shim/mountinfo" | grep -Eq '^/(run|var|tmp)/' &&
        [[ "$(awk '{print $5}' "/proc/$shim/mountinfo" | grep -E '^/(run|var|tmp)/')" != "$(dirname "$ROOT")"* ]] &&
        fail "host mounts in the shim's namespace:" "$(awk '{print $5}' "/proc/$shim/mountinfo")"
    rb ps "$ID" -o pid,comm
    assert_berth_error 'options for the host.s ps do not apply'
    # A malformed request (not JSON) straight to the shim's socket: the agent answers with an
    # error under the request's id, and keeps serving.
    local reply
    reply="$(python3 - "$ROOT/$ID/vm.sock" 2>&1 <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1])
s.send(b"Q\x20{not json")
s.settimeout(60)
print(s.recv(65536).decode())
PY
)"
    grep -q '^{"error":".*ps-request' <<<"$reply" || fail "reply to a malformed request:" "$reply"

    # events --stats: the guest cgroup's usage and limits in runc's JSON.
    local v
    v="$(stat_of '.cpu.usage.total')"; (( v > 0 )) || fail "cpu usage: $v"
    v="$(stat_of '.memory.usage.usage')"; (( v > 0 )) || fail "memory usage: $v"
    v="$(stat_of '.memory.usage.limit')"; [[ "$v" == 104857600 ]] || fail "memory limit: $v"
    v="$(stat_of '.pids.current')"; (( v >= 2 )) || fail "pids: $v"

    # update --memory moves the balloon too: the VM booted with a RAM ceiling above the limit,
    # ballooned down to it. A raise deflates it (MemTotal grows), then sets the limit.
    # (update returns once the guest's driver got the balloon there: MemTotal is settled then.)
    local qemu total_raised total rss_high rss_low
    qemu="$(awk '{print $1}' "$ROOT/$ID/vmm.pid")"
    rb update --memory 200m "$ID"
    assert_ok
    rb exec "$ID" cat /sys/fs/cgroup/memory.max
    [[ "$output" == 209715200 ]] || fail "memory.max after a raise: $output"
    total_raised="$(guest_memtotal_kb)"
    (( total_raised >= 200 * 1024 )) || fail "guest MemTotal after a raise to 200m (booted for 100m): $total_raised kB"
    # 150 MiB held in the guest (dd's buffer, blocked on a pipe nobody reads), then a lower below
    # it: the guest takes it back (memory.max OOM-kills dd, as natively) and the balloon gives it
    # to the host — QEMU's RSS drops, and MemTotal is below what it was at boot.
    env BERTH_ITEST_TAG="$TAG" "$BERTH" --root "$ROOT" exec "$ID" sh -c \
        'dd if=/dev/zero bs=150M count=1 2>/dev/null | sleep 1001' >/dev/null 2>&1 3>&- &
    bg_register $!
    wait_for 600 guest_usage_above $((140 << 20)) || fail "the guest did not fill: $(stat_of '.memory.usage.usage')"
    rss_high="$(vmrss_kb "$qemu")"
    # update: memory.max, pids.max and cpu.max change in the guest, as the workload sees them.
    rb update --memory 64m --pids-limit 50 --cpu-quota 50000 --cpu-period 100000 "$ID"
    assert_ok
    rss_low="$(vmrss_kb "$qemu")"
    (( rss_low < rss_high - 100 * 1024 )) || fail "QEMU's RSS after a lower from 200m to 64m: $rss_high -> $rss_low kB"
    total="$(guest_memtotal_kb)"
    (( total <= total_raised - 120 * 1024 )) || fail "guest MemTotal after a lower from 200m to 64m: $total_raised -> $total kB"
    rb exec "$ID" cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max /sys/fs/cgroup/cpu.max
    assert_ok
    [[ "${lines[*]}" == "67108864 50 50000 100000" ]] || fail "guest cgroup after update: ${lines[*]}"
    v="$(stat_of '.memory.usage.limit')"; [[ "$v" == 67108864 ]] || fail "memory limit after update: $v"
    # Above the VM's RAM ceiling: refused in one line, nothing changed.
    rb update --memory 1g "$ID"
    assert_berth_error 'cannot update container .*memory limit 1073741824 bytes is above the [0-9]+ MiB this VM can grow to'
    [[ "$(guest_memtotal_kb)" == "$total" ]] || fail "guest MemTotal after a refused update: $total -> $(guest_memtotal_kb) kB"
    rb update --cpuset-cpus 7 "$ID"
    assert_berth_error 'cannot update container .*cpuset'
    rb exec "$ID" cat /sys/fs/cgroup/memory.max
    [[ "$output" == 67108864 ]] || fail "memory.max after a refused update: $output"

    # An OOM kill in the guest cgroup is an oom event; the workload survives it. The shim's host
    # cgroup (no limit: accounting only) raises a cgroup v1 OOM notification for it: an eventfd on
    # its memory.oom_control fires, as containerd's runc shim and conmon register theirs.
    local shim mem knobs kills
    rb state "$ID"
    assert_ok
    shim="$(jq -r .pid <<<"$output")"
    mem="/sys/fs/cgroup/memory$(awk -F: '$2 == "memory" {print $3}' "/proc/$shim/cgroup")"
    [[ -f "$mem/memory.oom_control" ]] || fail "no v1 memory cgroup for the shim: $mem"
    knobs="$(cat "$mem/memory.limit_in_bytes"; grep oom_kill_disable "$mem/memory.oom_control")"
    ( "$BERTH" --root "$ROOT" events --interval 1s "$ID" >"$TEST_DIR/events.out" 2>&1 ) &
    bg_register $!
    python3 "$BATS_TEST_DIRNAME/oom_watch.py" eventfd "$mem" >"$TEST_DIR/eventfd1.out" 2>&1 &
    bg_register $!
    wait_file "$TEST_DIR/events.out" '"type":"stats"'
    wait_file "$TEST_DIR/eventfd1.out" '^registered$'
    rb exec "$ID" dd if=/dev/zero of=/dev/null bs=96M count=1
    assert_status 137
    wait_file "$TEST_DIR/events.out" '"type":"oom"'
    wait_file "$TEST_DIR/eventfd1.out" '^(fired|removed|timeout)$'
    grep -qx fired "$TEST_DIR/eventfd1.out" || fail "host OOM eventfd (exec): $(cat "$TEST_DIR/eventfd1.out")"
    rb exec "$ID" echo still-running
    assert_ok
    # One the agent does not reap (the exec's child) is told at once too (memory.events is
    # polled in the guest): the host eventfd fires while the exec still runs.
    python3 "$BATS_TEST_DIRNAME/oom_watch.py" eventfd "$mem" >"$TEST_DIR/eventfd2.out" 2>&1 &
    bg_register $!
    wait_file "$TEST_DIR/eventfd2.out" '^registered$'
    env BERTH_ITEST_TAG="$TAG" timeout 120 "$BERTH" --root "$ROOT" exec "$ID" sh -c \
        'dd if=/dev/zero of=/dev/null bs=96M count=1; while [ ! -e /dev/shm/oom-told ]; do sleep 0.1; done; echo exec-done' \
        >"$TEST_DIR/exec2.out" 2>&1 &
    local waiter=$!
    wait_file "$TEST_DIR/eventfd2.out" '^(fired|removed|timeout)$'
    grep -qx fired "$TEST_DIR/eventfd2.out" || fail "host OOM eventfd (a grandchild): $(cat "$TEST_DIR/eventfd2.out")"
    rb exec "$ID" touch /dev/shm/oom-told
    assert_ok
    wait "$waiter" || fail "the exec: $(cat "$TEST_DIR/exec2.out")"
    grep -qx exec-done "$TEST_DIR/exec2.out" || fail "the exec: $(cat "$TEST_DIR/exec2.out")"

    # The workload itself OOM-killed (pid 1 the OOM killer's choice, the hog exempt): it exits
    # 137, it is an oom event, the host eventfd fires again, and the host cgroup has its limit,
    # oom_kill_disable and no process left after.
    python3 "$BATS_TEST_DIRNAME/oom_watch.py" eventfd "$mem" >"$TEST_DIR/eventfd.out" 2>&1 &
    bg_register $!
    wait_file "$TEST_DIR/eventfd.out" '^registered$'
    kills="$(grep -c '"type":"oom"' "$TEST_DIR/events.out")"
    rb exec --cap CAP_SYS_RESOURCE "$ID" sh -c \
        'echo 1000 >/proc/1/oom_score_adj; echo -1000 >/proc/self/oom_score_adj; exec dd if=/dev/zero of=/dev/null bs=96M count=1'
    wait_file "$TEST_DIR/exit" '^(exit|run)='
    grep -qx 'exit=137' "$TEST_DIR/exit" || fail "the workload's exit: $(cat "$TEST_DIR/exit")" "$(grep -a Killed "$ROOT/$ID/console.log")"
    wait_status "$ID" stopped
    wait_file "$TEST_DIR/eventfd.out" '^(fired|removed|timeout)$'
    grep -qx fired "$TEST_DIR/eventfd.out" || fail "host OOM eventfd: $(cat "$TEST_DIR/eventfd.out")"
    wait_for 400 oom_events_above "$kills" || fail "no oom event for the workload:" "$(cat "$TEST_DIR/events.out")"
    [[ "$(cat "$mem/memory.limit_in_bytes"; grep oom_kill_disable "$mem/memory.oom_control")" == "$knobs" ]] ||
        fail "host cgroup knobs changed: $knobs ->" "$(cat "$mem/memory.limit_in_bytes" "$mem/memory.oom_control")"
    [[ -z "$(cat "$mem/cgroup.procs")" ]] || fail "processes left in the host cgroup:" "$(cat "$mem/cgroup.procs")"

    # Stopped: one line.
    rb update --memory 50m "$ID"
    assert_berth_error 'cannot update container .*stopped'
    rb events --stats "$ID"
    assert_berth_error 'stopped'
    rb delete "$ID"
    assert_ok
    assert_no_leftovers "$ID"
}
