#!/usr/bin/env bats
# Images (label root): import of OCI layouts and docker-archives into a per-test store, layer
# unpack (whiteouts, hostile entries), bundles and run --image on overlay, sharing of snapshots
# between containers, export, prune, and a differential check of the merged view against umoci.
load helpers

LIB="${BERTH_SOURCE_DIR:-$BATS_TEST_DIRNAME/../..}/tests/lib"

setup_file() {
    itest_setup_file
    [[ -n "$ITEST_SKIP" ]] && return 0
    local tool
    for tool in tar gzip zstd sha256sum /usr/bin/python3; do
        command -v "$tool" >/dev/null || { export ITEST_SKIP="$tool is not installed (run scripts/setup.sh)"; return 0; }
    done
    # The busybox rootfs as a layer, and a one-more-layer image on top of it, made once.
    export BASE_TAR="$BATS_FILE_TMPDIR/base.tar"
    tar -C "$TEMPLATE/rootfs" --numeric-owner -cf "$BASE_TAR" .
    mkdir -p "$BATS_FILE_TMPDIR/l2/etc" "$BATS_FILE_TMPDIR/l2/srv"
    echo "hello from layer 2" >"$BATS_FILE_TMPDIR/l2/etc/greeting"
    export BASE_LAYOUT="$BATS_FILE_TMPDIR/layout"
    "$LIB/make-oci-layout.sh" -t v1 \
        -c '{"Cmd":["cat","/etc/greeting"],"Env":["PATH=/bin:/usr/bin","GREETING=yes"],"WorkingDir":"/srv","User":"user","Labels":{"org.example.k":"v"},"StopSignal":"SIGINT"}' \
        "$BASE_LAYOUT" "$BASE_TAR" "$BATS_FILE_TMPDIR/l2" >/dev/null
}

setup() {
    itest_setup
    STORE="$TEST_DIR/store"
    MARK="/tmp/berth-escape-$TAG"
}

teardown() {
    rm -f "$MARK"
    itest_teardown
}

# rs ARGS...: berth --root $ROOT --store $STORE ARGS.
rs() {
    rb_raw --root "$ROOT" --store "$STORE" "$@"
}

# store_state: what the store holds that matters (blobs, snapshots, names).
store_state() {
    (cd "$STORE" 2>/dev/null && find blobs snapshots -mindepth 1 2>/dev/null | sort && cat images.json 2>/dev/null)
    return 0
}

# layout_with LAYOUT_DIR CRAFTED_JSON: the busybox layer plus a crafted layer (plain tar).
layout_with() {
    /usr/bin/python3 "$LIB/craft-tar.py" "$TEST_DIR/crafted.tar" <<<"$2"
    "$LIB/make-oci-layout.sh" -z none "$1" "$BASE_TAR" "$TEST_DIR/crafted.tar" >/dev/null
}

@test "images: import an OCI layout and run a command from it" {
    rs image import "$BASE_LAYOUT" localhost/bb:v1
    assert_ok
    [[ "$output" == "localhost/bb:v1 sha256:"* ]]
    rs run --image localhost/bb:v1 "$ID"
    assert_ok
    [[ "$output" == "hello from layer 2" ]]
    rs run --image bb:v1 "$(new_id)" -- sh -c 'id -u; pwd; echo $GREETING'
    [[ "$status" -ne 0 ]] || { show_call; fail "short name bb:v1 must not match localhost/bb:v1"; }
    # ... but the error names what is stored.
    assert_berth_error 'not in the store \(stored as localhost/bb:v1\)'
    # -b with --image is refused, not ignored.
    mkdir -p "$TEST_DIR/b-ignored"
    rs run --image localhost/bb:v1 -b "$TEST_DIR/b-ignored" "$(new_id)"
    assert_berth_error '--image.*-b|--bundle'
    [[ -z "$(ls -A "$TEST_DIR/b-ignored")" ]] || fail "something was made in the -b dir"
    rs run --image localhost/bb:v1 "$(new_id)" -- sh -c 'id -u; pwd; echo $GREETING'
    assert_ok
    [[ "${lines[*]}" == "1000 /srv yes" ]] || { show_call; fail "wrong process setup"; }
    # Foreground run deletes the container and its bundle.
    [[ -z "$(ls -A "$ROOT/.image-bundles")" ]]
    ! grep -q "$TEST_DIR" /proc/mounts
}

