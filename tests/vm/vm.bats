#!/usr/bin/env bats
# The micro-VM handler end to end (ctest label vm): containers with run.oci.handler=vm, or run
# through the berth-vm symlink, boot the cloud kernel under QEMU (TCG on this host) and behave
# for clients as native ones do: output, exit status, kill, state, delete leaving nothing.
# Each boot costs a few seconds of TCG, so each test boots once (the differential test twice).

load ../integration/helpers
load vm_helpers

setup_file() { vm_setup_file; }

setup() { vm_setup; }
teardown() {
    local ns
    for ns in "$TEST_DIR"/netns-*; do
        [[ -e "$ns" ]] && umount "$ns" 2>/dev/null
    done
    itest_teardown
}

# make_netns NAME ADDR: a network namespace bound at $TEST_DIR/netns-NAME with a veth eth0 holding
# ADDR, up (its peer stays inside): something to mirror, and never one of the host's interfaces.
make_netns() {
    local ns="$TEST_DIR/netns-$1"
    touch "$ns"
    unshare --net="$ns" sh -c "ip link set lo up && ip link add eth0 type veth peer name peer0 &&
        ip addr add $2 dev eth0 && ip link set eth0 up"
}

# vmm_pid ID: the VMM (QEMU) of a VM container, as the handler recorded it.
vmm_pid() {
    cut -d' ' -f1 "$ROOT/$1/vmm.pid"
}

# bg_run ID: berth run in the background, stdout/stderr in $TEST_DIR/ID.out/.err, exit status
# in $TEST_DIR/ID.rc.
bg_run() {
    local id="$1"
    # (bats runs with errexit, which the subshell inherits: keep the status without failing)
    ( rc=0; env BERTH_ITEST_TAG="$TAG" timeout -k 5 "$BERTH_TIMEOUT" "$BERTH" --root "$ROOT" run -b "$BUNDLE" "$id" \
        </dev/null >"$TEST_DIR/$id.out" 2>"$TEST_DIR/$id.err" || rc=$?; echo "$rc" >"$TEST_DIR/$id.rc" ) &
    bg_register $!
}

@test "vm: run relays stdout and stderr separately, applies env, cwd, user and hostname, exit 0" {
    set_args sh -c 'echo out-line; echo err-line >&2; echo "A=$A"; pwd; id -u; id -g; hostname'
    cfg '.process.env += ["A=from-spec"] | .process.cwd = "/tmp" | .process.user = {uid: 1000, gid: 1000} | .hostname = "vmhost"'
    mounts_snapshot
    run_fg "$ID"
    assert_ok
    [[ "${lines[*]}" == "out-line A=from-spec /tmp 1000 1000 vmhost" ]] || fail "stdout: ${lines[*]}"
    grep -qx "err-line" <<<"$stderr" || fail "stderr: $stderr"
    grep -q "TCG, which is emulation, not hardware isolation" <<<"$stderr" || fail "no TCG warning: $stderr"
    assert_no_leftovers "$ID"
}

@test "vm: berth-vm (argv0) runs in a VM without the annotation and returns a non-zero exit status; --no-new-keyring" {
    cfg 'del(.annotations) | .linux.maskedPaths -= ["/proc/keys"]'
    # --no-new-keyring: the workload keeps the agent's session keyring, so the guest has no _ses.*
    set_args sh -c 'uname -r; echo "keyrings $(grep -c " _ses\." /proc/keys)"; exit 3'
    BERTH="$(dirname "$BERTH")/berth-vm" run_fg "$ID" --no-new-keyring
    assert_status 3
    [[ "${lines[0]}" == *-cloud-amd64 ]] || fail "not the guest kernel: $output"
    [[ "${lines[0]}" != "$(uname -r)" ]] || fail "ran on the host kernel"
    [[ "${lines[1]}" == "keyrings 0" ]] || fail "--no-new-keyring: a session keyring was made: $output"
}

