#!/bin/bash
# A private containerd with its CRI plugin, for driving berth the way a kubelet does (the tests in
# tests/e2e/cri.bats, bench/cri.sh, docs/kubernetes.md). Run as root.
#
#   scripts/cri-setup.sh start [--dir DIR] [--berth PATH] [--pause PATH]
#       installs what is missing (scripts/setup.sh --cri), makes DIR (default: a new
#       /tmp/berth-cri.XXXXXX), writes there a containerd config (version 2) with the runtime
#       handlers runc (default), berth and berth-vm (io.containerd.runc.v2 with BinaryName =
#       PATH and PATH's berth-vm), a CNI bridge network, imports the busybox and pause images
#       (tests/tools/cri/make-images.sh) and starts containerd on DIR/containerd.sock.
#       Prints the environment (also in DIR/env, for `source`): CRI_DIR, CRI_ENDPOINT, ...
#   scripts/cri-setup.sh stop [--if-stale] DIR
#       removes every pod (through CRI), stops containerd and its shims, and removes what start
#       made: containers left in the runtimes' roots (/run/bcri-XXXXXX), mounts under DIR (the
#       pods' network namespaces among them: netns_mounts_under_state_dir), the bridge, the
#       cgroups under CRI_CGROUP_PARENT, DIR.
#       --if-stale: only when the process that ran `start` (a bats file, bench/cri.sh) is gone
#       (scripts/test.sh cleans up after an interrupted run so).
#
# Nothing outside DIR is configured: not the machine's containerd (/run/containerd/containerd.sock,
# /var/lib/containerd), not /etc/cni, not /opt/containerd. What containerd 1.6 itself puts in
# shared places, by design, and stop removes: the shims' sockets (/run/containerd/s/, named by a
# hash of DIR's socket), libcni's result cache (/var/lib/cni/results/<network>-*). The bridge
# (bcri-XXXXXX, made here) gets the first free 10.87.N.1/24: pod addresses live only in the pods'
# network namespaces; no NAT, no firewall rule, no sysctl of the host changed.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
client="$repo/tests/tools/cri/cri.py"
PY=/usr/bin/python3   # Debian's python3-grpcio is installed for the system interpreter

die() { echo "cri-setup: $*" >&2; exit 1; }

usage() {
    echo "usage: $0 start [--dir DIR] [--berth PATH] [--pause PATH] | $0 stop [--if-stale] DIR" >&2
    exit 2
}

# free_subnet: the first 10.87.N (N = 1..254) that no address or route on this host uses.
free_subnet() {
    local used n
    used="$(ip -4 -o addr show; ip -4 route show table all)"
    for n in $(seq 1 254); do
        grep -q "10\.87\.$n\." <<<"$used" || { echo "10.87.$n"; return 0; }
    done
    die "no free 10.87.N.0/24 subnet for the CRI bridge"
}

# write_containerd_config DIR BERTH
write_containerd_config() {
    local dir="$1" berth="$2" vm handler binary
    vm="$(dirname "$berth")/berth-vm"
    cat >"$dir/config.toml" <<EOF
version = 2
root = "$dir/root"
state = "$dir/state"
[grpc]
  address = "$dir/containerd.sock"
[ttrpc]
  address = "$dir/containerd.sock.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$dir/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$CRI_PAUSE_IMAGE"
  # No CAP_SYS_RESOURCE on these hosts: a negative oom_score_adj would be refused.
  restrict_oom_score_adj = true
  # hugepage_limits go to the runtime where containerd finds the hugetlb controller (its check:
  # cgroup2's cgroup.controllers on a unified host, /sys/fs/cgroup/hugetlb otherwise); where it
  # does not (a hybrid host with hugetlb on cgroup2), it drops them with a warning in its log.
  disable_hugetlb_controller = false
  tolerate_missing_hugetlb_controller = true
  # The streaming server (Exec/Attach URLs) on loopback, on a port the kernel picks.
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  # The pods' network namespaces under DIR/state, not /run/netns (containerd 1.6.20 has the key).
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
EOF
    for handler in runc berth berth-vm; do
        case "$handler" in
            runc) binary="$(command -v runc)" ;;
            berth) binary="$berth" ;;
            berth-vm) binary="$vm" ;;
        esac
        # Root: each runtime's state in a dir of this set-up's own, never the shim's default
        # /run/containerd/runc. Not under DIR: a unix socket path holds 107 bytes, and berth-vm
        # binds ROOT/k8s.io/<64-hex id>/vm.sock.
        cat >>"$dir/config.toml" <<EOF
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.$handler]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.$handler.options]
        BinaryName = "$binary"
        Root = "$CRI_RUNTIME_ROOT/$handler"
