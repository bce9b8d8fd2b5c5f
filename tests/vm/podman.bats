#!/usr/bin/env bats
# Acceptance on the VM path (ctest label vm): a real podman + conmon drive `berth-vm` (the name
# selects the micro-VM handler, as a RuntimeClass would) exactly as they drive runc, and see what
# they see with runc: output, exit status (the container's pid is the shim, which exits with the
# workload's), exec, stop with its SIGKILL fallback, the terminal through conmon's console socket.
# The guest kernel answering `uname -r` proves the workload ran in the VM.
#
# Networking runs podman inside a network namespace of this file's own (pm_net), where netavark
# makes its bridge and iptables rules: nothing lands on the host's interfaces.
# Bind mounts (-v, podman's /etc/hosts, resolv.conf, hostname, .containerenv) reach the guest over
# virtio-9p, so every podman container boots the generic kernel (scripts/setup.sh extracts it).
#
# podman top reads /proc in the shim's mount namespace, where the shim serves the guest
# container's /proc (vm/proc_view.hpp). Not covered because podman does not ask the runtime for
# it (see docs/vm.md): stats (podman reads the host cgroup of the shim and QEMU).

bats_require_minimum_version 1.5.0

load ../lib/podman

setup_file() {
    BERTH="${BERTH:-${BERTH_BUILD_DIR:-$BATS_TEST_DIRNAME/../../build}/cli/berth}"
    BERTH="$(dirname "$BERTH")/berth-vm"
    export BERTH
    podman_setup_file
    [[ -n "$E2E_SKIP" ]] && return 0
    command -v qemu-system-x86_64 >/dev/null || export E2E_SKIP="qemu-system-x86 is not installed"
    ls /boot/vmlinuz-*-cloud-amd64 >/dev/null 2>&1 || export E2E_SKIP="linux-image-cloud-amd64 is not installed"
    ls "${BERTH_VM_KERNELS:-/var/cache/berth/vm/kernels}"/*/vmlinux >/dev/null 2>&1 ||
        export E2E_SKIP="the VM's generic kernel (9p) is not extracted (run scripts/setup.sh)"
}
teardown_file() { podman_teardown_file; }
setup() { podman_setup; }
teardown() {
    # Networked containers are removed where their network was made (netavark tears down there).
    [[ -n "${E2E_DIR:-}" && -e "$E2E_DIR/netns" ]] && pm_net rm -af -t 0 >/dev/null 2>&1
    podman_teardown
}

# pm_net [--runtime R] ARGS...: pm inside this file's network namespace (made on first use; the
# cleanup unmounts it with the rest of E2E_DIR).
pm_net() {
    local rt="$RUNTIME"
    if [[ "$1" == --runtime ]]; then
        rt="$2"
        shift 2
    fi
    if [[ ! -e "$E2E_DIR/netns" ]]; then
        touch "$E2E_DIR/netns"
        unshare --net="$E2E_DIR/netns" ip link set lo up
    fi
    timeout --kill-after=10 120 nsenter --net="$E2E_DIR/netns" podman --runtime "$rt" --cgroup-manager cgroupfs \
        --events-backend file "$@"
}

# in_net ARGS...: a command in that network namespace (the "host" podman's ports are on).
in_net() {
    nsenter --net="$E2E_DIR/netns" "$@"
}

# fetch URL: the page, retried while the guest boots (up to 120 s).
fetch() {
    local i
    for ((i = 0; i < 120; i++)); do
        in_net curl -sf --max-time 3 "$1" && return 0
        sleep 1
    done
    echo "no answer from $1"
    return 1
}

@test "podman + berth-vm: the workload runs in the guest kernel and its output reaches podman" {
    run pm run --rm --network none "$IMAGE" uname -r
    expect_status 0
    [[ "$output" == *-amd64 ]] || { echo "not the guest kernel: $output"; false; }
    [[ "$output" != "$(uname -r)" ]]
}

@test "podman + berth-vm: exit statuses — the workload's code, 127 not found, 126 not executable" {
    run pm run --rm --network none "$IMAGE" sh -c 'exit 3'
    expect_status 3
    run pm run --rm --network none "$IMAGE" /no/such/binary
    expect_status 127
    run pm run --rm --network none "$IMAGE" /etc/passwd
    expect_status 126
}

@test "podman + berth-vm: run -d, exec (in the workload's PID namespace), update, stop (SIGTERM), rm" {
    run pm run -d --name vm-detached --network none "$IMAGE" \
        sh -c 'trap "exit 0" TERM; while :; do sleep 0.1; done'
    expect_status 0
    [ "$(container_state vm-detached)" = "running" ]

    run pm exec vm-detached sh -c 'echo exec-ok; cat /proc/1/cmdline | tr "\0" " "'
    expect_status 0
    [ "${lines[0]}" = "exec-ok" ]
    [[ "${lines[1]}" == "sh -c trap"* ]] || { echo "PID 1 is: ${lines[1]}"; false; }
    run pm exec vm-detached sh -c 'exit 5'
    expect_status 5
    # podman top reads /proc in the mount namespace of the container's pid — the shim's, where
    # the shim serves the guest container's own /proc (vm/proc_view.hpp): its processes with the
    # pids of its PID namespace, and none of the host's.
    run pm top vm-detached
    expect_status 0
    [[ "${lines[0]}" == USER*PID*PPID*COMMAND* ]] || { echo "podman top: $output"; false; }
    grep -qE '^root +1 +0 .*sh -c trap' <<<"$output" || { echo "podman top: $output"; false; }
    if grep -qE 'conmon|berth-vm-shim|qemu|bats|podman' <<<"$output"; then
        echo "podman top shows host processes: $output"
        false
    fi
    run pm top vm-detached pid ppid comm
    expect_status 0
    grep -qE '^1 +0 +sh$' <<<"$output" || { echo "podman top pid ppid comm: $output"; false; }
    # podman cp joins the same namespace and reads the container's rootfs mount there: the shim
    # keeps that mount (it detaches the host's others).
    run pm cp vm-detached:/etc/passwd "$E2E_DIR/passwd.out"
    expect_status 0
    grep -q '^root:' "$E2E_DIR/passwd.out"
    # podman update goes through `berth-vm update`: the limit lands in the guest's cgroup, and
    # the balloon takes the guest's RAM down with it (no limit at create: 256 MiB and more).
    local total0
    run pm exec vm-detached awk '/^MemTotal:/ {print $2}' /proc/meminfo
    expect_status 0
    total0="$output"
    run pm update --memory 64m vm-detached
    expect_status 0
    run pm exec vm-detached sh -c 'cat /sys/fs/cgroup/memory.max; awk "/^MemTotal:/ {print \$2}" /proc/meminfo'
    expect_status 0
    [ "${lines[0]}" = "67108864" ] || { echo "memory.max in the guest: $output"; false; }
    (( lines[1] < total0 - 64 * 1024 )) || { echo "guest MemTotal after podman update --memory 64m: $total0 -> ${lines[1]} kB"; false; }

    run pm stop -t 30 vm-detached
    expect_status 0
    [ "$(container_state vm-detached)" = "exited" ]
    [ "$(pm inspect --format '{{.State.ExitCode}}' vm-detached)" = "0" ]
    run pm rm vm-detached
    expect_status 0
    run pm ps -a --format '{{.Names}}'
    [[ "$output" != *vm-detached* ]]
}

@test "podman + berth-vm: stop falls back to SIGKILL when the workload ignores SIGTERM (137)" {
    run pm run -d --name vm-stubborn --network none "$IMAGE" sleep 1000
    expect_status 0
    run pm stop -t 2 vm-stubborn
    expect_status 0
    [ "$(pm inspect --format '{{.State.ExitCode}}' vm-stubborn)" = "137" ]
}

@test "podman + berth-vm: run -it — the terminal comes through conmon's console socket" {
    run pm_tty "run -it --rm --network none $IMAGE sh -c 'tty; echo ok'"
    expect_status 0
    [[ "$output" =~ /dev/pts/[0-9]+ ]]
    [[ "$output" == *ok* ]]
}

@test "podman + berth-vm: exec -it — a terminal in the guest for an exec'd process" {
    run pm run -d --name vm-exec-tty --network none "$IMAGE" sleep 1000
    expect_status 0
    run pm_tty "exec -it vm-exec-tty sh -c 'tty; echo ok'"
    expect_status 0
    [[ "$output" =~ /dev/pts/[0-9]+ ]]
    [[ "$output" == *ok* ]]
    # podman's terminal size reaches the guest's pty (conmon sizes the master it got, maybe
    # after the process started: it waits up to 10 s for it).
    run timeout --kill-after=10 120 script -qec "stty rows 44 cols 99; podman --runtime '$RUNTIME' --cgroup-manager cgroupfs \
        --events-backend file exec -it vm-exec-tty sh -c 'i=0; while [ \"\$(stty size)\" != \"44 99\" ] && [ \$i -lt 100 ]; do
        sleep 0.1; i=\$((i+1)); done; stty size'" /dev/null 0<>"$E2E_DIR/tty-stdin"
    expect_status 0
    [[ "$output" == *"44 99"* ]] || { echo "stty size in the guest: $output"; false; }
    run pm exec -i vm-exec-tty sh -c 'read l; echo "in-$l"' <<<"piped"
    expect_status 0
    [ "$output" = "in-piped" ]
}

@test "podman + berth-vm: pause / unpause stop and continue the VM" {
    run pm run -d --name vm-pause --network none "$IMAGE" sleep 1000
    expect_status 0
    run pm pause vm-pause
    expect_status 0
    [ "$(container_state vm-pause)" = "paused" ]
    run pm unpause vm-pause
    expect_status 0
    [ "$(container_state vm-pause)" = "running" ]
    run pm exec vm-pause echo alive
    expect_status 0
    [ "$output" = "alive" ]
}

@test "podman + berth-vm: user, environment, working directory, hostname" {
    run pm run --rm --network none --user 1000:1000 -e E2E_VAR=vm-value -w /tmp \
        --hostname vm-host "$IMAGE" sh -c 'id -u; id -g; echo "$E2E_VAR"; pwd; hostname'
    expect_status 0
    [ "$output" = $'1000\n1000\nvm-value\n/tmp\nvm-host' ]
}

@test "podman + berth-vm: podman's capabilities and seccomp profile apply inside the guest" {
    run pm run --rm --network none "$IMAGE" grep -E '^(CapEff|CapBnd|Seccomp):' /proc/self/status
    expect_status 0
    # podman 4.3's default capability set (CHOWN DAC_OVERRIDE FOWNER FSETID KILL NET_BIND_SERVICE
    # SETFCAP SETGID SETPCAP SETUID SYS_CHROOT NET_RAW MKNOD AUDIT_WRITE), and its profile as a
    # seccomp filter (mode 2).
    [[ "$output" == *$'CapEff:\t00000000a80425fb'* ]] || { echo "$output"; false; }
    [[ "$output" == *$'CapBnd:\t00000000a80425fb'* ]] || { echo "$output"; false; }
    [[ "$output" == *$'Seccomp:\t2'* ]] || { echo "$output"; false; }
    run pm run --rm --network none --security-opt seccomp=unconfined --cap-add SYS_ADMIN "$IMAGE" \
        grep -E '^(CapEff|Seccomp):' /proc/self/status
    expect_status 0
    [[ "$output" == *$'CapEff:\t00000000a82425fb'* ]] || { echo "$output"; false; }
    [[ "$output" == *$'Seccomp:\t0'* ]] || { echo "$output"; false; }
}

@test "podman + berth-vm: default bridge network — the guest has the container's IP, serves -p, reaches another container" {
    # A native (namespaces path) container serving a page, on podman's default network.
    run pm_net --runtime "$(dirname "$BERTH")/berth" run -d --name vm-net-srv "$IMAGE" \
        sh -c 'mkdir -p /tmp/w && echo from-native > /tmp/w/index.html && exec httpd -f -p 8080 -h /tmp/w'
    expect_status 0
    local srv_ip
    srv_ip="$(pm_net inspect --format '{{.NetworkSettings.IPAddress}}' vm-net-srv)"
    [[ "$srv_ip" == 10.88.* ]] || { echo "server IP: $srv_ip"; false; }
    # The VM fetches that page by IP, then serves it with its own address on port 80, published.
    # (busybox 1.35's wget -T crashes: timeout(1) bounds it instead.)
    run pm_net run -d --name vm-net-web -p 127.0.0.1:18080:80 "$IMAGE" sh -c "mkdir -p /tmp/w
        timeout 20 wget -q -O /tmp/w/index.html http://$srv_ip:8080/ || echo wget-failed >/tmp/w/index.html
        ip -o -4 addr show eth0 >>/tmp/w/index.html; uname -r >>/tmp/w/index.html
        exec httpd -f -p 80 -h /tmp/w"
    expect_status 0
    local ip id
    ip="$(pm_net inspect --format '{{.NetworkSettings.IPAddress}}' vm-net-web)"
    id="$(pm_net inspect --format '{{.Id}}' vm-net-web)"
    run fetch "http://$ip/"
    expect_status 0
    [ "${lines[0]}" = from-native ] || { echo "$output"; false; }
    [[ "${lines[1]}" == *"eth0"*"inet $ip/16"* ]] || { echo "$output"; false; }
    [[ "${lines[2]}" == *-amd64 ]] || { echo "not the guest kernel: $output"; false; }
    run in_net curl -sf --max-time 10 http://127.0.0.1:18080/
    expect_status 0
    [ "${lines[0]}" = from-native ] || { echo "through -p: $output"; false; }
    run pm_net rm -f -t 0 vm-net-web vm-net-srv
    expect_status 0
    ! pgrep -f "qemu-system.*$id" || { echo "QEMU of $id left"; false; }
}

@test "podman + berth-vm: a pod is one VM — the infra container boots it, members join it, -p reaches them" {
    # podman 4.3 annotates the members (CRI-O's SandboxID = the infra container), not the infra
    # container: berth knows that one by its cgroup inside the pod's (vm/pod.hpp).
    run pm_net pod create --name vm-pod -p 127.0.0.1:18081:80
    expect_status 0
    run pm_net run -d --pod vm-pod --name vm-pod-web "$IMAGE" sh -c "mkdir -p /tmp/w
        echo from-pod >/tmp/w/index.html; exec httpd -f -p 80 -h /tmp/w"
    expect_status 0
    local infra web
    infra="$(pm_net pod inspect --format '{{.InfraContainerID}}' vm-pod)"
    web="$(pm_net inspect --format '{{.Id}}' vm-pod-web)"
    [ "$(pgrep -fc "qemu-system.*$infra")" = 1 ] || { pgrep -fa qemu-system; false; }
    ! pgrep -f "qemu-system.*$web" || { echo "the member booted a VM of its own"; false; }
    # A second member reaches the first on localhost (one network namespace: the guest's).
    run pm_net run --rm --pod vm-pod "$IMAGE" sh -c 'timeout 20 wget -q -O - http://127.0.0.1/'
    expect_status 0
    [ "$output" = from-pod ] || { echo "member to member: $output"; false; }
    run fetch http://127.0.0.1:18081/
    expect_status 0
    [ "$output" = from-pod ] || { echo "through the pod's -p: $output"; false; }
    # podman top of a member: its own processes in the guest (its shim serves its /proc), not the
    # infra container's or the host's.
    run pm_net top vm-pod-web pid comm
    expect_status 0
    grep -qE '^1 +httpd$' <<<"$output" || { echo "podman top of a member: $output"; false; }
    if grep -qE 'catatonit|conmon|qemu|shim' <<<"$output"; then echo "podman top of a member: $output"; false; fi
    # Killing a member leaves the pod's VM running; removing the pod stops it.
    run pm_net kill vm-pod-web
    expect_status 0
    run pm_net wait vm-pod-web
    [ "$(pm_net inspect --format '{{.State.Status}}' "$infra")" = running ]
    [ "$(pgrep -fc "qemu-system.*$infra")" = 1 ]
    run pm_net pod rm -f -t 0 vm-pod
    expect_status 0
    ! pgrep -f "qemu-system.*$infra" || { echo "QEMU of the pod left"; false; }
}

@test "podman + berth-vm: -v host directories — written from both sides while it runs, :ro refused, podman's /etc/hosts and resolv.conf" {
    local rw="$E2E_DIR/vol-rw" ro="$E2E_DIR/vol-ro" i
    mkdir -p "$rw" "$ro"
    echo from-host-before >"$rw/before"
    echo ro-content >"$ro/f"
    # --network host: podman then writes a resolv.conf too (none has only /etc/hosts); the guest
    # gets no NIC either way.
    run pm run -d --name vm-vol --network host -v "$rw:/data" -v "$ro:/ro:ro" "$IMAGE" sh -c '
        cat /data/before; echo from-guest >/data/guest
        if ( echo x >/ro/new ) 2>/dev/null; then echo ro-WRITABLE; else echo ro-refused; fi
        cat /ro/f; cat /etc/hosts >/data/hosts.seen; cat /etc/resolv.conf >/data/resolv.seen
        while [ ! -f /data/later ]; do sleep 0.1; done; cat /data/later'
    expect_status 0
    for ((i = 0; i < 1200; i++)); do [[ -s "$rw/guest" ]] && break; sleep 0.1; done
    [ "$(cat "$rw/guest")" = from-guest ]
    [ "$(stat -c %u:%g "$rw/guest")" = 0:0 ]  # passthrough: the guest's owner on the host
    echo from-host-later >"$rw/later"
    run pm wait vm-vol
    expect_status 0
    [ "$output" = 0 ]
    run pm logs vm-vol
    [[ "$output" == *from-host-before*ro-refused*ro-content*from-host-later* ]] || { echo "logs: $output"; false; }
    [ ! -e "$ro/new" ]
    local hosts resolv
    hosts="$(pm inspect --format '{{.HostsPath}}' vm-vol)"
    resolv="$(pm inspect --format '{{.ResolvConfPath}}' vm-vol)"
    [[ -s "$hosts" && -s "$resolv" ]] || { echo "podman made no hosts/resolv.conf: '$hosts' '$resolv'"; false; }
    cmp "$hosts" "$rw/hosts.seen"
    cmp "$resolv" "$rw/resolv.seen"
    pm rm vm-vol
}
