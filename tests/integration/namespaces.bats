#!/usr/bin/env bats
# Namespaces: each requested one is new, one joined by path is shared, hostname, user namespace
# with id mappings, time namespace offsets.

load helpers

setup_file() { itest_setup_file; }

@test "every requested namespace is new; unrequested ones are the host's" {
    add_ns cgroup
    ctl_dir
    set_args sh -c "$WAIT_STOP"
    run_d "$ID"
    local pid ns
    pid="$(ctr_pid "$ID")"
    for ns in pid net ipc uts mnt cgroup; do
        [[ -n "$(ns_of "$pid" "$ns")" ]] || fail "cannot read /proc/$pid/ns/$ns"
        [[ "$(ns_of "$pid" "$ns")" != "$(ns_of $$ "$ns")" ]] ||
            fail "$ns namespace of the container ($(ns_of "$pid" "$ns")) is the host's"
    done
    for ns in user time; do
        [[ "$(ns_of "$pid" "$ns")" == "$(ns_of $$ "$ns")" ]] ||
            fail "$ns namespace was not requested but differs from the host's"
    done
    # The init is pid 1 of its pid namespace.
    grep -Eq '^NSpid:[[:space:]]+[0-9]+[[:space:]]+1$' "/proc/$pid/status" ||
        fail "init is not pid 1 in its namespace: $(grep NSpid "/proc/$pid/status")"
}

@test "network and ipc namespaces joined by path are shared with the other container" {
    ctl_dir
    set_args sh -c "$WAIT_STOP"
    local a b pa pb ns
    a="$(new_id)"
    b="$(new_id)"
    run_d "$a"
    pa="$(ctr_pid "$a")"

    add_ns network "/proc/$pa/ns/net"
    add_ns ipc "/proc/$pa/ns/ipc"
    run_d "$b"
    pb="$(ctr_pid "$b")"
    [[ "$pa" != "$pb" ]]
    for ns in net ipc; do
        [[ "$(ns_of "$pb" "$ns")" == "$(ns_of "$pa" "$ns")" ]] ||
            fail "$ns: $b has $(ns_of "$pb" "$ns"), $a has $(ns_of "$pa" "$ns")"
        [[ "$(ns_of "$pb" "$ns")" != "$(ns_of $$ "$ns")" ]] || fail "$ns is the host's"
    done
    for ns in pid uts mnt; do
        [[ "$(ns_of "$pb" "$ns")" != "$(ns_of "$pa" "$ns")" ]] || fail "$ns must not be shared"
        [[ "$(ns_of "$pb" "$ns")" != "$(ns_of $$ "$ns")" ]] || fail "$ns is the host's"
    done
    # A POSIX message queue made in one container is visible in the other (same ipc namespace).
    rb exec "$a" touch /dev/mqueue/itest-queue
    assert_ok
    rb exec "$b" ls /dev/mqueue
    assert_ok
    [[ "$output" == itest-queue ]] || fail "the queue made in $a is not visible in $b" "$output"
}

@test "hostname from config.json is the container's hostname" {
    cfg '.hostname = "itest-host"'
    set_args sh -c 'hostname; cat /proc/sys/kernel/hostname'
    local host_before
    host_before="$(hostname)"
    run_fg "$ID"
    assert_ok
    [[ "$output" == "$(printf 'itest-host\nitest-host')" ]] || fail "hostname in the container: $output"
    [[ "$(hostname)" == "$host_before" ]] || fail "the host's hostname changed"
}

