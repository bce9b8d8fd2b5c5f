#!/bin/bash
# Micro-VM path benchmark: `berth run` of a vm-handled busybox container against QEMU started
# directly with the same kernel and initramfs (the floor: boot to /init and power off, no berth),
# in the same run; both rootfs sharing modes; with a NIC mirrored from a network namespace (a
# veth the script makes in a netns of its own; no traffic); a bind-mounted host directory
# (virtio-9p, which boots the generic kernel) and that kernel's own floor; the VMM's RSS.
# See bench/README.md.
#
#   sudo bench/vm.sh [-n N] [--berth PATH] [--breakdown [--compare PATH]]
#
# Prints medians of N runs (default 5) in milliseconds: time to the workload's first output line
# and to exit, and the ratio berth/floor. --breakdown instead times where a start goes (floor,
# initramfs and ext4 rootfs runs, alternated; the marks of $BERTH_VM_TIMING and berth.timing=1,
# tabled by build/vm/berth-vm-timing); --compare PATH adds the initramfs run of another berth
# binary (with its berth-agent beside it) to the rounds, for A/B of a change.
set -euo pipefail

cd "$(dirname "$0")/.."
SRC_DIR="$PWD"
N=5
BERTH="${BERTH:-$SRC_DIR/build/cli/berth}"
BREAKDOWN=0
COMPARE=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        -n) N="$2"; shift ;;
        --berth) BERTH="$2"; shift ;;
        --breakdown) BREAKDOWN=1 ;;
        --compare) COMPARE="$2"; shift ;;
        *) sed -n '2,13p' "$0" >&2; exit 2 ;;
    esac
    shift
done
[[ -x "$BERTH" ]] || { echo "vm.sh: $BERTH not found (build first)" >&2; exit 1; }

now_us() { echo "${EPOCHREALTIME/./}"; }

median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : int((a[NR / 2] + a[NR / 2 + 1]) / 2) }'; }

