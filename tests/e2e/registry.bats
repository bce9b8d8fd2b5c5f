#!/usr/bin/env bats
# Acceptance (label e2e): `berth image pull` against Debian's docker-registry on 127.0.0.1 (plain
# http, so --insecure), images pushed with skopeo from OCI layouts built here; htpasswd basic
# auth; bearer tokens (tests/lib/token-proxy.py in front of the registry); a tampered blob; a
# resumed download. And podman interop both ways: a `podman save`
# docker-archive imports and runs under berth, and `berth image export` loads into podman.
bats_require_minimum_version 1.5.0

LIB="$BATS_TEST_DIRNAME/../lib"

free_port() {
    local p
    for p in $(shuf -i 20000-60000 -n 50); do
        ss -ltnH "sport = :$p" | grep -q . || { echo "$p"; return 0; }
    done
    return 1
}

# start_registry NAME [CONFIG_LINES]: a docker-registry on a free port; prints the port.
start_registry() {
    local name="$1" port i
    [[ -n "${E2E_DIR:-}" && -d "$E2E_DIR" ]] || return 1
    port="$(free_port)"
    mkdir -p "$E2E_DIR/$name"
    {
        echo "version: 0.1"
        echo "log: {level: error}"
        echo "storage: {filesystem: {rootdirectory: $E2E_DIR/$name}}"
        echo "http: {addr: \"127.0.0.1:$port\"}"
        [[ -n "${2:-}" ]] && echo "$2"
    } >"$E2E_DIR/$name.yml"
    docker-registry serve "$E2E_DIR/$name.yml" >"$E2E_DIR/$name.log" 2>&1 &
    echo $! >>"$E2E_DIR/registry.pids"
    for i in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && { echo "$port"; return 0; }
        sleep 0.1
    done
    cat "$E2E_DIR/$name.log" >&2
    return 1
}

pm() {
    timeout --kill-after=10 120 podman --cgroup-manager cgroupfs --events-backend file "$@"
}

push() {
    skopeo --insecure-policy copy -q --dest-tls-verify=false "$@" >/dev/null
}