@test "images: layout tarballs, gzip/zstd/plain layers, ls and inspect" {
    local lay="$TEST_DIR/zl"
    "$LIB/make-oci-layout.sh" -z zstd -t z "$lay" "$BASE_TAR" >/dev/null
    "$LIB/make-oci-layout.sh" -z none -t plain "$lay" "$BASE_TAR" >/dev/null
    tar -C "$lay" -cf "$TEST_DIR/zl.tar" .
    rs image import "$TEST_DIR/zl.tar"
    assert_ok
    [[ "${#lines[@]}" -eq 2 ]]
    rs image import "$BASE_LAYOUT"
    assert_ok
    [[ "$output" == "localhost/layout:v1 "* ]]
    rs image ls --format json
    assert_ok
    [[ "$(jq -r '.[].name' <<<"$output" | sort | tr '\n' ' ')" == "localhost/layout:v1 localhost/zl:plain localhost/zl:z " ]]
    rs image inspect localhost/layout:v1
    assert_ok
    [[ "$(jq -r '.config.config.WorkingDir' <<<"$output")" == "/srv" ]]
    [[ "$(jq '.manifest.layers | length' <<<"$output")" -eq 2 ]]
    rs run --image localhost/zl:z "$ID" -- cat /etc/hostname
    assert_ok
    [[ "$output" == "berth" ]]
    # The same layer content in three compressions is three blobs, each unpacked once.
    [[ "$(ls "$STORE/snapshots" | wc -l)" -eq 4 ]]
}

@test "images: berth bundle writes config.json from the image config and mounts an overlay rootfs" {
    rs image import "$BASE_LAYOUT" localhost/bb:v1
    assert_ok
    rs bundle localhost/bb:v1 "$TEST_DIR/b"
    assert_ok
    local c="$TEST_DIR/b/config.json"
    [[ "$(jq -c .process.args "$c")" == '["cat","/etc/greeting"]' ]]
    [[ "$(jq -r .process.cwd "$c")" == "/srv" ]]
    [[ "$(jq -c .process.user "$c")" == '{"gid":1000,"uid":1000}' ]]
    jq -e '.process.env | index("GREETING=yes")' "$c" >/dev/null
    [[ "$(jq -r '.annotations["org.opencontainers.image.stopSignal"]' "$c")" == "SIGINT" ]]
    [[ "$(jq -r '.annotations["org.example.k"]' "$c")" == "v" ]]
    grep -q " $TEST_DIR/b/rootfs overlay " /proc/mounts
    rs run -b "$TEST_DIR/b" "$ID"
    assert_ok
    [[ "$output" == "hello from layer 2" ]]
    rs bundle "$TEST_DIR/b" --remove
    assert_ok
    [[ ! -e "$TEST_DIR/b" ]]
    ! grep -q "$TEST_DIR/b" /proc/mounts
    rs bundle --remove "$TEST_DIR/store"
    assert_berth_error "not a bundle made by berth bundle"
}

@test "images: whiteouts and opaque directories hide lower content" {
    mkdir -p "$TEST_DIR/l1/a" "$TEST_DIR/l1/b"
    echo 1 >"$TEST_DIR/l1/a/f1"
    echo 2 >"$TEST_DIR/l1/a/f2"
    echo x >"$TEST_DIR/l1/b/x"
    /usr/bin/python3 "$LIB/craft-tar.py" "$TEST_DIR/l2.tar" <<<'[
        {"name": "a/.wh.f1"}, {"name": "b", "type": "dir"}, {"name": "b/.wh..wh..opq"},
        {"name": "b/y", "data": "y"}, {"name": ".wh.etc"}]'
    "$LIB/make-oci-layout.sh" "$TEST_DIR/lay" "$BASE_TAR" "$TEST_DIR/l1" "$TEST_DIR/l2.tar" >/dev/null
    rs image import "$TEST_DIR/lay" localhost/wh
    assert_ok
    mkdir "$TEST_DIR/mnt"
    rs image mount localhost/wh "$TEST_DIR/mnt"
    assert_ok
    [[ "$(ls "$TEST_DIR/mnt/a")" == "f2" ]]
    [[ "$(ls "$TEST_DIR/mnt/b")" == "y" ]]
    [[ ! -e "$TEST_DIR/mnt/etc" ]]
    [[ -x "$TEST_DIR/mnt/bin/busybox" ]]
    rs image umount "$TEST_DIR/mnt"
    assert_ok
    ! grep -q "$TEST_DIR/mnt" /proc/mounts
}

