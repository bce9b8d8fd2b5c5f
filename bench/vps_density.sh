#!/bin/bash
# VPS density and start latency: berth vps vs LXC (Debian's lxc package), in the same run, on
# the same busybox-init rootfs. See bench/README.md ("VPS density") for what is measured.
#
#   sudo bench/vps_density.sh [-n COUNT] [-s STARTS] [--berth PATH] [--only berth|lxc]
#
# COUNT VPSes (default 200) are started one after another and kept running; then the memory
# that is the manager's (not the VPSes' own processes) is measured, and the list time; then all
# are stopped and removed. STARTS (default 20) single start latencies are measured first (median).
# Nothing is left behind: every VPS, LXC container, mount and temp dir goes at the end (also on
# Ctrl-C). LXC gets lxc.net.0.type = empty: no host network change.
set -euo pipefail

COUNT=200 STARTS=20 ONLY=""
BERTH="${BERTH:-$(dirname "$0")/../build/cli/berth}"
SRC="$(cd "$(dirname "$0")/.." && pwd)"
while [[ $# -gt 0 ]]; do
    case "$1" in
        -n) COUNT="$2"; shift 2 ;;
        -s) STARTS="$2"; shift 2 ;;
        --berth) BERTH="$2"; shift 2 ;;
        --only) ONLY="$2"; shift 2 ;;
        *) echo "usage: $0 [-n COUNT] [-s STARTS] [--berth PATH] [--only berth|lxc]" >&2; exit 2 ;;
    esac
done
[[ $(id -u) -eq 0 ]] || { echo "vps_density: needs root" >&2; exit 1; }
BERTH="$(readlink -f "$BERTH")"
[[ -x "$BERTH" ]] || { echo "vps_density: no berth binary at $BERTH (build first, or --berth)" >&2; exit 1; }
for t in jq busybox; do command -v "$t" >/dev/null || { echo "vps_density: $t is missing (scripts/setup.sh)" >&2; exit 1; }; done
if [[ "$ONLY" != berth ]] && ! command -v lxc-start >/dev/null; then
    echo "vps_density: installing Debian's lxc (--no-install-recommends)" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends lxc >/dev/null
fi

W="$(mktemp -d /var/tmp/berth-density.XXXXXX)"
# The runtime's state on a tmpfs of its own, as berth's default root (/run/berth) and LXC's
# runtime files (/run/lxc) are on a Debian host, where /run is a tmpfs. (On these test machines
# /run is on the root disk: every state save of `vps start` waited for a disk flush, 3-22 ms each.)
RUNW="$(mktemp -d /var/tmp/berth-density-run.XXXXXX)"
mount -t tmpfs -o mode=0755,size=64m berth-density "$RUNW"
chmod 0755 "$W"
export BERTH_VPS_CONFIG="$W/etc" BERTH_VPS_DATA="$W/data" BERTH_VPS_IDPOOL="3000000:$((COUNT + STARTS + 10))"
export BERTH_VPS_LXCFS="$W/lxcfs"
B=("$BERTH" --root "$RUNW/state" --store "$W/store")
LXCP="$W/lxc"