EOF
    done
    cat >>"$dir/config.toml" <<EOF
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "$dir/cni/bin"
    conf_dir = "$dir/cni/conf"
    max_conf_num = 1
EOF
}

# write_cni_config DIR: the bridge network (host-local addresses, state under DIR).
write_cni_config() {
    local dir="$1" plugin
    mkdir -p "$dir/cni/bin" "$dir/cni/conf" "$dir/cni/ipam"
    for plugin in bridge host-local loopback portmap; do
        [[ -x "/usr/lib/cni/$plugin" ]] || die "/usr/lib/cni/$plugin not found (apt-get install containernetworking-plugins)"
        ln -sf "/usr/lib/cni/$plugin" "$dir/cni/bin/$plugin"
    done
    cat >"$dir/cni/conf/10-$CRI_NETWORK.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "$CRI_NETWORK",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$CRI_BRIDGE",
      "isGateway": false,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$dir/cni/ipam",
        "ranges": [[{"subnet": "$CRI_SUBNET", "gateway": "${CRI_SUBNET%.0/24}.1"}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    }
  ]
}
EOF
}

# wait_containerd DIR: until containerd answers on its socket (up to 30 s).
wait_containerd() {
    local dir="$1"
    for _ in $(seq 300); do
        ctr -a "$dir/containerd.sock" version >/dev/null 2>&1 && return 0
        kill -0 "$(cat "$dir/containerd.pid")" 2>/dev/null || break
        sleep 0.1
    done
    tail -n 20 "$dir/containerd.log" >&2
    return 1
}

start() {
    local dir="" berth="${BERTH:-$repo/build/cli/berth}" pause="$repo/build/tests/tools/berth-pause"
    while [[ $# -gt 0 ]]; do
        case "$1" in
            --dir) dir="${2:?}"; shift 2 ;;
            --berth) berth="${2:?}"; shift 2 ;;
            --pause) pause="${2:?}"; shift 2 ;;
            *) usage ;;
        esac
    done
    [[ $(id -u) -eq 0 ]] || die "must run as root"
    "$repo/scripts/setup.sh" --cri >&2
    [[ -x "$berth" ]] || die "berth not found: $berth (build it, or --berth PATH)"
    berth="$(cd "$(dirname "$berth")" && pwd)/$(basename "$berth")"
    if [[ -z "$dir" ]]; then
        dir="$(mktemp -d /tmp/berth-cri.XXXXXX)"
    else
        mkdir -p "$dir"
        dir="$(cd "$dir" && pwd)"
    fi
    local suffix="${dir##*.}"
    [[ "$suffix" =~ ^[A-Za-z0-9]{1,10}$ ]] || suffix="$(basename "$(mktemp -u XXXXXX)")"
    # Everything a stop needs, first: a failure below is cleaned up by `stop DIR`.
    export CRI_DIR="$dir" CRI_ENDPOINT="unix://$dir/containerd.sock"
    export CRI_BRIDGE="bcri-$suffix" CRI_NETWORK="berth-cri-$suffix"
    CRI_SUBNET="$(free_subnet).0/24"
    export CRI_SUBNET
    export CRI_CGROUP_PARENT="/berth-cri-$suffix"
    export CRI_LOG_DIR="$dir/pod-logs" CRI_RUNTIME_ROOT="/run/bcri-$suffix"
    export CRI_BUSYBOX_IMAGE="localhost/berth-cri/busybox:latest"
    export CRI_PAUSE_IMAGE="localhost/berth-cri/pause:1.0"
    export CRI_BERTH="$berth"
    local had_cni_cache=0
    [[ -d /var/lib/cni ]] && had_cni_cache=1
    {
        for v in CRI_DIR CRI_ENDPOINT CRI_BRIDGE CRI_NETWORK CRI_SUBNET CRI_CGROUP_PARENT CRI_LOG_DIR \
            CRI_RUNTIME_ROOT CRI_BUSYBOX_IMAGE CRI_PAUSE_IMAGE CRI_BERTH; do
            printf '%s=%q\n' "$v" "${!v}"
        done
        printf 'CRI_HAD_CNI_CACHE=%s\n' "$had_cni_cache"
        # Who started this set-up (a bats file, bench/cri.sh): `stop --if-stale` spares it while it lives.
        printf 'CRI_OWNER_PID=%s\n' "$PPID"
    } >"$dir/env"
    mkdir -p "$dir/root" "$dir/state" "$dir/opt" "$CRI_LOG_DIR" "$CRI_RUNTIME_ROOT" "$dir/images"
    write_containerd_config "$dir" "$berth"
    write_cni_config "$dir"
    # The bridge and its gateway address are made here rather than by the bridge plugin: with
    # isGateway the plugin would also turn on the host's net.ipv4.ip_forward.
    ip link add "$CRI_BRIDGE" type bridge || die "ip link add $CRI_BRIDGE type bridge failed"
    ip addr add "${CRI_SUBNET%.0/24}.1/24" dev "$CRI_BRIDGE"
    ip link set "$CRI_BRIDGE" up
    "$repo/tests/tools/cri/make-images.sh" "$dir/images" "$pause"
    setsid containerd --config "$dir/config.toml" >"$dir/containerd.log" 2>&1 </dev/null &
    echo $! >"$dir/containerd.pid"
    wait_containerd "$dir" || die "containerd did not start (log: $dir/containerd.log)"
    local image
    for image in busybox pause; do
        ctr -a "$dir/containerd.sock" -n k8s.io images import --base-name "localhost/berth-cri/$image" \
            "$dir/images/$image.tar" >/dev/null || die "ctr images import of the $image image failed"
    done
    cat "$dir/env"
}