# hostile LABEL JSON REGEX: a layer with these entries is refused naming the entry; the store is
# unchanged and nothing lands on the host.
hostile() {
    rs image import "$BASE_LAYOUT" localhost/ok
    assert_ok
    local before
    before="$(store_state)"
    layout_with "$TEST_DIR/h-$1" "$2"
    rs image import "$TEST_DIR/h-$1" localhost/evil
    assert_berth_error "$3"
    [[ "$(store_state)" == "$before" ]] || { diff <(echo "$before") <(store_state) >&2; fail "store changed"; }
    [[ ! -e "$MARK" ]] || fail "$MARK was written on the host"
    ! ls "$STORE/snapshots" | grep -q tmp
}

@test "images: hostile layer: ../ path is refused" {
    hostile dotdot "[{\"name\": \"../../../../../../..$MARK\", \"data\": \"x\"}]" 'entry "\.\./.*": path contains ".."'
}

@test "images: hostile layer: absolute path is refused" {
    hostile abs "[{\"name\": \"$MARK\", \"data\": \"x\"}]" "entry \"$MARK\": absolute path"
}

@test "images: hostile layer: writing through a symlink is refused" {
    hostile symlink "[{\"name\": \"evil\", \"type\": \"symlink\", \"target\": \"/tmp\"},
        {\"name\": \"evil/${MARK##*/}\", \"data\": \"x\"}]" "entry \"evil/${MARK##*/}\": path goes through a symlink"
    hostile relsymlink "[{\"name\": \"up\", \"type\": \"symlink\", \"target\": \"../../../../../../../tmp\"},
        {\"name\": \"up/${MARK##*/}\", \"data\": \"x\"}]" "entry \"up/.*\": path goes through a symlink"
}

@test "images: hostile layer: hard links out of the rootfs are refused" {
    hostile hardlink '[{"name": "h", "type": "hardlink", "target": "../../../../../../etc/passwd"}]' \
        'entry "h": hardlink target .*path contains ".."'
    hostile abslink '[{"name": "h", "type": "hardlink", "target": "/etc/passwd"}]' \
        'entry "h": hardlink target "/etc/passwd": absolute path'
    hostile linkvia '[{"name": "l", "type": "symlink", "target": "/etc"},
        {"name": "h", "type": "hardlink", "target": "l/passwd"}]' 'entry "h".*symlink'
    # The host file is untouched (a hard link would have raised its link count).
    [[ "$(stat -c %h /etc/passwd)" -eq 1 ]]
}

@test "images: bad input: unknown image, corrupt tar, bad digest leave the store unchanged" {
    rs image import "$BASE_LAYOUT" localhost/ok
    assert_ok
    local before
    before="$(store_state)"
    rs run --image localhost/nope "$ID"
    assert_berth_error 'image "localhost/nope" is not in the store'
    rs image inspect nope
    assert_berth_error 'not in the store'
    head -c 3000 /dev/urandom >"$TEST_DIR/junk.tar"
    rs image import "$TEST_DIR/junk.tar" localhost/junk
    assert_berth_error 'junk.tar'
    # A layer blob whose content does not match its name.
    cp -a "$BASE_LAYOUT" "$TEST_DIR/bad"
    local blob
    blob="$(jq -r '.manifests[0].digest' "$TEST_DIR/bad/index.json" | cut -d: -f2)"
    blob="$(jq -r '.layers[1].digest' "$TEST_DIR/bad/blobs/sha256/$blob" | cut -d: -f2)"
    chmod u+w "$TEST_DIR/bad/blobs/sha256/$blob"
    echo tampered >>"$TEST_DIR/bad/blobs/sha256/$blob"
    rb_raw --store "$TEST_DIR/store2" image import "$TEST_DIR/bad" localhost/bad
    assert_berth_error "digest mismatch"
    [[ -z "$(ls -A "$TEST_DIR/store2/blobs/sha256")" ]]
    [[ -z "$(ls -A "$TEST_DIR/store2/snapshots")" ]]
    # A corrupt layer (truncated gzip) is refused and leaves no snapshot behind.
    mkdir "$TEST_DIR/corrupt" && cp -a "$BASE_LAYOUT/." "$TEST_DIR/corrupt/"
    head -c 200 "$BASE_LAYOUT/blobs/sha256/$blob" >"$TEST_DIR/trunc"
    local d size m
    d="$(sha256sum "$TEST_DIR/trunc" | cut -d' ' -f1)"
    mv "$TEST_DIR/trunc" "$TEST_DIR/corrupt/blobs/sha256/$d"
    m="$(jq -r '.manifests[0].digest' "$TEST_DIR/corrupt/index.json" | cut -d: -f2)"
    jq -c --arg d "sha256:$d" '.layers[1].digest = $d | .layers[1].size = 200' "$TEST_DIR/corrupt/blobs/sha256/$m" >"$TEST_DIR/m.json"
    size="$(stat -c %s "$TEST_DIR/m.json")"
    m="$(sha256sum "$TEST_DIR/m.json" | cut -d' ' -f1)"
    mv "$TEST_DIR/m.json" "$TEST_DIR/corrupt/blobs/sha256/$m"
    jq -c --arg d "sha256:$m" --argjson s "$size" '.manifests[0].digest = $d | .manifests[0].size = $s' \
        "$BASE_LAYOUT/index.json" >"$TEST_DIR/corrupt/index.json"
    rs image import "$TEST_DIR/corrupt" localhost/corrupt
    assert_berth_error "layer sha256:$d"
    [[ "$(store_state)" == "$before" ]] || { diff <(echo "$before") <(store_state) >&2; fail "store changed"; }
}

# deep_layout OUT: the base layout with an image config whose "x" nests 100,000 arrays deep
# (jq cannot write that: its parser stops far earlier), manifest and index re-pointed at it.
deep_layout() {
    /usr/bin/python3 - "$BASE_LAYOUT" "$1" <<'PY'
import hashlib, json, os, shutil, sys
src, out = sys.argv[1:3]
shutil.copytree(src, out)
blobs = os.path.join(out, "blobs", "sha256")
def put(data):
    digest = hashlib.sha256(data).hexdigest()
    with open(os.path.join(blobs, digest), "wb") as f:
        f.write(data)
    return "sha256:" + digest, len(data)
index = json.load(open(os.path.join(out, "index.json")))
manifest = json.load(open(os.path.join(blobs, index["manifests"][0]["digest"][7:])))
config = open(os.path.join(blobs, manifest["config"]["digest"][7:]), "rb").read().rstrip()
config = config[:-1] + b', "x": ' + b"[" * 100000 + b"]" * 100000 + b"}"
manifest["config"]["digest"], manifest["config"]["size"] = put(config)
index["manifests"][0]["digest"], index["manifests"][0]["size"] = put(json.dumps(manifest).encode())
with open(os.path.join(out, "index.json"), "w") as f:
    json.dump(index, f)
PY
}

@test "images: an image config nested 100,000 deep is refused by import with one line; the store is unchanged" {
    deep_layout "$TEST_DIR/deep"
    # Into an empty store: nothing at all is left.
    rb_raw --store "$TEST_DIR/store2" image import "$TEST_DIR/deep" localhost/deep
    assert_berth_error 'image config: JSON nested deeper than 512 levels$'
    [[ -z "$(ls -A "$TEST_DIR/store2/blobs/sha256" 2>/dev/null)" ]] || fail "blobs left: $(ls "$TEST_DIR/store2/blobs/sha256")"
    [[ -z "$(ls -A "$TEST_DIR/store2/snapshots" 2>/dev/null)" ]] || fail "snapshots left"
    ! grep -qs deep "$TEST_DIR/store2/images.json" || fail "the image was named in the store"
    # Into a store that holds the same layers already: unchanged.
    rs image import "$BASE_LAYOUT" localhost/ok
    assert_ok
    local before
    before="$(store_state)"
    rs image import "$TEST_DIR/deep" localhost/deep
    assert_berth_error 'image config: JSON nested deeper than 512 levels$'
    [[ "$(store_state)" == "$before" ]] || { diff <(echo "$before") <(store_state) >&2; fail "store changed"; }
    rs image inspect localhost/ok
    assert_ok
}

@test "images: N containers of one image share one unpacked copy" {
    rs image import "$BASE_LAYOUT" localhost/bb
    assert_ok
    local snaps i lowers uppers
    snaps="$(ls "$STORE/snapshots" | wc -l)"
    for i in 1 2 3; do
        rs run -d --image localhost/bb "${TAG}-s$i" -- sleep 100
        assert_ok
    done
    [[ "$(ls "$STORE/snapshots" | wc -l)" -eq "$snaps" ]]
    lowers="$(grep " $ROOT/.image-bundles/${TAG}-s" /proc/mounts | grep -o 'lowerdir=[^,]*' | sort -u)"
    [[ "$(wc -l <<<"$lowers")" -eq 1 ]] || fail "expected one shared lowerdir, got: $lowers"
    [[ "$lowers" == "lowerdir=$STORE/snapshots/"* ]]
    uppers="$(grep " $ROOT/.image-bundles/${TAG}-s" /proc/mounts | grep -o 'upperdir=[^,]*' | sort -u | wc -l)"
    [[ "$uppers" -eq 3 ]]
    # Writes stay in the container's upper dir.
    rb exec -u 0 "${TAG}-s1" sh -c 'echo private >/etc/greeting'
    assert_ok
    rb exec "${TAG}-s1" cat /etc/greeting
    [[ "$output" == "private" ]]
    rb exec "${TAG}-s2" cat /etc/greeting
    [[ "$output" == "hello from layer 2" ]]
    ! grep -rq private "$STORE/snapshots"
    for i in 1 2 3; do
        rb delete -f "${TAG}-s$i"
        assert_ok
    done
    [[ -z "$(ls -A "$ROOT/.image-bundles")" ]]
    ! grep -q "$ROOT/.image-bundles" /proc/mounts
}

@test "images: docker-archive import (manifest.json + layer tars + config)" {
    local da="$TEST_DIR/da" cfg
    mkdir -p "$da/l1"
    cp "$BASE_TAR" "$da/l1/layer.tar"
    cfg='{"architecture":"amd64","os":"linux","config":{"Cmd":["echo","from-docker-archive"]},"rootfs":{"type":"layers","diff_ids":[]}}'
    echo "$cfg" >"$da/cfg.json"
    echo '[{"Config":"cfg.json","RepoTags":["localhost/da:1"],"Layers":["l1/layer.tar"]}]' >"$da/manifest.json"
    tar -C "$da" -cf "$TEST_DIR/da.tar" .
    rs image import "$TEST_DIR/da.tar"
    assert_ok
    [[ "$output" == "localhost/da:1 "* ]]
    rs run --image localhost/da:1 "$ID"
    assert_ok
    [[ "$output" == "from-docker-archive" ]]
}

@test "images: export writes an OCI layout that imports to the same digest" {
    rs image import "$BASE_LAYOUT" localhost/bb:v1
    assert_ok
    local digest="${output#* }"
    rs image export localhost/bb:v1 "$TEST_DIR/out"
    assert_ok
    [[ -f "$TEST_DIR/out/oci-layout" ]]
    [[ "$(jq -r '.manifests[0].annotations["org.opencontainers.image.ref.name"]' "$TEST_DIR/out/index.json")" == "localhost/bb:v1" ]]
    for f in "$TEST_DIR"/out/blobs/sha256/*; do
        [[ "$(sha256sum "$f" | cut -d' ' -f1)" == "${f##*/}" ]]
    done
    rb_raw --store "$TEST_DIR/s2" image import "$TEST_DIR/out" localhost/again
    assert_ok
    [[ "${output#* }" == "$digest" ]]
}