@test "user namespace: uid/gid mappings" {
    add_ns user
    cfg '.linux.uidMappings = [{containerID: 0, hostID: 100000, size: 65536}]
         | .linux.gidMappings = [{containerID: 0, hostID: 100000, size: 65536}]'
    # The container's root (host uid 100000) owns its rootfs, as with a real user-namespaced image.
    chown -hR 100000:100000 "$BUNDLE/rootfs"
    ctl_dir
    set_args sh -c "id -u > /ctl/uid; id -g > /ctl/gid; cat /proc/self/uid_map > /ctl/uid_map;
        cat /proc/self/gid_map > /ctl/gid_map; touch /ctl/ready; $WAIT_STOP"
    run_d "$ID"
    wait_for 200 test -e "$CTL/ready" || fail "container did not start" "$(cat "$TEST_DIR/$ID.log")"
    [[ "$(cat "$CTL/uid")" == 0 ]] || fail "id -u in the container: $(cat "$CTL/uid")"
    [[ "$(cat "$CTL/gid")" == 0 ]] || fail "id -g in the container: $(cat "$CTL/gid")"
    read -r -a m <"$CTL/uid_map"
    [[ "${m[*]}" == "0 100000 65536" ]] || fail "uid_map: $(cat "$CTL/uid_map")"
    read -r -a m <"$CTL/gid_map"
    [[ "${m[*]}" == "0 100000 65536" ]] || fail "gid_map: $(cat "$CTL/gid_map")"
    # On the host the process runs as 100000.
    local pid
    pid="$(ctr_pid "$ID")"
    [[ "$(stat -c %u "/proc/$pid")" == 100000 ]] || fail "host uid of the init: $(stat -c %u "/proc/$pid")"
    grep -Eq '^Uid:[[:space:]]+100000[[:space:]]+100000[[:space:]]+100000[[:space:]]+100000$' "/proc/$pid/status" ||
        fail "$(grep Uid "/proc/$pid/status")"
    grep -Eq '^Gid:[[:space:]]+100000[[:space:]]+100000' "/proc/$pid/status" || fail "$(grep Gid "/proc/$pid/status")"
    [[ "$(ns_of "$pid" user)" != "$(ns_of $$ user)" ]] || fail "no new user namespace"

    # exec joins the user namespace too.
    rb exec "$ID" sh -c 'id -u; readlink /proc/self/ns/user'
    assert_ok
    [[ "${lines[0]}" == 0 ]] || fail "exec: id -u" "$output"
    [[ "${lines[1]}" == "$(ns_of "$pid" user)" ]] || fail "exec: user ns ${lines[1]} != init's $(ns_of "$pid" user)"
}

@test "user namespace: create then start, as the mapped root and as a mapped user" {
    add_ns user
    cfg '.linux.uidMappings = [{containerID: 0, hostID: 100000, size: 65536}]
         | .linux.gidMappings = [{containerID: 0, hostID: 100000, size: 65536}]'
    chown -hR 100000:100000 "$BUNDLE/rootfs"
    ctl_dir
    local id uid
    # The init opens the exec fifo (made by host root) after switching to process.user.
    for uid in 0 1000; do
        id="$(new_id)"
        cfg '.process.user = {uid: $u, gid: $u}' --argjson u "$uid"
        set_args sh -c "id -u > /ctl/uid-$uid; $WAIT_STOP"
        # mkfifo(0622) under berth's umask gave a root-only fifo and "open exec fifo: EACCES".
        (umask 022 && create_ctr "$id")
        [[ "$(stat -c '%u %a' "$ROOT/$id/exec.fifo")" == "100000 622" ]] || fail "exec fifo: $(stat -c '%u %a' "$ROOT/$id/exec.fifo")"
        rb start "$id"
        assert_ok
        wait_for 200 test -s "$CTL/uid-$uid" || fail "uid $uid: the container did not run" "$(cat "$TEST_DIR/$id.log")"
        [[ "$(cat "$CTL/uid-$uid")" == "$uid" ]] || fail "id -u: $(cat "$CTL/uid-$uid")"
        [[ "$(ctr_status "$id")" == running ]] || fail "uid $uid: status $(ctr_status "$id")"
    done
}

