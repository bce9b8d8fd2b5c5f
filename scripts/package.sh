#!/bin/bash
# Builds berth_<version>_amd64.deb from an existing build tree (no second build: only the
# `berth` and `berth_man` targets are brought up to date, which is a no-op after scripts/build.sh):
#
#   /usr/sbin/berth, /usr/sbin/berth-vm (symlink), /usr/libexec/berth/berth-agent (static guest
#   /init), man pages (berth(8), berth-VERB(8)), bash and zsh completions, the systemd unit that
#   starts onboot VPSes (not enabled), the podman / containerd / CRI-O drop-ins (conffiles under
#   /etc), Kubernetes RuntimeClass manifests (/usr/share/berth/kubernetes) and the docs.
#
# Depends come from dpkg-shlibdeps on the binary. Recommends: what only some verbs load — the
# libraries the image store dlopens (libarchive, libcurl, libcrypto: images/dynlib.cpp), and QEMU
# and the guest kernel for the micro-VM path.
#
#   scripts/package.sh [--builddir DIR] [--out DIR] [--debug-info]   (default: build, DIR/package)
#
# --debug-info also writes berth's debug info (zlib-compressed, ~60 MB) to
# OUT/berth_<version>_<arch>.debug, and the packaged binary names it in its .gnu_debuglink (gdb
# finds it in /usr/lib/debug/usr/sbin/ or next to the binary). Off by default: it costs ~6 s of CPU, and the tests build the
# package every run. The packaged binary is stripped either way.
#
# Prints the path of the .deb. Needs dpkg-dev and binutils (strip); no root (fakeroot-free: the
# archive's owners are set by dpkg-deb --root-owner-group).
set -euo pipefail

cd "$(dirname "$0")/.."
src="$PWD"
build_dir="${BUILD_DIR:-build}"
out=""
debug_info=0
while [[ $# -gt 0 ]]; do
    case "$1" in
        --builddir) build_dir="$2"; shift ;;
        --out) out="$2"; shift ;;
        --debug-info) debug_info=1 ;;
        -h | --help) sed -n '2,23p' "$0"; exit 0 ;;
        *) echo "package: unknown argument: $1" >&2; exit 2 ;;
    esac
    shift
done
out="${out:-$build_dir/package}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
build_dir="$(cd "$build_dir" 2>/dev/null && pwd || echo "$build_dir")"
die() { echo "package: $*" >&2; exit 1; }

[[ -f "$build_dir/CMakeCache.txt" ]] || die "no build tree in $build_dir (run scripts/build.sh first)"
grep -q '^BERTH_SANITIZE:STRING=.\+' "$build_dir/CMakeCache.txt" &&
    die "$build_dir is a sanitizer build; package a plain one"
for tool in dpkg-deb dpkg-shlibdeps strip objcopy gzip; do
    command -v "$tool" >/dev/null || die "$tool is missing (apt-get install dpkg-dev binutils)"
done
cmake --build "$build_dir" --target berth berth_man >/dev/null ||
    die "cmake --build $build_dir --target berth berth_man failed"

berth="$build_dir/cli/berth"
version="$("$berth" --version | sed -n 's/^berth version //p')"
[[ -n "$version" ]] || die "$berth --version printed no version"
arch="$(dpkg --print-architecture)"
# Debian's convention for who builds: DEBFULLNAME and DEBEMAIL (.invalid: no real address given).
maintainer="${DEBFULLNAME:-berth developers} <${DEBEMAIL:-berth@berth.invalid}>"
name="berth_${version}_${arch}"
stage="$(mktemp -d "$out/.stage.XXXXXX")"
trap 'rm -rf "$stage"' EXIT
root="$stage/$name"

# install_file MODE SRC DEST (DEST relative to the package root)
install_file() { install -D -m "$1" "$2" "$root/$3"; }

# Binaries: debug info stripped (the build keeps it for the tests).
install -d "$root/usr/sbin" "$root/usr/libexec/berth"
strip --strip-unneeded --remove-section=.comment --remove-section=.note -o "$root/usr/sbin/berth" "$berth"
chmod 0755 "$root/usr/sbin/berth"
if ((debug_info)); then
    objcopy --only-keep-debug --compress-debug-sections=zlib "$berth" "$out/$name.debug"
    chmod 0644 "$out/$name.debug"
    objcopy --add-gnu-debuglink="$out/$name.debug" "$root/usr/sbin/berth"
fi
ln -s berth "$root/usr/sbin/berth-vm"
strip --remove-section=.comment -o "$root/usr/libexec/berth/berth-agent" "$build_dir/vm/berth-agent"
chmod 0755 "$root/usr/libexec/berth/berth-agent"

