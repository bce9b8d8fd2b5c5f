#!/bin/bash
# Side-by-side runtime benchmark: berth, runc and crun measured in the same run, on the same
# busybox bundle. See bench/README.md for what is measured and how to read the output.
#
#   sudo bench/bench.sh [-n N] [-w WARMUP] [-c CONTAINERS] [-r ROUNDS] [--berth PATH]
#                       [--runtimes "berth runc crun"] [--only "run cycle exec state list"]
#                       [--disk-state]
#
# The N operations of run, cycle and exec are measured in ROUNDS alternating rounds (default 5):
# every runtime does N/ROUNDS, then the next runtime, and so on, so a change in the host's load
# during the run falls on all runtimes alike instead of on whichever came last. state and list
# (CONTAINERS created containers each) are measured once per runtime, in the last round.
#
# The berth binary is --berth PATH, else $BERTH, else build/cli/berth. When it is missing the
# script says so and still measures runc and crun. --runtimes also takes NAME=PATH (bench/lib.sh),
# e.g. --runtimes "berth base=/tmp/old/berth crun" measures two berth builds in one run; every
# runtime but runc and crun gets its ratios against them.
set -euo pipefail

cd "$(dirname "$0")/.."
SRC_DIR="$PWD"
# shellcheck source=bench/lib.sh
source "$SRC_DIR/bench/lib.sh"

N=50
ROUNDS=5
WARMUP=3
CONTAINERS=100
DISK_STATE=0
BENCHES="run cycle exec state list"
BERTH="${BERTH:-$SRC_DIR/build/cli/berth}"
RUNTIMES="berth runc crun"

usage() {
    sed -n '2,17p' "$0" >&2
    exit 2
}

# ---------------------------------------------------------------------------------------------
# Measurement (also the entry point of the `--measure` re-exec used for crun).

# now_us: microseconds since the epoch, from bash itself (no fork).
now_us() {
    local t="${EPOCHREALTIME/./}"
    echo "$t"
}

# wait_exit PID: until PID is gone or a zombie (its reaper may be slow), at most 10 s.
wait_exit() {
    local pid="$1" line rest state deadline
    deadline=$(($(now_us) + 10000000))
    while [[ -r "/proc/$pid/stat" ]]; do
        read -r line <"/proc/$pid/stat" 2>/dev/null || break
        rest="${line##*) }"
        state="${rest%% *}"
        [[ "$state" == Z || "$state" == X ]] && break
        if (($(now_us) > deadline)); then
            echo "bench: container process $pid did not exit" >&2
            return 1
        fi
        read -r -t 0.0005 -u "$SLEEP_FD" || true
    done
}

# measure NAME BIN WORKDIR: runs the chosen benchmarks for one runtime; results in WORKDIR/NAME.*.txt
measure() {
    local name="$1" bin="$2" work="$3"
    # State roots live on tmpfs under /run, where each runtime keeps them by default
    # (/run/runc, /run/crun, /run/berth): a disk-backed root would measure the disk's fsync.
    local root="$STATE_BASE/root-$name" bundle="$work/bundle" rusage="$work/rusage"
    local err="$work/$name.err" i id pid total=$((WARMUP + N)) suffix
    mkdir -p "$root"
    exec {SLEEP_FD}<>"$work/sleep.fifo"

    # shellcheck disable=SC2064 # expand now: the paths are fixed for this runtime
    trap "cleanup_root '$bin' '$root'" EXIT

    [[ " $BENCHES " == *" run "* ]] && { measure_run || return 1; }
    [[ " $BENCHES " == *" cycle "* ]] && { measure_cycle || return 1; }
    [[ " $BENCHES " == *" exec "* ]] && { measure_exec || return 1; }
    if [[ " $BENCHES " == *" state "* || " $BENCHES " == *" list "* ]]; then
        measure_many || return 1
    fi
    return 0
}

# op KIND ARGS...: one timed invocation of the runtime (KIND names the result file); the
# warm-up ops (i < WARMUP) go to a file of their own. Uses name/bin/root/work/i of measure.
op() {
    local kind="$1" suffix=""
    shift
    ((i < WARMUP)) && suffix=".warm"
    "$rusage" "$work/$name.$kind$suffix.txt" "$bin" --root "$root" "$@" </dev/null >/dev/null 2>>"$err" ||
        { echo "bench: $name $kind failed" >&2; tail -n 5 "$err" >&2; return 1; }
}

