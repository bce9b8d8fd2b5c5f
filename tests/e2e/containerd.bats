#!/usr/bin/env bats
# Acceptance: a real containerd (Debian 1.6) drives $BERTH through its runc shim
# (io.containerd.runc.v2 with `--runc-binary`), exactly as it drives runc. containerd runs with
# its own root, state and socket in a temp dir; the rootfs is the busybox bundle's (no image).
# Commands are given by absolute path: with --rootfs (no image config) runc 1.1 cannot resolve a
# bare name, and the test must pass with runc to prove a failure is berth's.
#
# The same file runs as ctest's vm.containerd with BERTH=.../berth-vm: containerd drives the
# micro-VM path through the same shim, and the first test checks the guest kernel answered.
#
# The runtime handlers are the drop-in berth ships (dist/containerd/berth.toml): containerd's CRI
# plugin reads it (`config dump` of a config importing it), and the shim is pointed at the binary
# its handler names (BinaryName's file name, found beside $BERTH rather than in /usr/sbin).

bats_require_minimum_version 1.5.0

setup_file() {
    export E2E_SKIP=""
    BERTH="${BERTH:-${BERTH_BUILD_DIR:-$BATS_TEST_DIRNAME/../../build}/cli/berth}"
    local tool
    for tool in containerd ctr script jq busybox; do
        command -v "$tool" >/dev/null || { export E2E_SKIP="$tool not installed (run scripts/setup.sh)"; return 0; }
    done
    [[ -x "$BERTH" ]] || { export E2E_SKIP="runtime not found: $BERTH"; return 0; }
    BERTH="$(cd "$(dirname "$BERTH")" && pwd)/$(basename "$BERTH")"
    CTD_DIR="$(mktemp -d /tmp/berth-e2e-containerd.XXXXXX)"
    export BERTH CTD_DIR
    mkdir -p "$CTD_DIR"/{root,state}
    cat >"$CTD_DIR/config.toml" <<EOF2
version = 2
root = "$CTD_DIR/root"
state = "$CTD_DIR/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$CTD_DIR/containerd.sock"
[ttrpc]
  address = "$CTD_DIR/containerd.sock.ttrpc"
EOF2
    # The shipped handlers as containerd's CRI plugin reads them (no daemon: config dump).
    printf 'version = 2\nimports = ["%s"]\n' "$BATS_TEST_DIRNAME/../../dist/containerd/berth.toml" \
        >"$CTD_DIR/handlers.toml"
    containerd --config "$CTD_DIR/handlers.toml" config dump >"$CTD_DIR/handlers.dump" 2>&1 || {
        echo "containerd config dump of the shipped drop-in failed:" >&3; cat "$CTD_DIR/handlers.dump" >&3; return 1; }
    RUNC_BINARY="$BERTH"
    local name
    name="$(basename "$BERTH")"
    if [[ "$name" == berth || "$name" == berth-vm ]]; then
        HANDLER_BINARY="$(awk -F'"' -v h="runtimes.$name.options]" 'index($0, h) { f = 1; next } f && /BinaryName/ { print $2; exit }' \
            "$CTD_DIR/handlers.dump")"
        [[ "$(basename "$HANDLER_BINARY")" == "$name" ]] || {
            echo "dist/containerd/berth.toml: handler $name has BinaryName '$HANDLER_BINARY'" >&3; return 1; }
        RUNC_BINARY="$(dirname "$BERTH")/$(basename "$HANDLER_BINARY")"
    fi
    export RUNC_BINARY
    "$BATS_TEST_DIRNAME/../lib/make-bundle.sh" "$CTD_DIR/bundle" >/dev/null
    containerd --config "$CTD_DIR/config.toml" >"$CTD_DIR/containerd.log" 2>&1 &
    echo $! >"$CTD_DIR/containerd.pid"
    local i
    for i in $(seq 100); do
        ctr -a "$CTD_DIR/containerd.sock" version >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "containerd did not start:" >&3
    cat "$CTD_DIR/containerd.log" >&3
    return 1
}

