#!/bin/bash
# What cgroup limits add to `create`: berth, runc and crun create the same busybox bundle with
# no linux.resources and with a typical pod's limits (memory+swap, cpu shares/quota/period,
# cpuset, pids — not blkio weight: crun 1.8 writes only CFQ's blkio.weight, which this kernel
# lacks), in the same run, interleaved so drift hits both alike.
# Reports median create wall time for both and the difference (the limits' cost).
#
#   sudo bench/cgroups.sh [-n N] [--berth PATH] [--runtimes "berth runc crun"]
set -euo pipefail

cd "$(dirname "$0")/.."
SRC_DIR="$PWD"
N=40
BERTH="${BERTH:-$SRC_DIR/build/cli/berth}"
RUNTIMES="berth runc crun"

# measure NAME BIN WORK: N interleaved creates of both bundles; wall times in WORK/NAME.{plain,limits}.
measure() {
    local name="$1" bin="$2" work="$3" root i kind id
    root="$STATE_BASE/root-$name"
    mkdir -p "$root"
    for ((i = -3; i < N; i++)); do
        for kind in plain limits; do
            id="cgb-$name-$$-$kind-$i"
            out="$work/$name.$kind.txt"
            ((i < 0)) && out="$work/$name.warm.txt"
            "$work/rusage" "$out" "$bin" --root "$root" create -b "$work/$kind" "$id" \
                </dev/null >/dev/null 2>>"$work/$name.err" \
                || { echo "bench: $name create ($kind) failed:" >&2; tail -n 3 "$work/$name.err" >&2; return 1; }
            "$bin" --root "$root" delete -f "$id" >/dev/null 2>>"$work/$name.err"
        done
    done
}

if [[ "${1:-}" == "--measure" ]]; then
    N="$5"
    measure "$2" "$3" "$4"
    exit
fi

while [[ $# -gt 0 ]]; do
    case "$1" in
        -n) N="$2"; shift ;;
        --berth) BERTH="$2"; shift ;;
        --runtimes) RUNTIMES="$2"; shift ;;
        *) sed -n '2,7p' "$0" >&2; exit 2 ;;
    esac
    shift
done
[[ $(id -u) -eq 0 ]] || { echo "bench: must run as root" >&2; exit 1; }

WORK="$(mktemp -d /tmp/berth-cgbench.XXXXXX)"
STATE_BASE="$(mktemp -d /run/berth-cgbench.XXXXXX)"
export STATE_BASE
trap 'rm -rf "$WORK" "$STATE_BASE"' EXIT
cc -O2 -o "$WORK/rusage" "$SRC_DIR/bench/rusage.c"
"$SRC_DIR/tests/lib/make-bundle.sh" "$WORK/plain" sleep 10 >/dev/null
cp -a "$WORK/plain" "$WORK/limits"
jq 'del(.linux.resources) | .linux.resources = {
      memory: {limit: 268435456, swap: 536870912, reservation: 134217728},
      cpu: {shares: 512, quota: 50000, period: 100000, cpus: "0-1", mems: "0"},
      pids: {limit: 256}}' "$WORK/limits/config.json" >"$WORK/c.json"
mv "$WORK/c.json" "$WORK/limits/config.json"
jq 'del(.linux.resources)' "$WORK/plain/config.json" >"$WORK/c.json" && mv "$WORK/c.json" "$WORK/plain/config.json"

measured=()
for name in $RUNTIMES; do
    case "$name" in
        berth) bin="$BERTH" ;;
        *) bin="$(command -v "$name" || true)" ;;
    esac
    [[ -n "$bin" && -x "$bin" ]] || { echo "bench: $name not found; skipping it" >&2; continue; }
    echo "bench: measuring $name ($N creates of each bundle)..." >&2
    if [[ "$name" == crun ]]; then
        unshare -m --propagation private sh -c 'umount /sys/fs/cgroup/unified 2>/dev/null; exec "$@"' sh \
            "$SRC_DIR/bench/cgroups.sh" --measure "$name" "$bin" "$WORK" "$N" || continue
    else
        "$SRC_DIR/bench/cgroups.sh" --measure "$name" "$bin" "$WORK" "$N" || continue
    fi
    measured+=("$name")
done

median() { sort -n -k1,1 "$1" | awk '{ w[NR] = $1 / 1000 } END { printf "%.2f", (NR % 2) ? w[(NR + 1) / 2] : (w[NR / 2] + w[NR / 2 + 1]) / 2 }'; }

echo
echo "## cgroup cost of create — $(date -u '+%Y-%m-%d %H:%M UTC'), kernel $(uname -r), N=$N per bundle"
echo
echo "| runtime | create, no limits (median ms) | create, with limits (median ms) | limits add (ms) |"
echo "|---|---:|---:|---:|"
for name in "${measured[@]}"; do
    p="$(median "$WORK/$name.plain.txt")"
    l="$(median "$WORK/$name.limits.txt")"
    printf '| %s | %s | %s | %s |\n' "$name" "$p" "$l" "$(awk -v a="$l" -v b="$p" 'BEGIN { printf "%+.2f", a - b }')"
    echo "$p $l" >"$WORK/$name.med"
done
if [[ -f "$WORK/berth.med" ]]; then
    echo
    read -r bp bl <"$WORK/berth.med"
    for peer in runc crun; do
        [[ -f "$WORK/$peer.med" ]] || continue
        read -r pp pl <"$WORK/$peer.med"
        awk -v p="$peer" -v bp="$bp" -v bl="$bl" -v pp="$pp" -v pl="$pl" \
            'BEGIN { printf "berth/%s create with limits: %.2fx (without: %.2fx)\n", p, bl / pl, bp / pp }'
    done
fi
