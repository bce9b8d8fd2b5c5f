#!/bin/bash
# Soak: N create/start/wait/delete cycles (plus an exec and an update every 10th cycle) of one
# busybox bundle, checking that nothing grows on the host: open fds of this shell's process
# tree, mounts, cgroup directories, state entries, processes, kernel memory (Slab) and free
# memory. Prints one line per checkpoint and a verdict; exits 1 if a count grew.
#
#   sudo bench/soak.sh [-n CYCLES] [--berth PATH] [--every K]
set -euo pipefail

cd "$(dirname "$0")/.."
N=10000
EVERY=1000
BERTH="${BERTH:-$PWD/build/cli/berth}"
while [[ $# -gt 0 ]]; do
    case "$1" in
        -n) N="$2"; shift ;;
        --every) EVERY="$2"; shift ;;
        --berth) BERTH="$2"; shift ;;
        *) sed -n '2,8p' "$0" >&2; exit 2 ;;
    esac
    shift
done
[[ $(id -u) -eq 0 ]] || { echo "soak: must run as root" >&2; exit 1; }
[[ -x "$BERTH" ]] || { echo "soak: no berth at $BERTH" >&2; exit 1; }

WORK="$(mktemp -d /tmp/berth-soak.XXXXXX)"
ROOT="$(mktemp -d /run/berth-soak.XXXXXX)"
TAG="soak$$"
cleanup() {
    local d
    for d in "$ROOT"/*/; do
        [[ -d "$d" ]] && "$BERTH" --root "$ROOT" delete -f "$(basename "$d")" >/dev/null 2>&1
    done
    rm -rf "$WORK" "$ROOT"
}
trap cleanup EXIT
"$PWD/tests/lib/make-bundle.sh" "$WORK/bundle" sh -c 'echo soak >/dev/null' >/dev/null
jq --arg tag "$TAG" '.linux.resources = {memory: {limit: 67108864}, pids: {limit: 64}}
    | .process.env += ["SOAK_TAG=" + $tag]' "$WORK/bundle/config.json" >"$WORK/c.json"
mv "$WORK/c.json" "$WORK/bundle/config.json"

# snapshot: "fds mounts cgroups state procs slab_kib memavail_kib"
snapshot() {
    local fds mounts cgs state procs slab avail
    fds=$(ls /proc/$$/fd | wc -l)
    # The host's mounts less what other users of the host mount and unmount meanwhile in their
    # own temp dirs (other test runs, podman), as tests/integration/helpers.bash's host_mounts:
    # a shared count would blame their churn on berth. This run's own dirs always count.
    mounts=$(cut -d' ' -f5 /proc/self/mountinfo | awk -v work="$WORK" -v root="$ROOT" '
        index($1, work) == 1 || index($1, root) == 1 { n++; next }
        $1 ~ "^/tmp/" || $1 ~ "^/run/netns/" || $1 ~ "^/run/containers/" || $1 ~ "^/var/lib/containers/" { next }
        { n++ } END { print n + 0 }')
    cgs=$(find /sys/fs/cgroup -type d -name "soak-$TAG-*" 2>/dev/null | wc -l)
    state=$(ls -A "$ROOT" | wc -l)
    procs=$( (grep -l "SOAK_TAG=$TAG" /proc/[0-9]*/environ 2>/dev/null || true) | wc -l)
    slab=$(awk '$1 == "Slab:" { print $2 }' /proc/meminfo)
    avail=$(awk '$1 == "MemAvailable:" { print $2 }' /proc/meminfo)
    echo "$fds $mounts $cgs $state $procs $slab $avail"
}

alive() {
    local line rest
    { read -r line <"/proc/$1/stat"; } 2>/dev/null || { echo 0; return; }
    rest="${line##*) }"
    [[ "${rest%% *}" == Z ]] && echo 0 || echo 1
}

cycle() {
    local id="soak-$TAG-$1"
    "$BERTH" --root "$ROOT" create -b "$WORK/bundle" "$id" </dev/null >/dev/null
    if (($1 % 10 == 0)); then
        "$BERTH" --root "$ROOT" exec "$id" true </dev/null >/dev/null
        "$BERTH" --root "$ROOT" update --pids-limit 65 "$id" </dev/null >/dev/null
    fi
    "$BERTH" --root "$ROOT" start "$id" </dev/null >/dev/null
    local pid i
    pid=$("$BERTH" --root "$ROOT" state "$id" | jq -r .pid)
    # Until the init is gone or a zombie (its reaper, the host's init, may be slow).
    for ((i = 0; i < 2000 && $(alive "$pid"); i++)); do sleep 0.002; done
    "$BERTH" --root "$ROOT" delete "$id" </dev/null >/dev/null 2>&1 || "$BERTH" --root "$ROOT" delete -f "$id" >/dev/null
}

# Warm up (page cache, slab caches) before the baseline.
for ((c = 1; c <= 20; c++)); do cycle "$((1000000 + c))"; done
read -r f0 m0 g0 s0 p0 slab0 avail0 < <(snapshot)
echo "soak: $N cycles; baseline fds=$f0 mounts=$m0 cgroups=$g0 state=$s0 procs=$p0 slab=${slab0}KiB avail=${avail0}KiB"
start=$(date +%s.%N)
for ((c = 1; c <= N; c++)); do
    cycle "$c"
    if ((c % EVERY == 0 || c == N)); then
        read -r f m g s p slab avail < <(snapshot)
        printf 'soak: %6d cycles  fds %+d  mounts %+d  cgroups %+d  state %+d  procs %+d  slab %+d KiB  avail %+d KiB\n' \
            "$c" $((f - f0)) $((m - m0)) $((g - g0)) $((s - s0)) $((p - p0)) $((slab - slab0)) $((avail - avail0))
    fi
done
elapsed=$(echo "$(date +%s.%N) - $start" | bc)
read -r f m g s p slab avail < <(snapshot)
printf 'soak: %d cycles in %.1f s (%.1f ms/cycle)\n' "$N" "$elapsed" "$(echo "$elapsed * 1000 / $N" | bc -l)"
if ((f != f0 || m != m0 || g != g0 || s != s0 || p != p0)); then
    echo "soak: FAIL: a count grew (fds $f0→$f, mounts $m0→$m, cgroups $g0→$g, state $s0→$s, procs $p0→$p)"
    exit 1
fi
echo "soak: OK: no fd, mount, cgroup, state or process growth; slab $((slab - slab0)) KiB, available memory $((avail - avail0)) KiB"
