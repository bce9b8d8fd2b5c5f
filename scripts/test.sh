#!/bin/bash
# Runs every test: installs what is missing, builds with -Werror, then ctest over all labels
# (unit, root, e2e, ...) and prints ctest's summary plus every skipped test with its reason.
# Then the sanitizer lane: an ASan+UBSan build (build-asan, compiled while the normal lane's
# tests run) runs the unit and root labels (less
# the soak, the random kills, the packaging scripts' and the systemd template's tests, which run
# in the normal lane);
# sanitizer reports go to build-asan/sanitizer-logs/, and any report fails the lane. In a full
# run (no CTEST_ARGs) its unit tests run beside the normal lane's tests, once build-asan is built.
# The fuzz lane, beside the sanitizer lane's tests: scripts/fuzz.sh builds the libFuzzer targets
# with clang in build-fuzz and runs each for FUZZ_SECONDS (default 30) — "fuzz: N passed, N failed".
# Run as root (a user with sudo: it re-runs itself through sudo); needs no stdin. Exits non-zero
# when any test of any lane fails.
#
#   ./scripts/test.sh [--lane normal|sanitizer] [CTEST_ARG...]     e.g. scripts/test.sh -L unit
#
# --lane runs only that lane. CTEST_ARGs go to both ctest lanes; a -L of them replaces the
# sanitizer lane's own label choice (unit|root). With --lane, CTEST_ARGs or FUZZ_SECONDS=0 the
# fuzz lane is left out.
set -euo pipefail

cd "$(dirname "$0")/.."
exec </dev/null

lane=all
lane_arg=()
if [[ "${1:-}" == "--lane" ]]; then
    lane="${2:-}"
    lane_arg=(--lane "$lane")
    shift 2 || true
fi
case "$lane" in
    all | normal | sanitizer) ;;
    *) echo "test: --lane normal|sanitizer" >&2; exit 2 ;;
esac

if [[ $(id -u) -ne 0 ]]; then
    # The root and e2e tests need root: a sudo user gets it through sudo, as in the README.
    if command -v sudo >/dev/null; then
        echo "test: not root; re-running through sudo" >&2
        exec sudo -- "$PWD/scripts/test.sh" ${lane_arg[@]+"${lane_arg[@]}"} "$@"
    fi
    echo "test: needs root (the root and e2e tests), and there is no sudo here: run it as root" >&2
    exit 1
fi

build_dir="${BUILD_DIR:-build}"
asan_build_dir="${ASAN_BUILD_DIR:-build-asan}"
./scripts/setup.sh

# The systemd suites' Debian rootfs (tests/lib/make-systemd-rootfs.sh: debootstrap, ~70 s of
# mostly download on a fresh host, cached after) is made beside the build, niced, instead of on
# the tests' serial path; the suites take its lock and wait for it, or make it themselves if
# this attempt failed (its log: /tmp/berth-rootfs-prefetch.log).
rootfs_pid=""
if [[ "$lane" != sanitizer ]] && ! tests/lib/make-systemd-rootfs.sh --check >/dev/null &&
    command -v debootstrap >/dev/null; then
    setsid nice -n 10 tests/lib/make-systemd-rootfs.sh >/tmp/berth-rootfs-prefetch.log 2>&1 </dev/null &
    rootfs_pid=$!
fi

# ctest runs in its own process group, so an interrupted run takes every test process with it.
# SIGINT first: bats then runs its teardowns (with SIGTERM it dies without cleaning up).
ctest_pid=""
# shellcheck disable=SC2317 # called from the traps
stop_ctest() {
    if [[ -n "$ctest_pid" ]] && kill -INT -- "-$ctest_pid" 2>/dev/null; then
        for _ in $(seq 20); do
            kill -0 -- "-$ctest_pid" 2>/dev/null || break
            sleep 0.5
        done
        # Whatever is still in ctest's process group (tests, stragglers they left) goes now.
        kill -KILL -- "-$ctest_pid" 2>/dev/null || true
    fi
    ctest_pid=""
    # A podman e2e run killed before its teardown (ctest timeout, SIGKILL) leaves containers,
    # conmon processes and mounts behind. --if-stale spares runs whose bats process still lives
    # (another test run on this host).
    local dir
    for dir in /tmp/berth-e2e-podman.*; do
        [[ -d "$dir" ]] || continue
        ./tests/lib/podman-e2e-cleanup.sh --if-stale "$dir"
        [[ -d "$dir" ]] || echo "test: cleaned up after an interrupted podman e2e run: $dir"
    done
    # The same for the CRI suite: its containerd runs in a session of its own (setsid) and
    # outlives an interrupted bats; --if-stale spares set-ups whose starter still lives.
    for dir in /tmp/berth-cri.*; do
        [[ -f "$dir/env" ]] || continue
        ./scripts/cri-setup.sh stop --if-stale "$dir" || true
        [[ -d "$dir" ]] || echo "test: cleaned up after an interrupted CRI run: $dir"
    done
}
trap 'stop_ctest; exit 130' INT TERM
trap 'stop_ctest; stop_background; rm -f "${fuzz_log:-}" "${fuzz_built:-}"' EXIT

