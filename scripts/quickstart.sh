#!/bin/bash
# From a fresh Debian 12 to a container: installs the packages, builds berth, turns Debian's
# busybox-static into an OCI bundle and runs `echo hello` in it with berth. Run as root.
#
#   sudo ./scripts/quickstart.sh [--no-setup] [--no-build]
#
# BERTH=/path/to/runtime runs another binary with the same CLI (e.g. /usr/sbin/runc).
set -euo pipefail

cd "$(dirname "$0")/.."
exec </dev/null

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
    echo "quickstart: run as root (sudo $0)" >&2
    exit 1
fi

[[ $do_setup -eq 1 ]] && ./scripts/setup.sh
[[ $do_build -eq 1 ]] && ./scripts/build.sh

berth="${BERTH:-$PWD/${BUILD_DIR:-build}/cli/berth}"
if [[ ! -x "$berth" ]]; then
    echo "quickstart: $berth not found; did the build fail?" >&2
    exit 1
fi

bundle="$(mktemp -d /tmp/berth-quickstart.XXXXXX)"
id="hello-$$"
cleanup() {
    "$berth" delete --force "$id" >/dev/null 2>&1 || true
    rm -rf "$bundle"
}
trap cleanup EXIT

./tests/lib/make-bundle.sh "$bundle" echo hello
echo "+ $berth run -b $bundle $id" >&2
"$berth" run -b "$bundle" "$id"