@test "vm: create, start, state, ps, kill (TERM reaches the workload's trap), delete leaves nothing" {
    # A --root as long as containerd's ROOT/k8s.io/<64-hex id>/: the control socket's path is past
    # sun_path's 107 bytes; the shim binds it, and kill reaches it, through the state dir's fd.
    ROOT="$ROOT/$(printf 'k%.0s' {1..80})"
    ctl_dir
    cfg '.annotations["org.berth.vm.rootfs"] = "block"' 
    set_args sh -c 'trap "echo got-term; exit 7" TERM; echo started; while true; do sleep 0.1; done'
    mounts_snapshot
    create_ctr "$ID"
    [[ "$(ctr_status "$ID")" == created ]] || fail "status after create: $(ctr_status "$ID")"
    local pid
    pid="$(ctr_pid "$ID")"
    [[ "$(cat /proc/$pid/comm)" == berth-vm-shim ]] || fail "state pid $pid is $(cat /proc/$pid/comm)"
    local vmm
    vmm="$(vmm_pid "$ID")"
    [[ "$(cat /proc/$vmm/comm)" == qemu-system-x86 ]] || fail "VMM pid $vmm is $(cat /proc/$vmm/comm)"
    [[ "$(awk '{print $4}' /proc/$vmm/stat)" == "$pid" ]] || fail "the VMM is not the shim's child"
    # ps of a created container: the guest has nothing of it running yet (only the header).
    rb ps "$ID"
    assert_ok
    [[ "${#lines[@]}" == 1 && "${lines[0]}" == UID* ]] || fail "ps while created: $output"
    rb start "$ID"
    assert_ok
    wait_file "$TEST_DIR/$ID.log" '^started$'
    [[ "$(ctr_status "$ID")" == running ]] || fail "status after start: $(ctr_status "$ID")"
    # ps lists the guest's processes (tests/vm/ops.bats has the details), not the shim or QEMU.
    rb ps "$ID"
    assert_ok
    grep -Eq '^root +1 +0 .* sh -c trap' <<<"$output" || fail "ps: $output"
    grep -q "qemu-system-x86_64" <<<"$output" && fail "ps lists QEMU: $output"
    rb kill "$ID" TERM
    assert_ok
    wait_file "$TEST_DIR/$ID.log" '^got-term$'
    wait_status "$ID" stopped
    pid_alive "$pid" && fail "shim $pid still alive"
    pid_alive "$vmm" && fail "VMM $vmm still alive"
    rb delete "$ID"
    assert_ok
    assert_no_leftovers "$ID"
}

@test "vm: a created (not started) container can be killed and deleted" {
    set_args sh -c 'echo should-not-run'
    mounts_snapshot
    create_ctr "$ID"
    [[ "$(ctr_status "$ID")" == created ]] || fail "status after create: $(ctr_status "$ID")"
    rb kill "$ID" KILL
    assert_ok
    wait_status "$ID" stopped
    rb delete "$ID"
    assert_ok
    ! grep -q should-not-run "$TEST_DIR/$ID.log" || fail "the workload ran"
    assert_no_leftovers "$ID"
}

@test "vm: a workload killed by SIGKILL through berth kill gives run 137" {
    set_args sh -c 'echo ready; exec sleep 1000'
    bg_run "$ID"
    wait_file "$TEST_DIR/$ID.out" '^ready$'
    rb kill "$ID" KILL
    assert_ok
    wait_file "$TEST_DIR/$ID.rc" '.'
    [[ "$(cat "$TEST_DIR/$ID.rc")" == 137 ]] || fail "run exit status $(cat "$TEST_DIR/$ID.rc"), stderr: $(cat "$TEST_DIR/$ID.err")"
    [[ -z "$(root_entries)" ]] || fail "left under --root: $(root_entries)"
}

@test "vm: the memory limit sizes guest RAM (visible in /proc/meminfo) and the cpu quota the vCPUs; a cpuset the guest has applies" {
    # cpus/mems "0": the guest has vCPU 0 and node 0, so its cgroup pins the workload there
    cfg '.linux.resources.memory = {limit: 268435456}
         | .linux.resources.cpu = {quota: 200000, period: 100000, cpus: "0", mems: "0"}
         | .annotations["org.berth.vm.rootfs"] = "block"'
    set_args sh -c 'grep MemTotal /proc/meminfo; grep -c ^processor /proc/cpuinfo
                    echo "cpuset $(cat /sys/fs/cgroup/cpuset.cpus) $(cat /sys/fs/cgroup/cpuset.mems) nproc $(nproc)"'
    run_fg "$ID"
    assert_ok
    local kb
    kb="$(awk '/MemTotal/ { print $2 }' <<<"$output")"
    # 256 MiB + 64 MiB overhead, and twice that as the balloon's ceiling (nothing inflated at
    # boot: the first update sizes it), minus what the guest kernel keeps.
    (( kb > 256 * 1024 && kb <= 2 * 320 * 1024 )) || fail "MemTotal ${kb} kB not within (256, 640] MiB: $output"
    local want=2
    (( $(nproc) < 2 )) && want=1
    [[ "${lines[1]}" == "$want" ]] || fail "vCPUs: ${lines[1]}, want $want"
    [[ "${lines[2]}" == "cpuset 0 0 nproc 1" ]] || fail "the guest cgroup's cpuset: ${lines[2]}"
}

