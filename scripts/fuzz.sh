#!/bin/bash
# Builds the libFuzzer targets (tests/fuzz, clang, ASan + UBSan) in their own tree and runs each
# for N seconds on a copy of its seed corpus (the committed corpus never grows here). Prints one
# line per target (executions, exec/s, coverage, result) and "fuzz: N passed, N failed"; exits
# non-zero on any crash, leak, hang (an input over --timeout), out-of-memory or a fuzzer that
# did not stop, printing the reproducer's path.
#
#   scripts/fuzz.sh [--seconds N] [--target NAME]... [--builddir DIR] [--no-build|--build-only] [--keep]
#
# --seconds N    per target (default 30)          --target NAME   only this target (repeatable)
# --builddir DIR the fuzz tree (default build-fuzz) --no-build     use the targets already built
# --keep         keep the working corpus copies and logs (their directory is printed)
# --build-only   build the targets and stop (the test command builds them early, runs them later)
set -euo pipefail

cd "$(dirname "$0")/.."

seconds=30
build_dir="build-fuzz"
build=1
build_only=0
keep=0
targets=()
all_targets=(fuzz_spec fuzz_state fuzz_process)

while [[ $# -gt 0 ]]; do
    case "$1" in
        --seconds) seconds="$2"; shift ;;
        --target) targets+=("$2"); shift ;;
        --builddir) build_dir="$2"; shift ;;
        --no-build) build=0 ;;
        --build-only) build_only=1 ;;
        --keep) keep=1 ;;
        -h | --help) sed -n '2,13p' "$0"; exit 0 ;;
        *) echo "fuzz: unknown argument: $1" >&2; exit 2 ;;
    esac
    shift
done
[[ "$seconds" =~ ^[1-9][0-9]*$ ]] || { echo "fuzz: --seconds needs a positive integer" >&2; exit 2; }
[[ ${#targets[@]} -gt 0 ]] || targets=("${all_targets[@]}")

# Largest input tried per target: the seeds' size class (a podman config with a trimmed seccomp
# profile is ~8 KiB; a state record carries its config).
max_len_of() {
    case "$1" in
        fuzz_process) echo 4096 ;;
        *) echo 16384 ;;
    esac
}

if [[ $build -eq 1 ]]; then
    if ! command -v clang++ >/dev/null || ! command -v clang >/dev/null; then
        echo "fuzz: clang is not installed (scripts/setup.sh installs it)" >&2
        exit 1
    fi
    echo "fuzz: building ${targets[*]} in $build_dir (clang, libFuzzer + ASan + UBSan)"
    cmake -G Ninja -S . -B "$build_dir" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
        -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBERTH_FUZZ=ON -DBERTH_TESTS=OFF -DBERTH_PCH=AUTO >/dev/null
    cmake --build "$build_dir" --parallel "${FUZZ_JOBS:-2}" --target "${targets[@]}"
fi
[[ $build_only -eq 0 ]] || exit 0

work="$(mktemp -d /tmp/berth-fuzz.XXXXXX)"
if [[ $keep -eq 0 ]]; then
    trap 'rm -rf "$work"' EXIT
fi
# Reproducers outlive the run, next to the build.
artifacts="$build_dir/fuzz-artifacts"
mkdir -p "$artifacts"
artifacts="$(cd "$artifacts" && pwd)"

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:symbolize=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"

# classify LOG RC: the kind of failure libFuzzer reported.
classify() {
    local log="$1" rc="$2"
    if [[ $rc -eq 0 ]] && grep -q "^Done [0-9]* runs\|DONE " "$log"; then echo ok
    elif grep -q "ERROR: LeakSanitizer" "$log"; then echo leak
    elif grep -q "ALARM: libFuzzer: timeout" "$log"; then echo hang
    elif grep -q "out-of-memory\|malloc limit" "$log"; then echo oom
    elif [[ $rc -eq 124 || $rc -eq 137 ]]; then echo "did-not-stop"
    else echo crash
    fi
}

passed=0
failed=0
for t in "${targets[@]}"; do
    bin="$build_dir/tests/fuzz/$t"
    if [[ ! -x "$bin" ]]; then
        echo "fuzz: $t: not built ($bin)" >&2
        failed=$((failed + 1))
        continue
    fi
    corpus="$work/$t"
    mkdir -p "$corpus"
    cp tests/fuzz/corpus/"$t"/* "$corpus"/
    seeds=$(find "$corpus" -type f | wc -l)
    log="$work/$t.log"
    set +e
    # -max_total_time stops the run; timeout(1) is the backstop for a fuzzer that would not.
    timeout --kill-after=10 $((seconds + 60)) "$bin" "$corpus" \
        -dict="tests/fuzz/$t.dict" -max_len="$(max_len_of "$t")" -max_total_time="$seconds" \
        -timeout="${FUZZ_TIMEOUT:-10}" -rss_limit_mb="${FUZZ_RSS_MB:-2048}" -detect_leaks=1 \
        -print_final_stats=1 -artifact_prefix="$artifacts/$t-" >"$log" 2>&1
    rc=$?
    set -e
    result="$(classify "$log" "$rc")"
    execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
    rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)"
    progress="$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -1 || true)"
    cov="$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$progress")"
    ft="$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$progress")"
    files=$(find "$corpus" -type f | wc -l)
    printf 'fuzz: %-13s %4ss  execs %-9s exec/s %-6s cov %-5s ft %-6s corpus %s -> %s  %s\n' \
        "$t" "$seconds" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "$seeds" "$files" "$result"
    if [[ "$result" == ok ]]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        repro="$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)"
        echo "fuzz: $t: $result; from the log:" >&2
        # The sanitizer's verdict and the top frames; nlohmann's frames are very long lines.
        grep -E "ERROR|runtime error|SUMMARY|property broken|ALARM|^ +#[0-9] " "$log" \
            | cut -c1-240 | head -20 >&2 || true
        if [[ -n "$repro" ]]; then
            echo "fuzz: $t: reproducer: $repro (replay: $bin $repro)" >&2
        fi
        # The log goes next to the reproducers so it survives the working directory.
        cp "$log" "$artifacts/$t.log"
        echo "fuzz: $t: full log: $artifacts/$t.log" >&2
    fi
done

[[ $keep -eq 1 ]] && echo "fuzz: working corpora and logs kept in $work"
echo "fuzz: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
