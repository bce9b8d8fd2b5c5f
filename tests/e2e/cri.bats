#!/usr/bin/env bats
# Kubernetes through CRI (ctest label cri): containerd 1.6's CRI plugin, driven by the project's
# CRI client (tests/tools/cri/cri.py) with the calls a kubelet makes, runs pods on the runtime
# handlers `runc` (the reference: the same checks passing there show they test Kubernetes
# behaviour, not berth's) and `berth` (containerd's runc shim with BinaryName = $BERTH).
# One private containerd for the whole file (scripts/cri-setup.sh start/stop): its own socket,
# root, state, CNI bridge (bcri-*, 10.87.N.0/24) and images (busybox, pause), no registry.
# Traffic goes only to the pods' addresses (inside the netns containerd makes) over that bridge,
# and to loopback.
#
# The berth-vm handler runs the pod and errors parts too whenever QEMU and the guest kernels are
# here: a pod is one VM (docs/vm.md, "Pods"). Its OOMKilled check passes through the shim raising
# the host cgroup's v1 OOM notification for a guest OOM kill (docs/vm.md "OOM kills"); the checks
# of limits and keyrings read them in the guest, where the VM path keeps them.

bats_require_minimum_version 1.5.0

setup_file() {
    export CRI_SKIP=""
    BERTH="${BERTH:-${BERTH_BUILD_DIR:-$BATS_TEST_DIRNAME/../../build}/cli/berth}"
    local build="${BERTH_BUILD_DIR:-$(dirname "$BERTH")/..}" tool
    for tool in containerd ctr runc ip; do
        command -v "$tool" >/dev/null || { export CRI_SKIP="$tool not installed (run scripts/setup.sh)"; return 0; }
    done
    [[ -x /usr/lib/cni/bridge ]] || { export CRI_SKIP="containernetworking-plugins not installed (run scripts/setup.sh)"; return 0; }
    /usr/bin/python3 -c 'import grpc, grpc_tools, websocket' 2>/dev/null ||
        { export CRI_SKIP="python3-grpcio/python3-grpc-tools/python3-websocket not installed (run scripts/setup.sh)"; return 0; }
    [[ -x "$BERTH" ]] || { export CRI_SKIP="runtime not found: $BERTH"; return 0; }
    export CRI_PAUSE_BINARY="$build/tests/tools/berth-pause"
    [[ -x "$CRI_PAUSE_BINARY" ]] || { export CRI_SKIP="berth-pause not built: $CRI_PAUSE_BINARY"; return 0; }
    export CRI_SETUP="$BATS_TEST_DIRNAME/../../scripts/cri-setup.sh"
    export CRI_CLIENT="$BATS_TEST_DIRNAME/../tools/cri/cri.py"
    export CRI_HANDLERS="${CRI_HANDLERS:-runc berth}"
    local out
    out="$(mktemp /tmp/berth-cri-env.XXXXXX)"
    if ! "$CRI_SETUP" start --berth "$BERTH" --pause "$CRI_PAUSE_BINARY" >"$out" 2>"$out.err"; then
        cat "$out.err" >&3
        local dir
        dir="$(sed -n 's/^CRI_DIR=//p' "$out")"
        [[ -z "$dir" ]] || "$CRI_SETUP" stop "$dir" >&3 2>&1 || true
        rm -f "$out" "$out.err"
        return 1
    fi
    set -a
    # shellcheck disable=SC1090
    source "$out"
    set +a
    rm -f "$out" "$out.err"
}

teardown_file() {
    [[ -n "${CRI_DIR:-}" && -d "$CRI_DIR" ]] || return 0
    "$CRI_SETUP" stop "$CRI_DIR"
}

setup() { [[ -z "$CRI_SKIP" ]] || skip "$CRI_SKIP"; }

