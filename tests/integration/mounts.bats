#!/usr/bin/env bats
# Mounts and the container's filesystem: default mounts, bind and tmpfs mounts, masked and
# read-only paths, read-only root, devices, symlink escapes, sysctl, --no-pivot.

load helpers

setup_file() { itest_setup_file; }

# mount points and types inside: "MOUNTPOINT FSTYPE SUPER_OPTIONS MOUNT_OPTIONS" per line.
MOUNTS_SCRIPT='awk '\''{ for (i = 7; i <= NF; i++) if ($i == "-") { print $5, $(i+1), $(i+3), $6; break } }'\'' /proc/self/mountinfo'

@test "default mounts: /proc /dev /dev/pts /dev/shm /dev/mqueue /sys" {
    set_args sh -c "$MOUNTS_SCRIPT"
    run_fg "$ID"
    assert_ok
    local want
    for want in "/proc proc" "/dev tmpfs" "/dev/pts devpts" "/dev/shm tmpfs" "/dev/mqueue mqueue" "/sys sysfs"; do
        grep -q "^$want " <<<"$output" || fail "no '$want' mount in the container" "$output"
    done
    # Options from config.json: /sys read-only, /dev/shm nodev+noexec, devpts newinstance-like mode.
    grep -Eq '^/sys sysfs [^ ]* ro(,|$)' <<<"$output" || fail "/sys is not read-only" "$output"
    grep -Eq '^/dev/shm tmpfs [^ ]*size=65536k' <<<"$output" || fail "/dev/shm size" "$output"
    grep -Eq '^/dev/shm tmpfs [^ ]* [^ ]*nodev' <<<"$output" || fail "/dev/shm nodev" "$output"
    grep -Eq '^/dev/pts devpts [^ ]*ptmxmode=0?666' <<<"$output" || fail "/dev/pts ptmxmode" "$output"
    # / is the rootfs, not the host's root: the host's temp dir is not visible.
    set_args sh -c "test -e $TEST_DIR && echo visible || echo hidden; test -x /bin/busybox && echo busybox"
    run_fg "$(new_id)"
    assert_ok
    [[ "$output" == "$(printf 'hidden\nbusybox')" ]] || fail "$output"
}

@test "read-only bind mount of a host dir" {
    mkdir -p "$TEST_DIR/share"
    echo "from-the-host" >"$TEST_DIR/share/file"
    add_mount /mnt/share bind "$TEST_DIR/share" rbind ro
    set_args sh -c 'cat /mnt/share/file; touch /mnt/share/new && echo WRITABLE || echo ro-ok'
    run_fg "$ID"
    assert_ok
    [[ "$output" == "$(printf 'from-the-host\nro-ok')" ]] || fail "$output" "$stderr"
    [[ ! -e "$TEST_DIR/share/new" ]] || fail "the container wrote into the read-only bind mount"
    # A read-write one is writable, and the write shows on the host.
    cfg '.mounts[-1].options = ["rbind", "rw"]'
    set_args sh -c 'echo written > /mnt/share/new'
    run_fg "$(new_id)"
    assert_ok
    [[ "$(cat "$TEST_DIR/share/new")" == written ]] || fail "rw bind mount"
}

@test "tmpfs with a size option" {
    add_mount /scratch tmpfs tmpfs size=1m mode=1777
    set_args sh -c "$MOUNTS_SCRIPT | grep '^/scratch '; stat -c %a /scratch;
        dd if=/dev/zero of=/scratch/big bs=1024 count=2048 2>/dev/null && echo TOO-BIG || echo full"
    run_fg "$ID"
    assert_ok
    [[ "${lines[0]}" =~ ^/scratch\ tmpfs\ [^\ ]*size=1024k ]] || fail "tmpfs mount: ${lines[0]}" "$output"
    [[ "${lines[1]}" == 1777 ]] || fail "tmpfs mode: ${lines[1]}"
    [[ "${lines[2]}" == full ]] || fail "a 2 MiB write fits in a 1 MiB tmpfs" "$output"
}

@test "maskedPaths: a masked file reads empty, a masked dir is empty" {
    # Default masked paths of runc's spec, plus a file and a dir of the rootfs.
    echo "secret" >"$BUNDLE/rootfs/etc/secret"
    mkdir -p "$BUNDLE/rootfs/etc/secretdir"
    echo "secret" >"$BUNDLE/rootfs/etc/secretdir/a"
    cfg '.linux.maskedPaths += ["/etc/secret", "/etc/secretdir", "/does/not/exist"]'
    set_args sh -c 'echo "file:$(cat /etc/secret)"; echo "dir:$(ls -A /etc/secretdir)";
        echo "timer_list:$(head -c 100 /proc/timer_list | wc -c)"; echo "keys:$(wc -c < /proc/keys)";
        echo x > /etc/secretdir/b 2>/dev/null && echo dir-writable || echo dir-ro'
    run_fg "$ID"
    assert_ok
    [[ "$output" == "$(printf 'file:\ndir:\ntimer_list:0\nkeys:0\ndir-ro')" ]] || fail "masked paths:" "$output" "$stderr"
    [[ "$(cat "$BUNDLE/rootfs/etc/secret")" == secret ]]
    [[ "$(ls "$BUNDLE/rootfs/etc/secretdir")" == a ]]
}

