#!/bin/bash
# Builds an OCI image layout from directories or tar files, with tar, sha256sum and jq only.
#
#   make-oci-layout.sh [-z gzip|zstd|none] [-c CONFIG_JSON] [-t TAG] [-p OS/ARCH] OUT LAYER...
#
# Each LAYER is a directory (tarred as it is, numeric owners and xattrs kept) or an existing
# .tar file (taken verbatim, so tests can hand-craft hostile entries). CONFIG_JSON is the image
# config's "config" object (default {"Cmd":["sh"]}). Running it again on the same OUT adds the
# image to OUT's index.json (with -p that makes a multi-platform layout).
set -euo pipefail

comp=gzip config='{"Cmd":["sh"],"Env":["PATH=/usr/sbin:/usr/bin:/sbin:/bin"]}' tag=latest platform=linux/amd64
while getopts "z:c:t:p:" opt; do
    case "$opt" in
        z) comp="$OPTARG" ;;
        c) config="$OPTARG" ;;
        t) tag="$OPTARG" ;;
        p) platform="$OPTARG" ;;
        *) exit 2 ;;
    esac
done
shift $((OPTIND - 1))
[[ $# -ge 2 ]] || { echo "usage: $0 [-z gzip|zstd|none] [-c CONFIG] [-t TAG] [-p OS/ARCH] OUT LAYER..." >&2; exit 2; }
out="$1"
shift
mkdir -p "$out/blobs/sha256"
[[ -f "$out/oci-layout" ]] || echo '{"imageLayoutVersion":"1.0.0"}' >"$out/oci-layout"
[[ -f "$out/index.json" ]] || echo '{"schemaVersion":2,"manifests":[]}' >"$out/index.json"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# put FILE: moves FILE into the blobs dir, prints its digest.
put() {
    local d
    d="$(sha256sum "$1" | cut -d' ' -f1)"
    mv -f "$1" "$out/blobs/sha256/$d"
    echo "$d"
}

layers='[]' diffids='[]' n=0
for layer in "$@"; do
    n=$((n + 1))
    if [[ -d "$layer" ]]; then
        tar -C "$layer" --numeric-owner --xattrs --xattrs-include='*' -cf "$tmp/l$n.tar" .
    else
        cp "$layer" "$tmp/l$n.tar"
    fi
    diffids="$(jq -c --arg d "sha256:$(sha256sum "$tmp/l$n.tar" | cut -d' ' -f1)" '. + [$d]' <<<"$diffids")"
    case "$comp" in
        gzip) gzip -n "$tmp/l$n.tar"; f="$tmp/l$n.tar.gz"; mt=application/vnd.oci.image.layer.v1.tar+gzip ;;
        zstd) zstd -q --rm "$tmp/l$n.tar"; f="$tmp/l$n.tar.zst"; mt=application/vnd.oci.image.layer.v1.tar+zstd ;;
        none) f="$tmp/l$n.tar"; mt=application/vnd.oci.image.layer.v1.tar ;;
        *) echo "unknown compression $comp" >&2; exit 2 ;;
    esac
    size="$(stat -c %s "$f")"
    d="$(put "$f")"
    layers="$(jq -c --arg mt "$mt" --arg d "sha256:$d" --argjson s "$size" '. + [{mediaType: $mt, digest: $d, size: $s}]' <<<"$layers")"
done

os="${platform%%/*}" arch="${platform#*/}"
jq -cn --arg os "$os" --arg arch "$arch" --argjson cfg "$config" --argjson diffids "$diffids" \
    '{architecture: $arch, os: $os, config: $cfg, rootfs: {type: "layers", diff_ids: $diffids}}' >"$tmp/config.json"
csize="$(stat -c %s "$tmp/config.json")"
cdigest="$(put "$tmp/config.json")"
jq -cn --arg c "sha256:$cdigest" --argjson cs "$csize" --argjson layers "$layers" \
    '{schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: {mediaType: "application/vnd.oci.image.config.v1+json", digest: $c, size: $cs}, layers: $layers}' \
    >"$tmp/manifest.json"
msize="$(stat -c %s "$tmp/manifest.json")"
mdigest="$(put "$tmp/manifest.json")"
jq -c --arg d "sha256:$mdigest" --argjson s "$msize" --arg tag "$tag" --arg os "$os" --arg arch "$arch" \
    '.manifests += [{mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $d, size: $s,
      platform: {os: $os, architecture: $arch}, annotations: {"org.opencontainers.image.ref.name": $tag}}]' \
    "$out/index.json" >"$tmp/index.json"
mv -f "$tmp/index.json" "$out/index.json"
echo "sha256:$mdigest"