teardown_file() {
    [[ -n "${CTD_DIR:-}" && -d "$CTD_DIR" ]] || return 0
    local t
    for t in $(c task ls -q 2>/dev/null); do c task kill -s SIGKILL "$t" >/dev/null 2>&1 || true; done
    sleep 0.3
    for t in $(c task ls -q 2>/dev/null); do c task rm -f "$t" >/dev/null 2>&1 || true; done
    for t in $(c containers ls -q 2>/dev/null); do c containers rm "$t" >/dev/null 2>&1 || true; done
    if [[ -f "$CTD_DIR/containerd.pid" ]]; then
        kill "$(cat "$CTD_DIR/containerd.pid")" 2>/dev/null || true
        sleep 0.5
        kill -9 "$(cat "$CTD_DIR/containerd.pid")" 2>/dev/null || true
    fi
    # containerd mounts under its root and state; nothing may stay mounted there.
    awk -v d="$CTD_DIR" '$5 ~ "^" d {print $5}' /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l
    rm -rf "$CTD_DIR"
}

setup() { [[ -z "$E2E_SKIP" ]] || skip "$E2E_SKIP"; }

c() { timeout -k 5 60 ctr -a "$CTD_DIR/containerd.sock" "$@"; }
crun_() { c run --rootfs --runc-binary "$RUNC_BINARY" "$@"; }

@test "ctr run --rm: output and exit status through containerd's runc shim" {
    run -0 crun_ --rm "$CTD_DIR/bundle/rootfs" out1 /bin/echo hello-from-containerd
    [[ "$output" == *hello-from-containerd* ]]
    run -7 crun_ --rm "$CTD_DIR/bundle/rootfs" out2 /bin/sh -c 'exit 7'
    if [[ "$(basename "$BERTH")" == berth-vm ]]; then
        run -0 crun_ --rm "$CTD_DIR/bundle/rootfs" out3 /bin/uname -r
        [[ "$output" == *-amd64* && "$output" != *"$(uname -r)"* ]] || { echo "not the guest kernel: $output"; false; }
    fi
}

@test "ctr run -d, task exec, task ps, task kill, task rm" {
    run -0 crun_ -d "$CTD_DIR/bundle/rootfs" det1 /bin/sleep 100
    run -0 c task ls
    [[ "$output" =~ det1[[:space:]]+[0-9]+[[:space:]]+RUNNING ]] || { echo "$output"; false; }
    run -0 c task exec --exec-id e1 det1 /bin/sh -c 'echo exec-ok; cat /proc/1/cmdline | tr "\0" " "'
    [[ "$output" == *exec-ok* && "$output" == *"/bin/sleep 100"* ]] || { echo "$output"; false; }
    run -5 c task exec --exec-id e2 det1 /bin/sh -c 'exit 5'
    run -0 c task ps det1
    [[ "${#lines[@]}" -ge 2 ]] || { echo "$output"; false; }
    run -0 c task kill -s SIGKILL det1
    local i
    for i in $(seq 50); do
        c task ls | grep -Eq 'det1[[:space:]]+[0-9]+[[:space:]]+STOPPED' && break
        sleep 0.1
    done
    run -0 c task ls
    [[ "$output" =~ det1[[:space:]]+[0-9]+[[:space:]]+STOPPED ]] || { echo "$output"; false; }
    run -0 c task rm det1
    run -0 c containers rm det1
    # the shim's runtime root for the namespace holds nothing of it any more
    [[ ! -e "/run/containerd/runc/default/det1" ]]
}

@test "ctr run -t: the terminal goes through the shim's console socket" {
    local fifo="$CTD_DIR/tty-stdin"
    [[ -p "$fifo" ]] || mkfifo "$fifo"
    run -0 bash -c "(sleep 1; echo 'tty; echo tty-ok') >'$fifo' & timeout -k 5 60 script -qec \
        \"ctr -a '$CTD_DIR/containerd.sock' run -t --rm --rootfs --runc-binary '$RUNC_BINARY' '$CTD_DIR/bundle/rootfs' tty1 /bin/sh -c 'read l; eval \\\"\\\$l\\\"'\" /dev/null <'$fifo' | tr -d '\r\000'"
    [[ "$output" =~ /dev/pts/[0-9]+ && "$output" == *tty-ok* ]] || { echo "$output"; false; }
}