measure_run() {
    for ((i = 0; i < total; i++)); do
        suffix=""
        ((i < WARMUP)) && suffix=".warm"
        id="bench-$name-$$-run-$i"
        if ! "$rusage" "$work/$name.run$suffix.txt" "$bin" --root "$root" run -b "$bundle" "$id" \
            </dev/null >/dev/null 2>>"$err"; then
            echo "bench: $name run failed; see below" >&2
            tail -n 5 "$err" >&2
            return 1
        fi
    done
}

measure_cycle() {
    for ((i = 0; i < total; i++)); do
        suffix=""
        ((i < WARMUP)) && suffix=".warm"
        id="bench-$name-$$-cycle-$i"
        rm -f "$work/$name.pid"
        "$rusage" "$work/$name.create$suffix.txt" "$bin" --root "$root" create -b "$bundle" \
            --pid-file "$work/$name.pid" "$id" </dev/null >/dev/null 2>>"$err" \
            || { echo "bench: $name create failed" >&2; tail -n 5 "$err" >&2; return 1; }
        pid="$(cat "$work/$name.pid")"
        "$rusage" "$work/$name.start$suffix.txt" "$bin" --root "$root" start "$id" \
            </dev/null >/dev/null 2>>"$err" \
            || { echo "bench: $name start failed" >&2; tail -n 5 "$err" >&2; return 1; }
        wait_exit "$pid"
        "$rusage" "$work/$name.delete$suffix.txt" "$bin" --root "$root" delete "$id" \
            </dev/null >/dev/null 2>>"$err" \
            || { echo "bench: $name delete failed" >&2; tail -n 5 "$err" >&2; return 1; }
    done
    # One line per cycle: the sum of create + start + delete (wall, user, sys), the max RSS.
    paste -d' ' "$work/$name.create.txt" "$work/$name.start.txt" "$work/$name.delete.txt" |
        awk '{ print $1+$6+$11, $2+$7+$12, $3+$8+$13, ($4>$9 ? ($4>$14?$4:$14) : ($9>$14?$9:$14)), $5+$10+$15 }' \
            >"$work/$name.cycle.txt"
}

# (c) exec of /bin/true into one running container (a busybox `sleep`), N times.
measure_exec() {
    local id="bench-$name-$$-exec"
    i=$WARMUP
    "$bin" --root "$root" run -d -b "$work/bundle-sleep" "$id" </dev/null >/dev/null 2>>"$err" ||
        { echo "bench: $name run -d failed" >&2; tail -n 5 "$err" >&2; return 1; }
    for ((i = 0; i < total; i++)); do
        op exec exec "$id" /bin/true || return 1
    done
    "$bin" --root "$root" delete --force "$id" >/dev/null 2>>"$err" || true
}

# (d) state of one container and list, with CONTAINERS created containers under the root (their
# inits wait for start: no CPU), N times each; then all are force-deleted (not timed).
measure_many() {
    local j id
    echo "bench: $name: creating $CONTAINERS containers for state/list..." >&2
    for ((j = 0; j < CONTAINERS; j++)); do
        "$bin" --root "$root" create -b "$work/bundle-sleep" "bench-$name-$$-many-$j" \
            </dev/null >/dev/null 2>>"$err" ||
            { echo "bench: $name create $j failed" >&2; tail -n 5 "$err" >&2; return 1; }
    done
    id="bench-$name-$$-many-$((CONTAINERS / 2))"
    if [[ " $BENCHES " == *" state "* ]]; then
        for ((i = 0; i < total; i++)); do op state state "$id" || return 1; done
    fi
    if [[ " $BENCHES " == *" list "* ]]; then
        for ((i = 0; i < total; i++)); do op list list || return 1; done
    fi
    for ((j = 0; j < CONTAINERS; j++)); do
        "$bin" --root "$root" delete --force "bench-$name-$$-many-$j" >/dev/null 2>>"$err" || true
    done
}

# cleanup_root BIN ROOT: force-deletes whatever a runtime left under its --root.
cleanup_root() { bench_remove_all "$1" "$2" >/dev/null; }