# kill_pids_matching STRING: SIGKILL the processes whose command line contains STRING.
kill_pids_matching() {
    local pid
    for pid in $(pgrep -f -- "$1" || true); do
        if [[ "$pid" != "$$" ]]; then kill -KILL "$pid" 2>/dev/null || true; fi
    done
}

stop() {
    local if_stale=0
    if [[ "${1:-}" == --if-stale ]]; then if_stale=1; shift; fi
    local dir="${1:-}"
    [[ -n "$dir" && -f "$dir/env" ]] || die "stop: $dir is not a directory made by '$0 start'"
    dir="$(cd "$dir" && pwd)"
    # shellcheck disable=SC1091
    source "$dir/env"
    if [[ $if_stale -eq 1 && -n "${CRI_OWNER_PID:-}" ]] && kill -0 "$CRI_OWNER_PID" 2>/dev/null; then
        return 0
    fi
    local pid=""
    [[ -f "$dir/containerd.pid" ]] && pid="$(cat "$dir/containerd.pid")"
    if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
        timeout -k 5 120 "$PY" "$client" --endpoint "$CRI_ENDPOINT" cleanup >&2 ||
            echo "cri-setup: removing the pods through CRI failed; removing what is left by hand" >&2
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    fi
    # Shims (and their children) that outlived containerd: found by this containerd's socket.
    kill_pids_matching "-address $dir/containerd.sock"
    local handler root id binary
    for handler in runc berth berth-vm; do
        root="${CRI_RUNTIME_ROOT:-$dir/runtime-root}/$handler/k8s.io"
        [[ -d "$root" ]] || continue
        binary=runc
        [[ "$handler" != runc ]] && binary="$(dirname "$CRI_BERTH")/$handler"
        for id in "$root"/*; do
            [[ -e "$id" ]] || continue
            id="$(basename "$id")"
            "$binary" --root "$root" kill --all "$id" KILL >/dev/null 2>&1 || true
            "$binary" --root "$root" delete --force "$id" >/dev/null 2>&1 || true
        done
    done
    # The pods' network namespaces are nsfs mounts under DIR/state (netns_mounts_under_state_dir).
    awk -v d="$dir/" 'index($5, d) == 1 {print $5}' /proc/self/mountinfo | sort -r |
        while read -r m; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
    ip link show "$CRI_BRIDGE" >/dev/null 2>&1 && ip link del "$CRI_BRIDGE"
    local cg
    while IFS= read -r cg; do
        find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null || true
    done < <(find /sys/fs/cgroup -maxdepth 6 -type d -name "${CRI_CGROUP_PARENT#/}" 2>/dev/null)
    rm -f /var/lib/cni/results/"$CRI_NETWORK"-* 2>/dev/null || true
    if [[ "${CRI_HAD_CNI_CACHE:-1}" == 0 ]]; then
        rmdir /var/lib/cni/results /var/lib/cni 2>/dev/null || true
    fi
    [[ -n "${CRI_RUNTIME_ROOT:-}" ]] && rm -rf "$CRI_RUNTIME_ROOT"
    rm -rf "$dir"
}

case "${1:-}" in
    start) shift; start "$@" ;;
    stop) shift; [[ $# -ge 1 && $# -le 2 ]] || usage; stop "$@" ;;
    *) usage ;;
esac
