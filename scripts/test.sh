#!/bin/bash
# Runs every test: installs what is missing, builds with -Werror, then ctest over all labels
# (unit, root, e2e, ...) and prints ctest's summary plus every skipped test with its reason;
# then the fuzz lane: scripts/fuzz.sh builds the libFuzzer targets with clang in build-fuzz and
# runs each for FUZZ_SECONDS (default 30) — "fuzz: N passed, N failed".
# Run as root; needs no stdin. Exits non-zero when any test or fuzz target fails.
#
#   sudo ./scripts/test.sh [CTEST_ARG...]     e.g. scripts/test.sh -L unit
#
# With CTEST_ARGs (a chosen subset) the fuzz lane is left out, and so with FUZZ_SECONDS=0.
set -euo pipefail

cd "$(dirname "$0")/.."
exec </dev/null

if [[ $(id -u) -ne 0 ]]; then
    echo "test: run as root (sudo $0): the root and e2e tests need it" >&2
    exit 1
fi

build_dir="${BUILD_DIR:-build}"
./scripts/setup.sh
./scripts/build.sh --werror --crash-points

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
}
trap 'stop_ctest; exit 130' INT TERM
trap 'stop_ctest' EXIT

set +e
setsid ctest --test-dir "$build_dir" --output-on-failure "$@" &
ctest_pid=$!
wait "$ctest_pid"
status=$?
set -e
stop_ctest

# bats reports a skipped test as "ok N name # skip reason", which ctest counts as passed: list
# them, with their ctest name, so a skip is never mistaken for a pass. (ctest itself lists the
# skipped unit tests under "The following tests did not run".)
log="$build_dir/Testing/Temporary/LastTest.log"
if [[ -f "$log" ]]; then
    skipped="$(awk '
        /^[0-9]+\/[0-9]+ Testing: / { test = $3 }
        /^ok [0-9]+ .* # skip/ { sub(/^ok [0-9]+ /, ""); print "  " test ": " $0 }' "$log")"
    if [[ -n "$skipped" ]]; then
        echo
        echo "Skipped bats tests (NOT passes):"
        echo "$skipped"
    fi
fi

# The fuzz lane: a clang tree of its own (the main build is g++), so not a ctest label here.
fuzz_seconds="${FUZZ_SECONDS:-30}"
echo
if [[ $# -gt 0 || "$fuzz_seconds" == "0" ]]; then
    echo "fuzz: lane not run (${*:-FUZZ_SECONDS=0}); run scripts/fuzz.sh for it"
else
    ./scripts/fuzz.sh --seconds "$fuzz_seconds" --builddir "${FUZZ_BUILD_DIR:-build-fuzz}" \
        || status=$((status == 0 ? 1 : status))
fi
exit "$status"