TMP="$(mktemp -d /tmp/berth-vmbench.XXXXXX)"
cleanup() {
    for d in "$TMP"/root/*/; do [[ -d "$d" ]] && "$BERTH" --root "$TMP/root" delete -f "$(basename "$d")" >/dev/null 2>&1; done
    umount "$TMP/netns" 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT

"$SRC_DIR/tests/lib/make-bundle.sh" "$TMP/bundle" sh -c 'echo first; exit 0' >/dev/null
jq '.annotations["run.oci.handler"] = "vm"' "$TMP/bundle/config.json" >"$TMP/c" && mv "$TMP/c" "$TMP/bundle/config.json"

# timed CMD...: prints "first_ms exit_ms" — first line of CMD's stdout, and CMD's exit.
timed() {
    local t0 t1=0 t2 line
    t0=$(now_us)
    while IFS= read -r line; do
        [[ $t1 -eq 0 ]] && t1=$(now_us)
    done < <("$@" 2>/dev/null)
    t2=$(now_us)
    echo "$(((t1 - t0) / 1000)) $(((t2 - t0) / 1000))"
}

# A network namespace like podman's (a veth eth0 with an address and a default route) for the
# NIC runs: berth mirrors eth0 into the VM (a tap, tc filters) and the agent configures it.
touch "$TMP/netns"
unshare --net="$TMP/netns" sh -c 'ip link set lo up && ip link add eth0 type veth peer name peer0 &&
    ip addr add 10.250.0.5/24 dev eth0 && ip link set eth0 up && ip route add default via 10.250.0.1'

# berth_run MODE [NETNS]: a VM run with that rootfs mode, in NETNS (else a new, empty netns).
# Each variant's config is written once, outside the timed runs (its root.path is the bundle's).
berth_run() {
    local mode="$1" netns="${2:-}" id="b$RANDOM$RANDOM"
    local dir="$TMP/cfg-$mode${netns:+-ns}"
    if [[ ! -f "$dir/config.json" ]]; then
        mkdir -p "$dir"
        jq --arg m "$mode" --arg ns "$netns" --arg root "$TMP/bundle/rootfs" '.annotations["org.berth.vm.rootfs"] = $m
            | .root.path = $root
            | .linux.namespaces |= map(if .type == "network" then (if $ns == "" then del(.path) else .path = $ns end) else . end)' \
            "$TMP/bundle/config.json" >"$dir/config.json"
    fi
    "$BERTH" ${BERTH_DEBUG:-} --root "$TMP/root" run -b "$dir" "$id" </dev/null
}

# The floor: the same kernel + boot initramfs, the agent in probe mode (prints one line on the
# serial console, powers off). No rootfs, no agent channel, no berth.
KVER="$(ls /lib/modules | grep -- '-cloud-amd64$' | sort -V | tail -1)"
# The warm-up builds the cached initramfs; its debug line names the kernel file and the
# initramfs this berth boots (the cache holds other builds' too), which the floor boots as well.
BERTH_DEBUG=--debug berth_run block >"$TMP/warmup.log" 2>&1 || true
INITRAMFS="$(grep -o 'boot initramfs /[^ ",]*' "$TMP/warmup.log" | head -1 | cut -d' ' -f3)"
# The guest is told the host's TSC rate (vm/host_tsc.cpp): the floor gets the same number.
TSC_KHZ="$(grep -o 'tsc_early_khz=[0-9]*' "$TMP/warmup.log" | head -1 | cut -d= -f2)"
KERNEL="$(grep -o ', kernel /[^ ,"]*' "$TMP/warmup.log" | head -1 | cut -d' ' -f3)"
[[ -n "$INITRAMFS" && -n "$KERNEL" ]] || { echo "vm.sh: the warm-up run did not say what it boots:" >&2; tail -5 "$TMP/warmup.log" >&2; exit 1; }
CMDLINE="console=ttyS0 reboot=t panic=-1 i8042.noaux i8042.nomux i8042.nopnp tsc_early_khz=${TSC_KHZ:-2000000} tsc=reliable clocksource=tsc lpj=1000000 cryptomgr.notests quiet loglevel=1 berth.rootfs=initramfs berth.probe=1"
# Like with like: the floor uses the accelerator berth chose (its cached probe), or BERTH_VM_ACCEL.
PROBE="$(dirname "$INITRAMFS")/kvm-probe"
ACCEL=(-accel tcg)
if [[ "${BERTH_VM_ACCEL:-}" == kvm || ( -z "${BERTH_VM_ACCEL:-}" && "$(head -1 "$PROBE" 2>/dev/null)" == usable ) ]]; then
    ACCEL=(-accel kvm -cpu host)
fi
qemu_floor() {
    qemu-system-x86_64 -M microvm "${ACCEL[@]}" -nodefaults -no-user-config -nographic -no-reboot -m 256M -smp 1 \
        -kernel "$KERNEL" -initrd "$INITRAMFS" -append "$CMDLINE" -serial stdio </dev/null
}

# --breakdown: one timing file per run (H/G lines, see vm/wire/timing.hpp), tabled per mode.
if [[ $BREAKDOWN -eq 1 ]]; then
    TIMING_TOOL="$(dirname "$BERTH")/../vm/berth-vm-timing"
    [[ -x "$TIMING_TOOL" ]] || { echo "vm.sh: $TIMING_TOOL not found (build first)" >&2; exit 1; }
    mark() { echo "H $1 ${EPOCHREALTIME/./} 0" >>"$2"; }
    # cpu_of FILE CMD...: CMD, then its and its reaped descendants' user+sys CPU (berth, the
    # shim, QEMU) as "H cpu.ms <ms> 0" in FILE — what a loaded host's waiting for a core does
    # not inflate, unlike the wall times (bench/README.md, "Start time, third pass").
    cpu_of() {
        local f="$1" t
        shift
        { t="$( { TIMEFORMAT='%3U %3S'; time "$@" >&3 2>/dev/null; } 2>&1)"; } 3>&1
        echo "H cpu.ms $(awk '{ printf "%d", ($1 + $2) * 1000 }' <<<"$t") 0" >>"$f"
    }
    # The floor with the agent's marks: they come on QEMU's serial stdout after the probe line.
    floor_timed() {
        local f="$1" line seen=0
        mark run.begin "$f"; mark qemu.exec "$f"
        while IFS= read -r line; do
            if [[ $seen -eq 0 && "$line" == *"probe ok"* ]]; then mark probe.seen "$f"; mark first.output "$f"; seen=1; fi
            [[ "$line" == *"berth-timing: "* ]] && echo "G ${line#*berth-timing: }" | tr -d '\r' >>"$f"
        done < <(CMDLINE="$CMDLINE berth.timing=1" cpu_of "$f" qemu_floor 2>/dev/null)
        mark run.end "$f"
    }
    berth_timed() {
        local f="$1" bin="$2" mode="$3" line seen=0
        mark run.begin "$f"
        while IFS= read -r line; do
            [[ $seen -eq 0 ]] && { mark first.output "$f"; seen=1; }
        done < <(BERTH_VM_TIMING="$f" BERTH="$bin" cpu_of "$f" berth_run "$mode" 2>/dev/null)
        mark run.end "$f"
    }
    BD_MODES=(${BD_MODES_OVERRIDE:-floor initramfs block})
    # --compare: the other binary's initramfs run, with an artifact cache of its own (its
    # initramfs is then the only one there), and "floor0": QEMU direct as it was before issue 15
    # part 5 — the bzImage as shipped, that initramfs, the command line without cryptomgr.notests.
    if [[ -n "$COMPARE" ]]; then
        [[ " ${BD_MODES[*]} " == *" compare "* ]] || BD_MODES+=(compare floor0)
        BERTH_VM_CACHE="$TMP/cache-compare" BERTH="$COMPARE" berth_run initramfs >/dev/null 2>&1 || true
        INITRAMFS0="$(ls "$TMP"/cache-compare/*/initramfs.cpio | head -1)"
    fi
    mkdir -p "$TMP/bd"
    echo "vm.sh --breakdown: $N rounds of ${BD_MODES[*]} (each round in a random order), ${ACCEL[*]}, $KERNEL; load before: $(uptime | sed 's/.*load average: //')"
    # Each round runs every mode once, in a fresh random order (shuf): a fixed order let the
    # position in the round (what ran just before: page cache, THP, the host's frequency) fall
    # on the same mode every time (bench/README.md, "Start time, fifth pass").
    for ((i = 0; i < N; i++)); do
        for what in $(printf '%s\n' "${BD_MODES[@]}" | shuf); do
            case "$what" in
                floor) floor_timed "$TMP/bd/$what.$i" ;;
                floor0) KERNEL="/boot/vmlinuz-$KVER" INITRAMFS="$INITRAMFS0" CMDLINE="${CMDLINE/ cryptomgr.notests/}" \
                    floor_timed "$TMP/bd/$what.$i" ;;
                compare) BERTH_VM_CACHE="$TMP/cache-compare" berth_timed "$TMP/bd/$what.$i" "$COMPARE" initramfs ;;
                *) berth_timed "$TMP/bd/$what.$i" "$BERTH" "$what" ;;
            esac
        done
    done
    [[ -n "${BD_DEBUG:-}" ]] && cat -A "$TMP"/bd/*
    echo "load after: $(uptime | sed 's/.*load average: //')"
    total() { awk '$1 == "H" && $2 == "run.begin" { b = $3 } $1 == "H" && $2 == "run.end" { e = $3 } END { print int((e - b) / 1000) }' "$1"; }
    for what in "${BD_MODES[@]}"; do
        echo
        case "$what" in
            floor) echo "== QEMU direct (floor: same kernel + initramfs, probe boot), ms ==" ;;
            floor0) echo "== QEMU direct as before: bzImage, $COMPARE's initramfs, no cryptomgr.notests, ms ==" ;;
            compare) echo "== berth run, rootfs in initramfs, $COMPARE, ms ==" ;;
            *) echo "== berth run, rootfs $what, ms ==" ;;
        esac
        "$TIMING_TOOL" "$TMP"/bd/"$what".*
        for f in "$TMP"/bd/"$what".*; do total "$f"; done | median >"$TMP/bd/$what.median"
    done
    echo
    for what in "${BD_MODES[@]}"; do
        printf '%-10s exit median %6s ms  vs floor %s  CPU (user+sys) median %s ms\n' "$what" "$(cat "$TMP/bd/$what.median")" \
            "$(awk -v a="$(cat "$TMP/bd/$what.median")" -v b="$(cat "$TMP/bd/floor.median")" 'BEGIN { printf "%.3f", a / b }')" \
            "$(for f in "$TMP"/bd/"$what".*[0-9]; do awk '$2 == "cpu.ms" { print $3 }' "$f"; done | median)"
    done
    exit 0
fi

declare -A FIRST EXIT
MODES=(floor block initramfs nic)
for what in "${MODES[@]}"; do
    : >"$TMP/$what.first"
    : >"$TMP/$what.exit"
done
# Interleaved (one run of each mode per round), so a change in the host's load hits every mode.
for ((i = 0; i < N; i++)); do
    for what in "${MODES[@]}"; do
        case "$what" in
            floor) r="$(timed qemu_floor)" ;;
            nic) r="$(timed berth_run initramfs "$TMP/netns")" ;;
            *) r="$(timed berth_run "$what")" ;;
        esac
        echo "${r% *}" >>"$TMP/$what.first"
        echo "${r#* }" >>"$TMP/$what.exit"
    done
done
for what in "${MODES[@]}"; do
    FIRST[$what]="$(median <"$TMP/$what.first")"
    EXIT[$what]="$(median <"$TMP/$what.exit")"
done

# Shares (bind mounts over virtio-9p) boot the generic kernel: its floor without and with the 9p
# modules loaded and a 9p device present, and berth run with a bind-mounted host directory.
mkdir -p "$TMP/shared"
berth_run_shared() {
    local mode="$1" id="s$RANDOM$RANDOM"
    jq --arg m "$mode" --arg src "$TMP/shared" '.annotations["org.berth.vm.rootfs"] = $m |
        .mounts = [.mounts[] | select(.destination != "/data")] + [{destination: "/data", type: "bind", source: $src, options: ["rbind"]}]' \
        "$TMP/bundle/config.json" >"$TMP/shared.json"
    mkdir -p "$TMP/sb" && ln -sfn "$TMP/bundle/rootfs" "$TMP/sb/rootfs" && cp "$TMP/shared.json" "$TMP/sb/config.json"
    "$BERTH" --root "$TMP/root" run -b "$TMP/sb" "$id" </dev/null
}
berth_run_shared initramfs >/dev/null 2>&1 || true  # builds the generic kernel's initramfs
GKDIR="$(ls -d "${BERTH_VM_KERNELS:-/var/cache/berth/vm/kernels}"/*/ 2>/dev/null | sort -V | tail -1)"
GKVER="$(basename "${GKDIR:-none}")"
GINITRAMFS="$(ls -t /var/cache/berth/vm/"$GKVER"-*/initramfs.cpio 2>/dev/null | head -1)"
qemu_floor_generic() {
    local shares=("$@")
    qemu-system-x86_64 -M microvm "${ACCEL[@]}" -nodefaults -no-user-config -nographic -no-reboot -m 256M -smp 1 \
        -kernel "$GKDIR/vmlinux" -initrd "$GINITRAMFS" -append "$CMDLINE${shares:+ berth.shares=1}" -serial stdio \
        ${shares:+-fsdev local,id=fs0,path=$TMP/shared,security_model=passthrough -device virtio-9p-device,fsdev=fs0,mount_tag=b0} </dev/null
}
SHARE_ROWS=()
if [[ -n "$GINITRAMFS" ]]; then
    # Round-robin (one run of each per round), with the cloud floor and the cloud initramfs run
    # again in the same rounds: on a loaded host, load drifts between rows measured one after
    # the other, and these ratios should not carry that drift.
    SHARE_WHAT=(cfloor gfloor gfloor9p cinitramfs sinitramfs sblock)
    for what in "${SHARE_WHAT[@]}"; do : >"$TMP/$what.first"; : >"$TMP/$what.exit"; done
    for ((i = 0; i < N; i++)); do
        for what in "${SHARE_WHAT[@]}"; do
            case "$what" in
                cfloor) r="$(timed qemu_floor)" ;;
                gfloor) r="$(timed qemu_floor_generic)" ;;
                gfloor9p) r="$(timed qemu_floor_generic 9p)" ;;
                cinitramfs) r="$(timed berth_run initramfs)" ;;
                sinitramfs) r="$(timed berth_run_shared initramfs)" ;;
                sblock) r="$(timed berth_run_shared block)" ;;
            esac
            echo "${r% *}" >>"$TMP/$what.first"
            echo "${r#* }" >>"$TMP/$what.exit"
        done
    done
    for what in "${SHARE_WHAT[@]}"; do
        FIRST[$what]="$(median <"$TMP/$what.first")"
        EXIT[$what]="$(median <"$TMP/$what.exit")"
    done
    SHARE_ROWS=(cfloor "qemu direct, cloud kernel (floor)" gfloor "qemu direct, generic kernel"
        gfloor9p "  + 9p modules and a 9p device" cinitramfs "berth run, initramfs (cloud)"
        sinitramfs "berth run, initramfs + shared dir" sblock "berth run, ext4 disk + shared dir")