@test "vm: differential — the same bundle prints the same on the namespaces and the VM path; device rules apply in the guest" {
    # linux.resources.devices: a node made with CAP_MKNOD opens only as the rules allow (the
    # guest's cgroup2 enforces them with an eBPF program, the host's v1 devices cgroup natively).
    set_args sh -c 'echo hi; cat /etc/hostname; id; echo "$PATH"; pwd; ls /; ls /bin | head -3; echo $((6 * 7))
                    mknod /dev/k c 1 11 && mknod /dev/l b 7 0 && echo made
                    (exec 3>/dev/k) 2>/dev/null && echo kmsg-write-opens || echo kmsg-write-denied
                    (exec 3</dev/l) 2>&1 | grep -o "Operation not permitted" || echo loop-opens
                    (exec 3>/dev/null) 2>/dev/null && echo null-opens || echo null-denied'
    cfg 'del(.annotations) | .process.capabilities.bounding += ["CAP_MKNOD"]
         | .process.capabilities.effective += ["CAP_MKNOD"] | .process.capabilities.permitted += ["CAP_MKNOD"]
         | .linux.resources.devices += [{allow: true, type: "c", major: 1, minor: 11, access: "w"}]'
    run_fg "$ID"
    assert_ok
    local native="$output"
    [[ "$(tail -4 <<<"$native" | tr '\n' ' ')" == "made kmsg-write-opens Operation not permitted null-opens " ]] ||
        fail "device rules natively:" "$native"
    cfg '.annotations["run.oci.handler"] = "vm"'
    run_fg "$(new_id)"
    assert_ok
    [[ "$output" == "$native" ]] || fail "native:" "$native" "vm:" "$output"
}

@test "vm: differential — capabilities, no_new_privs, rlimits, umask, seccomp, masked and read-only paths, the session keyring apply in the guest as on the host" {
    # The guest agent applies the process with berth's own process library: the same results.
    # /proc/keys unmasked: the workload sees its session keyring, _ses.<its container id> (CID).
    cfg '.process.capabilities = {bounding: ["CAP_CHOWN", "CAP_KILL"], effective: ["CAP_CHOWN"], permitted: ["CAP_CHOWN"]}
         | .process.noNewPrivileges = true | .process.user.umask = 63
         | .process.rlimits = [{type: "RLIMIT_NOFILE", soft: 321, hard: 321}]
         | .linux.maskedPaths -= ["/proc/keys"]
         | .linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW",
                             syscalls: [{names: ["mkdir", "mkdirat"], action: "SCMP_ACT_ERRNO", errnoRet: 1}]}'
    set_args sh -c 'grep -E "^(CapEff|CapPrm|CapBnd|NoNewPrivs|Seccomp):" /proc/self/status; ulimit -n; umask
                    mkdir /dev/shm/x 2>&1 || echo mkdir-refused
                    echo "timer_list: $(wc -c </proc/timer_list)"
                    echo 1 2>&1 >/proc/sys/kernel/ns_last_pid | grep -o "Read-only file system"
                    grep -q " _ses\.$CID: " /proc/keys && echo own-session-keyring'
    cfg 'del(.annotations) | .process.env += ["CID='"$ID"'"]'
    run_fg "$ID"
    assert_ok
    local native="$output" vm_id
    grep -q "mkdir-refused" <<<"$native" || fail "the profile did not apply natively:" "$native"
    grep -Eq "^CapEff:\s+0+1$" <<<"$native" || fail "capabilities natively:" "$native"
    grep -qx "timer_list: 0" <<<"$native" || fail "masked paths natively:" "$native"
    grep -qx "Read-only file system" <<<"$native" || fail "read-only paths natively:" "$native"
    grep -qx "own-session-keyring" <<<"$native" || fail "session keyring natively:" "$native"
    vm_id="$(new_id)"
    cfg '.annotations["run.oci.handler"] = "vm" | .process.env |= map(select(startswith("CID=") | not)) + ["CID='"$vm_id"'"]'
    run_fg "$vm_id"
    assert_ok
    [[ "$output" == "$native" ]] || fail "native:" "$native" "vm:" "$output"
}