@test "images: rm and prune remove unreferenced blobs and snapshots, keep used ones" {
    rs image import "$BASE_LAYOUT" localhost/a
    assert_ok
    "$LIB/make-oci-layout.sh" -z zstd "$TEST_DIR/other" "$BASE_TAR" >/dev/null
    rs image import "$TEST_DIR/other" localhost/b
    assert_ok
    rs image prune
    assert_ok
    [[ "$output" == "removed 0 blobs"* ]]
    rs image rm localhost/b
    assert_ok
    rs image prune
    assert_ok
    [[ "$output" == "removed 3 blobs"*"and 1 snapshots" ]] || { show_call; fail "unexpected prune result"; }
    [[ "$(ls "$STORE/snapshots" | wc -l)" -eq 2 ]]
    rs image rm localhost/a
    assert_ok
    rs image rm localhost/a
    assert_berth_error "not in the store"
    rs image prune
    assert_ok
    [[ -z "$(ls -A "$STORE/blobs/sha256")" && -z "$(ls -A "$STORE/snapshots")" ]]
    rs image ls --format json
    [[ "$output" == "[]" ]]
}

@test "images: concurrent imports of the same image do not corrupt the store" {
    local i pids=()
    for i in 1 2 3 4; do
        "$BERTH" --store "$STORE" image import "$BASE_LAYOUT" "localhost/c$i" >"$TEST_DIR/imp.$i" 2>&1 &
        pids+=($!)
    done
    for i in "${pids[@]}"; do
        wait "$i" || { cat "$TEST_DIR"/imp.*; fail "an import failed"; }
    done
    for f in "$STORE"/blobs/sha256/*; do
        [[ "$(sha256sum "$f" | cut -d' ' -f1)" == "${f##*/}" ]]
    done
    [[ "$(ls "$STORE/snapshots" | wc -l)" -eq 2 ]]
    rs image ls --format json
    [[ "$(jq length <<<"$output")" -eq 4 ]]
}