@test "readonlyPaths: writes fail; root.readonly=false keeps the rest writable" {
    cfg '.root.readonly = false | .linux.readonlyPaths += ["/etc"]'
    set_args sh -c 'touch /etc/x 2>/dev/null && echo etc-writable || echo etc-ro;
        echo 1 > /proc/sys/net/ipv4/ip_forward 2>/dev/null && echo procsys-writable || echo procsys-ro;
        touch /written-root && echo root-rw'
    run_fg "$ID"
    assert_ok
    [[ "$output" == "$(printf 'etc-ro\nprocsys-ro\nroot-rw')" ]] || fail "$output"
    [[ ! -e "$BUNDLE/rootfs/etc/x" ]]
    [[ -e "$BUNDLE/rootfs/written-root" ]] || fail "a write to the rw root did not reach the rootfs"
}

@test "root.readonly=true: writes to / fail" {
    cfg '.root.readonly = true'
    set_args sh -c "touch /x 2>/dev/null && echo WRITABLE || echo ro; $MOUNTS_SCRIPT | grep '^/ '"
    run_fg "$ID"
    assert_ok
    [[ "${lines[0]}" == ro ]] || fail "touch /x succeeded on a read-only root" "$output"
    [[ "${lines[1]}" =~ \ ro(,|$) ]] || fail "/ is not mounted ro: ${lines[1]}"
    [[ ! -e "$BUNDLE/rootfs/x" ]]
}

@test "default devices, /dev/fd links, and a linux.devices entry" {
    cfg '.linux.devices = [{path: "/dev/mydev", type: "c", major: 1, minor: 3, fileMode: 438, uid: 0, gid: 0},
                           {path: "/dev/fuse", type: "c", major: 10, minor: 229, fileMode: 384, uid: 0, gid: 0}]'
    set_args sh -c 'for d in null zero full random urandom tty mydev fuse; do
            echo "$d $(stat -c "%F %t %T %a" /dev/$d)"; done
        for l in fd stdin stdout stderr ptmx; do echo "$l -> $(readlink /dev/$l)"; done
        echo hi > /dev/mydev && echo mydev-writable
        head -c 4 /dev/zero | wc -c
        echo x > /dev/full 2>/dev/null || echo full-is-full'
    run_fg "$ID"
    assert_ok
    local want
    while IFS= read -r want; do
        grep -qxF "$want" <<<"$output" || fail "missing: '$want'" "$output" "$stderr"
    done <<'EXPECTED'
null character special file 1 3 666
zero character special file 1 5 666
full character special file 1 7 666
random character special file 1 8 666
urandom character special file 1 9 666
tty character special file 5 0 666
mydev character special file 1 3 666
fuse character special file a e5 600
fd -> /proc/self/fd
stdin -> /proc/self/fd/0
stdout -> /proc/self/fd/1
stderr -> /proc/self/fd/2
ptmx -> pts/ptmx
mydev-writable
4
full-is-full
EXPECTED
}

@test "a rootfs symlink to a host dir used as a mount destination stays inside the rootfs" {
    local hostdir="$TEST_DIR/hostdir"
    mkdir -p "$hostdir"
    ln -s "$hostdir" "$BUNDLE/rootfs/evil"
    add_mount /evil/x tmpfs tmpfs size=1m
    set_args sh -c 'echo inside > /evil/x/marker && cat /evil/x/marker'
    mounts_snapshot
    run_fg "$ID"
    assert_ok
    [[ "$output" == inside ]] || fail "$output"
    [[ -z "$(ls -A "$hostdir")" ]] || fail "the mount escaped the rootfs: $hostdir has $(ls -A "$hostdir")"
    # The destination was created under the rootfs, following the link inside it.
    [[ -d "$BUNDLE/rootfs$hostdir/x" ]] || fail "expected $BUNDLE/rootfs$hostdir/x"
    assert_no_leftovers "$ID"
}

@test "a bind-mount destination through ../ stays inside the rootfs" {
    local hostdir="$TEST_DIR/hostdir2"
    mkdir -p "$hostdir" "$TEST_DIR/src"
    echo data >"$TEST_DIR/src/f"
    add_mount "/../../../../../../..$hostdir/y" bind "$TEST_DIR/src" rbind ro
    set_args sh -c "cat $hostdir/y/f"
    run_fg "$ID"
    assert_ok
    [[ "$output" == data ]] || fail "$output"
    [[ -z "$(ls -A "$hostdir")" ]] || fail "the mount escaped the rootfs: $hostdir has $(ls -A "$hostdir")"
}