@test "vm: prestart, createRuntime, poststart and poststop hooks run on the host with the state; createContainer is refused" {
    local phase hooks='{}'
    for phase in prestart createRuntime poststart poststop; do
        hooks="$(jq -c --arg p "$phase" --arg f "$TEST_DIR/$phase.json" \
            '.[$p] = [{path: "/bin/sh", args: ["sh", "-c", ("cat > " + $f)]}]' <<<"$hooks")"
    done
    cfg '.hooks = $h' --argjson h "$hooks"
    set_args sh -c 'echo ran'
    run_fg "$ID"
    assert_ok
    [[ "$output" == ran ]] || fail "output: $output"
    for phase in prestart createRuntime poststart poststop; do
        [[ -s "$TEST_DIR/$phase.json" ]] || fail "$phase did not run"
        [[ "$(jq -r .id "$TEST_DIR/$phase.json")" == "$ID" ]] || fail "$phase state: $(cat "$TEST_DIR/$phase.json")"
    done
    [[ "$(jq -r .status "$TEST_DIR/createRuntime.json")" == creating ]] || fail "createRuntime: $(cat "$TEST_DIR/createRuntime.json")"
    [[ "$(jq -r .pid "$TEST_DIR/prestart.json")" -gt 0 ]] || fail "prestart pid: $(cat "$TEST_DIR/prestart.json")"
    [[ "$(jq -r .status "$TEST_DIR/poststop.json")" == stopped ]] || fail "poststop: $(cat "$TEST_DIR/poststop.json")"
    cfg '.hooks = {createContainer: [{path: "/bin/true"}]}'
    run_fg "$(new_id)"
    assert_berth_error 'hooks.createContainer: not supported by the "vm" handler'
    [[ -z "$(root_entries)" ]] || fail "left under --root: $(root_entries)"
}

@test "vm: a seccomp profile with SCMP_ACT_NOTIFY is refused before anything starts" {
    cfg '.linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW", listenerPath: "/tmp/nowhere.sock",
                           syscalls: [{names: ["mkdir"], action: "SCMP_ACT_NOTIFY"}]}'
    run_fg "$ID"
    assert_berth_error 'SCMP_ACT_NOTIFY is not supported by the "vm" handler$'
    [[ -z "$(root_entries)" ]] || fail "left under --root: $(root_entries)"
}

@test "vm: the VMM killed mid-run — state says stopped, run reports it, delete cleans everything" {
    set_args sh -c 'echo ready; exec sleep 1000'
    mounts_snapshot
    run_d "$ID"
    wait_file "$TEST_DIR/$ID.log" '^ready$'
    kill -9 "$(vmm_pid "$ID")"
    wait_status "$ID" stopped
    wait_file "$TEST_DIR/$ID.log" 'VM stopped before the workload exited'
    rb delete "$ID"
    assert_ok
    assert_no_leftovers "$ID"
}

@test "vm: the shim (the container's pid) killed — its VMM dies with it, delete cleans everything" {
    set_args sh -c 'echo ready; exec sleep 1000'
    mounts_snapshot
    run_d "$ID"
    wait_file "$TEST_DIR/$ID.log" '^ready$'
    local vmm
    vmm="$(vmm_pid "$ID")"
    kill -9 "$(ctr_pid "$ID")"
    wait_status "$ID" stopped
    wait_for 40 eval '! pid_alive "$vmm"' || fail "VMM $vmm outlived its shim"
    rb delete "$ID"
    assert_ok
    assert_no_leftovers "$ID"
}

@test "vm: the rootfs mode by default — the initramfs for a small tree (hard links stored once, its size added to RAM), a disk image past 32 MiB" {
    set_args sh -c 'echo ready; exec sleep 1000'
    # 300 hard links to busybox (as in registry images): one copy in the cpio, not 300 (a 600 MB
    # initrd QEMU refused with "initrd is too large" — issue 15).
    local i
    for ((i = 0; i < 300; i++)); do ln "$BUNDLE/rootfs/bin/busybox" "$BUNDLE/rootfs/bin/hl$i"; done
    run_d "$ID"
    wait_file "$TEST_DIR/$ID.log" '^ready$'
    [[ -f "$ROOT/$ID/initrd.cpio" && ! -e "$ROOT/$ID/rootfs.ext4" ]] || fail "small tree: $(ls "$ROOT/$ID")"
    (( $(stat -c %s "$ROOT/$ID/initrd.cpio") < 64 << 20 )) || fail "initrd: $(stat -c %s "$ROOT/$ID/initrd.cpio") bytes"
    rm -f "$BUNDLE"/rootfs/bin/hl*
    rb delete -f "$ID"
    assert_ok
    truncate -s 40M "$BUNDLE/rootfs/big"  # sparse: the apparent size decides
    local id2
    id2="$(new_id)"
    run_d "$id2"
    wait_file "$TEST_DIR/$id2.log" '^ready$'
    [[ -f "$ROOT/$id2/rootfs.ext4" && ! -e "$ROOT/$id2/initrd.cpio" ]] || fail "40 MiB tree: $(ls "$ROOT/$id2")"
    rb delete -f "$id2"
    assert_ok
    cfg '.annotations["org.berth.vm.rootfs"] = "floppy"'
    run_fg "$(new_id)"
    assert_berth_error 'org.berth.vm.rootfs="floppy": expected auto, block or initramfs$'
}