@test "images: merged view equals umoci's unpack (paths, types, modes, owners, xattrs, content)" {
    command -v umoci >/dev/null || skip "umoci is not installed (run scripts/setup.sh)"
    local lay="$TEST_DIR/diff"
    /usr/bin/python3 "$LIB/craft-tar.py" "$TEST_DIR/extra.tar" <<<'[
        {"name": "data", "type": "dir", "mode": 448, "uid": 5, "gid": 6},
        {"name": "data/suid", "data": "#!/bin/sh\n", "mode": 2541, "uid": 1000, "gid": 1000},
        {"name": "data/xattr", "data": "x", "xattrs": {"user.berth": "yes", "user.other": "2"}},
        {"name": "data/hl1", "data": "linked"}, {"name": "data/hl2", "type": "hardlink", "target": "data/hl1"},
        {"name": "data/sym", "type": "symlink", "target": "../etc/passwd"},
        {"name": "data/dangling", "type": "symlink", "target": "/nowhere"},
        {"name": "data/fifo", "type": "fifo", "mode": 384},
        {"name": "data/null", "type": "chr", "major": 1, "minor": 3, "mode": 438},
        {"name": "data/blk", "type": "blk", "major": 7, "minor": 0, "mode": 432},
        {"name": "etc/.wh.hostname"},
        {"name": "home", "type": "dir"}, {"name": "home/.wh..wh..opq"}, {"name": "home/new", "data": "n"},
        {"name": "usr/bin/.wh.wget"}]'
    /usr/bin/python3 "$LIB/craft-tar.py" "$TEST_DIR/top.tar" <<<'[
        {"name": "data/.wh.fifo"}, {"name": "data/xattr", "data": "replaced", "mode": 384},
        {"name": "data/new", "type": "dir"}, {"name": "data/new/f", "data": "f"}]'
    "$LIB/make-oci-layout.sh" "$lay" "$BASE_TAR" "$TEST_DIR/extra.tar" "$TEST_DIR/top.tar" >/dev/null
    umoci unpack --image "$lay:latest" "$TEST_DIR/umoci" >/dev/null
    rs image import "$lay" localhost/diff
    assert_ok
    mkdir "$TEST_DIR/mnt"
    rs image mount localhost/diff "$TEST_DIR/mnt"
    assert_ok
    /usr/bin/python3 "$LIB/tree-manifest.py" "$TEST_DIR/umoci/rootfs" >"$TEST_DIR/umoci.txt"
    /usr/bin/python3 "$LIB/tree-manifest.py" "$TEST_DIR/mnt" >"$TEST_DIR/berth.txt"
    rs image umount "$TEST_DIR/mnt"
    assert_ok
    diff -u "$TEST_DIR/umoci.txt" "$TEST_DIR/berth.txt" >&2
    # The comparison saw what it was meant to see.
    grep -q '^data/xattr .* 0600 .*user.berth=' "$TEST_DIR/berth.txt" && fail "a replaced file kept the old xattrs"
    grep -q '^data/suid 10 4755 1000:1000 ' "$TEST_DIR/berth.txt"
    grep -q '^data/null 2 0666 0:0 1:3' "$TEST_DIR/berth.txt"
    ! grep -q '^data/fifo\|^etc/hostname\|^home/user\|^usr/bin/wget' "$TEST_DIR/berth.txt"
    [[ "$(wc -l <"$TEST_DIR/berth.txt")" -gt 100 ]]
}