# Man pages, completions, the unit, the client snippets, docs.
install -d "$root/usr/share/man/man8"
for page in "$build_dir"/man/*.8; do
    gzip -9n <"$page" >"$root/usr/share/man/man8/$(basename "$page").gz"
done
install_file 0644 dist/completion/berth.bash usr/share/bash-completion/completions/berth
ln -s berth "$root/usr/share/bash-completion/completions/berth-vm"
ln -s berth.8.gz "$root/usr/share/man/man8/berth-vm.8.gz"
# The guest agent is the micro-VM's /init, alone in its initramfs: it must be static.
printf '%s\n' '# the micro-VM guest'"'"'s /init, alone in its initramfs: no libraries to load there' \
    'berth: statically-linked-binary [usr/libexec/berth/berth-agent]' >"$stage/overrides"
install_file 0644 "$stage/overrides" usr/share/lintian/overrides/berth
install_file 0644 dist/completion/_berth usr/share/zsh/vendor-completions/_berth
sed 's|/usr/local/bin/berth|/usr/sbin/berth|g' dist/berth-vps-onboot.service >"$stage/unit"
install_file 0644 "$stage/unit" lib/systemd/system/berth-vps-onboot.service
install_file 0644 dist/podman/50-berth.conf etc/containers/containers.conf.d/50-berth.conf
install_file 0644 dist/containerd/berth.toml etc/containerd/conf.d/berth.toml
install_file 0644 dist/crio/50-berth.conf etc/crio/crio.conf.d/50-berth.conf
for f in dist/kubernetes/*.yaml; do
    install_file 0644 "$f" "usr/share/berth/kubernetes/$(basename "$f")"
done
install_file 0644 README.md usr/share/doc/berth/README.md
for f in docs/*.md; do
    install_file 0644 "$f" "usr/share/doc/berth/docs/$(basename "$f")"
done
commit="$("$berth" --version | sed -n 's/^commit: //p')"
date_r="$(date -R -d "@${SOURCE_DATE_EPOCH:-$(git -C "$src" log -1 --format=%ct 2>/dev/null || date +%s)}")"
printf 'berth (%s) unstable; urgency=medium\n\n  * Built from commit %s.\n\n -- %s  %s\n' \
    "$version" "$commit" "$maintainer" "$date_r" | gzip -9n >"$stage/changelog.gz"
install_file 0644 "$stage/changelog.gz" usr/share/doc/berth/changelog.gz
cat >"$stage/copyright" <<'EOF'
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: berth
Comment: an OCI container runtime, micro-VMs and VPSes (C++20).

Files: *
Copyright: 2026 the berth developers
License: berth-project
 The terms are those of the berth project's repository this package was built from.
EOF
install_file 0644 "$stage/copyright" usr/share/doc/berth/copyright

# Depends: what the binary links (libc6, libseccomp2, libcap2), from dpkg-shlibdeps (it wants a
# debian/control to read), plus the two libraries berth dlopens for runtime features rather than
# image ones: libsystemd0 (--systemd-cgroup, podman's default on systemd hosts) and libcrypt1
# (vps --userpasswd). Linked, they were loaded by every berth start (bench/README.md).
mkdir -p "$stage/src/debian"
printf 'Source: berth\n\nPackage: berth\nArchitecture: any\n' >"$stage/src/debian/control"
depends="$(cd "$stage/src" && dpkg-shlibdeps -O -e"$root/usr/sbin/berth" 2>"$stage/shlibdeps.err" |
    sed -n 's/^shlibs:Depends=//p')" || { cat "$stage/shlibdeps.err" >&2; die "dpkg-shlibdeps failed"; }
[[ -n "$depends" ]] || { cat "$stage/shlibdeps.err" >&2; die "dpkg-shlibdeps found no dependencies"; }
depends="$depends, libsystemd0, libcrypt1"

install -d "$root/DEBIAN"
size="$(du -sk --apparent-size "$root" | cut -f1)"
cat >"$root/DEBIAN/control" <<EOF
Package: berth
Version: $version
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $size
Depends: $depends
Recommends: libarchive13, libcurl4, libssl3, qemu-system-x86, linux-image-cloud-amd64, lz4
Suggests: bash-completion, podman, containerd, lxcfs, nftables
Section: admin
Priority: optional
Description: OCI container runtime with runc's command line, micro-VMs and VPSes
 berth runs OCI bundles as runc does (create, start, run, exec, kill, delete,
 list, ...), so podman, conmon, containerd and CRI-O drive it in runc's place.
 Invoked as berth-vm it runs each container in a QEMU micro-VM with its own
 kernel. It also keeps an image store (pull, import, export) and runs
 persistent system containers (berth vps).
 .
 Drop-ins for podman, containerd and CRI-O are installed under /etc; Kubernetes
 RuntimeClass manifests are in /usr/share/berth/kubernetes.
EOF
(cd "$root" && find etc -type f | sed 's|^|/|' | sort) >"$root/DEBIAN/conffiles"
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -print | sed 's|^\./||' | sort | xargs md5sum) \
    >"$root/DEBIAN/md5sums"
# The unit is installed, not enabled (`systemctl enable --now berth-vps-onboot`); systemd rereads
# its units so that it knows the new one, and forgets it on removal.
for script in postinst postrm; do
    cat >"$root/DEBIAN/$script" <<'EOF'
#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then
    systemctl --system daemon-reload >/dev/null || true
fi
EOF
    chmod 0755 "$root/DEBIAN/$script"
done
find "$root" -type d -exec chmod 0755 {} +

# xz -1: 4 times less CPU than the default -6 for 10% more bytes (the test suite builds it every run).
dpkg-deb --root-owner-group -Zxz -z1 --build "$root" "$out/$name.deb" >/dev/null
echo "$out/$name.deb"