@test "vm: rootfs in the initramfs (org.berth.vm.rootfs=initramfs), read-only, and stdin reaches the workload" {
    cfg '.annotations["org.berth.vm.rootfs"] = "initramfs"'
    set_args sh -c 'cat; echo "$(ls /bin/busybox)"; touch /x 2>&1 | grep -o "Read-only file system"'
    printf 'line-from-stdin\n' >"$TEST_DIR/in"
    status=0
    env BERTH_ITEST_TAG="$TAG" timeout -k 5 "$BERTH_TIMEOUT" "$BERTH" --root "$ROOT" run -b "$BUNDLE" "$ID" \
        <"$TEST_DIR/in" >"$TEST_DIR/out" 2>"$TEST_DIR/err" || status=$?
    [[ "$status" -eq 0 ]] || fail "status $status: $(cat "$TEST_DIR/err")"
    [[ "$(cat "$TEST_DIR/out")" == $'line-from-stdin\n/bin/busybox\nRead-only file system' ]] || fail "stdout: $(cat "$TEST_DIR/out")"
}

@test "vm: bind mounts over 9p with the rootfs on an ext4 disk — a dir written both ways, a ro file over a symlink, noexec/nosuid/noatime, a destination made in the guest" {
    # A spec with binds boots the generic kernel, whose ext4 is a module (with crc32c).
    mkdir -p "$TEST_DIR/share" "$TEST_DIR/conf"
    echo host-file >"$TEST_DIR/share/in"
    echo "nameserver 192.0.2.53" >"$TEST_DIR/conf/resolv.conf"
    ln -sfn ../run/nowhere/resolv.conf "$BUNDLE/rootfs/etc/resolv.conf"
    printf '#!/bin/sh\necho ran\n' >"$TEST_DIR/share/run.sh"
    chmod +x "$TEST_DIR/share/run.sh"
    # The same directory a second time with noexec, nosuid, noatime and a propagation option:
    # the guest remounts that bind with them (mountinfo), and its script does not run.
    cfg '.annotations["org.berth.vm.rootfs"] = "block" | .mounts += [
        {destination: "/new/data", type: "bind", source: ($t + "/share"), options: ["rbind", "rw"]},
        {destination: "/new/noexec", type: "bind", source: ($t + "/share"), options: ["rbind", "noexec", "nosuid", "noatime", "rprivate"]},
        {destination: "/etc/resolv.conf", type: "bind", source: ($t + "/conf/resolv.conf"), options: ["bind", "ro"]}]' \
        --arg t "$TEST_DIR"
    set_args sh -c 'cat /new/data/in; echo guest-file >/new/data/out; cat /etc/resolv.conf
        (echo x >>/etc/resolv.conf) 2>&1 | grep -o "Read-only file system"; touch /x 2>&1 | grep -o "Read-only file system"
        /new/data/run.sh; /new/noexec/run.sh 2>&1 | grep -o "Permission denied"
        awk '"'"'$5 == "/new/noexec" { print $6 }'"'"' /proc/self/mountinfo | tr , "\n" | grep -x -e noexec -e nosuid -e noatime | sort | tr "\n" " "; echo'
    run_fg "$ID"
    assert_ok
    [[ "${lines[*]}" == "host-file nameserver 192.0.2.53 Read-only file system Read-only file system ran Permission denied noatime noexec nosuid " ]] ||
        fail "stdout: ${lines[*]}"
    [ "$(cat "$TEST_DIR/share/out")" = guest-file ] || fail "the guest's write is not on the host"
    [ "$(cat "$TEST_DIR/conf/resolv.conf")" = "nameserver 192.0.2.53" ] || fail "the ro file changed"
    [[ -z "$(root_entries)" ]] || fail "left under --root: $(root_entries)"
}