if [[ "${1:-}" == "--measure" ]]; then
    # Internal: bench.sh --measure NAME BIN WORKDIR N WARMUP CONTAINERS BENCHES
    N="$5"
    WARMUP="$6"
    CONTAINERS="$7"
    BENCHES="$8"
    measure "$2" "$3" "$4"
    exit
fi

# ---------------------------------------------------------------------------------------------
# Driver.

while [[ $# -gt 0 ]]; do
    case "$1" in
        -n) N="$2"; shift ;;
        -w) WARMUP="$2"; shift ;;
        -c) CONTAINERS="$2"; shift ;;
        -r) ROUNDS="$2"; shift ;;
        --only) BENCHES="$2"; shift ;;
        --disk-state) DISK_STATE=1 ;;
        --berth) BERTH="$2"; shift ;;
        --runtimes) RUNTIMES="$2"; shift ;;
        -h | --help) usage ;;
        *) echo "bench: unknown argument: $1" >&2; usage ;;
    esac
    shift
done
[[ "$N" =~ ^[1-9][0-9]*$ && "$WARMUP" =~ ^[0-9]+$ && "$CONTAINERS" =~ ^[1-9][0-9]*$ &&
    "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || { echo "bench: bad -n/-w/-c/-r" >&2; exit 2; }
((ROUNDS <= N)) || ROUNDS=$N
for b in $BENCHES; do
    [[ " run cycle exec state list " == *" $b "* ]] || { echo "bench: unknown benchmark $b" >&2; exit 2; }
done
if [[ $(id -u) -ne 0 ]]; then
    echo "bench: must run as root" >&2
    exit 1
fi
for tool in cc jq busybox unshare; do
    command -v "$tool" >/dev/null || { echo "bench: $tool not found (scripts/setup.sh)" >&2; exit 1; }
done

WORK="$(mktemp -d /tmp/berth-bench.XXXXXX)"
trap 'bench_state_base_cleanup; rm -rf "$WORK"' EXIT
bench_state_base berth-bench "$DISK_STATE"
mkfifo "$WORK/sleep.fifo"
cc -O2 -o "$WORK/rusage" "$SRC_DIR/bench/rusage.c"
"$SRC_DIR/tests/lib/make-bundle.sh" "$WORK/bundle" /bin/true
"$SRC_DIR/tests/lib/make-bundle.sh" "$WORK/bundle-sleep" sleep 100000

# version_of BIN: the first line of BIN --version.
version_of() {
    "$1" --version 2>/dev/null | head -n 1 || true
}

LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"
measured=()
versions=()
declare -A failed=()
ALTERNATING=""
MANY=""
for b in $BENCHES; do
    case "$b" in
        run | cycle | exec) ALTERNATING+="$b " ;;
        *) MANY+="$b " ;;
    esac
done
for ((round = 1; round <= ROUNDS; round++)); do
    # This round's share of N (the remainder goes to the first rounds); the warm-up ops only in
    # the first round; the state/list benchmarks only in the last.
    per=$((N / ROUNDS + (round <= N % ROUNDS ? 1 : 0)))
    warm=$((round == 1 ? WARMUP : 0))
    benches="$ALTERNATING"
    ((round == ROUNDS)) && benches+="$MANY"
    [[ -n "${benches// /}" ]] || continue
    for spec in $RUNTIMES; do
        bin="$(bench_runtime_bin "$spec" 2>/dev/null)"
        [[ -n "$bin" ]] || continue
        name="$(bench_runtime_name "$spec")"
        [[ -z "${failed[$name]:-}" ]] || continue
        echo "bench: round $round/$ROUNDS: $name ($per ops + $warm warm-up per benchmark: $benches)..." >&2
        bench_measure_in_ns "$bin" "$SRC_DIR/bench/bench.sh" --measure "$name" "$bin" "$WORK" "$per" \
            "$warm" "$CONTAINERS" "$benches" || { failed[$name]=1; continue; }
    done
done
for spec in $RUNTIMES; do
    bin="$(bench_runtime_bin "$spec")"
    [[ -n "$bin" ]] || continue
    name="$(bench_runtime_name "$spec")"
    [[ -z "${failed[$name]:-}" ]] || continue
    measured+=("$name")
    versions+=("$name: $(version_of "$bin")")