@test "images: without overlayfs a bundle's rootfs is a private full copy, whiteouts applied" {
    mkdir -p "$TEST_DIR/l1/a"
    echo 1 >"$TEST_DIR/l1/a/f1"
    echo 2 >"$TEST_DIR/l1/a/f2"
    mkfifo "$TEST_DIR/l1/a/fifo"
    chown 123:456 "$TEST_DIR/l1/a/f2"
    /usr/bin/python3 "$LIB/craft-tar.py" "$TEST_DIR/l2.tar" <<<'[{"name": "a/.wh.f1"}, {"name": ".wh.srv"}]'
    "$LIB/make-oci-layout.sh" -c '{"Cmd":["sh","-c","ls /a; cat /a/f2; echo > /a/new"]}' \
        "$TEST_DIR/lay" "$BASE_TAR" "$TEST_DIR/l1" "$TEST_DIR/l2.tar" >/dev/null
    rs image import "$TEST_DIR/lay" localhost/copy
    assert_ok
    BERTH_IMAGE_NO_OVERLAY=1 rs bundle localhost/copy "$TEST_DIR/b"
    assert_ok
    ! grep -q " $TEST_DIR/b/rootfs " /proc/mounts || fail "rootfs is a mount, not a copy"
    [[ -x "$TEST_DIR/b/rootfs/bin/busybox" ]]
    [[ ! -e "$TEST_DIR/b/rootfs/a/f1" ]] || fail "a whiteout was not applied"
    [[ -p "$TEST_DIR/b/rootfs/a/fifo" ]] || fail "fifo not copied"
    [[ "$(stat -c %u:%g "$TEST_DIR/b/rootfs/a/f2")" == 123:456 ]] || fail "owner not kept"
    ! find "$TEST_DIR/b/rootfs" -type c -perm 0 | grep -q . || fail "whiteout devices were copied"
    rs run -b "$TEST_DIR/b" "$ID"
    assert_ok
    [[ "$(echo $output)" == "f2 fifo 2" ]] || fail "$output"
    # The container's write stays in its copy: the shared snapshots are untouched.
    ! find "$STORE/snapshots" -name new | grep -q . || fail "a container write reached a snapshot"
    rs bundle --remove "$TEST_DIR/b"
    assert_ok
    [[ ! -e "$TEST_DIR/b" ]]
}

