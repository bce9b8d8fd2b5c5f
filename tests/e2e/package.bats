#!/usr/bin/env bats
# The Debian package (label e2e): scripts/package.sh makes berth_<version>_amd64.deb from the
# build tree (no second build), lintian finds no error in it, and it installs into a Debian 12
# chroot — the cached debootstrap of tests/e2e/systemd.bats plus a cached man-db layer
# (tests/lib/make-pkgtest-layer.sh), used through an overlay so nothing is copied — where
# `berth --version`, `berth spec` and `man -w berth` work; `dpkg -r` leaves nothing behind but
# the conffiles.
#
# The chroot's changes land in a per-run overlay upper dir; every command runs in a mount
# namespace of its own, so no mount outlives it.

bats_require_minimum_version 1.5.0

SRC="${BERTH_SOURCE_DIR:-$BATS_TEST_DIRNAME/../..}"

fail() {
    printf '%s\n' "$@" >&2
    return 1
}

setup_file() {
    export PKG_SKIP=""
    BUILD="${BERTH_BUILD_DIR:-$SRC/build}"
    export BUILD
    local tool
    for tool in dpkg-deb dpkg-shlibdeps debootstrap unshare; do
        command -v "$tool" >/dev/null || { export PKG_SKIP="$tool is not installed (run scripts/setup.sh)"; return 0; }
    done
    [[ $(id -u) -eq 0 ]] || { export PKG_SKIP="needs root (chroot, overlay mounts)"; return 0; }
    [[ -f "$BUILD/CMakeCache.txt" ]] || { export PKG_SKIP="no build tree in $BUILD"; return 0; }
    PKG_DIR="$(mktemp -d /tmp/berth-e2e-package.XXXXXX)"
    export PKG_DIR
    # The lower layers: Debian 12 (debootstrapped once) + man-db (installed once).
    LOWER="$("$SRC/tests/lib/make-pkgtest-layer.sh" 2>"$PKG_DIR/layer.err")" ||
        { export PKG_SKIP="no Debian 12 chroot: $(tail -n 3 "$PKG_DIR/layer.err" | tr '\n' ' ')"; return 0; }
    export LOWER
    mkdir -p "$PKG_DIR"/{upper,work,merged,out}
    DEB="$("$SRC/scripts/package.sh" --builddir "$BUILD" --out "$PKG_DIR/out")"
    export DEB
}

teardown_file() {
    [[ -n "${PKG_DIR:-}" && -d "$PKG_DIR" ]] || return 0
    rm -rf --one-file-system "$PKG_DIR"
}

setup() { [[ -z "$PKG_SKIP" ]] || skip "$PKG_SKIP"; }

# in_chroot SHELL_COMMAND: runs it with sh in the chroot (overlay of $LOWER, changes in
# $PKG_DIR/upper), in a mount namespace of its own.
in_chroot() {
    timeout -k 5 120 unshare --mount --propagation private bash -euc '
        mount -t overlay overlay -o "lowerdir=$1,upperdir=$2/upper,workdir=$2/work" "$2/merged"
        mount -t proc proc "$2/merged/proc"
        exec chroot "$2/merged" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 sh -ec "$3"
    ' _ "$LOWER" "$PKG_DIR" "$1" </dev/null
}

# snapshot: every path in the chroot but the places dpkg and man-db keep their records.
snapshot() {
    in_chroot 'find / -xdev \( -path /proc -o -path /var/lib/dpkg -o -path /var/log -o -path /var/cache/man -o -path /var/cache/debconf -o -path /tmp \) -prune -o -print | sort'
}