done
[[ ${#measured[@]} -gt 0 ]] || { echo "bench: nothing measured" >&2; exit 1; }

# stats FILE: "median_wall_ms p90_wall_ms median_cpu_ms mean_cpu_ms peak_rss_mib" from rusage lines.
stats() {
    awk '{ print $1 / 1000, ($2 + $3) / 1000, $4 }' "$1" | sort -n -k1,1 | awk '
        { wall[NR] = $1; cpus[NR] = $2; cpu += $2; if ($3 > rss) rss = $3 }
        END {
            n = NR
            med = (n % 2) ? wall[(n + 1) / 2] : (wall[n / 2] + wall[n / 2 + 1]) / 2
            i = int(0.9 * n); if (i < 0.9 * n) i++
            # the CPU median: a small insertion sort (N is a few hundred)
            for (a = 2; a <= n; a++) { v = cpus[a]; b = a - 1; while (b > 0 && cpus[b] > v) { cpus[b + 1] = cpus[b]; b-- } cpus[b + 1] = v }
            cmed = (n % 2) ? cpus[(n + 1) / 2] : (cpus[n / 2] + cpus[n / 2 + 1]) / 2
            printf "%.2f %.2f %.2f %.2f %.1f\n", med, wall[i], cmed, cpu / n, rss / 1024
        }'
}

echo
echo "## berth bench — $(date -u '+%Y-%m-%d %H:%M UTC'), host $(hostname), kernel $(uname -r)," \
    "$(nproc) CPUs; N=$N (+$WARMUP warm-up)"
echo "- load average before the run: $LOAD_BEFORE, after: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the host skews every figure)"
echo "- run, cycle and exec in $ROUNDS alternating rounds of N/$ROUNDS per runtime"
echo "- state roots on: $STATE_FS"
for v in "${versions[@]}"; do echo "- $v"; done
[[ " ${measured[*]} " == *" crun "* ]] &&
    echo "- crun runs in a private mount namespace with /sys/fs/cgroup/unified unmounted"
for bench in $BENCHES; do
    echo
    case "$bench" in
        run) echo "### (a) \`run\` of /bin/true (one op = one \`run\` invocation)" ;;
        cycle) echo "### (b) create + start + (wait for exit) + delete (one op = the three invocations)" ;;
        exec) echo "### (c) \`exec\` of /bin/true into a running container (one op = one \`exec\`)" ;;
        state) echo "### (d) \`state\` of one container, $CONTAINERS created containers under the root" ;;
        list) echo "### (e) \`list\` with $CONTAINERS created containers under the root" ;;
    esac
    echo
    echo "| runtime | median wall ms | p90 wall ms | median CPU ms (user+sys) | mean CPU ms | peak RSS MiB |"
    echo "|---|---:|---:|---:|---:|---:|"
    for name in "${measured[@]}"; do
        read -r med p90 cpu cmean rss < <(stats "$WORK/$name.$bench.txt")
        printf '| %s | %s | %s | %s | %s | %s |\n' "$name" "$med" "$p90" "$cpu" "$cmean" "$rss"
        printf '%s %s %s\n' "$med" "$cpu" "$rss" >"$WORK/$name.$bench.stats"
    done
    echo
    ratios=0
    for name in "${measured[@]}"; do
        [[ "$name" == runc || "$name" == crun ]] && continue
        for peer in runc crun; do
            [[ -f "$WORK/$peer.$bench.stats" ]] || continue
            read -r bw bc br <"$WORK/$name.$bench.stats"
            read -r pw pc pr <"$WORK/$peer.$bench.stats"
            awk -v b="$name" -v p="$peer" -v bw="$bw" -v bc="$bc" -v br="$br" -v pw="$pw" -v pc="$pc" -v pr="$pr" \
                'function r(a, b) { return b > 0 ? sprintf("%.2fx", a / b) : "n/a" }
                 BEGIN { printf "%s/%s: median wall %s, median CPU %s, peak RSS %s\n", b, p, r(bw, pw), r(bc, pc), r(br, pr) }'
            ratios=1
        done
    done
    ((ratios)) || echo "berth not measured: no ratios."
done
