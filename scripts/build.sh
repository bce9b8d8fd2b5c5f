#!/bin/bash
# Configures and builds berth with CMake + Ninja.
#
#   scripts/build.sh [--werror] [--debug] [--crash-points] [--sanitize LIST] [--builddir DIR]
#                    [--target T]... [-- EXTRA_CMAKE_ARGS...]
#
# -Werror is on with --werror or when CI=1. --crash-points compiles the BERTH_CRASH_AT kill points
# the crash-safety tests use (the test command turns it on). --sanitize address,undefined builds
# with those sanitizers (-fsanitize=LIST, UB fatal; the test command's sanitizer lane uses it in
# build-asan). --target builds only that CMake target (repeatable; default: all, tests included;
# scripts/quickstart.sh builds `berth`, which brings the berth-vm link and the guest agent).
# BUILD_DIR (default: build) names the build tree.
set -euo pipefail

cd "$(dirname "$0")/.."

build_dir="${BUILD_DIR:-build}"
build_type="RelWithDebInfo"
werror=OFF
crash_points=OFF
sanitize=""
[[ "${CI:-0}" == "1" || "${CI:-}" == "true" ]] && werror=ON
extra=()
targets=()

while [[ $# -gt 0 ]]; do
    case "$1" in
        --werror) werror=ON ;;
        --no-werror) werror=OFF ;;
        --debug) build_type=Debug ;;
        --crash-points) crash_points=ON ;;
        --sanitize) sanitize="$2"; shift ;;
        --builddir) build_dir="$2"; shift ;;
        --target) targets+=(--target "$2"); shift ;;
        --) shift; extra=("$@"); break ;;
        -h | --help)
            sed -n '2,12p' "$0"
            exit 0 ;;
        *) echo "build: unknown argument: $1" >&2; exit 2 ;;
    esac
    shift
done

jobs="$(nproc 2>/dev/null || echo 2)"

cmake -G Ninja -S . -B "$build_dir" \
    -DCMAKE_BUILD_TYPE="$build_type" \
    -DBERTH_WERROR="$werror" \
    -DBERTH_CRASH_POINTS="$crash_points" \
    -DBERTH_SANITIZE="$sanitize" \
    "${extra[@]}"
cmake --build "$build_dir" --parallel "$jobs" ${targets[@]+"${targets[@]}"}
echo "build: $build_dir/cli/berth"