# The init is in the user namespace when it sets up its mounts: bind sources are opened by the
# parent, with host root's rights (runtime-defects item 4; runc 1.1's mount source fds).
@test "user namespace: bind sources behind a dir only host root may enter are mounted" {
    add_ns user
    cfg '.linux.uidMappings = [{containerID: 0, hostID: 100000, size: 65536}]
         | .linux.gidMappings = [{containerID: 0, hostID: 100000, size: 65536}]'
    chown -hR 100000:100000 "$BUNDLE/rootfs"
    local private="$TEST_DIR/private"
    mkdir -p "$private/pub"
    echo hello >"$private/pub/file"
    chmod 0755 "$private/pub"
    chown -R 0:0 "$private"
    chmod 0700 "$private"
    add_mount /data bind "$private/pub" rbind ro
    add_mount /locked bind "$private" bind
    set_args sh -c 'ls -ln /data; cat /data/file; stat -c "%u %g %a" /locked;
        ls /locked >/dev/null 2>&1 && echo listed || echo refused'
    run_fg "$ID"
    assert_ok
    # The container's root sees host root's files as the overflow ids, and gets no more than
    # "others" may on them: the 0700 dir is mounted but cannot be listed.
    local overflow
    overflow="$(cat /proc/sys/kernel/overflowuid) $(cat /proc/sys/kernel/overflowgid)"
    grep -Eq "^-rw-r--r-- +1 +${overflow% *} +${overflow#* } .* file$" <<<"$output" || fail "ls -ln /data:" "$output"
    [[ "${lines[2]}" == hello ]] || fail "cat /data/file:" "$output"
    [[ "${lines[3]}" == "$overflow 700" ]] || fail "stat /locked:" "$output"
    [[ "${lines[4]}" == refused ]] || fail "ls /locked:" "$output"
}

@test "user namespace: a missing bind source is one error line naming the mount, nothing left" {
    add_ns user
    cfg '.linux.uidMappings = [{containerID: 0, hostID: 100000, size: 65536}]
         | .linux.gidMappings = [{containerID: 0, hostID: 100000, size: 65536}]'
    chown -hR 100000:100000 "$BUNDLE/rootfs"
    add_mount /data bind "$TEST_DIR/nope" rbind
    mounts_snapshot
    rb create -b "$BUNDLE" "$ID"
    assert_berth_error "mounts\[[0-9]+\] /data \(type bind, source $TEST_DIR/nope\): .*No such file or directory"
    assert_no_leftovers "$ID"
}

# The bind is a copy of the host's mount made in the init's own mount namespace: the flags the
# user namespace locks on the host's mounts stay locked on it (a plain open_tree from the host's
# namespace would let the container's root drop them).
@test "user namespace: a bind of a read-only host mount cannot be remounted read-write" {
    add_ns user
    cfg '.linux.uidMappings = [{containerID: 0, hostID: 100000, size: 65536}]
         | .linux.gidMappings = [{containerID: 0, hostID: 100000, size: 65536}]
         | .process.capabilities.bounding += ["CAP_SYS_ADMIN"]
         | .process.capabilities.effective += ["CAP_SYS_ADMIN"]
         | .process.capabilities.permitted += ["CAP_SYS_ADMIN"]'
    chown -hR 100000:100000 "$BUNDLE/rootfs"
    mkdir -p "$TEST_DIR/ro/d"
    chmod 0777 "$TEST_DIR/ro/d"
    mount --bind "$TEST_DIR/ro" "$TEST_DIR/ro"
    mount -o remount,bind,ro "$TEST_DIR/ro"
    add_mount /data bind "$TEST_DIR/ro/d" bind
    set_args sh -c 'mount -o remount,bind,rw /data 2>/dev/null && echo remounted || echo locked;
        touch /data/x 2>/dev/null && echo written || echo ro'
    run_fg "$ID"
    assert_ok
    [[ "$output" == "$(printf 'locked\nro')" ]] || fail "$output"
    [[ ! -e "$TEST_DIR/ro/d/x" ]] || fail "the container wrote into a read-only host mount"
}

@test "time namespace: monotonic and boottime offsets" {
    [[ -e /proc/self/ns/time ]] || skip "this kernel has no time namespaces (no /proc/self/ns/time)"
    add_ns time
    cfg '.linux.timeOffsets = {monotonic: {secs: 1000, nanosecs: 0}, boottime: {secs: 1000, nanosecs: 0}}'
    set_args sh -c 'cat /proc/uptime; cat /proc/self/timens_offsets'
    local host_up
    host_up="$(cut -d' ' -f1 /proc/uptime)"
    run_fg "$ID"
    assert_ok
    local ctr_up="${output%% *}"
    [[ "$ctr_up" =~ ^[0-9]+(\.[0-9]+)?$ ]] || fail "uptime in the container: $output"
    awk -v c="$ctr_up" -v h="$host_up" 'BEGIN { exit !(c - h >= 900) }' ||
        fail "container uptime $ctr_up is not >= 900 s more than the host's $host_up"
    # Both clocks carry the offset.
    grep -Eq '^monotonic[[:space:]]+1000[[:space:]]+0$' <<<"$output" || fail "timens_offsets:" "$output"
    grep -Eq '^boottime[[:space:]]+1000[[:space:]]+0$' <<<"$output" || fail "timens_offsets:" "$output"
}