# scenario HANDLER PART: the client's checks, one "ok - ..." line each (printed on failure).
# CRI_VM_ALWAYS=1: berth-vm runs even when not in CRI_HANDLERS (if QEMU and the guest kernels are here).
scenario() {
    if [[ "$1" == berth-vm && -n "${CRI_VM_ALWAYS:-}" && " $CRI_HANDLERS " != *" $1 "* ]]; then
        command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86 is not installed"
        ls -d "${BERTH_VM_KERNELS:-/var/cache/berth/vm/kernels}"/*/ >/dev/null 2>&1 ||
            skip "no generic guest kernel with 9p (run scripts/setup.sh)"
    elif [[ " $CRI_HANDLERS " != *" $1 "* ]]; then
        skip "handler $1 not in CRI_HANDLERS ($CRI_HANDLERS)"
    fi
    run timeout -k 5 300 /usr/bin/python3 "$CRI_CLIENT" scenario --handler "$1" --part "$2"
    echo "$output"
    [[ "$status" -eq 0 && "$output" != *"not ok"* ]]
}

@test "the client's plain calls: version, status, images (the pause and busybox images imported)" {
    run -0 /usr/bin/python3 "$CRI_CLIENT" version
    [[ "$output" == "containerd "*"(CRI v1)" ]]
    run -0 /usr/bin/python3 "$CRI_CLIENT" status
    [[ "$output" == *"RuntimeReady=true"* && "$output" == *"NetworkReady=true"* ]]
    run -0 /usr/bin/python3 "$CRI_CLIENT" images
    [[ "$output" == *"$CRI_BUSYBOX_IMAGE"* && "$output" == *"$CRI_PAUSE_IMAGE"* ]]
    # a call that fails is one line naming the call and the runtime's reason
    run -1 /usr/bin/python3 "$CRI_CLIENT" exec no-such-container true
    [[ "$output" == "cri: ExecSync: NOT_FOUND: "*"no-such-container"* ]]
}

@test "runc: a two-container pod as the kubelet drives it, then nothing left" {
    scenario runc pod
}

@test "berth: a two-container pod as the kubelet drives it, then nothing left" {
    scenario berth pod
}

@test "berth-vm: a two-container pod as the kubelet drives it, then nothing left" {
    CRI_VM_ALWAYS=1 scenario berth-vm pod
}

@test "runc: a privileged hostNetwork/hostPID/hostIPC pod runs in the node's namespaces" {
    scenario runc host
}

@test "berth: a privileged hostNetwork/hostPID/hostIPC pod runs in the node's namespaces" {
    scenario berth host
}

@test "runc: a missing image and a bad mount fail with a CRI error naming them; nothing left" {
    scenario runc errors
}

@test "berth: a missing image and a bad mount fail with a CRI error naming them; nothing left" {
    scenario berth errors
}

@test "berth-vm: a missing image and a bad mount fail with a CRI error naming them; nothing left" {
    CRI_VM_ALWAYS=1 scenario berth-vm errors
}

@test "cri-setup.sh stop: containerd, its shims, bridge, cgroups, mounts and dir gone" {
    local pid dir="$CRI_DIR"
    pid="$(cat "$dir/containerd.pid")"
    # a pod left running: stop must take it down too
    run -0 timeout -k 5 120 /usr/bin/python3 - "$CRI_CLIENT" <<'EOF'
import os, sys
sys.path.insert(0, os.path.dirname(sys.argv[1]))
from criclient import Client, pb
cli = Client(os.environ["CRI_ENDPOINT"])
meta = pb.PodSandboxMetadata(name="left", uid="left-running", namespace="berth-cri")
cfg = pb.PodSandboxConfig(metadata=meta, hostname="left", log_directory=os.environ["CRI_LOG_DIR"],
                          linux=pb.LinuxPodSandboxConfig(cgroup_parent=os.environ["CRI_CGROUP_PARENT"] + "/podleft"))
print(cli.run_pod(cfg, "berth"))
EOF
    # --if-stale (scripts/test.sh, after an interrupted run) spares a set-up whose starter lives
    kill -0 "$CRI_OWNER_PID"
    run -0 "$CRI_SETUP" stop --if-stale "$dir"
    [[ -d "$dir" && -e "/proc/$pid" ]]
    run -0 "$CRI_SETUP" stop "$dir"
    [[ ! -e "$dir" && ! -e "$CRI_RUNTIME_ROOT" ]]
    [[ ! -e "/proc/$pid" ]] || { echo "containerd $pid still runs"; false; }
    run -1 pgrep -f -- "-address $dir/containerd.sock"
    [[ ! -e "/sys/class/net/$CRI_BRIDGE" ]]
    run -1 grep -F "$dir" /proc/self/mountinfo
    [[ -z "$(find /sys/fs/cgroup -maxdepth 6 -type d -name "${CRI_CGROUP_PARENT#/}" 2>/dev/null)" ]]
    [[ -z "$(compgen -G "/var/lib/cni/results/$CRI_NETWORK-*")" ]]
}
