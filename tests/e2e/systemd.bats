#!/usr/bin/env bats
# The systemd cgroup driver against a real systemd: these machines do not boot systemd, so a
# Debian bookworm rootfs (debootstrapped once by tests/lib/make-systemd-rootfs.sh, cached under
# /var/cache/berth-tests, used through an overlay mount) runs as a berth container with systemd as PID 1 in its own cgroup, pid,
# mount, uts, ipc and network namespaces, /sys/fs/cgroup mounted read-write inside its cgroup
# namespace (the host's v1 hierarchies plus name=systemd). Inside it, berth itself (the built
# binary, bind-mounted read-only) runs busybox containers with --systemd-cgroup, and the host's
# containerd (its binaries and runc bind-mounted read-only) runs pods through its CRI plugin with
# `SystemdCgroup = true`, driven from the host by tests/tools/cri/cri_systemd.py.
#
# One systemd container serves the whole file (booted in setup_file, removed in teardown_file).
# Only a missing prerequisite skips (reason printed); a systemd that does not boot is a failure.

bats_require_minimum_version 1.5.0

if [[ -z "${BERTH:-}" ]]; then
    BERTH="${BERTH_BUILD_DIR:-$BATS_TEST_DIRNAME/../../build}/cli/berth"
fi
SRC="${BERTH_SOURCE_DIR:-$BATS_TEST_DIRNAME/../..}"

# Capability names by bit number, for "every capability this host grants" (not all hosts grant
# CAP_SYS_RESOURCE, and asking for a missing one fails).
CAP_NAMES=(CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID SETPCAP
    LINUX_IMMUTABLE NET_BIND_SERVICE NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK IPC_OWNER SYS_MODULE
    SYS_RAWIO SYS_CHROOT SYS_PTRACE SYS_PACCT SYS_ADMIN SYS_BOOT SYS_NICE SYS_RESOURCE SYS_TIME
    SYS_TTY_CONFIG MKNOD LEASE AUDIT_WRITE AUDIT_CONTROL SETFCAP MAC_OVERRIDE MAC_ADMIN SYSLOG
    WAKE_ALARM BLOCK_SUSPEND AUDIT_READ PERFMON BPF CHECKPOINT_RESTORE)

