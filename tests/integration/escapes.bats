#!/usr/bin/env bats
# Escape regressions: each test builds the bundle an attacker would and checks the escape
# fails. (Mount destinations through symlinks and ../ are in mounts.bats; fd leaks in
# lifecycle.bats.)

load helpers

setup_file() { itest_setup_file; }

@test "CVE-2019-5736 class: a container process cannot open the runtime binary through /proc/PID/exe" {
    # A created container's pid 1 is still berth's clone, waiting on the exec fifo: its exe is
    # the berth binary on the host. An exec'd process tries to get hold of it.
    set_args sh -c 'echo never'
    create_ctr "$ID"
    rb exec "$ID" sh -c '(exec 3</proc/1/exe && echo OPENED && readlink /proc/self/fd/3) 2>/dev/null || echo denied; readlink /proc/1/exe 2>/dev/null || echo no-link'
    assert_ok
    [[ "$output" != *OPENED* ]] || fail "the runtime binary was opened from the container:" "$output"
    [[ "$output" == *denied* ]] || fail "$output"
    [[ "$output" != *"$(basename "$BERTH")"* ]] || fail "the runtime binary's path leaked:" "$output"
    # After start the init is the container's program and is dumpable as usual.
    local sum
    sum="$(sha256sum "$BERTH" | cut -d' ' -f1)"
    rb start "$ID"
    assert_ok
    [[ "$(sha256sum "$BERTH" | cut -d' ' -f1)" == "$sum" ]] || fail "the runtime binary changed"
}

@test "CVE-2024-21626 class: cwd /proc/self/fd/N never lands in a host directory" {
    local n
    touch "/tmp/$TAG-host-marker"
    for n in 3 4 5 6 7 8 9 10; do
        cfg '.process.cwd = $cwd' --arg cwd "/proc/self/fd/$n"
        set_args sh -c 'ls -a ../../../../../tmp 2>/dev/null; pwd -P'
        rb run -b "$BUNDLE" "$ID-$n"
        if [[ "$status" -eq 0 ]]; then
            [[ "$output" != *"$TAG-host-marker"* ]] || { rm -f "/tmp/$TAG-host-marker"; fail "fd $n: the host's /tmp is reachable:" "$output"; }
        fi
        rb delete -f "$ID-$n"
    done
    # exec --cwd likewise
    cfg '.process.cwd = "/"'
    set_args sleep 100
    run_d "$ID"
    for n in 3 4 5 6 7 8; do
        rb exec --cwd "/proc/self/fd/$n" "$ID" sh -c 'ls -a ../../../../../tmp 2>/dev/null'
        [[ "$output" != *"$TAG-host-marker"* ]] || { rm -f "/tmp/$TAG-host-marker"; fail "exec fd $n: host /tmp reachable"; }
    done
    rm -f "/tmp/$TAG-host-marker"
}

@test "a mount over a /proc/sys file (to redirect a sysctl write) is refused" {
    echo 0 >"$TEST_DIR/host-file"
    cfg '.linux.sysctl = {"net.ipv4.ip_forward": "1"}'
    add_mount /proc/sys/net/ipv4/ip_forward bind "$TEST_DIR/host-file" bind rw
    mounts_snapshot
    rb run -b "$BUNDLE" "$ID"
    assert_berth_error 'cannot be mounted because it is inside /proc'
    [[ "$(cat "$TEST_DIR/host-file")" == 0 ]] || fail "the host file was written"
    assert_no_leftovers "$ID"
}

@test "/dev entries of the rootfs that are symlinks to host paths are not followed" {
    echo original >"/tmp/$TAG-victim"
    local dev="$BUNDLE/rootfs/dev" f
    mkdir -p "$dev"
    for f in null zero full random urandom tty ptmx console; do
        rm -rf "${dev:?}/$f"
        ln -s "../../../../../../../../tmp/$TAG-victim" "$dev/$f"
    done
    ln -sfn "/tmp" "$dev/shm"
    set_args sh -c 'echo pwned > /dev/null; echo pwned > /dev/zero; ls -l /dev/null | cut -c1'
    rb run -b "$BUNDLE" "$ID"
    [[ "$(cat "/tmp/$TAG-victim")" == original ]] || { rm -f "/tmp/$TAG-victim"; fail "a host file was written"; }
    [[ -f "/tmp/$TAG-victim" && ! -c "/tmp/$TAG-victim" ]] || fail "the host file was replaced"
    if [[ "$status" -eq 0 ]]; then
        [[ "${lines[-1]}" == c ]] || fail "/dev/null is not a device in the container:" "$output"
    fi
    rm -f "/tmp/$TAG-victim"
}