fi

# Native berth for scale.
jq 'del(.annotations) | .linux.namespaces |= map(if .type == "network" then del(.path) else . end)' "$TMP/bundle/config.json" >"$TMP/c" && mv "$TMP/c" "$TMP/bundle/config.json"
: >"$TMP/native"
for ((i = 0; i < N; i++)); do
    r="$(timed "$BERTH" --root "$TMP/root" run -b "$TMP/bundle" "n$i$RANDOM" </dev/null)"
    echo "${r#* }" >>"$TMP/native"
done

# RSS of the VMM and the shim while a workload runs (VmRSS, guest RAM is 256 MiB by default).
jq '.annotations["run.oci.handler"] = "vm" | .process.args = ["sh", "-c", "echo up; sleep 3"]' \
    "$TMP/bundle/config.json" >"$TMP/c" && mv "$TMP/c" "$TMP/bundle/config.json"
"$BERTH" --root "$TMP/root" run -d -b "$TMP/bundle" rss </dev/null >"$TMP/rss.out" 2>/dev/null
for ((i = 0; i < 100; i++)); do grep -q up "$TMP/rss.out" && break; sleep 0.1; done
SHIM_PID="$("$BERTH" --root "$TMP/root" state rss | jq -r .pid)"  # the container's pid is the shim's
VMM_PID="$(awk '{ print $1 }' "$TMP/root/rss/vmm.pid")"
VMM_RSS="$(awk '/VmRSS/ { print $2 }' "/proc/$VMM_PID/status")"
SHIM_RSS="$(awk '/VmRSS/ { print $2 }' "/proc/$SHIM_PID/status")"
"$BERTH" --root "$TMP/root" delete -f rss >/dev/null 2>&1

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo "vm.sh: $N runs each, medians in ms; floor with ${ACCEL[*]}, $KERNEL; KVM probe: $(head -1 "$PROBE" 2>/dev/null || echo none)"
printf '%-34s %12s %10s %16s\n' "" "first output" "exit" "exit vs floor"
printf '%-34s %12s %10s %16s\n' "qemu direct (floor, probe boot)" "${FIRST[floor]}" "${EXIT[floor]}" "1.00"
printf '%-34s %12s %10s %16s\n' "berth run, rootfs ext4 virtio-blk" "${FIRST[block]}" "${EXIT[block]}" "$(ratio "${EXIT[block]}" "${EXIT[floor]}")"
printf '%-34s %12s %10s %16s\n' "berth run, rootfs in initramfs" "${FIRST[initramfs]}" "${EXIT[initramfs]}" "$(ratio "${EXIT[initramfs]}" "${EXIT[floor]}")"
printf '%-34s %12s %10s %16s\n' "berth run, initramfs + NIC (tap)" "${FIRST[nic]}" "${EXIT[nic]}" "$(ratio "${EXIT[nic]}" "${EXIT[floor]}")"
[[ ${#SHARE_ROWS[@]} -eq 0 ]] || echo "shares (round-robin, ratios against this block's cloud floor):"
for ((j = 0; j < ${#SHARE_ROWS[@]}; j += 2)); do
    w="${SHARE_ROWS[j]}"
    printf '%-34s %12s %10s %16s\n' "${SHARE_ROWS[j + 1]}" "${FIRST[$w]}" "${EXIT[$w]}" "$(ratio "${EXIT[$w]}" "${EXIT[cfloor]}")"
done
[[ -n "$GINITRAMFS" ]] || echo "(no generic kernel in the VM cache: shares not measured; run scripts/setup.sh)"
printf '%-34s %12s %10s\n' "berth run, native (namespaces)" "-" "$(median <"$TMP/native")"
echo "VMM (qemu) VmRSS: $((VMM_RSS / 1024)) MiB, shim VmRSS: $((SHIM_RSS / 1024)) MiB (guest RAM 256 MiB)"
