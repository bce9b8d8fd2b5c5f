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
    libcrypt-dev lld)
# libcrypt-dev: libxcrypt, the SHA-512 crypt hashes of `vps --userpasswd`. lld: the hot layout
# (cmake/hot_layout.cmake, berth's `run` functions linked together; without lld the build warns
# and links the default way). valgrind is only for scripts/hot-functions.sh, which asks for it.
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
# /lib/modules only; no bootloader is touched where none is installed), mkfs.ext4 -d, cpio(1),
# lz4 (berth unpacks the cloud bzImage once into a vmlinux the guest boots without unpacking);
# curl: tests/vm/podman.bats fetches pages from the guest (busybox-static's wget crashes here).
VM_PKGS=(qemu-system-x86 linux-image-cloud-amd64 e2fsprogs cpio xz-utils lz4 kmod curl)
# Bind mounts in a VM (9p) need Debian's generic kernel, which builds 9p as modules (the cloud
# kernel has none). It is NOT installed: installing linux-image-*-amd64 would run
# update-initramfs, write /boot/initrd.img-* and make it a boot entry for any bootloader. Its .deb
# is downloaded instead, and only the kernel (decompressed from xz: it boots by its PVH entry
# without the guest unpacking it, see docs/vm.md) and the modules the guest loads are extracted
# into $VM_KERNELS_DIR/<version>/{vmlinux,modules/}, where berth looks for them.
VM_KERNELS_DIR="${BERTH_VM_KERNELS:-/var/cache/berth/vm/kernels}"
VM_GUEST_MODULES=(virtio_mmio virtio_blk virtio_console virtio_net crc32c_generic ext4 9pnet_virtio 9p overlay virtio_balloon)
OPTIONAL_PKGS=(hyperfine time)
# Kubernetes through containerd's CRI plugin (scripts/cri-setup.sh, tests/e2e/cri.bats, bench/cri.sh):
# the CNI plugins (bridge, host-local, loopback), the Python CRI client's gRPC and WebSocket (the
# Exec/Attach streams) (tests/tools/cri).
CRI_PKGS=(containerd containernetworking-plugins python3-grpcio python3-grpc-tools python3-websocket busybox-static
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

# vm_generic_kernel [--check]: the generic kernel matching the installed cloud kernel's ABI in
# $VM_KERNELS_DIR (nothing to do when it is there or when there is no cloud kernel).
vm_generic_kernel() {
    local abi dest tmp deb off mods m p
    abi="$(dpkg-query -W -f='${Depends}' linux-image-cloud-amd64 2>/dev/null |
        grep -o 'linux-image-[0-9][0-9.-]*-cloud-amd64' | head -1)" || true
    abi="${abi#linux-image-}"
    abi="${abi%-cloud-amd64}"
    [[ -n "$abi" ]] || return 0
    dest="$VM_KERNELS_DIR/$abi-amd64"
    # modules.wanted: a list that grew since the extraction extracts again.
    [[ -f "$dest/vmlinux" && -f "$dest/modules/modules.dep" &&
        "$(cat "$dest/modules.wanted" 2>/dev/null)" == "${VM_GUEST_MODULES[*]}" ]] && return 0
    if [[ "${1:-}" == --check ]]; then echo "setup: missing: the VM's generic kernel in $dest"; return 1; fi
    echo "setup: extracting linux-image-$abi-amd64 into $dest (not installed)"
    tmp="$(mktemp -d)"
    chown _apt "$tmp" 2>/dev/null || true  # apt-get download writes there as _apt
    (cd "$tmp" && apt-get download -q "linux-image-$abi-amd64" </dev/null)
    deb="$(ls "$tmp"/linux-image-*.deb)"
    dpkg-deb -x "$deb" "$tmp/x"
    depmod -b "$tmp/x" "$abi-amd64"
    mods="$tmp/x/lib/modules/$abi-amd64"
    mkdir -p "$dest.new/modules"
    # bzImage = setup code + an xz stream of the ELF kernel; the first stream that unpacks to an ELF.
    for off in $(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$tmp/x/boot/vmlinuz-$abi-amd64" | cut -d: -f1); do
        tail -c +"$((off + 1))" "$tmp/x/boot/vmlinuz-$abi-amd64" | xz -dc 2>/dev/null >"$dest.new/vmlinux" || true
        [[ "$(head -c 4 "$dest.new/vmlinux" | od -An -c | tr -d ' ')" == '177ELF' ]] && break
    done
    [[ "$(head -c 4 "$dest.new/vmlinux" | od -An -c | tr -d ' ')" == '177ELF' ]] ||
        { echo "setup: no ELF kernel in $deb" >&2; rm -rf "$tmp" "$dest.new"; return 1; }
    cp "$mods"/modules.dep "$mods"/modules.builtin "$mods"/modules.order "$dest.new/modules/"
    # Each wanted module and what modules.dep says it needs.
    for m in "${VM_GUEST_MODULES[@]}"; do
        for p in $(grep -E "^[^:]*/$m\.ko:" "$mods/modules.dep" | tr -d ':'); do
            mkdir -p "$dest.new/modules/$(dirname "$p")"
            cp "$mods/$p" "$dest.new/modules/$p"
        done
    done
    cp "$tmp/x/boot/config-$abi-amd64" "$dest.new/config"
    echo "${VM_GUEST_MODULES[*]}" >"$dest.new/modules.wanted"
    rm -rf "$tmp" "$dest"
    mv "$dest.new" "$dest"
}

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
    if [[ $quickstart -eq 0 ]]; then
        if [[ $check_only -eq 1 ]]; then vm_generic_kernel --check; exit; fi
        [[ $(id -u) -eq 0 ]] && vm_generic_kernel
    fi
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
[[ $quickstart -eq 1 ]] || vm_generic_kernel
echo "setup: done"