setup_file() {
    export E2E_SKIP=""
    BERTH="${BERTH:-${BERTH_BUILD_DIR:-$BATS_TEST_DIRNAME/../../build}/cli/berth}"
    BERTH="$(realpath "$BERTH")"
    export BERTH
    [[ -x "$BERTH" ]] || { export E2E_SKIP="runtime not found: $BERTH"; return 0; }
    [[ $(id -u) -eq 0 ]] || { export E2E_SKIP="needs root"; return 0; }
    local tool p
    for tool in docker-registry skopeo htpasswd podman jq ss busybox base64 /usr/bin/python3; do
        command -v "$tool" >/dev/null || { export E2E_SKIP="$tool not installed (run scripts/setup.sh)"; return 0; }
    done
    # Named like podman.bats' dir so tests/lib/podman-e2e-cleanup.sh (and test.sh's sweep of
    # killed runs) applies to it as well.
    E2E_DIR="$(mktemp -d /tmp/berth-e2e-podman.XXXXXX)"
    export E2E_DIR
    echo "$$" >"$E2E_DIR/owner"
    for p in /var/lib/containers /run/containers /run/netns /sys/fs/cgroup/*/libpod_parent; do
        [[ -e "$p" ]] && echo "$p"
    done >"$E2E_DIR.preexisting"
    mkdir -p "$E2E_DIR"/{conf,storage,run,tmp}
    {
        echo "[engine]"
        echo "events_logger = \"file\""
        echo "events_logfile_path = \"$E2E_DIR/run/events.log\""
        echo "tmp_dir = \"$E2E_DIR/run/libpod\""
        echo "static_dir = \"$E2E_DIR/storage/libpod\""
        echo "volume_path = \"$E2E_DIR/storage/volumes\""
        echo "image_copy_tmp_dir = \"$E2E_DIR/tmp\""
    } >"$E2E_DIR/conf/containers.conf"
    printf '[storage]\ndriver = "vfs"\ngraphroot = "%s"\nrunroot = "%s"\n' "$E2E_DIR/storage" "$E2E_DIR/run/storage" \
        >"$E2E_DIR/conf/storage.conf"
    : >"$E2E_DIR/conf/registries.conf"
    export CONTAINERS_CONF="$E2E_DIR/conf/containers.conf"
    export CONTAINERS_STORAGE_CONF="$E2E_DIR/conf/storage.conf"
    export CONTAINERS_REGISTRIES_CONF="$E2E_DIR/conf/registries.conf"
    export TMPDIR="$E2E_DIR/tmp"

    "$LIB/make-bundle.sh" --tar "$E2E_DIR/rootfs.tar"
    mkdir -p "$E2E_DIR/marker/etc"
    echo amd64 >"$E2E_DIR/marker/etc/arch"
    "$LIB/make-oci-layout.sh" -t v1 -c '{"Cmd":["cat","/etc/arch"]}' "$E2E_DIR/layout" "$E2E_DIR/rootfs.tar" \
        "$E2E_DIR/marker" >/dev/null

    p="$(start_registry reg)" || { export E2E_SKIP="docker-registry did not start"; return 0; }
    export REG="127.0.0.1:$p"
    htpasswd -Bbc "$E2E_DIR/htpasswd" alice 's3cret' 2>/dev/null
    p="$(start_registry authreg "auth: {htpasswd: {realm: berth-test, path: $E2E_DIR/htpasswd}}")" ||
        { export E2E_SKIP="docker-registry (htpasswd) did not start"; return 0; }
    export AUTH_REG="127.0.0.1:$p"
    push "oci:$E2E_DIR/layout:v1" "docker://$REG/test/bb:v1"
}

teardown_file() {
    [[ -n "${E2E_DIR:-}" && -d "$E2E_DIR" ]] || return 0
    local pid
    while read -r pid; do
        kill "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done < <(cat "$E2E_DIR/registry.pids" 2>/dev/null)
    "$LIB/podman-e2e-cleanup.sh" "$E2E_DIR"
}

setup() {
    [[ -z "$E2E_SKIP" ]] || skip "$E2E_SKIP"
    T="$(mktemp -d "$E2E_DIR/t.XXXXXX")"
    STORE="$T/store"
    ROOT="$T/state"
}

teardown() {
    [[ -n "${T:-}" && -d "$T" ]] || return 0
    local d
    for d in "$ROOT"/*/; do
        [[ -d "$d" ]] && "$BERTH" --root "$ROOT" delete -f "$(basename "$d")" >/dev/null 2>&1
    done
    awk -v d="$T" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l
    rm -rf "$T"
}

# b ARGS...: berth with the test's store and root; sets status/output/stderr.
b() {
    status=0
    timeout -k 5 120 "$BERTH" --root "$ROOT" --store "$STORE" "$@" </dev/null >"$T/out" 2>"$T/err" || status=$?
    output="$(cat "$T/out")"
    stderr="$(cat "$T/err")"
}

ok() {
    [[ "$status" -eq 0 ]] || { echo "status $status: $stderr" >&2; return 1; }
}

# berth_error REGEX: failed with one "berth: " line matching REGEX.
berth_error() {
    [[ "$status" -eq 1 ]] || { echo "status $status, stderr: $stderr" >&2; return 1; }
    [[ "$(wc -l <"$T/err")" -eq 1 && "$stderr" == "berth: "* ]] || { echo "stderr: $stderr" >&2; return 1; }
    grep -qE -- "$1" <<<"$stderr" || { echo "stderr does not match /$1/: $stderr" >&2; return 1; }
}

@test "registry: pull by tag, then run it" {
    b image pull --insecure "$REG/test/bb:v1"
    ok
    [[ "$output" == "$REG/test/bb:v1 sha256:"* ]]
    b run --image "$REG/test/bb:v1" "ctr-$$"
    ok
    [[ "$output" == "amd64" ]]
    # Without --insecure berth speaks https only.
    b image pull "$REG/test/bb:v1"
    berth_error "https://$REG"
}

@test "registry: pull by digest gives the pushed manifest" {
    local digest
    digest="$(jq -r '.manifests[0].digest' "$E2E_DIR/layout/index.json")"
    b image pull --insecure "$REG/test/bb@$digest"
    ok
    [[ "$output" == "$REG/test/bb@$digest $digest" ]]
    b image pull --insecure "$REG/test/bb@sha256:$(printf '0%.0s' {1..64})"
    berth_error "not found|unknown"
    [[ "$(jq '.images | length' "$STORE/images.json")" -eq 1 ]]
}

