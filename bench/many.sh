#!/bin/bash
# Many detached containers: N busybox `sleep` containers started with `run -d` one after another,
# all removed, then N again started P at a time in parallel; berth, crun and runc in one run.
# See bench/README.md ("Many containers") for what each column means.
#
#   sudo bench/many.sh [-n N] [-p P] [--berth PATH] [--runtimes "berth crun runc"]
#   (--runtimes also takes NAME=PATH: another berth build under its own name, bench/lib.sh)
#
# Defaults: N=1000, P=100 (the issue's figures); on a shared host use e.g. -n 50 -p 10.
set -euo pipefail

cd "$(dirname "$0")/.."
SRC_DIR="$PWD"
# shellcheck source=bench/lib.sh
source "$SRC_DIR/bench/lib.sh"

N=1000
P=100
BERTH="${BERTH:-$SRC_DIR/build/cli/berth}"
RUNTIMES="berth crun runc"

usage() {
    sed -n '2,8p' "$0" >&2
    exit 2
}

now_ms() { echo $((${EPOCHREALTIME/./} / 1000)); }
mem_available_kib() { awk '/^MemAvailable:/ { print $2 }' /proc/meminfo; }
slab_kib() { awk '/^Slab:/ { print $2 }' /proc/meminfo; }
# The unreclaimable part: kernel objects the containers pin (cgroups, namespaces, mounts, tasks),
# without the dentry and inode caches that any reader of /proc or the state dirs leaves behind.
sunreclaim_kib() { awk '/^SUnreclaim:/ { print $2 }' /proc/meminfo; }

# start_one BIN ROOT BUNDLE ID ERRFILE: one detached container; prints nothing, fails on error.
start_one() {
    "$1" --root "$2" run -d -b "$3" "$4" </dev/null >/dev/null 2>>"$5"
}
export -f start_one

remove_all() { bench_remove_all "$@"; }

# runtime_pss_kib ROOT: the count and Pss of the processes whose command line names ROOT, this
# run's state root (a per-container process of the runtime's, like a monitor, would; the
# containers' own processes do not; other users of the runtime on the host are not counted).
runtime_pss_kib() {
    local pid total=0 count=0 pss
    for pid in $(pgrep -f -- "$1" || true); do
        pss="$(awk '/^Pss:/ { print $2 }' "/proc/$pid/smaps_rollup" 2>/dev/null || echo 0)"
        total=$((total + ${pss:-0}))
        count=$((count + 1))
    done
    echo "$count $total"
}

# measure NAME BIN WORK: prints one result line:
#   NAME seq_ms seq_fail procs pss_kib avail_drop_kib slab_kib sunreclaim_kib del_ms del_fail par_ms par_fail
measure() {
    local name="$1" bin="$2" work="$3" root err i t0 t1 seq_ms par_ms del_ms seq_fail par_fail
    local avail0 avail1 slab0 slab1 unrec0 unrec1 procs pss del_fail
    root="$STATE_BASE/root-$name"
    err="$work/$name.err"
    mkdir -p "$root"
    # shellcheck disable=SC2064 # expand now
    trap "remove_all '$bin' '$root' >/dev/null" EXIT
    avail0="$(mem_available_kib)"
    slab0="$(slab_kib)"
    unrec0="$(sunreclaim_kib)"
    seq_fail=0
    t0="$(now_ms)"
    for ((i = 0; i < N; i++)); do
        start_one "$bin" "$root" "$work/bundle" "many-$name-$$-s$i" "$err" || seq_fail=$((seq_fail + 1))
    done
    t1="$(now_ms)"
    seq_ms=$((t1 - t0))
    sleep 2
    avail1="$(mem_available_kib)"
    slab1="$(slab_kib)"
    unrec1="$(sunreclaim_kib)"
    read -r procs pss < <(runtime_pss_kib "$root")
    t0="$(now_ms)"
    del_fail="$(remove_all "$bin" "$root")"
    t1="$(now_ms)"
    del_ms=$((t1 - t0))

    t0="$(now_ms)"
    par_fail="$(seq 0 $((N - 1)) | xargs -P "$P" -I{} bash -c \
        'start_one "$0" "$1" "$2" "many-$3-p{}" "$4" || echo F' \
        "$bin" "$root" "$work/bundle" "$name-$$" "$err" | grep -c F || true)"
    t1="$(now_ms)"
    par_ms=$((t1 - t0))
    del_fail=$((del_fail + $(remove_all "$bin" "$root")))
    echo "$name $seq_ms $seq_fail $procs $pss $(((avail0 - avail1) / N)) $(((slab1 - slab0) / N)) $(((unrec1 - unrec0) / N)) $del_ms $del_fail $par_ms $par_fail"
}

if [[ "${1:-}" == "--measure" ]]; then
    N="$5"
    P="$6"
    measure "$2" "$3" "$4"
    exit
fi

while [[ $# -gt 0 ]]; do
    case "$1" in
        -n) N="$2"; shift ;;
        -p) P="$2"; shift ;;
        --berth) BERTH="$2"; shift ;;
        --runtimes) RUNTIMES="$2"; shift ;;
        -h | --help) usage ;;
        *) echo "many: unknown argument: $1" >&2; usage ;;
    esac
    shift
done
[[ "$N" =~ ^[1-9][0-9]*$ && "$P" =~ ^[1-9][0-9]*$ ]] || { echo "many: bad -n/-p" >&2; exit 2; }
[[ $(id -u) -eq 0 ]] || { echo "many: must run as root" >&2; exit 1; }

WORK="$(mktemp -d /tmp/berth-many.XXXXXX)"
trap 'bench_state_base_cleanup; rm -rf "$WORK"' EXIT
# As bench.sh: the state roots on a tmpfs when /run is a disk (a disk fsync per state write).
bench_state_base berth-many 0
"$SRC_DIR/tests/lib/make-bundle.sh" "$WORK/bundle" sleep 100000

echo "## berth many — $(date -u '+%Y-%m-%d %H:%M UTC'), kernel $(uname -r), $(nproc) CPUs; N=$N, P=$P"
echo "- load average before: $(cut -d' ' -f1-3 /proc/loadavg); state roots on: $STATE_FS"
echo
echo "| runtime | start N one by one (s) | failures (start / delete) | runtime processes left (count / Pss KiB) | MemAvailable drop per container (KiB, noisy) | Slab per container (KiB) | of it unreclaimable (KiB) | delete N (s) | start N, P at a time (s) | failures |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
for spec in $RUNTIMES; do
    bin="$(bench_runtime_bin "$spec")"
    [[ -n "$bin" ]] || continue
    name="$(bench_runtime_name "$spec")"
    echo "many: $name: $N one by one, then $P at a time..." >&2
    # crun: as in bench.sh, a private mount namespace without the cgroup2 mount for the whole
    # measurement (bench/lib.sh).
    line="$(bench_measure_in_ns "$bin" "$SRC_DIR/bench/many.sh" --measure "$name" "$bin" "$WORK" "$N" "$P")" || continue
    read -r n seq sf procs pss drop slab unrec del df par pf <<<"$line"
    awk -v n="$n" -v seq="$seq" -v sf="$sf" -v procs="$procs" -v pss="$pss" -v drop="$drop" \
        -v slab="$slab" -v unrec="$unrec" -v del="$del" -v df="$df" -v par="$par" -v pf="$pf" 'BEGIN {
        printf "| %s | %.2f | %d / %d | %d / %d | %d | %d | %d | %.2f | %.2f | %d |\n",
            n, seq / 1000, sf, df, procs, pss, drop, slab, unrec, del / 1000, par / 1000, pf }'
done