@test "a pid namespace joined by path: the second container sees the first's processes" {
    ctl_dir
    set_args sh -c "$WAIT_STOP"
    local a b pa
    a="$(new_id)"
    b="$(new_id)"
    run_d "$a"
    pa="$(ctr_pid "$a")"
    add_ns pid "/proc/$pa/ns/pid"
    set_args sh -c "tr '\\0' ' ' < /proc/1/cmdline > /ctl/b-pid1; echo \$\$ > /ctl/b-self; touch /ctl/b-ready; $WAIT_STOP"
    run_d "$b"
    wait_for 200 test -e "$CTL/b-ready" || fail "$b did not start" "$(cat "$TEST_DIR/$b.log")"
    [[ "$(ns_of "$(ctr_pid "$b")" pid)" == "$(ns_of "$pa" pid)" ]] || fail "pid namespace not shared"
    [[ "$(cat "$CTL/b-pid1")" == *"/ctl/stop"* ]] || fail "pid 1 seen by $b: $(cat "$CTL/b-pid1")"
    [[ "$(cat "$CTL/b-self")" -gt 1 ]] || fail "$b's init is pid $(cat "$CTL/b-self") in the shared namespace"
    # Removing the joiner leaves the first container running.
    rb delete -f "$b"
    assert_ok
    [[ "$(ctr_status "$a")" == running ]] || fail "$a: $(ctr_status "$a")"
    pid_alive "$pa"
}

# no_mount_ns: a config without a mount namespace and without what would mount on the host
# (berth refuses those then; see docs/namespaces.md).
no_mount_ns() {
    del_ns mount
    cfg '.mounts = [] | .linux.maskedPaths = [] | .linux.readonlyPaths = [] | .root.readonly = false'
}

@test "no mount namespace: the host's is inherited, and the host's mount table is unchanged after" {
    no_mount_ns
    # A mount the host makes is seen inside; the container's root is the host's "/", so its
    # /proc is the host's.
    mkdir -p "$TEST_DIR/marker"
    mount -t tmpfs -o size=64k "itest-marker-$TAG" "$TEST_DIR/marker"
    cfg '.root.path = "/"'
    set_args sh -c 'readlink /proc/self/ns/mnt; grep -c "itest-marker-$BERTH_ITEST_TAG" /proc/self/mountinfo'
    mounts_snapshot
    run_fg "$ID"
    assert_ok
    [[ "$output" == "$(printf '%s\n1' "$(ns_of $$ mnt)")" ]] ||
        fail "expected the host's mount namespace ($(ns_of $$ mnt)) and its marker mount" "$output"
    assert_no_leftovers "$ID"
}

@test "no mount namespace: the init and exec are chrooted into the rootfs; nothing is mounted" {
    no_mount_ns
    set_args sh -c 'test -e /linuxrc && ls -A /proc | wc -l && exec sleep 600'
    mounts_snapshot
    run_d "$ID"
    local pid
    pid="$(ctr_pid "$ID")"
    [[ "$(ns_of "$pid" mnt)" == "$(ns_of $$ mnt)" ]] || fail "the init has a mount namespace of its own"
    [[ "$(readlink "/proc/$pid/root")" == "$(realpath "$BUNDLE/rootfs")" ]] ||
        fail "the init's root is $(readlink "/proc/$pid/root")"
    # Nothing mounted on the host while it runs (no /proc, /dev, /sys, rootfs bind, console).
    [[ -z "$(comm -3 "$TEST_DIR/mounts.before" <(host_mounts))" ]] ||
        fail "mounts appeared on the host:" "$(comm -3 "$TEST_DIR/mounts.before" <(host_mounts))"
    wait_for 200 grep -q '^0$' "$TEST_DIR/$ID.log" || fail "the container's /proc is not the rootfs's empty dir:" "$(cat "$TEST_DIR/$ID.log")"
    rb exec "$ID" sh -c 'test -e /linuxrc && echo in-rootfs'
    assert_ok
    [[ "$output" == in-rootfs ]] || fail "exec is not in the container's root: $output"
    rb delete -f "$ID"
    assert_ok
    assert_no_leftovers "$ID"
}

