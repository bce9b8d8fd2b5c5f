#!/bin/bash
# Installs what berth needs to build, test and benchmark on Debian 12. Idempotent and
# non-interactive; run as root. When every package is already installed, apt is not touched.
#
#   scripts/setup.sh            build + test packages (+ hyperfine if the archive has it)
#   scripts/setup.sh --check    only report what is missing (exit 1 if anything is)
#   scripts/setup.sh --quickstart   only what scripts/quickstart.sh needs (build + busybox bundle)
#   scripts/setup.sh --cri          only what scripts/cri-setup.sh and tests/tools/cri need
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive

BUILD_PKGS=(g++ cmake ninja-build pkg-config nlohmann-json3-dev libcli11-dev libcap-dev
    libseccomp-dev libgtest-dev libsystemd-dev libarchive-dev libcurl4-openssl-dev libssl-dev
    libcrypt-dev)
# libcrypt-dev: libxcrypt, the SHA-512 crypt hashes of `vps --userpasswd`.
# zsh: the zsh completion test (tests/integration/package_docs.bats); lintian: tests/e2e/package.bats.
# clang + libclang-rt-dev (the libFuzzer, ASan and UBSan runtimes, only a Recommends of clang):
# the fuzz lane (scripts/fuzz.sh). nftables (nft: the VPS anti-spoofing rules) and lxcfs (the VPS
# /proc views): vps/ at run time, and tests/integration/vps_host_*.bats. openssl (openssl passwd -6):
# tests/integration/vps_userpasswd.bats checks the written hashes with it.
TEST_PKGS=(bats busybox-static zsh podman conmon containerd runc crun uidmap iproute2 procps jq util-linux
    debootstrap lintian umoci skopeo docker-registry apache2-utils python3 zstd tar gzip
    clang libclang-rt-dev
    nftables lxcfs openssl)
# The micro-VM handler (tests/vm, bench/vm.sh): QEMU, the guest kernel (installs into /boot and
# /lib/modules only; no bootloader is touched where none is installed), mkfs.ext4 -d, cpio(1);
# curl: tests/vm/podman.bats fetches pages from the guest (busybox-static's wget crashes here).
VM_PKGS=(qemu-system-x86 linux-image-cloud-amd64 e2fsprogs cpio curl)
OPTIONAL_PKGS=(hyperfine time)
# Kubernetes through containerd's CRI plugin (scripts/cri-setup.sh, tests/e2e/cri.bats, bench/cri.sh):
# the CNI plugins (bridge, host-local, loopback) and the Python CRI client's gRPC (tests/tools/cri).
CRI_PKGS=(containerd containernetworking-plugins python3-grpcio python3-grpc-tools busybox-static
    jq iproute2 util-linux)
# scripts/quickstart.sh: build berth, make a busybox bundle (tests/lib/make-bundle.sh uses jq).
QUICKSTART_PKGS=(busybox-static jq)

check_only=0
quickstart=0
cri=0
for arg in "$@"; do
    case "$arg" in
        --check) check_only=1 ;;
        --quickstart) quickstart=1 ;;
        --cri) cri=1 ;;
        *) echo "usage: $0 [--check] [--quickstart | --cri]" >&2; exit 2 ;;
    esac
done
if [[ $quickstart -eq 1 ]]; then
    TEST_PKGS=("${QUICKSTART_PKGS[@]}")
    VM_PKGS=()
    OPTIONAL_PKGS=()
elif [[ $cri -eq 1 ]]; then
    BUILD_PKGS=()
    TEST_PKGS=("${CRI_PKGS[@]}")
    VM_PKGS=()
    OPTIONAL_PKGS=()
else
    TEST_PKGS+=("${CRI_PKGS[@]}")
fi

# is_installed PKG: dpkg knows PKG as fully installed.
is_installed() {
    [[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" == "installed" ]]
}

missing=()
for pkg in ${BUILD_PKGS[@]+"${BUILD_PKGS[@]}"} "${TEST_PKGS[@]}" ${VM_PKGS[@]+"${VM_PKGS[@]}"}; do
    is_installed "$pkg" || missing+=("$pkg")
done
missing_optional=()
for pkg in ${OPTIONAL_PKGS[@]+"${OPTIONAL_PKGS[@]}"}; do
    is_installed "$pkg" || missing_optional+=("$pkg")
done

if [[ ${#missing[@]} -eq 0 && ${#missing_optional[@]} -eq 0 ]]; then
    echo "setup: all packages present"
    exit 0
fi
if [[ $check_only -eq 1 ]]; then
    echo "setup: missing: ${missing[*]} ${missing_optional[*]}"
    [[ ${#missing[@]} -eq 0 ]]
    exit
fi
if [[ $(id -u) -ne 0 ]]; then
    echo "setup: must run as root to install: ${missing[*]} ${missing_optional[*]}" >&2
    exit 1
fi

# Recommends stay on: podman relies on them (netavark, catatonit, slirp4netns, uidmap).
apt_opts=(-y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
echo "setup: apt-get update"
apt-get update -q </dev/null
if [[ ${#missing[@]} -gt 0 ]]; then
    echo "setup: installing ${missing[*]}"
    apt-get install "${apt_opts[@]}" "${missing[@]}" </dev/null
fi
# Optional packages one at a time: a missing one must not block the rest.
for pkg in ${missing_optional[@]+"${missing_optional[@]}"}; do
    if apt-cache show "$pkg" >/dev/null 2>&1; then
        apt-get install "${apt_opts[@]}" "$pkg" </dev/null \
            || echo "setup: optional package $pkg failed to install (continuing)" >&2
    else
        echo "setup: optional package $pkg not available (continuing)" >&2
    fi
done
echo "setup: done"
