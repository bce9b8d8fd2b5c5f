#!/usr/bin/env bats
# What a kubelet's spec asks of a container, in the micro-VM guest as on the namespaces path
# (issue 15 part 6): linux.sysctl, /dev/shm bound from a host tmpfs (its size), tmpfs and mqueue
# mounts, the spec's /dev (its devices, linux.devices), sysfs read-only, masked and read-only
# paths, a read-only root, a RuntimeDefault-like seccomp profile, run-as-user with supplementary
# groups, no_new_privs, hostname, oomScoreAdj. The same bundle runs natively first; the guest
# must print the same. One VM boot per test.

load ../integration/helpers
load vm_helpers

setup_file() { vm_setup_file; }

setup() { itest_setup; }
teardown() {
    [[ -n "${TEST_DIR:-}" ]] && umount "$TEST_DIR/shm" 2>/dev/null
    itest_teardown
}

# The profile podman sends for this container (its default seccomp.json, the rules that hold for
# x86_64 and for a process without the capabilities rules name, as containers/common selects
# them) — or, without podman's file, a small profile of the same shape.
runtime_default_profile() {
    local f=/usr/share/containers/seccomp.json
    if [[ -f "$f" ]]; then
        jq -c '{defaultAction, defaultErrnoRet, architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
                syscalls: [.syscalls[] | select(((.includes.caps // []) == [])
                                                and (((.includes.arches // ["amd64"]) | index("amd64")) != null)
                                                and (((.excludes.arches // []) | index("amd64")) == null))
                           | del(.comment, .includes, .excludes, .errno)]}' "$f"
    else
        jq -nc '{defaultAction: "SCMP_ACT_ALLOW", syscalls: [{names: ["chroot"], action: "SCMP_ACT_ERRNO", errnoRet: 1}]}'
    fi
}

@test "vm guest: sysctls, /dev/shm of the host tmpfs's size, /dev and its devices, tmpfs/mqueue/sysfs mounts, masked and ro paths, ro root, user and groups, seccomp, oom_score_adj — as natively" {
    mkdir "$TEST_DIR/shm"
    mount -t tmpfs -o size=24m,mode=1777 shm "$TEST_DIR/shm"
    cfg '(.mounts |= map(if .destination == "/dev/shm"
                           then {destination: "/dev/shm", type: "bind", source: $shm, options: ["rbind", "nosuid", "nodev", "noexec"]}
                           else . end))
         | .mounts += [{destination: "/run/scratch", type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", "size=3m", "mode=1770"]}]
         | .linux.sysctl = {"net.ipv4.ip_forward": "1", "net.core.somaxconn": "1000", "kernel.shmmax": "123456789",
                            "kernel.shm_rmid_forced": "1", "fs.mqueue.msg_max": "20"}
         | .process.user = {uid: 1000, gid: 1000, additionalGids: [5, 2000]}
         | .linux.devices = [{type: "c", path: "/dev/fuse", major: 10, minor: 229, fileMode: 384}]
         | .process.oomScoreAdj = 500 | .process.noNewPrivileges = true | .root.readonly = true | .hostname = "kube-pod-1"
         | .linux.seccomp = $sc' --argjson sc "$(runtime_default_profile)" --arg shm "$TEST_DIR/shm"
    # shellcheck disable=SC2016
    set_args sh -c 'for k in net/ipv4/ip_forward net/core/somaxconn kernel/shmmax kernel/shm_rmid_forced fs/mqueue/msg_max; do
                        echo "$k=$(cat /proc/sys/$k)"; done
                    df -k /dev/shm /run/scratch | busybox awk "NR > 1 { print \$6, \$2 }"
                    stat -c "%a %n" /run/scratch
                    busybox awk "\$2 ~ /^\/(dev\/(pts|shm|mqueue)|sys|proc\/sys|run\/scratch)\$/ { split(\$4, o, \",\"); print \$2, \$3, o[1] }" /proc/mounts
                    echo "dev: $(ls /dev | grep -vx core | tr "\n" " ")"; stat -c "%n %t:%T %a" /dev/fuse /dev/null
                    busybox id; hostname; echo "oom_score_adj: $(cat /proc/self/oom_score_adj)"
                    echo "timer_list: $(wc -c </proc/timer_list)"
                    touch /x 2>&1 | grep -o "Read-only file system"
                    echo x >/dev/shm/y && echo x >/run/scratch/y 2>&1 || echo "scratch: not writable for the user"
                    grep -E "^(NoNewPrivs|Seccomp|CapEff):" /proc/self/status
                    busybox chroot / true 2>&1 | grep -o "Operation not permitted"
                    echo "cgroup: $(busybox awk "\$2 == \"/sys/fs/cgroup\" { print \$3 }" /proc/mounts | head -1)"'
    run_fg "$ID"
    assert_ok
    local native="$output"
    cfg '.annotations["run.oci.handler"] = "vm"'
    run_fg "$(new_id)"
    assert_ok
    local vm="$output"
    # The cgroup mount is the host's v1 hierarchy natively and the guest's cgroup2 in the VM;
    # /dev/core is there where the kernel has /proc/kcore (the guest's has, this host's not).
    [[ "$(grep -v '^cgroup:' <<<"$vm")" == "$(grep -v '^cgroup:' <<<"$native")" ]] || fail "native:" "$native" "vm:" "$vm"
    local want
    for want in "net/ipv4/ip_forward=1" "net/core/somaxconn=1000" "kernel/shmmax=123456789" "kernel/shm_rmid_forced=1" \
                "fs/mqueue/msg_max=20" "/dev/fuse a:e5 600" "/dev/null 1:3 666" "/dev/shm 24576" "/run/scratch 3072" "1770 /run/scratch" "/dev/mqueue mqueue rw" \
                "/sys sysfs ro" "/proc/sys proc ro" "/run/scratch tmpfs rw" "kube-pod-1" "oom_score_adj: 500" "timer_list: 0" "Read-only file system" \
                "scratch: not writable for the user" "Operation not permitted" "cgroup: cgroup2"; do
        grep -qxF -- "$want" <<<"$vm" || fail "no line \"$want\" in the guest's output:" "$vm"
    done
    # The spec's /dev tmpfs with the container's devices, not the guest's devtmpfs (its disk, the
    # agent's port).
    grep -q "^dev: .*null .*urandom" <<<"$vm" && ! grep -Eq "^dev: .*(vd|vport|ttyS)" <<<"$vm" || fail "the guest's /dev:" "$vm"
    grep -Eq "^uid=1000\(user\) gid=1000\(user\) groups=5\(tty\),2000$" <<<"$vm" || fail "user and groups:" "$vm"
    grep -Eq "^Seccomp:\s+2$" <<<"$vm" || fail "no seccomp filter in the guest:" "$vm"
    grep -Eq "^NoNewPrivs:\s+1$" <<<"$vm" || fail "no no_new_privs in the guest:" "$vm"
}

@test "vm guest: a sysctl the kernel lacks — one line naming it (and the guest's kernel), nothing left behind; a file bound onto a directory is refused before booting" {
    cfg '.linux.sysctl = {"net.ipv4.berth_no_such_knob": "1"}'
    set_args true
    run_fg "$ID"
    assert_berth_error 'sysctl net.ipv4.berth_no_such_knob: open /proc/sys/net/ipv4/berth_no_such_knob: No such file or directory$'
    cfg '.annotations["run.oci.handler"] = "vm"'
    BERTH_VM_ACCEL=tcg run_fg "$(new_id)"
    assert_status 1
    # The TCG warning, then the one error line.
    grep -v '^berth: warning: ' <<<"$stderr" | grep -Eqx 'berth: vm: the guest agent failed: sysctl net.ipv4.berth_no_such_knob in the guest \(kernel [^)]+\): open /proc/sys/net/ipv4/berth_no_such_knob: No such file or directory' ||
        fail "stderr: $stderr"
    [[ "$(grep -cv '^berth: warning: ' <<<"$stderr")" == 1 ]] || fail "more than one error line: $stderr"
    [[ -z "$(root_entries)" ]] || fail "left under --root: $(root_entries)"
    ! pgrep -f -- "$ROOT" >/dev/null || fail "a process naming the state dir is left: $(pgrep -af -- "$ROOT")"
    # A file bound onto a directory of the rootfs (CRI's bad-mount case): refused on the host
    # before anything boots, naming the source and the destination.
    echo x >"$TEST_DIR/a-file"
    cfg '.linux.sysctl = {} | .mounts += [{destination: "/bin", type: "bind", source: $f, options: ["rbind"]}]' \
        --arg f "$TEST_DIR/a-file"
    run_fg "$(new_id)"
    assert_berth_error "bind mount source $TEST_DIR/a-file \\(for /bin\\): a file onto a directory of the rootfs: Not a directory\$"
    [[ -z "$(root_entries)" ]] || fail "left under --root: $(root_entries)"
}