@test "sysctl in a network namespace" {
    local host_before
    host_before="$(cat /proc/sys/net/ipv4/ip_forward)"
    cfg '.linux.sysctl = {"net.ipv4.ip_forward": "1", "kernel.shm_rmid_forced": "1"}'
    set_args sh -c 'cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shm_rmid_forced'
    run_fg "$ID"
    assert_ok
    [[ "$output" == "$(printf '1\n1')" ]] || fail "sysctl values in the container: $output"
    [[ "$(cat /proc/sys/net/ipv4/ip_forward)" == "$host_before" ]] || fail "the host's ip_forward changed"
}

@test "--no-pivot runs the container in its rootfs" {
    set_args sh -c "test -e $TEST_DIR && echo visible || echo hidden; cat /etc/hostname; $MOUNTS_SCRIPT | grep -c '^/proc proc'"
    run_fg "$ID" --no-pivot
    assert_ok
    [[ "$output" == "$(printf 'hidden\nberth\n1')" ]] || fail "$output"

    ctl_dir
    set_args sh -c "$WAIT_STOP"
    local id
    id="$(new_id)"
    create_ctr "$id" --no-pivot
    rb start "$id"
    assert_ok
    [[ "$(ctr_status "$id")" == running ]]
}

@test "the cgroup mount shows the container's own cgroups, read-only" {
    set_args sh -c "ls /sys/fs/cgroup; $MOUNTS_SCRIPT | grep '^/sys/fs/cgroup/memory '; cat /sys/fs/cgroup/pids/pids.max;
        mkdir /sys/fs/cgroup/pids/x 2>/dev/null && echo WRITABLE || echo ro"
    cfg '.linux.resources.pids = {limit: 77}'
    run_fg "$ID"
    assert_ok
    local c
    for c in cpu cpuacct cpuset memory devices freezer blkio pids; do
        grep -qx "$c" <<<"$output" || fail "no /sys/fs/cgroup/$c in the container" "$output"
    done
    grep -Eq '^/sys/fs/cgroup/memory cgroup [^ ]*memory' <<<"$output" || fail "memory hierarchy mount" "$output"
    grep -qx 77 <<<"$output" || fail "pids.max inside is not the container's limit" "$output"
    [[ "${lines[-1]}" == ro ]] || fail "the cgroup mount is writable" "$output"
}

@test "devices cgroup: a host device not in the allow list cannot be opened" {
    [[ -c /dev/kmsg ]] || skip "no /dev/kmsg on this host"
    add_mount /dev/kmsg bind /dev/kmsg rbind ro
    cfg '.linux.devices = [{path: "/dev/owned", type: "c", major: 1, minor: 5, fileMode: 416, uid: 1000, gid: 5}]'
    set_args sh -c 'head -c 1 /dev/kmsg >/dev/null 2>&1 && echo KMSG-READABLE || echo kmsg-denied;
        stat -c "%u %g %a" /dev/owned'
    run_fg "$ID"
    assert_ok
    [[ "$output" == "$(printf 'kmsg-denied\n1000 5 640')" ]] || fail "$output"
}

@test "mount options nosuid, noexec, nodev, ro apply to a tmpfs and a bind mount" {
    mkdir -p "$TEST_DIR/share"
    cp "$BUNDLE/rootfs/bin/busybox" "$TEST_DIR/share/bb"
    add_mount /t1 tmpfs tmpfs nosuid noexec nodev size=1m
    add_mount /t2 bind "$TEST_DIR/share" rbind noexec ro
    set_args sh -c "$MOUNTS_SCRIPT | grep -E '^/t[12] '; /t2/bb true 2>/dev/null && echo EXECUTED || echo noexec-ok"
    run_fg "$ID"
    assert_ok
    local t1 t2
    t1="$(grep '^/t1 ' <<<"$output" | awk '{print $4}')"
    t2="$(grep '^/t2 ' <<<"$output" | awk '{print $4}')"
    [[ ",$t1," == *,nosuid,* && ",$t1," == *,noexec,* && ",$t1," == *,nodev,* ]] || fail "/t1 options: $t1"
    [[ ",$t2," == *,ro,* && ",$t2," == *,noexec,* ]] || fail "/t2 options: $t2"
    grep -qx noexec-ok <<<"$output" || fail "exec on a noexec mount worked" "$output"
}

@test "/proc over a symlink: runc's \"must be mounted on ordinary directory\"" {
    rm -rf "$BUNDLE/rootfs/proc"
    ln -s /tmp "$BUNDLE/rootfs/proc"
    rb run -b "$BUNDLE" "$ID"
    assert_berth_error 'proc must be mounted on ordinary directory'
}