@test "registry: a multi-arch index selects linux/amd64 or --platform" {
    local m="$T/multi" amd arm idx size
    mkdir -p "$T/armmarker/etc"
    echo arm64 >"$T/armmarker/etc/arch"
    amd="$("$LIB/make-oci-layout.sh" -t amd -c '{"Cmd":["cat","/etc/arch"]}' "$m" "$E2E_DIR/rootfs.tar" "$E2E_DIR/marker")"
    arm="$("$LIB/make-oci-layout.sh" -t arm -p linux/arm64 "$m" "$E2E_DIR/rootfs.tar" "$T/armmarker")"
    jq -c '{schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json",
            manifests: [.manifests[] | del(.annotations)]}' "$m/index.json" >"$T/idx.json"
    size="$(stat -c %s "$T/idx.json")"
    idx="$(sha256sum "$T/idx.json" | cut -d' ' -f1)"
    mv "$T/idx.json" "$m/blobs/sha256/$idx"
    jq -cn --arg d "sha256:$idx" --argjson s "$size" '{schemaVersion: 2, manifests: [{mediaType:
        "application/vnd.oci.image.index.v1+json", digest: $d, size: $s,
        annotations: {"org.opencontainers.image.ref.name": "multi"}}]}' >"$m/index.json"
    push --all "oci:$m:multi" "docker://$REG/test/multi:1"
    b image pull --insecure "$REG/test/multi:1"
    ok
    [[ "$output" == *" $amd" ]]
    b run --image "$REG/test/multi:1" "ctr-$$"
    ok
    [[ "$output" == "amd64" ]]
    b image pull --insecure --platform linux/arm64 "$REG/test/multi:1"
    ok
    [[ "$output" == *" $arm" ]]
    b image inspect "$REG/test/multi:1"
    [[ "$(jq -r .config.architecture <<<"$output")" == "arm64" ]]
    b image pull --insecure --platform linux/s390x "$REG/test/multi:1"
    berth_error "no manifest for platform linux/s390x"
}

@test "registry: htpasswd basic auth with an auth.json" {
    push --dest-creds alice:s3cret "oci:$E2E_DIR/layout:v1" "docker://$AUTH_REG/priv/bb:v1"
    b image pull --insecure "$AUTH_REG/priv/bb:v1"
    berth_error "wants a login|unauthorized"
    printf '{"auths":{"%s":{"auth":"%s"}}}' "$AUTH_REG" "$(printf 'alice:wrong' | base64)" >"$T/bad.json"
    b image pull --insecure --authfile "$T/bad.json" "$AUTH_REG/priv/bb:v1"
    berth_error "unauthorized"
    printf '{"auths":{"%s":{"auth":"%s"}}}' "$AUTH_REG" "$(printf 'alice:s3cret' | base64)" >"$T/auth.json"
    b image pull --insecure --authfile "$T/auth.json" "$AUTH_REG/priv/bb:v1"
    ok
    # The default auth file: $XDG_RUNTIME_DIR/containers/auth.json.
    mkdir -p "$T/xdg/containers"
    cp "$T/auth.json" "$T/xdg/containers/auth.json"
    STORE="$T/store2" XDG_RUNTIME_DIR="$T/xdg" b image pull --insecure "$AUTH_REG/priv/bb:v1"
    ok
}

@test "registry: bearer token auth from the WWW-Authenticate challenge" {
    local port i
    port="$(free_port)"
    /usr/bin/python3 "$LIB/token-proxy.py" "$port" "$REG" bob tokpass >"$T/proxy.log" 2>&1 &
    echo $! >>"$E2E_DIR/registry.pids"
    for i in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
        sleep 0.1
    done
    b image pull --insecure "127.0.0.1:$port/test/bb:v1"
    berth_error "token server .* answered HTTP 401"
    printf '{"auths":{"127.0.0.1:%s":{"auth":"%s"}}}' "$port" "$(printf 'bob:tokpass' | base64)" >"$T/auth.json"
    b image pull --insecure --authfile "$T/auth.json" "127.0.0.1:$port/test/bb:v1"
    ok
    b run --image "127.0.0.1:$port/test/bb:v1" "ctr-$$"
    ok
    [[ "$output" == "amd64" ]]
}

