#!/bin/bash
# From a fresh Debian 12 to a container: installs the build packages, builds berth (the binary,
# its berth-vm link and the guest agent; not the tests), turns Debian's busybox-static into an
# OCI bundle and runs `echo hello` in it with berth. Needs root: run it as root, or as a user
# with sudo (it re-runs itself through sudo then).
#
#   ./scripts/quickstart.sh [--no-setup] [--no-build]
#
# It prints one line per step; apt's and the build's full output go to a log file, named (with
# its last lines) when a step fails. BERTH=/path/to/runtime runs another binary with the same CLI
# (e.g. /usr/sbin/runc).
set -euo pipefail

cd "$(dirname "$0")/.."

do_setup=1
do_build=1
for arg in "$@"; do
    case "$arg" in
        --no-setup) do_setup=0 ;;
        --no-build) do_build=0 ;;
        *) echo "usage: $0 [--no-setup] [--no-build]" >&2; exit 2 ;;
    esac
done
if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null; then
        echo "quickstart: not root; re-running through sudo" >&2
        exec sudo -- "$PWD/scripts/quickstart.sh" "$@"
    fi
    echo "quickstart: needs root, and there is no sudo here: run it as root (su -c '$0')" >&2
    exit 1
fi
exec </dev/null

log="$(mktemp /tmp/berth-quickstart.XXXXXX.log)"
# step TEXT CMD...: one line of progress; CMD's output goes to the log. On failure, the log's
# tail and its name.
step() {
    local text="$1"
    shift
    echo "quickstart: $text"
    echo "=== $text: $*" >>"$log"
    if ! "$@" >>"$log" 2>&1; then
        echo "quickstart: FAILED: $text; last lines of the log:" >&2
        tail -n 25 "$log" | sed 's/^/  | /' >&2
        echo "quickstart: full log: $log" >&2
        exit 1
    fi
}

[[ $do_setup -eq 1 ]] && step "installing the build packages (apt-get; skipped when present)" \
    ./scripts/setup.sh --quickstart
[[ $do_build -eq 1 ]] && step "building berth, berth-vm and the guest agent into ${BUILD_DIR:-build}/ (a few minutes the first time)" \
    ./scripts/build.sh --target berth

berth="${BERTH:-$PWD/${BUILD_DIR:-build}/cli/berth}"
if [[ ! -x "$berth" ]]; then
    echo "quickstart: $berth not found; did the build fail? (log: $log)" >&2
    exit 1
fi

bundle="$(mktemp -d /tmp/berth-quickstart.XXXXXX)"
id="hello-$$"
cleanup() {
    "$berth" delete --force "$id" >/dev/null 2>&1 || true
    rm -rf "$bundle"
}
trap cleanup EXIT

step "making a busybox bundle in $bundle" ./tests/lib/make-bundle.sh "$bundle" echo hello
rm -f "$log"
echo "quickstart: $berth run -b $bundle $id"
"$berth" run -b "$bundle" "$id"