# stop_background: the prefetch and the early fuzz build, when still running (their process
# groups: each was started in a session of its own).
# shellcheck disable=SC2317 # called from the trap
stop_background() {
    [[ -z "${rootfs_pid:-}" ]] || kill -- "-$rootfs_pid" 2>/dev/null || true
    if [[ -n "${fuzz_build_pid:-}" && ! -s "${fuzz_built:-/nonexistent}" ]]; then
        kill -- "-$fuzz_build_pid" 2>/dev/null || true
    fi
    return 0
}

# run_ctest DIR [CTEST_ARG...]: ctest over DIR; returns ctest's status.
run_ctest() {
    local dir="$1" status
    shift
    set +e
    setsid ctest --test-dir "$dir" --output-on-failure "$@" &
    ctest_pid=$!
    wait "$ctest_pid"
    status=$?
    set -e
    stop_ctest
    return "$status"
}

# list_skipped DIR: bats reports a skipped test as "ok N name # skip reason", which ctest counts
# as passed: list them, with their ctest name, so a skip is never mistaken for a pass. A test
# that skipped only a part (tests/integration/helpers.bash, skip_part) prints "# part skipped:
# REASON" before its own "ok" line; those are listed too. (ctest
# itself lists the skipped unit tests under "The following tests did not run".)
list_skipped() {
    local log="$1/Testing/Temporary/LastTest.log" skipped
    if [[ -f "$log" ]]; then
        skipped="$(awk '
            /^[0-9]+\/[0-9]+ Testing: / { test = $3 }
            /^# part skipped: / { sub(/^# part skipped: /, ""); parts = parts "\n" $0; next }
            /^(not )?ok [0-9]+ / && parts != "" {
                name = $0; sub(/^(not )?ok [0-9]+ /, "", name); sub(/ # skip.*/, "", name)
                n = split(substr(parts, 2), p, "\n")
                for (i = 1; i <= n; i++) print "  " test ": " name ": part skipped: " p[i]
                parts = ""
            }
            /^ok [0-9]+ .* # skip/ { sub(/^ok [0-9]+ /, ""); print "  " test ": " $0 }' "$log")"
        if [[ -n "$skipped" ]]; then
            echo
            echo "Skipped bats tests and parts of tests (NOT passes):"
            echo "$skipped"
        fi
    fi
}

# build_asan: the sanitizer lane's build. A tree this command configures itself (CI) gets the
# precompiled headers (cmake/pch.cmake: AUTO, off under ccache), as the normal lane's does.
build_asan() {
    local fresh=()
    [[ -f "$asan_build_dir/CMakeCache.txt" ]] || fresh=(-- -DBERTH_PCH=AUTO)
    ./scripts/build.sh --werror --crash-points --sanitize address,undefined --builddir "$asan_build_dir" \
        "${fresh[@]}"
}

# The fuzz lane: a clang tree of its own (the main build is g++), so not a ctest label here.
# With both ctest lanes its targets are built early (below) and run (niced, output to a log
# printed at the end) beside the sanitizer lane's tests, which mostly wait on the kernel.
fuzz_seconds="${FUZZ_SECONDS:-30}"
fuzz_wanted=1 fuzz_why="" fuzz_pid="" fuzz_log=""
if [[ $# -gt 0 || "$fuzz_seconds" == "0" || "$lane" != all ]]; then
    fuzz_wanted=0 fuzz_why="${*:---lane $lane / FUZZ_SECONDS=$fuzz_seconds}"
fi
run_fuzz() {
    ./scripts/fuzz.sh --seconds "$fuzz_seconds" --builddir "${FUZZ_BUILD_DIR:-build-fuzz}" "$@"
}
# With both lanes, the fuzz targets are built early: once the sanitizer build and its unit
# tests are done, niced, while the normal lane's tests still run (they leave a core idle part of
# the time), instead of beside the sanitizer lane's tests at the end. It runs in a session of
# its own (stopped with its process group if the run ends first) and writes "ok" or "failed" to
# $fuzz_built when done; after a failure the fuzz lane builds (and reports) itself.
fuzz_build_pid=""
fuzz_built="$(mktemp /tmp/berth-fuzz-built.XXXXXX)"

# The sanitizer lane's labels: unit and root. e2e and vm pass on this build too, but mostly
# exercise podman, containerd and QEMU; run them by hand: --lane sanitizer -L 'e2e|vm' (README,
# Tests). ctest ANDs repeated -L options: the lane's own applies only when the caller gave none.
# Left out there: the soak and the random kills (the same paths many times over), the
# packaging and quick-start scripts' tests and the systemd template's boot (time spent in
# dpkg, man and systemd, not in berth's code; vps.bats drives the same VPS code); the VPS
# host-network, console, lxcfs, quota and passwd suites, cgroups_v2 (a fake tree), resources
# and namespaces — their C++ paths run in the lane's unit tests and in vps, lifecycle, errors
# and cgroups there, and the rest of their time is ip/nft, lxcfs, loop devices and the
# kernel: ~110 s off a CI run that had reached 30 minutes on a fresh host (README, Tests).
san_root_exclude='^integration\.(soak|crash_points|package_docs|quickstart|vps_systemd|vps_net|vps_host_net|vps_console|vps_host_lxcfs|vps_host_quota|vps_userpasswd|cgroups_v2|resources|namespaces)$'
san_labels=(-L '^(unit|root)$' -E "$san_root_exclude")
for arg in "$@"; do
    [[ "$arg" == -L* || "$arg" == --label-regex* ]] && san_labels=()
done
san_logs="$asan_build_dir/sanitizer-logs"

# With both lanes and no CTEST_ARGs, the sanitizer lane's unit tests run as soon as its build
# is done, beside the normal lane's tests, two at a time: they are gtest cases of one binary
# that need no root and touch no host-wide state (mkdtemp dirs, parsed text, their own
# process), so nothing the root/e2e/vm suites compare (mounts, cgroups, tagged processes,
# links, lxcfs, podman/containerd state) can see them, and they cannot see those suites.
# ~30 s of ASan start-ups off the serial path. SAN_UNIT_BESIDE=0 runs them in the lane, serially.
san_unit_beside=0
if [[ "$lane" == all && $# -eq 0 && "${SAN_UNIT_BESIDE:-1}" != 0 ]]; then
    san_unit_beside=1
fi
# san_unit_early: (in the background job, after the sanitizer build) the lane's unit tests;
# their output goes to unit.log, their status to unit.status.
san_unit_early() {
    rm -rf "$san_logs"
    mkdir -p "$san_logs"
    local rc=0
    ctest --test-dir "$asan_build_dir" --output-on-failure -L '^unit$' -j2 \
        >"$asan_build_dir/unit.log" 2>&1 || rc=$?
    echo "$rc" >"$asan_build_dir/unit.status"
}

status=0
asan_build_pid=""
if [[ "$lane" != sanitizer ]]; then
    # A tree this command configures itself (a fresh clone: CI) is built without debug info —
    # a fifth less compile time, and no test reads it — and with precompiled headers (AUTO: not
    # under ccache; README.md, Tests: CI build cost). An existing tree keeps its flags, so a
    # developer's scripts/build.sh and this command never rebuild each other's objects.
    fresh_tree=()
    [[ -f "$build_dir/CMakeCache.txt" ]] ||
        fresh_tree=(-- "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -DNDEBUG" "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O2 -DNDEBUG"
            -DBERTH_PCH=AUTO)
    ./scripts/build.sh --werror --crash-points "${fresh_tree[@]}"
    if [[ "$lane" == all ]]; then
        # The lanes side by side: the normal lane's tests wait on the kernel and on sleeps far
        # more than on the CPU, so the sanitizer build runs meanwhile (niced; its output goes to
        # a log, shown if it fails) — several minutes off the whole run on two cores.
        mkdir -p "$asan_build_dir"
        rm -f "$asan_build_dir/unit.status"
        (
            renice -n 10 -p "$BASHPID" >/dev/null
            build_asan >"$asan_build_dir/build.log" 2>&1 || exit $?
            [[ $san_unit_beside == 0 ]] || san_unit_early
        ) </dev/null &
        asan_build_pid=$!
        if [[ "$fuzz_wanted" == 1 ]]; then
            # shellcheck disable=SC2016 # expanded by the inner bash
            setsid nice -n 10 bash -c 'while kill -0 "$1" 2>/dev/null; do sleep 2; done
                if ./scripts/fuzz.sh --build-only --builddir "$2" >"$3" 2>&1; then echo ok >"$4"; else echo failed >"$4"; fi' \
                _ "$asan_build_pid" "${FUZZ_BUILD_DIR:-build-fuzz}" "$asan_build_dir/fuzz-build.log" "$fuzz_built" \
                </dev/null >/dev/null 2>&1 &
            fuzz_build_pid=$!
        fi
    fi
    run_ctest "$build_dir" "$@" || status=$?
    list_skipped "$build_dir"
    # The prefetch is over by now (its suites waited on its lock): reaped here, so the trap
    # never signals a process group whose id was reused.
    if [[ -n "$rootfs_pid" ]]; then
        wait "$rootfs_pid" 2>/dev/null || true
        rootfs_pid=""
    fi
fi

if [[ "$lane" != normal ]]; then
    # The sanitizer lane (its labels are chosen above; the unit tests may have run already).
    [[ $san_unit_beside == 0 ]] || san_labels=(-L '^root$' -E "$san_root_exclude")
    echo
    echo "== sanitizer lane (ASan+UBSan): $asan_build_dir, ctest ${san_labels[*]} $* =="
    if [[ -n "$asan_build_pid" ]]; then
        asan_build_status=0
        wait "$asan_build_pid" || asan_build_status=$?
        if [[ $asan_build_status -ne 0 ]]; then
            tail -n 60 "$asan_build_dir/build.log"
            echo "test: the sanitizer build failed ($asan_build_dir/build.log)" >&2
            exit 1
        fi
        echo "(built alongside the normal lane's tests: $asan_build_dir/build.log)"
    else
        build_asan
    fi
    # The instrumented binaries write their reports to files there, never to stderr (bats tests
    # compare it; tests/sanitizers/default_options.cpp), and a report ends the process with an
    # error. Any file there fails the lane, whatever the test made of that error.
    if [[ "$fuzz_wanted" == 1 ]]; then
        fuzz_log="$(mktemp /tmp/berth-fuzz-lane.XXXXXX)"
        (
            renice -n 10 -p "$BASHPID" >/dev/null
            echo
            no_build=()
            if [[ -n "$fuzz_build_pid" ]]; then
                while [[ ! -s "$fuzz_built" ]] && kill -0 "$fuzz_build_pid" 2>/dev/null; do sleep 1; done
                if [[ "$(cat "$fuzz_built")" == ok ]]; then
                    echo "fuzz: built beside the normal lane's tests ($asan_build_dir/fuzz-build.log)"
                    no_build=(--no-build)
                fi
            fi
            run_fuzz ${no_build[@]+"${no_build[@]}"}
        ) >"$fuzz_log" 2>&1 </dev/null &
        fuzz_pid=$!
    fi
    san_status=0
    if [[ $san_unit_beside == 1 ]]; then
        # The unit tests ran beside the normal lane (above); their reports stay in $san_logs.
        echo "(unit tests: run beside the normal lane's tests, two at a time: $asan_build_dir/unit.log)"
        cat "$asan_build_dir/unit.log"
        [[ "$(cat "$asan_build_dir/unit.status" 2>/dev/null)" == 0 ]] || san_status=1
    else
        rm -rf "$san_logs"
        mkdir -p "$san_logs"
    fi
    # Two suites at a time (SAN_JOBS): the root suites share the host with other runs by design
    # (cgroups and processes named by their own tag, mounts under their own temp dir, their own
    # --root), and an instrumented run waits on the kernel a third of its time: 316 s → 164 s.
    run_ctest "$asan_build_dir" -j "${SAN_JOBS:-2}" "${san_labels[@]}" "$@" || san_status=$?
    list_skipped "$asan_build_dir"
    reports=("$san_logs"/*)
    if [[ -e "${reports[0]}" ]]; then
        echo
        echo "Sanitizer reports (${#reports[@]} files in $san_logs):"
        for f in "${reports[@]}"; do
            echo "---- $f"
            head -n 40 "$f"
        done
        san_status=1
    fi
    if [[ $san_status -eq 0 ]]; then
        echo "== sanitizer lane (ASan+UBSan): passed, no sanitizer reports =="
    else
        echo "== sanitizer lane (ASan+UBSan): FAILED =="
        [[ $status -ne 0 ]] || status=$san_status
    fi
fi

# The fuzz lane's result (started beside the sanitizer lane's tests, or here when that lane is
# not run).
if [[ -n "$fuzz_pid" ]]; then
    fuzz_status=0
    wait "$fuzz_pid" || fuzz_status=$?
    cat "$fuzz_log"
    rm -f "$fuzz_log"
    [[ $fuzz_status -eq 0 ]] || status=$((status == 0 ? 1 : status))
elif [[ "$fuzz_wanted" == 1 ]]; then
    echo
    run_fuzz || status=$((status == 0 ? 1 : status))
else
    echo
    echo "fuzz: lane not run (${fuzz_why}); run scripts/fuzz.sh for it"
fi
exit "$status"