@test "package.sh: berth_<version>_amd64.deb with the binary, link, agent, pages, completions, unit, snippets" {
    local version
    version="$("$BUILD/cli/berth" --version | sed -n 's/^berth version //p')"
    [[ "$(basename "$DEB")" == "berth_${version}_amd64.deb" ]] || fail "$DEB"
    run -0 dpkg-deb -c "$DEB"
    local f
    for f in ./usr/sbin/berth ./usr/sbin/berth-vm ./usr/libexec/berth/berth-agent \
        ./usr/share/man/man8/berth.8.gz ./usr/share/man/man8/berth-create.8.gz \
        ./usr/share/man/man8/berth-image.8.gz ./usr/share/man/man8/berth-vps.8.gz \
        ./usr/share/bash-completion/completions/berth ./usr/share/zsh/vendor-completions/_berth \
        ./lib/systemd/system/berth-vps-onboot.service \
        ./etc/containers/containers.conf.d/50-berth.conf ./etc/containerd/conf.d/berth.toml \
        ./etc/crio/crio.conf.d/50-berth.conf ./usr/share/berth/kubernetes/runtimeclass-berth.yaml \
        ./usr/share/berth/kubernetes/runtimeclass-berth-vm.yaml ./usr/share/doc/berth/copyright; do
        [[ "$output" == *" $f"* ]] || { echo "$output"; echo "missing: $f"; return 1; }
    done
    run -0 dpkg-deb -f "$DEB" Depends
    [[ "$output" == *libseccomp2* && "$output" == *libcap2* && "$output" == *libsystemd0* ]] || fail "Depends: $output"
    run -0 dpkg-deb -f "$DEB" Recommends
    [[ "$output" == *qemu-system-x86* && "$output" == *linux-image-cloud-amd64* ]] || fail "Recommends: $output"
}

@test "lintian: no errors" {
    command -v lintian >/dev/null || skip "lintian is not installed (run scripts/setup.sh)"
    run lintian --fail-on error --tag-display-limit 0 "$DEB"
    echo "$output"
    [[ "$status" -eq 0 ]]
    [[ "$output" != *"E: "* ]]
}

@test "Debian 12 chroot: dpkg -i, berth --version, berth spec, man -w, dpkg -r leaves only conffiles" {
    snapshot >"$PKG_DIR/before"
    [[ -s "$PKG_DIR/before" ]]
    cp "$DEB" "$PKG_DIR/upper/berth.deb"
    run -0 in_chroot 'dpkg -i /berth.deb && rm /berth.deb'
    run -0 in_chroot 'berth --version'
    [[ "${lines[0]}" == "berth version "* && "${lines[1]}" == "commit: "* && "${lines[2]}" == "spec: "* ]] || fail "$output"
    run -0 in_chroot 'berth-vm --version | head -n 1'
    [[ "$output" == "berth version "* ]] || fail "$output"
    run -0 in_chroot 'mkdir -p /tmp/b && cd /tmp/b && berth spec && cat config.json'
    [[ "$output" == *'"ociVersion"'* ]] || fail "$output"
    run -0 in_chroot 'man -w berth; man -w berth-create; man -w 8 berth-vps'
    [[ "${lines[0]}" == /usr/share/man/man8/berth.8.gz && "${lines[1]}" == /usr/share/man/man8/berth-create.8.gz ]] ||
        fail "$output"
    run -0 in_chroot 'man berth-run | grep -c -- --detach'
    # the completion file finds itself where bash-completion looks
    run -0 in_chroot 'bash -c ". /usr/share/bash-completion/completions/berth && complete -p berth"'

    run -0 in_chroot 'dpkg -r berth'
    run -0 in_chroot 'dpkg-query -W -f="\${db:Status-Status}" berth'
    [[ "$output" == config-files ]] || fail "status after dpkg -r: $output"
    snapshot >"$PKG_DIR/after"
    # What remove left: the conffiles (and the dirs holding them), nothing else.
    local extra
    extra="$(comm -13 "$PKG_DIR/before" "$PKG_DIR/after" | grep -vxE \
        '/etc/(containers(/containers\.conf\.d(/50-berth\.conf)?)?|containerd(/conf\.d(/berth\.toml)?)?|crio(/crio\.conf\.d(/50-berth\.conf)?)?)')" || true
    [[ -z "$extra" ]] || fail "left behind by dpkg -r:" "$extra"
    run -0 in_chroot 'dpkg --purge berth'
    snapshot >"$PKG_DIR/purged"
    extra="$(comm -3 "$PKG_DIR/before" "$PKG_DIR/purged")" || true
    [[ -z "$extra" ]] || fail "left behind (or removed) by dpkg --purge:" "$extra"
}
