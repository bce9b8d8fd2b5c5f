#!/bin/bash
# Pod start latency through Kubernetes' CRI (containerd 1.6's CRI plugin, a private instance made
# by scripts/cri-setup.sh): RunPodSandbox + CreateContainer + StartContainer until ContainerStatus
# says running, for the runtime handlers runc and berth in the same run — N pods one after another
# (the handlers take turns pod by pod), then P pods at once per handler. See bench/README.md.
#
#   sudo bench/cri.sh [-n N] [-p P] [--handlers runc,berth[,berth-vm]] [--berth PATH] [--json FILE]
#
# CPU per pod: containerd is moved into a cpuacct cgroup of its own (CRI_CGROUP_PARENT/containerd)
# with the pods' cgroups beside it, so the shims, the runtime processes they run, the CNI plugins
# and the pods are all charged there; its cpuacct.usage across each start is that start's CPU.
set -euo pipefail

cd "$(dirname "$0")/.."
N=20 P=20 HANDLERS=runc,berth JSON=""
BERTH="${BERTH:-$PWD/build/cli/berth}"
while [[ $# -gt 0 ]]; do
    case "$1" in
        -n) N="${2:?}"; shift 2 ;;
        -p) P="${2:?}"; shift 2 ;;
        --handlers) HANDLERS="${2:?}"; shift 2 ;;
        --berth) BERTH="${2:?}"; shift 2 ;;
        --json) JSON="${2:?}"; shift 2 ;;
        *) sed -n '2,7p' "$0" >&2; exit 2 ;;
    esac
done
[[ $(id -u) -eq 0 ]] || { echo "bench/cri.sh: run as root" >&2; exit 1; }

env_file="$(mktemp /tmp/berth-cri-bench.XXXXXX)"
out="$(mktemp /tmp/berth-cri-bench-out.XXXXXX)"
cri_dir=""
cleanup() {
    [[ -z "$cri_dir" ]] || scripts/cri-setup.sh stop "$cri_dir" >&2 || true
    rm -f "$env_file" "$out"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

scripts/cri-setup.sh start --berth "$BERTH" >"$env_file"
set -a
# shellcheck disable=SC1090
source "$env_file"
set +a
cri_dir="${CRI_DIR:?}"

cpuacct=/sys/fs/cgroup/cpuacct
[[ -d "$cpuacct" ]] || cpuacct=/sys/fs/cgroup/cpu,cpuacct
if [[ -f "$cpuacct/cpuacct.usage" ]]; then
    mkdir -p "$cpuacct$CRI_CGROUP_PARENT/containerd"
    cat "$CRI_DIR/containerd.pid" >"$cpuacct$CRI_CGROUP_PARENT/containerd/cgroup.procs"
    export CRI_CPUACCT="$cpuacct$CRI_CGROUP_PARENT"
else
    echo "bench/cri.sh: no cgroup v1 cpuacct hierarchy: CPU per pod not measured" >&2
fi

echo "bench/cri.sh: $N pods per handler one after another, then $P at once per handler ($HANDLERS);" \
    "$(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
/usr/bin/python3 tests/tools/cri/cri.py bench --handler "$HANDLERS" -n "$N" --parallel "$P" >"$out"
[[ -z "$JSON" ]] || cp "$out" "$JSON"

# The table, and each handler's figures over runc's.
jq -r --arg handlers "$HANDLERS" '
  def f: if . == null then "-" else tostring end;
  ($handlers | split(",")) as $hs | .runc as $r |
  ["handler", "seq median ms", "seq p90 ms", "CPU ms/pod", "par wall ms", "par median ms", "par p90 ms", "par CPU ms/pod"],
  ($hs[] as $h | .[$h] as $x |
    [$h, ($x.sequential.median_ms | f), ($x.sequential.p90_ms | f), ($x.sequential.cpu_ms_per_pod | f),
     ($x.parallel.wall_ms | f), ($x.parallel.median_ms | f), ($x.parallel.p90_ms | f), ($x.parallel.cpu_ms_per_pod | f)]),
  (if $r then ($hs[] | select(. != "runc")) as $h | .[$h] as $x |
    ["\($h)/runc", (($x.sequential.median_ms / $r.sequential.median_ms * 100 | round) / 100 | f),
     (($x.sequential.p90_ms / $r.sequential.p90_ms * 100 | round) / 100 | f),
     (if $x.sequential.cpu_ms_per_pod then (($x.sequential.cpu_ms_per_pod / $r.sequential.cpu_ms_per_pod * 100 | round) / 100) else null end | f),
     (if $x.parallel then (($x.parallel.wall_ms / $r.parallel.wall_ms * 100 | round) / 100) else null end | f), "", "", ""]
   else empty end)
  | @tsv' "$out" | column -t -s $'\t'
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