@test "no uts, ipc or network namespace: the host's are inherited (hostname equals the host's)" {
    del_ns uts
    del_ns ipc
    del_ns network
    cfg 'del(.hostname)'
    set_args sleep 600
    run_d "$ID"
    local pid ns
    pid="$(ctr_pid "$ID")"
    for ns in uts ipc net; do
        [[ "$(ns_of "$pid" "$ns")" == "$(ns_of $$ "$ns")" ]] || fail "$ns: $(ns_of "$pid" "$ns") is not the host's"
    done
    for ns in mnt pid; do
        [[ "$(ns_of "$pid" "$ns")" != "$(ns_of $$ "$ns")" ]] || fail "$ns is the host's"
    done
    rb exec "$ID" hostname
    assert_ok
    [[ "$output" == "$(hostname)" ]] || fail "hostname in the container: $output, host: $(hostname)"
    rb exec "$ID" cat /proc/sys/kernel/hostname
    [[ "$output" == "$(cat /proc/sys/kernel/hostname)" ]] || fail "kernel.hostname: $output"
}

# A pod's user namespace held by another process (podman pods with --userns): a container that
# joins it by path and asks for new pid and time namespaces gets them owned by that user
# namespace, so it can mount /proc (they came from the parent's clone, owned by the host's user
# namespace: "mount proc: Operation not permitted"). runc forks once more after setns(user).
@test "a user namespace joined by path with new pid and time namespaces: /proc mounts, pid 1" {
    local holder
    # The holder: a process in its own user namespace, mapped as a container's would be.
    unshare --user sleep 1000 &
    holder=$!
    bg_register "$holder"
    local i
    for ((i = 0; i < 200; i++)); do
        [[ "$(ns_of "$holder" user)" != "$(ns_of $$ user)" ]] && break
        sleep 0.05
    done
    [[ "$(ns_of "$holder" user)" != "$(ns_of $$ user)" ]] || fail "the holder has no user namespace"
    echo "0 100000 65536" >"/proc/$holder/uid_map"
    echo "0 100000 65536" >"/proc/$holder/gid_map"
    chown -hR 100000:100000 "$BUNDLE/rootfs"
    add_ns user "/proc/$holder/ns/user"
    add_ns time
    cfg '.linux.timeOffsets = {monotonic: {secs: 1000, nanosecs: 0}}'
    ctl_dir
    set_args sh -c "echo \$\$ > /ctl/self; id -u > /ctl/uid; cat /proc/self/timens_offsets > /ctl/offs;
        touch /ctl/ready; $WAIT_STOP"
    run_d "$ID"
    wait_for 200 test -e "$CTL/ready" || fail "container did not start" "$(cat "$TEST_DIR/$ID.log")"
    local pid
    pid="$(ctr_pid "$ID")"
    [[ "$(cat "$CTL/self")" == 1 ]] || fail "the init is pid $(cat "$CTL/self") in its namespace"
    [[ "$(cat "$CTL/uid")" == 0 ]] || fail "id -u: $(cat "$CTL/uid")"
    grep -Eq '^monotonic[[:space:]]+1000[[:space:]]+0$' "$CTL/offs" || fail "timens_offsets: $(cat "$CTL/offs")"
    [[ "$(ns_of "$pid" user)" == "$(ns_of "$holder" user)" ]] || fail "the holder's user namespace was not joined"
    for ns in pid time mnt; do
        [[ "$(ns_of "$pid" "$ns")" != "$(ns_of $$ "$ns")" ]] || fail "$ns namespace is the host's"
    done
    # The state's pid is the real init (the forking child is gone), and kill/exec reach it.
    grep -Eq '^NSpid:[[:space:]]+[0-9]+[[:space:]]+1$' "/proc/$pid/status" || fail "state pid $pid is not the init"
    rb exec "$ID" sh -c 'echo $$'
    assert_ok
    [[ "$output" -gt 1 ]] || fail "exec: pid $output"
    rb kill "$ID" KILL
    assert_ok
    wait_status "$ID" stopped
    # run in the foreground waits for the forked init's exit status.
    set_args sh -c 'exit 7'
    run_fg "$(new_id)"
    assert_status 7
}