# Every `podman import` image has no Entrypoint/Cmd: bundle takes a command after -- as run
# --image does, and without one makes the bundle anyway (as umoci does), saying so on stderr.
@test "images: bundle of an image without Entrypoint/Cmd: -- CMD ARGS, else the default sh with a warning" {
    "$LIB/make-oci-layout.sh" -t nocmd -c '{"Env":["PATH=/bin"]}' "$TEST_DIR/nocmd" "$BASE_TAR" >/dev/null
    rs image import "$TEST_DIR/nocmd" localhost/nocmd:1
    assert_ok
    rs bundle localhost/nocmd:1 "$TEST_DIR/b1" -- echo hi there
    assert_ok
    [[ "$(jq -c .process.args "$TEST_DIR/b1/config.json")" == '["echo","hi","there"]' ]]
    rs run -b "$TEST_DIR/b1" "$ID"
    assert_ok
    [[ "$output" == "hi there" ]]
    rs bundle localhost/nocmd:1 "$TEST_DIR/b2"
    assert_ok
    [[ "$(jq -c .process.args "$TEST_DIR/b2/config.json")" == '["sh"]' ]]
    grep -q "warning.*has no Entrypoint or Cmd.*b2/config.json runs the default \"sh\"" <<<"$stderr" ||
        fail "no warning: $stderr"
    grep -q " $TEST_DIR/b2/rootfs overlay " /proc/mounts
    # run --image of it still wants a command.
    rs run --image localhost/nocmd:1 "$(new_id)"
    assert_berth_error "has no Entrypoint or Cmd: give a command"
    for b in b1 b2; do rs bundle --remove "$TEST_DIR/$b"; assert_ok; done
}
