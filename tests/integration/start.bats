#!/usr/bin/env bats
# create and start: the whole set-up of the container's process (capabilities, user, AppArmor,
# seccomp...) happens before create returns, so its errors fail create; start returns once the
# process has exec'd, after the startContainer hooks, which run under the container's filter.

load helpers

setup_file() { itest_setup_file; }

# host_lacks_cap BIT: the capability is missing from this shell's bounding set.
host_lacks_cap() {
    local bnd
    bnd="$(awk '/^CapBnd:/ { print $2 }' /proc/self/status)"
    (( ((16#$bnd >> $1) & 1) == 0 ))
}

# fails_cleanly REGEX: create and run of $BUNDLE fail with one line matching REGEX, leaving
# nothing behind.
fails_cleanly() {
    mounts_snapshot
    rb create -b "$BUNDLE" "$ID"
    assert_berth_error "$1"
    assert_no_leftovers "$ID"
    [[ -z "$(root_entries)" ]] || fail "left under --root: $(root_entries)"
    rb run -b "$BUNDLE" "$ID"
    assert_berth_error "$1"
    assert_no_leftovers "$ID"
    [[ -z "$(root_entries)" ]] || fail "left under --root after run: $(root_entries)"
}

@test "a signal sent right after start reaches the workload's handler (20 times)" {
    ctl_dir
    # A long /etc/passwd (HOME is looked up in it) widens the set-up a runtime might leave until
    # after start; any step done after start may let the signal in before the trap.
    local passwd="$BUNDLE/rootfs/etc/passwd"
    { seq 1 200000 | awk '{ print "u" $1 ":x:" $1 + 100000 ":100::/home/u" $1 ":/bin/sh" }'; cat "$passwd"; } >"$passwd.new"
    mv "$passwd.new" "$passwd"
    local i id
    for i in $(seq 20); do
        id="$(new_id)"
        set_args sh -c "trap 'echo got > /ctl/got-$i; exit 0' USR1; while :; do sleep 0.05; done"
        create_ctr "$id"
        rb start "$id"
        assert_ok
        rb kill "$id" USR1
        assert_ok
        wait_for 100 test -e "$CTL/got-$i" ||
            fail "round $i: the signal sent right after start did not reach the trap"
        wait_status "$id" stopped
        rb delete "$id"
        assert_ok
    done
}

@test "start returns once the process runs: after the startContainer hooks, exec'd" {
    ctl_dir
    # The hook is slow on purpose: start must wait for it (and for the execve that follows).
    cfg '.hooks.startContainer = [{path: "/bin/sh", args: ["sh", "-c", "sleep 1; echo done > /ctl/hook"]}]'
    set_args sh -c "$WAIT_STOP"
    create_ctr "$ID"
    rb start "$ID"
    assert_ok
    [[ -e "$CTL/hook" ]] || fail "start returned before the startContainer hook had run"
    local pid
    pid="$(ctr_pid "$ID")"
    [[ "$(cat "/proc/$pid/comm")" == sh ]] || fail "start returned before the execve: comm is $(cat "/proc/$pid/comm")"
    [[ "$(ctr_status "$ID")" == running ]] || fail "status: $(ctr_status "$ID")"
    touch "$CTL/stop"
    wait_status "$ID" stopped
}

@test "a capability the host cannot grant fails create with one line, nothing left (as runc)" {
    # CAP_SYS_RESOURCE (24) is missing from this project's hosts' bounding set.
    host_lacks_cap 24 || skip "this host can grant CAP_SYS_RESOURCE"
    set_args true
    cfg '.process.capabilities.bounding += ["CAP_SYS_RESOURCE"]
         | .process.capabilities.effective += ["CAP_SYS_RESOURCE"]
         | .process.capabilities.permitted += ["CAP_SYS_RESOURCE"]'
    fails_cleanly 'CAP_SYS_RESOURCE|apply caps'
}

@test "an AppArmor profile on a host without AppArmor fails create with one line, nothing left" {
    [[ "$(cat /sys/module/apparmor/parameters/enabled 2>/dev/null)" != Y ]] || skip "AppArmor is enabled here"
    set_args true
    cfg '.process.apparmorProfile = "berth-itest-profile"'
    fails_cleanly 'invalid configuration: apparmor profile'
}

@test "a seccomp filter that kills the set-up fails create and run with one line naming the signal, nothing left" {
    set_args true
    # SCMP_ACT_KILL: the first syscall after the filter's load is fatal (SIGSYS). SCMP_ACT_ERRNO:
    # every later step fails and even exit_group is denied (glibc's _exit then faults: SIGSEGV).
    cfg '.linux.seccomp = {defaultAction: "SCMP_ACT_KILL", architectures: ["SCMP_ARCH_X86_64"], syscalls: []}'
    fails_cleanly 'killed by SIGSYS during its set-up.*seccomp filter'
    if ldd "$BERTH" 2>/dev/null | grep -q libasan; then
        # Under ASan the child's runtime cannot die when exit_group itself is denied: it retries
        # its death forever. The normal lane's build checks this part.
        skip_part "SCMP_ACT_ERRNO for every syscall: a sanitizer build cannot exit under it"
    else
        cfg '.linux.seccomp.defaultAction = "SCMP_ACT_ERRNO"'
        fails_cleanly 'killed by SIG[A-Z]+ during its set-up'
    fi
}

@test "startContainer hooks run under the container's seccomp filter: a denied syscall fails start" {
    ctl_dir
    cfg '.root.readonly = false | .linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW", architectures: ["SCMP_ARCH_X86_64"],
        syscalls: [{names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 1}]}'
    # (Its own complaint silenced: with run, a hook's stderr is berth's.)
    cfg '.hooks.startContainer = [{path: "/bin/sh", args: ["sh", "-c", "mkdir /tmp/from-hook 2>/dev/null"]}]'
    set_args sh -c 'touch /ctl/workload-ran'
    create_ctr "$ID"
    rb start "$ID"
    # runtime-spec: a failing startContainer hook MUST be an error. (runc 1.1.5's start exits 0
    # here; the hook's error shows only on the container's stderr.)
    assert_berth_error 'startContainer hook /bin/sh'
    [[ ! -e "$BUNDLE/rootfs/tmp/from-hook" ]] || fail "the hook's mkdir was not filtered"
    [[ ! -e "$CTL/workload-ran" ]] || fail "the workload ran although its startContainer hook failed"
    wait_status "$ID" stopped

    # run fails the same way, and leaves nothing behind.
    local id
    id="$(new_id)"
    mounts_snapshot
    rb run -b "$BUNDLE" "$id"
    assert_berth_error 'startContainer hook /bin/sh'
    assert_no_leftovers "$id"
    [[ ! -e "$CTL/workload-ran" ]] || fail "run: the workload ran although its startContainer hook failed"
}