@test "vm: an unknown handler is refused before anything starts" {
    cfg '.annotations["run.oci.handler"] = "nosuch"'
    run_fg "$ID"
    assert_berth_error 'run.oci.handler="nosuch": no such handler in this berth$'
    [[ -z "$(root_entries)" ]] || fail "left under --root: $(root_entries)"
}

@test "vm: process.terminal — the master goes to --console-socket, the workload has a tty of consoleSize, input reaches it" {
    compile_recvtty
    RECVTTY_TIMEOUT=150 start_recvtty tty -i $'from-the-master\n'
    cfg '.process.terminal = true | .process.consoleSize = {height: 33, width: 111}'
    set_args sh -c 'tty; stty size; test -t 0 && test -t 1 && test -t 2 && echo all-ttys; read line; echo "got-$line"'
    mounts_snapshot
    run_d "$ID" --console-socket "$TEST_DIR/tty.sock"
    wait_recvtty tty
    grep -qx '/dev/pts/0' "$TEST_DIR/tty.txt" || fail "tty:" "$(cat "$TEST_DIR/tty.txt")"
    grep -qx '33 111' "$TEST_DIR/tty.txt" || fail "stty size:" "$(cat "$TEST_DIR/tty.txt")"
    grep -qx all-ttys "$TEST_DIR/tty.txt" || fail "stdio is not a tty:" "$(cat "$TEST_DIR/tty.txt")"
    grep -qx got-from-the-master "$TEST_DIR/tty.txt" || fail "input did not arrive:" "$(cat "$TEST_DIR/tty.txt")"
    wait_status "$ID" stopped
    rb delete "$ID"
    assert_ok
    assert_no_leftovers "$ID"
}