log() { echo "vps_density: $*" >&2; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

cleanup() {
    set +e
    log "cleaning up"
    local f n
    for f in "$BERTH_VPS_CONFIG"/*.json; do
        [[ -f "$f" ]] || continue
        n="$(basename "$f" .json)"
        "${B[@]}" vps destroy --force "$n" </dev/null >/dev/null 2>&1
    done
    if [[ -d "$LXCP" ]]; then
        for n in $(ls "$LXCP"); do
            lxc-stop -P "$LXCP" -n "$n" -k >/dev/null 2>&1
            lxc-destroy -P "$LXCP" -n "$n" >/dev/null 2>&1
        done
    fi
    local pid
    pid="$(cat "$BERTH_VPS_LXCFS/state/lxcfs.pid" 2>/dev/null)"
    [[ -n "$pid" ]] && kill "$pid" 2>/dev/null
    awk -v d="$W" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l 2>/dev/null
    rm -rf --one-file-system "$W"
    umount -l "$RUNW" 2>/dev/null
    rmdir "$RUNW" 2>/dev/null
    [[ -n "${SUBID_LINE:-}" ]] && sed -i "\\|^$SUBID_LINE\$|d" /etc/subuid /etc/subgid
}
trap cleanup EXIT

# The rootfs: busybox, an inittab whose init only waits (no getty, no console shell).
"$SRC/tests/lib/make-bundle.sh" "$W/bundle" sh >/dev/null
ROOTFS="$W/bundle/rootfs"
printf '::sysinit:/bin/true\n' >"$ROOTFS/etc/inittab"
"$SRC/tests/lib/make-oci-layout.sh" -t v1 "$W/layout" "$ROOTFS" >/dev/null
"${B[@]}" image import "$W/layout" localhost/density:v1 >/dev/null

# mem_kb FIELD: from /proc/meminfo.
mem_kb() { awk -v f="$1:" '$1 == f { print $2 }' /proc/meminfo; }

# median: of the numbers on stdin.
median() { sort -n | awk '{ a[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

# owned_kb KIND NAME...: PSS (kB) of every process outside the containers' cgroups whose cmdline
# names one of them — what the manager keeps per container (a console holder, LXC's monitor) —
# printed as "TOTAL_PSS_KB PROCESSES". A process is the container's own when one of its cgroup
# paths contains the container's cgroup (berth: vps-NAME; LXC: lxc.payload.NAME).
owned_kb() {
    local kind="$1"
    shift
    local names=" $* " pid cg cmd n total=0 procs=0 pss
    for pid in $(ls /proc | grep -E '^[0-9]+$'); do
        cmd="$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline")" || continue
        [[ -n "$cmd" ]] || continue
        cg="$(cat 2>/dev/null <"/proc/$pid/cgroup")" || continue
        for n in ${cmd//\// }; do
            n="${n#vps-}"
            [[ "$names" == *" $n "* ]] || continue
            if [[ "$kind" == berth && "$cg" == *"/vps-$n"* ]] || [[ "$kind" == lxc && "$cg" == *"lxc.payload.$n"* ]]; then
                break
            fi
            pss="$(awk '/^Pss:/ { print $2 }' "/proc/$pid/smaps_rollup" 2>/dev/null)"
            total=$((total + ${pss:-0}))
            procs=$((procs + 1))
            break
        done
    done
    echo "$total $procs"
}

# in_cgroups_kb KIND NAME...: memory charged to the containers' memory cgroups (kB), found from
# the cgroup of each container's init (berth: vps status -j's pid; LXC: lxc-info -p).
in_cgroups_kb() {
    local kind="$1" n pid rel total=0
    shift
    local mnt
    mnt="$(awk '$(NF - 2) == "cgroup" && $NF ~ /(^|,)memory(,|$)/ { print $5; exit }' /proc/self/mountinfo)"
    for n in "$@"; do
        if [[ "$kind" == berth ]]; then
            pid="$("${B[@]}" vps status -j "$n" </dev/null | jq -r .pid)"
        else
            pid="$(lxc-info -P "$LXCP" -n "$n" -pH 2>/dev/null)"
        fi
        rel="$(awk -F: '$2 ~ /(^|,)memory(,|$)/ { print $3 }' "/proc/$pid/cgroup" 2>/dev/null)"
        [[ -n "$rel" && -f "$mnt$rel/memory.usage_in_bytes" ]] &&
            total=$((total + $(cat "$mnt$rel/memory.usage_in_bytes") / 1024))
    done
    echo "$total"
}

# ---------------------------------------------------------------------------------------------
# berth

berth_create() { "${B[@]}" vps create "$1" --template localhost/density:v1 --ram 64M >/dev/null </dev/null; }
berth_start() { "${B[@]}" vps start "$1" </dev/null >/dev/null; }
berth_remove() { "${B[@]}" vps destroy --force "$1" </dev/null >/dev/null; }
berth_list() { "${B[@]}" vps list -j </dev/null >/dev/null; }
berth_shared_kb() {
    local pid
    pid="$(cat "$BERTH_VPS_LXCFS/state/lxcfs.pid" 2>/dev/null)"
    [[ -n "$pid" ]] && awk '/^Pss:/ { print $2 }' "/proc/$pid/smaps_rollup" || echo 0
}

# ---------------------------------------------------------------------------------------------
# LXC: one config per container, its rootfs an overlay of the same busybox rootfs with its own
# upper dir (as berth's), an unprivileged id range of its own (as berth's), 64M memory limit.

LXC_BASE=4000000
# LXC maps ids through newuidmap, which wants root's ranges in /etc/subuid and /etc/subgid: a
# line is added for the run and removed at the end.
SUBID_LINE="root:$LXC_BASE:$(((COUNT + STARTS + 1) * 65536))"
lxc_create() {
    local n="$1" i="$2" d="$LXCP/$1"
    mkdir -p "$d/delta" "$d/work"
    chown "$((LXC_BASE + i * 65536)):$((LXC_BASE + i * 65536))" "$d/delta" "$d/work"
    chmod 0755 "$d"
    cat >"$d/config" <<EOF
lxc.uts.name = $n
lxc.rootfs.path = overlay:$ROOTFS:$d/delta
lxc.idmap = u 0 $((LXC_BASE + i * 65536)) 65536
lxc.idmap = g 0 $((LXC_BASE + i * 65536)) 65536
lxc.net.0.type = empty
lxc.mount.auto = proc:mixed sys:ro cgroup:mixed
lxc.autodev = 1
lxc.tty.max = 0
lxc.pty.max = 16
lxc.init.cmd = /sbin/init
lxc.signal.halt = SIGUSR2
lxc.cgroup.memory.limit_in_bytes = 64M
lxc.apparmor.profile = unconfined
lxc.log.level = ERROR
lxc.log.file = $d/lxc.log
EOF
}
lxc_start() { lxc-start -P "$LXCP" -n "$1" -d </dev/null >/dev/null; }
lxc_remove() { lxc-stop -P "$LXCP" -n "$1" -k >/dev/null 2>&1; lxc-destroy -P "$LXCP" -n "$1" >/dev/null; }
lxc_list() { lxc-ls -P "$LXCP" -f >/dev/null; }
lxc_shared_kb() { echo 0; }

# ---------------------------------------------------------------------------------------------

declare -A R

# start_latency KIND: STARTS fresh containers started one at a time (median ms), then removed.
start_latency() {
    local kind="$1" i n t0 t1 times=()
    for ((i = 0; i < STARTS; i++)); do
        n="s${kind:0:1}$i"
        "${kind}_create" "$n" "$((COUNT + i))"
        t0="$(now_ms)"
        "${kind}_start" "$n"
        t1="$(now_ms)"
        times+=($((t1 - t0)))
        "${kind}_remove" "$n"
    done
    R[$kind.start_ms]="$(printf '%s\n' "${times[@]}" | median)"
}

# density KIND: COUNT containers started one after another, measured while all run, removed.
density() {
    local kind="$1" i n names=() avail0 avail1 t0 t1 lt=() own shared incg
    for ((i = 0; i < COUNT; i++)); do
        names+=("d${kind:0:1}$i")
        "${kind}_create" "d${kind:0:1}$i" "$i"
    done
    sync
    sleep 2
    avail0="$(mem_kb MemAvailable)"
    t0="$(now_ms)"
    for n in "${names[@]}"; do
        "${kind}_start" "$n"
    done
    t1="$(now_ms)"
    R[$kind.total_s]="$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1000 }')"
    sleep 5
    avail1="$(mem_kb MemAvailable)"
    read -r own procs < <(owned_kb "$kind" "${names[@]}")
    shared="$("${kind}_shared_kb")"
    incg="$(in_cgroups_kb "$kind" "${names[@]}")"
    R[$kind.own_kb]="$(awk -v o="$own" -v n="$COUNT" 'BEGIN { printf "%.0f", o / n }')"
    R[$kind.procs]="$procs"
    R[$kind.shared_kb]="$shared"
    R[$kind.host_kb]="$(awk -v a="$avail0" -v b="$avail1" -v n="$COUNT" 'BEGIN { printf "%.0f", (a - b) / n }')"
    R[$kind.incg_kb]="$(awk -v c="$incg" -v n="$COUNT" 'BEGIN { printf "%.0f", c / n }')"
    for ((i = 0; i < 5; i++)); do
        t0="$(now_ms)"
        "${kind}_list"
        t1="$(now_ms)"
        lt+=($((t1 - t0)))
    done
    R[$kind.list_ms]="$(printf '%s\n' "${lt[@]}" | median)"
    t0="$(now_ms)"
    for n in "${names[@]}"; do
        "${kind}_remove" "$n"
    done
    t1="$(now_ms)"
    R[$kind.remove_s]="$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1000 }')"
}

for f in /etc/subuid /etc/subgid; do
    grep -qxF "$SUBID_LINE" "$f" 2>/dev/null || echo "$SUBID_LINE" >>"$f"
done
kinds=(berth lxc)
[[ -n "$ONLY" ]] && kinds=("$ONLY")
for k in "${kinds[@]}"; do
    log "$k: $STARTS start latencies"
    start_latency "$k"
    log "$k: density, $COUNT VPSes"
    density "$k"
done

echo "## VPS density and start, $(date -u +%F), $(nproc) CPUs, $(uname -r), COUNT=$COUNT, STARTS=$STARTS"
echo
echo "berth $("$BERTH" --version | head -n1 | awk '{print $NF}'), $(lxc-start --version 2>/dev/null | sed 's/^/lxc /'), load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| | berth vps | LXC | berth/LXC |"
echo "|---|---:|---:|---:|"
row() {
    local label="$1" key="$2"
    local a="${R[berth.$key]:--}" b="${R[lxc.$key]:--}" ratio="-"
    [[ "$a" != - && "$b" != - ]] && ratio="$(awk -v a="$a" -v b="$b" 'BEGIN { if (b == 0) print "-"; else printf "%.2f", a / b }')"
    echo "| $label | $a | $b | $ratio |"
}
row "start until init runs, median of $STARTS (ms)" start_ms
row "start $COUNT one after another, total (s)" total_s
row "manager's per-VPS processes, PSS per VPS (KiB)" own_kb
row "  those processes (count, all VPSes)" procs
row "shared manager processes (lxcfs), PSS total (KiB)" shared_kb
row "host memory used per VPS, MemAvailable drop / COUNT (KiB)" host_kb
row "  of which charged to the VPS's own cgroup (KiB)" incg_kb
row "list with $COUNT running (\`vps list -j\` / \`lxc-ls -f\`), median of 5 (ms)" list_ms
row "stop + remove $COUNT, total (s)" remove_s