@test "registry: a tampered blob is refused and nothing is stored" {
    mkdir -p "$T/uniq/etc"
    echo "unique $$ $RANDOM" >"$T/uniq/etc/uniq"
    "$LIB/make-oci-layout.sh" -t t "$T/tl" "$E2E_DIR/rootfs.tar" "$T/uniq" >/dev/null
    push "oci:$T/tl:t" "docker://$REG/test/tampered:t"
    local m layer data
    m="$(jq -r '.manifests[0].digest' "$T/tl/index.json" | cut -d: -f2)"
    layer="$(jq -r '.layers[1].digest' "$T/tl/blobs/sha256/$m" | cut -d: -f2)"
    data="$E2E_DIR/reg/docker/registry/v2/blobs/sha256/${layer:0:2}/$layer/data"
    [[ -f "$data" ]]
    # Same size, different bytes: only the digest can tell.
    printf 'X' | dd of="$data" bs=1 seek=100 conv=notrunc status=none
    b image pull --insecure "$REG/test/tampered:t"
    berth_error "digest mismatch"
    [[ -z "$(ls -A "$STORE/blobs/sha256")" ]] || { ls -la "$STORE/blobs/sha256" >&2; false; }
    [[ -z "$(ls -A "$STORE/snapshots")" && -z "$(ls -A "$STORE/tmp")" ]]
    [[ ! -e "$STORE/images.json" ]]
}

@test "registry: an interrupted download resumes from the partial blob" {
    local m layer
    m="$(jq -r '.manifests[0].digest' "$E2E_DIR/layout/index.json" | cut -d: -f2)"
    layer="$(jq -r '.layers[0].digest' "$E2E_DIR/layout/blobs/sha256/$m" | cut -d: -f2)"
    mkdir -p "$STORE/tmp"
    head -c 100000 "$E2E_DIR/layout/blobs/sha256/$layer" >"$STORE/tmp/$layer.partial"
    b image pull --insecure "$REG/test/bb:v1"
    ok
    [[ ! -e "$STORE/tmp/$layer.partial" ]]
    [[ "$(sha256sum "$STORE/blobs/sha256/$layer" | cut -d' ' -f1)" == "$layer" ]]
}

@test "podman: a podman-saved docker-archive imports and runs; berth export loads into podman and skopeo by name" {
    pm import --change 'CMD ["echo","from-podman"]' "$E2E_DIR/rootfs.tar" localhost/pmbb:1 >/dev/null
    pm save --format docker-archive -o "$T/pm.tar" localhost/pmbb:1 2>/dev/null
    b image import "$T/pm.tar"
    ok
    [[ "$output" == "localhost/pmbb:1 sha256:"* ]]
    b run --image localhost/pmbb:1 "ctr-$$"
    ok
    [[ "$output" == "from-podman" ]]
    b image export localhost/pmbb:1 "$T/exported"
    ok
    pm rmi -f localhost/pmbb:1 >/dev/null
    # As an oci-archive: podman names it after the layout's ref.name, the whole name as podman
    # save writes it (a bare tag "1" there made it localhost/1:latest).
    [[ "$(jq -r '.manifests[0].annotations["org.opencontainers.image.ref.name"]' "$T/exported/index.json")" == localhost/pmbb:1 ]]
    tar -C "$T/exported" -cf "$T/exported.tar" .
    pm load -q -i "$T/exported.tar" >"$T/loaded"
    grep -q "Loaded image" "$T/loaded"
    [[ "$(sed -n 's/^Loaded image.*: //p' "$T/loaded")" == localhost/pmbb:1 ]] || { cat "$T/loaded" >&2; return 1; }
    pm image inspect localhost/pmbb:1 | jq -e '.[0].Config.Cmd == ["echo","from-podman"]' >/dev/null
    pm rmi -af >/dev/null
    # skopeo finds it by that name (oci:DIR:NAME), and its copy imports under the same name.
    skopeo --insecure-policy copy -q "oci:$T/exported:localhost/pmbb:1" "oci:$T/skopeo:localhost/pmbb:1"
    STORE="$T/store2"
    b image import "$T/skopeo"
    ok
    [[ "$output" == "localhost/pmbb:1 sha256:"* ]]
}