@test "vm: exec runs a process in the guest (output, exit status, errors, stdin, signals, -t and its size, a malformed request), pause/resume" {
    set_args sh -c 'echo ready; exec sleep 1000'
    cfg '.hostname = "vmexec" | .annotations["org.berth.vm.rootfs"] = "block"'
    run_d "$ID"
    wait_file "$TEST_DIR/$ID.log" '^ready$'
    # The guest's clock (/proc/uptime, on stderr) at two execs, each bracketed by the host's
    # clock, for the rate check below.
    local h1a h1b h2a h2b u1 u2
    h1a=$EPOCHREALTIME
    rb exec "$ID" sh -c 'echo "in-vm $(hostname) $(cat /proc/1/comm)"; echo to-err >&2; cat /proc/uptime >&2; exit 5'
    h1b=$EPOCHREALTIME
    assert_status 5
    u1="$(awk 'NF == 2 && $1 ~ /^[0-9.]+$/ { print $1 }' <<<"$stderr")"
    # The workload is PID 1 of the container's PID namespace, as on the namespaces path.
    [[ "$output" == "in-vm vmexec sleep" ]] || fail "exec stdout: $output"
    grep -qx "to-err" <<<"$stderr" || fail "exec stderr: $stderr"
    rb exec "$ID" /no/such/binary
    assert_status 127
    grep -q '"/no/such/binary".*no such file or directory' <<<"$stderr" || fail "exec stderr: $stderr"
    rb exec "$ID" /etc/passwd
    assert_status 126
    # --detach (conmon's and containerd's way): a host process stands for the guest process;
    # its pid is in the pid file and it exits with the process's code.
    rb exec -d --pid-file "$TEST_DIR/exec.pid" "$ID" sh -c 'sleep 0.5; echo detached >/dev/shm/d'
    assert_ok
    local proxy
    proxy="$(cat "$TEST_DIR/exec.pid")"
    [[ "$proxy" =~ ^[0-9]+$ ]] || fail "pid file: $proxy"
    wait_for 200 eval '! pid_alive "$proxy"' || fail "the exec proxy $proxy did not end"
    rb exec "$ID" cat /dev/shm/d
    assert_ok
    [[ "$output" == detached ]] || fail "the detached process did not run: $output"
    # A proxy killed (containerd kills an ExecSync's past its timeout so) takes its guest process
    # along; a signal for `berth exec` reaches the guest process (TERM: its trap, exit 3).
    rb exec -d --pid-file "$TEST_DIR/sleep.pid" "$ID" sleep 4711
    assert_ok
    kill -KILL "$(cat "$TEST_DIR/sleep.pid")"
    wait_for 200 eval '! "$BERTH" --root "$ROOT" exec "$ID" ps -o args | grep -q 4711' || fail "sleep 4711 outlived its proxy"
    env BERTH_ITEST_TAG="$TAG" "$BERTH" --root "$ROOT" exec "$ID" sh -c 'trap "echo got-term; exit 3" TERM; echo up
        while true; do sleep 0.1; done' </dev/null >"$TEST_DIR/term.out" 2>&1 3>&- &
    local ex=$! rc=0
    bg_register "$ex"
    wait_file "$TEST_DIR/term.out" '^up$'
    kill -TERM "$ex"
    wait "$ex" || rc=$?
    [[ "$rc" == 3 && "$(cat "$TEST_DIR/term.out")" == $'up\ngot-term' ]] || fail "exec and TERM: $rc" "$(cat "$TEST_DIR/term.out")"
    # A malformed request (a well-framed exec whose process is not JSON) straight to the shim's
    # control socket: an error reply and 127, and the guest keeps running.
    local reply
    reply="$(python3 - "$ROOT/$ID/vm.sock" 2>&1 <<'PY'
import socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1])
socket.send_fds(s, [b"X{not json"], [0, 1, 2])
print("code", struct.unpack("<i", s.recv(4))[0])
PY
)"
    grep -q "berth: vm: exec: guest config:" <<<"$reply" || fail "no error reply:" "$reply"
    grep -qx "code 127" <<<"$reply" || fail "reply code:" "$reply"
    [[ "$(ctr_status "$ID")" == running ]] || fail "status after a malformed request: $(ctr_status "$ID")"
    h2a=$EPOCHREALTIME
    rb exec "$ID" sh -c 'echo still-serving; cat /proc/uptime >&2'
    h2b=$EPOCHREALTIME
    assert_ok
    [[ "$output" == still-serving ]] || fail "exec after a malformed request: $output"
    # The guest's clock runs at the host's rate (the kernel is told the host's TSC rate; a wrong
    # one ran it 1.3x fast): its time between the two execs lies within the host's brackets of
    # them, less and plus 5% (uptime has 10 ms steps). No time is asserted, only that the two
    # clocks agree, whatever the load.
    u2="$(awk 'NF == 2 && $1 ~ /^[0-9.]+$/ { print $1 }' <<<"$stderr")"
    awk -v u1="$u1" -v u2="$u2" -v lo="$(awk -v a="$h1b" -v b="$h2a" 'BEGIN { print b - a }')" \
        -v hi="$(awk -v a="$h1a" -v b="$h2b" 'BEGIN { print b - a }')" \
        'BEGIN { g = u2 - u1; exit !(u1 != "" && u2 != "" && g >= lo * 0.95 - 0.03 && g <= hi * 1.05 + 0.03) }' ||
        fail "the guest's clock advanced ${u1:-?} -> ${u2:-?} s while the host's advanced $h1a..$h1b -> $h2a..$h2b"
    # stdin reaches an exec'd process (to EOF).
    local got
    got="$(printf 'line-1\nline-2\n' | "$BERTH" --root "$ROOT" exec "$ID" sh -c 'while read l; do echo "got-$l"; done; echo eof')"
    [[ "$got" == $'got-line-1\ngot-line-2\neof' ]] || fail "exec stdin:" "$got"
    # exec -t: a pty in the guest, the master at --console-socket, input through it, echoed once
    # (by the guest's pty: the host's is raw before its master goes out), no leading NUL.
    compile_recvtty
    RECVTTY_TIMEOUT=60 start_recvtty etty -i $'typed\n'
    rb exec -t --console-socket "$TEST_DIR/etty.sock" "$ID" sh -c 'read l; echo "exec-got-$l"'
    assert_ok
    wait_recvtty etty
    printf 'typed\r\nexec-got-typed\r\n' | cmp -s - "$TEST_DIR/etty.out" || fail "exec -t bytes:" "$(od -c "$TEST_DIR/etty.out")"
    # ... its size: consoleSize at first, then the master's (SIGWINCH in the guest).
    check_exec_tty rb "$ID" "$BUNDLE/config.json"
    # ... and through berth's own relay on a terminal holding an EOF typed while canonical
    # (script(1) types one when its input ends): it was read as a NUL once raw, echoed as "^@".
    env BERTH_ITEST_TAG="$TAG" timeout 60 python3 "$BATS_TEST_DIRNAME/../integration/tools/tty_eof.py" \
        "$BERTH" --root "$ROOT" exec -t "$ID" echo relayed >"$TEST_DIR/relay.out"
    printf 'relayed\r\n' | cmp -s - "$TEST_DIR/relay.out" || fail "exec -t relayed:" "$(od -c "$TEST_DIR/relay.out")"
    # pause stops the whole machine (the VMM's threads), resume continues it.
    local vmm
    vmm="$(vmm_pid "$ID")"
    rb pause "$ID"
    assert_ok
    [[ "$(ctr_status "$ID")" == paused ]] || fail "status after pause: $(ctr_status "$ID")"
    grep -q '^State:.*T (stopped)' "/proc/$vmm/status" || fail "VMM not stopped: $(grep ^State: "/proc/$vmm/status")"
    rb resume "$ID"
    assert_ok
    [[ "$(ctr_status "$ID")" == running ]] || fail "status after resume: $(ctr_status "$ID")"
    rb exec "$ID" echo after-resume
    assert_ok
    [[ "$output" == after-resume ]] || fail "exec after resume: $output"
    rb delete -f "$ID"
    assert_ok
    assert_no_leftovers "$ID"
}