host_caps_json() {
    local bnd i out=()
    bnd=$((16#$(awk '/^CapBnd:/ { print $2 }' /proc/self/status)))
    for i in "${!CAP_NAMES[@]}"; do
        ((bnd >> i & 1)) && out+=("CAP_${CAP_NAMES[$i]}")
    done
    printf '%s\n' "${out[@]}" | jq -R . | jq -sc .
}

# host_mounts_json ROOTFS: read-only bind mounts of the shared libraries the built berth loads
# that ROOTFS lacks (a sanitizer build's libasan and libubsan), and a sanitizer build's report
# directory (read-write), each at its host path, so that berth runs and reports inside too.
host_mounts_json() {
    local lib logs="${BERTH_BUILD_DIR:-}/sanitizer-logs"
    {
        while read -r lib; do
            [[ -e "$1$lib" ]] || jq -n --arg p "$lib" \
                '{destination: $p, type: "bind", source: $p, options: ["bind", "ro"]}'
        done < <(ldd "$BERTH" | awk '$3 ~ /^\// { print $3 }')
        if [[ -n "${BERTH_BUILD_DIR:-}" && -d "$logs" ]]; then
            jq -n --arg p "$logs" '{destination: $p, type: "bind", source: $p, options: ["bind", "rw"]}'
        fi
    } | jq -sc .
}

# systemd_config DIR: config.json for systemd as PID 1 (container=berth, as systemd expects).
systemd_config() {
    local caps host_mounts
    caps="$(host_caps_json)"
    host_mounts="$(host_mounts_json "$1/rootfs")"
    jq -n --argjson caps "$caps" --argjson host_mounts "$host_mounts" --arg bin "$(dirname "$BERTH")" \
        --arg b "$SD_DIR/bundles" '{
      ociVersion: "1.0.2",
      process: {terminal: false, user: {uid: 0, gid: 0}, args: ["/sbin/init"], cwd: "/",
        env: ["container=berth", "PATH=/opt/berth:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
        capabilities: {bounding: $caps, effective: $caps, permitted: $caps}, noNewPrivileges: false},
      root: {path: "rootfs", readonly: false},
      hostname: "berth-systemd",
      mounts: ([
        {destination: "/proc", type: "proc", source: "proc"},
        {destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {destination: "/dev/pts", type: "devpts", source: "devpts",
         options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
        {destination: "/dev/shm", type: "tmpfs", source: "shm", options: ["nosuid", "noexec", "nodev", "mode=1777"]},
        {destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"]},
        {destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"]},
        {destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup", options: ["nosuid", "noexec", "nodev", "rw"]},
        {destination: "/run", type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", "mode=755"]},
        {destination: "/run/lock", type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", "noexec"]},
        {destination: "/tmp", type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev"]},
        {destination: "/opt/berth", type: "bind", source: $bin, options: ["rbind", "ro"]},
        {destination: "/bundles", type: "bind", source: $b, options: ["rbind", "rw"]}
      ] + $host_mounts),
      linux: {
        namespaces: [{type: "pid"}, {type: "mount"}, {type: "uts"}, {type: "ipc"}, {type: "cgroup"},
                     {type: "network"}],
        resources: {devices: [{allow: false, access: "rwm"}]}
      }
    }' >"$1/config.json"
}

# hb ARGS...: berth on the host, for the systemd container.
hb() {
    timeout -k 5 60 "$BERTH" --root "$SD_DIR/state" "$@" </dev/null
}

# sd SHELL_COMMAND: run a shell command inside the systemd container.
sd() {
    timeout -k 5 60 "$BERTH" --root "$SD_DIR/state" exec "$SD_ID" sh -c "$1" </dev/null
}

# ib ARGS...: berth inside the systemd container, with the systemd driver.
ib_cmd() {
    echo "berth --root /run/berth --systemd-cgroup $*"
}

# CRI_BINARIES: what the CRI test runs inside, bind-mounted read-only from the host where present
# (containerd and runc are dynamically linked only to libs the bookworm rootfs has).
CRI_BINARIES=(/usr/bin/containerd /usr/bin/containerd-shim-runc-v2 /usr/bin/ctr /usr/sbin/runc)

# add_cri_mounts CONFIG: CRI_BINARIES at /usr/local/{bin,sbin}/NAME and the CNI plugins.
add_cri_mounts() {
    local f d m='[]'
    for f in "${CRI_BINARIES[@]}" /usr/lib/cni; do
        [[ -e "$f" ]] || return 0
        case "$f" in
            /usr/bin/*) d="/usr/local/bin/${f##*/}" ;;
            /usr/sbin/*) d="/usr/local/sbin/${f##*/}" ;;
            *) d="$f" ;;
        esac
        m="$(jq -c --arg s "$f" --arg d "$d" '. + [{destination: $d, type: "bind", source: $s, options: ["rbind", "ro"]}]' <<<"$m")"
    done
    jq --argjson m "$m" '.mounts += $m' "$1" >"$1.new" && mv "$1.new" "$1"
}

boot_systemd() {
    local lower
    if ! lower="$("$SRC/tests/lib/make-systemd-rootfs.sh" 2>"$SD_DIR/rootfs.err")"; then
        if ! command -v debootstrap >/dev/null; then
            export SD_SKIP="debootstrap is not installed and no rootfs is cached (run scripts/setup.sh)"
        else
            export SD_SKIP="could not debootstrap a Debian rootfs: $(tail -n 3 "$SD_DIR/rootfs.err" | tr '\n' ' ')"
        fi
        return 0
    fi
    # The cached rootfs stays pristine: the container writes to an overlay's upper layer.
    mkdir -p "$SD_DIR/sd/rootfs" "$SD_DIR/upper" "$SD_DIR/work" "$SD_DIR/bundles"
    mount -t overlay overlay -o "lowerdir=$lower,upperdir=$SD_DIR/upper,workdir=$SD_DIR/work" \
        "$SD_DIR/sd/rootfs" 2>"$SD_DIR/mount.err" ||
        { export SD_FAIL="overlay mount of $lower failed: $(cat "$SD_DIR/mount.err")"; return 0; }
    "$SRC/tests/lib/make-bundle.sh" "$SD_DIR/template" sh >/dev/null
    systemd_config "$SD_DIR/sd"
    add_cri_mounts "$SD_DIR/sd/config.json"
    export SD_ID="sd$$"
    "$BERTH" --root "$SD_DIR/state" create -b "$SD_DIR/sd" "$SD_ID" </dev/null >"$SD_DIR/systemd.log" 2>&1 ||
        { export SD_FAIL="berth create of the systemd container failed: $(cat "$SD_DIR/systemd.log")"; return 0; }
    hb start "$SD_ID" >>"$SD_DIR/systemd.log" 2>&1 ||
        { export SD_FAIL="berth start of the systemd container failed: $(cat "$SD_DIR/systemd.log")"; return 0; }
    local i s=""
    for ((i = 0; i < 150; i++)); do
        s="$(sd 'systemctl is-system-running' 2>&1)" || true
        [[ "$s" == running || "$s" == degraded ]] && break
        sleep 0.2
    done
    echo "$s" >"$SD_DIR/system-state"
    if [[ "$s" != running && "$s" != degraded ]]; then
        export SD_FAIL="systemd did not come up (is-system-running: $s): $(sd 'journalctl --no-pager -n 30' 2>&1)"
    fi
}

setup_file() {
    export SD_SKIP="" SD_FAIL="" SD_ID=""
    if [[ $(id -u) -ne 0 ]]; then
        export SD_SKIP="needs root"
        return 0
    fi
    [[ -x "$BERTH" ]] || { export SD_SKIP="runtime not found: $BERTH (build first, or set BERTH)"; return 0; }
    local tool
    for tool in jq timeout busybox; do
        command -v "$tool" >/dev/null || { export SD_SKIP="$tool is not installed (run scripts/setup.sh)"; return 0; }
    done
    export BERTH SD_DIR
    SD_DIR="$(mktemp -d /tmp/berth-sd.XXXXXX)"
    chmod 0755 "$SD_DIR"
    boot_systemd
}

teardown_file() {
    [[ -n "${SD_DIR:-}" && -d "$SD_DIR" ]] || return 0
    [[ -n "${SD_ID:-}" ]] && timeout -k 5 60 "$BERTH" --root "$SD_DIR/state" delete -f "$SD_ID" </dev/null >/dev/null 2>&1
    umount "$SD_DIR/sd/rootfs" 2>/dev/null
    rm -rf --one-file-system "$SD_DIR"
}

setup() {
    ID="c${BATS_TEST_NUMBER}x$$"
    # The host-side test needs no systemd container.
    [[ "$BATS_TEST_DESCRIPTION" == "on this host"* ]] && return 0
    [[ -z "${SD_SKIP:-}" ]] || skip "$SD_SKIP"
    [[ -z "${SD_FAIL:-}" ]] || { echo "$SD_FAIL" >&2; return 1; }
}

teardown() {
    if [[ "$BATS_TEST_DESCRIPTION" == "on this host"* ]]; then
        [[ -n "${SD_DIR:-}" ]] && timeout -k 5 60 "$BERTH" --root "$SD_DIR/host" delete -f "$ID" </dev/null >/dev/null 2>&1
        return 0
    fi
    [[ -n "${SD_ID:-}" && -z "${SD_SKIP:-}" && -z "${SD_FAIL:-}" && -n "${ID:-}" ]] || return 0
    sd "$(ib_cmd delete -f "$ID") >/dev/null 2>&1; systemctl reset-failed berth-$ID.scope 2>/dev/null" || true
}

# inner_bundle ID [JQ_FILTER]: a busybox bundle at /bundles/ID (inside) running `sleep 1000`,
# placed by cgroupsPath "system.slice:berth:ID", with the limits the tests look for.
inner_bundle() {
    local id="$1" filter="${2:-.}"
    cp -a "$SD_DIR/template" "$SD_DIR/bundles/$id"
    jq --tab --arg id "$id" '.process.args = ["sleep", "1000"]
        | .linux.cgroupsPath = "system.slice:berth:" + $id
        | .linux.resources += {memory: {limit: 67108864}, pids: {limit: 77},
                               cpu: {shares: 512, quota: 33333, period: 100000}}' \
        <"$SD_DIR/template/config.json" | jq --tab "$filter" >"$SD_DIR/bundles/$id/config.json"
}

# inner SHELL_COMMAND: like sd, for commands that leave a container process behind: its stdio
# goes to a log file inside (it would hold the test's capture pipe open), shown on failure.
inner() {
    sd "log=/tmp/inner.\$\$; ( $1 ) </dev/null >\$log 2>&1; rc=\$?; cat \$log; rm -f \$log; exit \$rc"
}

# inner_create ID: berth create inside; fails the test with berth's output if it fails.
inner_create() {
    run -0 inner "$(ib_cmd create -b "/bundles/$1" "$1")"
}

# unit_prop UNIT PROPERTY: systemctl show -P inside.
unit_prop() {
    sd "systemctl show -P $2 $1"
}

# scope_file CONTROLLER FILE: a knob of the scope's cgroup, read inside.
scope_file() {
    sd "cat /sys/fs/cgroup/$1/system.slice/berth-$ID.scope/$2"
}

@test "systemd runs as PID 1 in a berth container with its own cgroup namespace" {
    run -0 cat "$SD_DIR/system-state"
    [[ "$output" == running || "$output" == degraded ]]
    run -0 sd 'cat /proc/1/comm; cat /proc/1/cgroup | grep name=systemd; stat -fc %T /sys/fs/cgroup'
    [[ "${lines[0]}" == systemd ]] || { echo "$output"; false; }
    [[ "${lines[1]}" == *":name=systemd:/init.scope" ]] || { echo "$output"; false; }
    [[ "${lines[2]}" == tmpfs ]]
}

@test "--systemd-cgroup create starts a delegated transient scope with the limits as unit properties" {
    inner_bundle "$ID"
    inner_create "$ID"
    local unit="berth-$ID.scope"
    [[ "$(unit_prop "$unit" ActiveState)" == active ]]
    [[ "$(unit_prop "$unit" Delegate)" == yes ]]
    [[ "$(unit_prop "$unit" Slice)" == system.slice ]]
    [[ "$(unit_prop "$unit" ControlGroup)" == "/system.slice/$unit" ]]
    [[ "$(unit_prop "$unit" MemoryLimit)" == 67108864 ]]
    [[ "$(unit_prop "$unit" TasksMax)" == 77 ]]
    [[ "$(unit_prop "$unit" CPUShares)" == 512 ]]
    # 33.333 % rounded up to 34 % in systemd; the cgroupfs pass writes the exact quota after.
    [[ "$(unit_prop "$unit" CPUQuotaPerSecUSec)" == 340ms ]]
    [[ "$(unit_prop "$unit" DevicePolicy)" == strict ]]
    [[ "$(scope_file memory memory.limit_in_bytes)" == 67108864 ]]
    [[ "$(scope_file pids pids.max)" == 77 ]]
    [[ "$(scope_file cpu cpu.shares)" == 512 ]]
    [[ "$(scope_file cpu cpu.cfs_quota_us)" == 33333 ]]
    # The init is in the scope in every hierarchy, also those systemd leaves alone on v1.
    local pid
    pid="$(sd "$(ib_cmd state "$ID") | sed -n 's/.*\"pid\": *\([0-9]*\).*/\1/p'")"
    [[ -n "$pid" ]]
    [[ "$(scope_file systemd cgroup.procs)" == "$pid" ]]
    [[ "$(scope_file freezer cgroup.procs)" == "$pid" ]]
    [[ "$(scope_file cpuset cgroup.procs)" == "$pid" ]]
    # The state records the driver and the unit (read from the host through /proc).
    local sdpid state
    sdpid="$(hb state "$SD_ID" | jq -r .pid)"
    state="/proc/$sdpid/root/run/berth/$ID/state.json"
    [[ "$(jq -r .cgroupDriver "$state")" == systemd ]]
    [[ "$(jq -r .cgroupUnit "$state")" == "$unit" ]]
    [[ "$(jq -r '.cgroupPaths["/sys/fs/cgroup/memory"]' "$state")" == "/sys/fs/cgroup/memory/system.slice/$unit" ]]
}

@test "exec joins the scope" {
    inner_bundle "$ID"
    inner_create "$ID"
    run -0 inner "$(ib_cmd start "$ID") && $(ib_cmd exec "$ID" cat /proc/self/cgroup)"
    [[ "$output" == *":name=systemd:/system.slice/berth-$ID.scope"* ]] || { echo "$output"; false; }
    [[ "$output" == *":memory:/system.slice/berth-$ID.scope"* ]]
    [[ "$output" == *":freezer:/system.slice/berth-$ID.scope"* ]]
    run -0 inner "$(ib_cmd exec -d "$ID" sleep 555) && sleep 0.2 && systemctl status --no-pager berth-$ID.scope"
    [[ "$output" == *"sleep 555"* ]] || { echo "$output"; false; }
    [[ "$(unit_prop "berth-$ID.scope" TasksCurrent)" == 2 ]]
}

@test "pause and resume freeze the scope through the v1 freezer" {
    inner_bundle "$ID"
    inner_create "$ID"
    run -0 sd "$(ib_cmd start "$ID")"
    run -0 sd "$(ib_cmd pause "$ID")"
    [[ "$(scope_file freezer freezer.state)" == FROZEN ]]
    run -0 sd "$(ib_cmd resume "$ID")"
    [[ "$(scope_file freezer freezer.state)" == THAWED ]]
}

@test "update changes the unit's properties and the scope's knobs" {
    inner_bundle "$ID"
    inner_create "$ID"
    run -0 sd "$(ib_cmd start "$ID")"
    run -0 inner "$(ib_cmd update --memory 128m --pids-limit 99 --cpu-share 256 "$ID")"
    local unit="berth-$ID.scope"
    [[ "$(unit_prop "$unit" MemoryLimit)" == 134217728 ]] || { unit_prop "$unit" MemoryLimit; false; }
    [[ "$(unit_prop "$unit" TasksMax)" == 99 ]]
    [[ "$(unit_prop "$unit" CPUShares)" == 256 ]]
    [[ "$(scope_file memory memory.limit_in_bytes)" == 134217728 ]]
    [[ "$(scope_file pids pids.max)" == 99 ]]
    [[ "$(scope_file cpu cpu.shares)" == 256 ]]
    run -0 inner "$(ib_cmd events --stats "$ID")"
    [[ "$output" == *'"limit":134217728'* ]] || { echo "$output"; false; }
}

@test "delete stops the unit and removes every cgroup directory of the scope" {
    inner_bundle "$ID"
    inner_create "$ID"
    run -0 inner "$(ib_cmd start "$ID") && $(ib_cmd exec -d "$ID" sleep 555)"
    run -0 sd "$(ib_cmd delete -f "$ID")"
    [[ "$(unit_prop "berth-$ID.scope" LoadState)" == not-found ]]
    run -0 sd "ls -d /sys/fs/cgroup/*/system.slice/berth-$ID.scope 2>/dev/null || true"
    [[ -z "$output" ]] || { echo "left: $output"; false; }
}

@test "a second container for a running unit fails with one line naming the method and the unit" {
    inner_bundle "$ID"
    inner_create "$ID"
    run inner "berth --root /run/berth-other --systemd-cgroup create -b /bundles/$ID $ID"
    [[ "$status" -eq 1 ]]
    [[ "${#lines[@]}" -eq 1 ]] || { echo "$output"; false; }
    # systemd 252 says "Unit X was already loaded or has a fragment file." (UnitExists).
    [[ "$output" == "berth: systemd: StartTransientUnit berth-$ID.scope: Unit berth-$ID.scope "*already* ]] ||
        { echo "$output"; false; }
    # The first container's scope is untouched.
    [[ "$(unit_prop "berth-$ID.scope" ActiveState)" == active ]]
    run -0 sd "ls /run/berth-other"
    [[ -z "$output" ]]
}

@test "bad resources fail before the unit is started" {
    inner_bundle "$ID" '.linux.resources.cpu.cpus = "3-1"'
    run inner "$(ib_cmd create -b "/bundles/$ID" "$ID")"
    [[ "$status" -eq 1 ]]
    [[ "$output" == *"AllowedCPUs"*"reversed"* ]] || { echo "$output"; false; }
    [[ "$(unit_prop "berth-$ID.scope" LoadState)" == not-found ]]
}

@test "an init that exits takes its scope with it, and delete removes the directories systemd left" {
    inner_bundle "$ID" '.process.args = ["true"]'
    inner_create "$ID"
    run -0 sd "$(ib_cmd start "$ID")"
    local i
    for ((i = 0; i < 100; i++)); do
        [[ "$(unit_prop "berth-$ID.scope" LoadState)" == not-found ]] && break
        sleep 0.1
    done
    [[ "$(unit_prop "berth-$ID.scope" LoadState)" == not-found ]]
    run -0 sd "$(ib_cmd delete "$ID")"
    run -0 sd "ls -d /sys/fs/cgroup/*/system.slice/berth-$ID.scope 2>/dev/null || true"
    [[ -z "$output" ]] || { echo "left: $output"; false; }
}

@test "without dbus-daemon, berth reaches systemd through its private socket (as systemctl)" {
    # The socket file stays (RemoveOnStop=no) but nothing listens on it any more.
    run -0 sd "systemctl stop dbus.socket dbus.service && ! systemctl is-active -q dbus.service"
    inner_bundle "$ID"
    run inner "berth --debug --root /run/berth --systemd-cgroup create -b /bundles/$ID $ID"
    local st="$status" out="$output"
    sd "systemctl start dbus.socket dbus.service" || true
    [[ "$st" -eq 0 ]] || { echo "$out"; false; }
    [[ "$out" == *"no system bus"*"trying /run/systemd/private"* ]] || { echo "$out"; false; }
    [[ "$(unit_prop "berth-$ID.scope" ActiveState)" == active ]]
    run -0 sd "$(ib_cmd delete -f "$ID")"
    [[ "$(unit_prop "berth-$ID.scope" LoadState)" == not-found ]]
}

# cri_inside_start: containerd with the CRI plugin as a service of the systemd inside (Delegate=yes,
# as its packaged unit), handlers runc and berth with `SystemdCgroup = true`, its socket in
# /bundles/cri (the host's $SD_DIR/bundles/cri), root and state on the container's tmpfs (the
# overlay snapshotter cannot use the overlay rootfs), a CNI bridge in the container's network
# namespace, the CRI tests' busybox and pause images imported. Sets CRI_INSIDE_SKIP when the host
# lacks a piece.
cri_inside_start() {
    export CRI_INSIDE_SKIP=""
    local f pause dir="$SD_DIR/bundles/cri"
    pause="${BERTH_BUILD_DIR:-$(dirname "$BERTH")/..}/tests/tools/berth-pause"
    for f in "${CRI_BINARIES[@]}" /usr/lib/cni/bridge "$pause"; do
        [[ -e "$f" ]] || { CRI_INSIDE_SKIP="$f not found (scripts/setup.sh --cri; the berth-pause target)"; return 0; }
    done
    /usr/bin/python3 -c 'import grpc, grpc_tools' 2>/dev/null ||
        { CRI_INSIDE_SKIP="python3-grpcio/python3-grpc-tools not installed (scripts/setup.sh --cri)"; return 0; }
    mkdir -p "$dir/cni" "$dir/images"
    "$SRC/tests/tools/cri/make-images.sh" "$dir/images" "$pause"
    {
        printf 'version = 2\nroot = "/tmp/containerd/root"\nstate = "/run/containerd-cri"\n'
        printf '[grpc]\n  address = "/bundles/cri/containerd.sock"\n'
        printf '[plugins."io.containerd.grpc.v1.cri"]\n  sandbox_image = "localhost/berth-cri/pause:1.0"\n'
        printf '  restrict_oom_score_adj = true\n  stream_server_address = "127.0.0.1"\n  stream_server_port = "0"\n'
        printf '  [plugins."io.containerd.grpc.v1.cri".cni]\n    bin_dir = "/usr/lib/cni"\n    conf_dir = "/bundles/cri/cni"\n'
        for f in runc berth; do
            printf '  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.%s]\n' "$f"
            printf '    runtime_type = "io.containerd.runc.v2"\n'
            printf '    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.%s.options]\n' "$f"
            printf '      BinaryName = "%s"\n      Root = "/run/cri-%s"\n      SystemdCgroup = true\n' \
                "$([[ $f == runc ]] && echo /usr/local/sbin/runc || echo /opt/berth/berth)" "$f"
        done
    } >"$dir/config.toml"
    cat >"$dir/cni/10-pods.conflist" <<'EOF'
{"cniVersion": "1.0.0", "name": "pods", "plugins": [{"type": "bridge", "bridge": "cni0", "isGateway": true,
 "ipam": {"type": "host-local", "dataDir": "/run/cni-ipam", "ranges": [[{"subnet": "10.89.0.0/24"}]]}}]}
EOF
    # containerd copies the node's /etc/hosts into each pod; a bare rootfs has none.
    sd 'test -e /etc/hosts || printf "127.0.0.1 localhost\n::1 localhost\n" >/etc/hosts
        systemd-run -q --unit=containerd -p Delegate=yes -p KillMode=process \
            --setenv=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
            /usr/local/bin/containerd --config /bundles/cri/config.toml
        for i in $(seq 300); do ctr -a /bundles/cri/containerd.sock version >/dev/null 2>&1 && break; sleep 0.1; done
        for i in busybox pause; do
            ctr -a /bundles/cri/containerd.sock -n k8s.io images import --base-name localhost/berth-cri/$i \
                /bundles/cri/images/$i.tar >/dev/null || exit 1
        done' || { journalctl_tail containerd; return 1; }
}

journalctl_tail() {
    sd "journalctl --no-pager -n 30 -u $1" >&2 || true
}

@test "CRI with SystemdCgroup = true: containerd's pods on runc and berth in the kubelet's slices, a scope per container" {
    cri_inside_start
    [[ -z "$CRI_INSIDE_SKIP" ]] || skip "$CRI_INSIDE_SKIP"
    run timeout -k 5 120 /usr/bin/python3 "$SRC/tests/tools/cri/cri_systemd.py" \
        --endpoint "unix://$SD_DIR/bundles/cri/containerd.sock" \
        --inside "$BERTH --root $SD_DIR/state exec $SD_ID" runc berth
    echo "$output"
    [[ "$status" -eq 0 && "$output" != *"not ok"* ]] || { journalctl_tail containerd; false; }
    sd 'systemctl stop containerd'
}

@test "on this host (no systemd as PID 1) --systemd-cgroup places the cgroup at the unit's cgroupfs path" {
    [[ -z "${SD_SKIP:-}" || -n "${SD_DIR:-}" ]] || skip "$SD_SKIP"
    [[ ! -d /run/systemd/system ]] || skip "systemd runs as PID 1 on this host"
    [[ -d /sys/fs/cgroup/memory ]] || skip "no cgroup v1 memory hierarchy"
    cp -a "$SD_DIR/template" "$SD_DIR/host-bundle"
    jq --tab --arg id "$ID" '.process.args = ["sleep", "1000"] | .linux.cgroupsPath = "system.slice:berth:" + $id
        | .linux.resources.memory = {limit: 33554432}' <"$SD_DIR/template/config.json" >"$SD_DIR/host-bundle/config.json"
    # The container inherits berth's stdio: a file, not the test's capture pipe.
    timeout -k 5 60 "$BERTH" --debug --root "$SD_DIR/host" --systemd-cgroup run -d -b "$SD_DIR/host-bundle" "$ID" \
        </dev/null >"$SD_DIR/host.log" 2>&1 || { cat "$SD_DIR/host.log"; false; }
    grep -q "systemd is not running; placing the unit's cgroup on cgroupfs" "$SD_DIR/host.log" ||
        { cat "$SD_DIR/host.log"; false; }
    local dir="/sys/fs/cgroup/memory/system.slice/berth-$ID.scope"
    [[ "$(cat "$dir/memory.limit_in_bytes")" == 33554432 ]]
    run -0 timeout -k 5 60 "$BERTH" --root "$SD_DIR/host" delete -f "$ID" </dev/null
    [[ ! -e "$dir" ]]
}