@test "vm: host network (no network namespace in the spec) — one warning line, the guest has lo only" {
    cfg 'del(.linux.namespaces[] | select(.type == "network"))'
    set_args sh -c 'ls /sys/class/net; cat /sys/class/net/lo/operstate'
    run_fg "$ID"
    assert_ok
    [[ "$output" == $'lo\nunknown' ]] || fail "interfaces: $output"
    [[ "$(grep -c "shares the host's network namespace.*gets no network interface, only lo" <<<"$stderr")" == 1 ]] ||
        fail "warning: $stderr"
}

@test "vm: a netns path that is not a netns, or a VMM failing once the tap is made, leaves no tap, filter, QEMU or state dir" {
    touch "$TEST_DIR/not-a-netns"
    cfg '.linux.namespaces |= map(if .type == "network" then .path = $p else . end)' --arg p "$TEST_DIR/not-a-netns"
    run_fg "$ID"
    assert_berth_error "^berth: vm: network namespace path $TEST_DIR/not-a-netns is not a namespace file$"
    [[ -z "$(root_entries)" ]] || fail "left under --root: $(root_entries)"
    make_netns a 10.199.0.5/24
    cfg '.linux.namespaces |= map(if .type == "network" then .path = $p else . end)' --arg p "$TEST_DIR/netns-a"
    # A QEMU that fails at once, after berth made the tap and the filters for it.
    mkdir -p "$TEST_DIR/bin"
    printf '#!/bin/sh\necho "qemu-system-x86_64: fake VMM failure" >&2\nexit 1\n' >"$TEST_DIR/bin/qemu-system-x86_64"
    chmod +x "$TEST_DIR/bin/qemu-system-x86_64"
    mounts_snapshot
    PATH="$TEST_DIR/bin:$PATH" BERTH_VM_ACCEL=tcg run_fg "$(new_id)"
    assert_status 1
    # The TCG warning, then the one error line.
    [[ "$(grep -v '^berth: warning: ' <<<"$stderr")" == \
        "berth: vm: the VM stopped while booting [vmm.log: qemu-system-x86_64: fake VMM failure]: Input/output error" ]] ||
        fail "stderr: $stderr"
    [[ -z "$(root_entries)" ]] || fail "left under --root: $(root_entries)"
    local links qdiscs
    links="$(nsenter --net="$TEST_DIR/netns-a" ip -o link show)"
    qdiscs="$(nsenter --net="$TEST_DIR/netns-a" tc qdisc show)"
    ! grep -q berth-tap <<<"$links" || fail "tap left: $links"
    ! grep -q ingress <<<"$qdiscs" || fail "filters left: $qdiscs"
}

@test "vm: a bind mount of a missing host path — one error line, nothing left (no VMM, socket or state dir)" {
    cfg '.mounts += [{destination: "/data", type: "bind", source: $src, options: ["rbind"]}]' --arg src "$TEST_DIR/no-such-dir"
    run_fg "$ID"
    assert_berth_error "bind mount source $TEST_DIR/no-such-dir \\(for /data\\): No such file or directory\$"
    [[ -z "$(root_entries)" ]] || fail "left under --root: $(root_entries)"
    ! pgrep -f -- "$TEST_DIR/no-such-dir" >/dev/null || fail "a process naming the share is left"
}
