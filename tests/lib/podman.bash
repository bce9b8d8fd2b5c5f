# tests/lib/podman.bash: a real podman (Debian 4.3) + conmon, isolated from the host's
# configuration, driving the runtime $BERTH — shared by tests/e2e/podman.bats (the namespaces
# path) and tests/vm/podman.bats (berth-vm). Load it, then call podman_setup_file,
# podman_teardown_file, podman_setup and podman_teardown from the bats hooks.
#
# podman gets its own containers.conf, storage.conf (vfs, graphroot/runroot in a temp dir) and an
# empty registries.conf. The image is a `podman import` of the busybox rootfs from
# tests/lib/make-bundle.sh, so no registry is involved.
# BERTH_E2E_ARGV_LOG=FILE appends every runtime invocation (argv) made by podman/conmon to FILE.

IMAGE=localhost/berth-e2e-busybox:latest
BERTH_PODMAN_LIB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# pm ARGS...: podman, isolated, with the runtime under test and a time limit.
# skip_part REASON: as tests/integration/helpers.bash's: the rest of the test runs, the test
# command's skip report lists the part.
skip_part() {
    printf '# part skipped: %s\n' "$*" >&3
}

pm() {
    timeout --kill-after=10 120 podman --runtime "$RUNTIME" --cgroup-manager cgroupfs \
        --events-backend file "$@"
}

# pm_tty COMMAND: runs the podman command line COMMAND on a fresh pseudo-terminal (script(1)),
# so `-it` goes through conmon's console socket without a real terminal. Output has CRs and NULs
# removed. script's stdin is a FIFO opened read-write: it never delivers data nor EOF (with
# </dev/null, script sees EOF at once and about 1 run in 20 loses the container's output).
pm_tty() {
    local cmd="podman --runtime '$RUNTIME' --cgroup-manager cgroupfs --events-backend file $1"
    local fifo="$E2E_DIR/tty-stdin"
    [[ -p "$fifo" ]] || mkfifo "$fifo"
    timeout --kill-after=10 120 script -qec "$cmd" /dev/null 0<>"$fifo" | tr -d '\r\000'
    return "${PIPESTATUS[0]}"
}

# host_paths_podman_creates: paths podman 4.3 writes outside its configured dirs; the ones that
# did not exist before this file ran are removed by tests/lib/podman-e2e-cleanup.sh.
host_paths_podman_creates() {
    local p
    for p in /var/lib/containers /run/containers /run/netns /sys/fs/cgroup/*/libpod_parent; do
        [[ -e "$p" ]] && echo "$p"
    done
    return 0
}

podman_setup_file() {
    export E2E_SKIP=""
    if [[ -z "${BERTH:-}" ]]; then
        BERTH="${BERTH_BUILD_DIR:-$BATS_TEST_DIRNAME/../../build}/cli/berth"
    fi
    if [[ ! -x "$BERTH" ]]; then
        export E2E_SKIP="runtime not found: $BERTH (build first, or set BERTH)"
        return 0
    fi
    local tool
    for tool in podman conmon script jq busybox; do
        if ! command -v "$tool" >/dev/null; then
            export E2E_SKIP="$tool not installed (run scripts/setup.sh)"
            return 0
        fi
    done
    if [[ $(id -u) -ne 0 ]]; then
        export E2E_SKIP="needs root"
        return 0
    fi
    BERTH="$(cd "$(dirname "$BERTH")" && pwd)/$(basename "$BERTH")"
    export BERTH

    E2E_DIR="$(mktemp -d /tmp/berth-e2e-podman.XXXXXX)"
    export E2E_DIR
    mkdir -p "$E2E_DIR"/{conf,storage,run,tmp,bin,vol}
    echo "$$" >"$E2E_DIR/owner" # this bats process; see podman-e2e-cleanup.sh --if-stale

    # Remember which host paths existed, so the cleanup removes only what this file created.
    host_paths_podman_creates >"$E2E_DIR.preexisting"

    # The runtime podman sees. With an argv log, a wrapper of the same basename (podman treats
    # some runtime names specially) records each call and execs the real binary.
    RUNTIME="$BERTH"
    if [[ -n "${BERTH_E2E_ARGV_LOG:-}" ]]; then
        RUNTIME="$E2E_DIR/bin/$(basename "$BERTH")"
        cat >"$RUNTIME" <<EOF
#!/bin/bash
{ printf '%s' "\${0##*/}"; printf ' %q' "\$@"; echo; } >>'$BERTH_E2E_ARGV_LOG'
exec '$BERTH' "\$@"
EOF
        chmod +x "$RUNTIME"
    fi
    export RUNTIME
    echo "$RUNTIME" >"$E2E_DIR/runtime"

    # Raising a hard rlimit fails on the test hosts even as root, so the default ulimits are
    # pinned below the hard limits; otherwise podman's defaults make every runtime fail.
    # The runtime settings (runtime_supports_json, [engine.runtimes]) are the drop-in berth ships
    # (dist/podman/50-berth.conf), merged in below: podman 4.3 reads only $CONTAINERS_CONF when it
    # is set, not the drop-in directories.
    cat >"$E2E_DIR/conf/isolation.conf" <<EOF
[containers]
default_ulimits = ["nofile=4096:4096", "nproc=1000:1000"]
log_driver = "k8s-file"

[engine]
pull_policy = "never"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$E2E_DIR/run/events.log"
tmp_dir = "$E2E_DIR/run/libpod"
volume_path = "$E2E_DIR/storage/volumes"
static_dir = "$E2E_DIR/storage/libpod"
image_copy_tmp_dir = "$E2E_DIR/tmp"

[network]
network_config_dir = "$E2E_DIR/conf/networks"
EOF
    toml_merge "$E2E_DIR/conf/isolation.conf" "$BERTH_PODMAN_LIB_DIR/../../dist/podman/50-berth.conf" \
        >"$E2E_DIR/conf/containers.conf"
    # This run's binary first in the drop-in's search list for its name (in the test's copy), so
    # that `--runtime berth`, by name, finds it as it finds /usr/sbin/berth on an installed host.
    sed -i "s|^$(basename "$BERTH") = \[|$(basename "$BERTH") = [\"$RUNTIME\", |" "$E2E_DIR/conf/containers.conf"
    # The runtime under test must be one podman drives like runc and crun (--log-format=json --log).
    grep -q "^runtime_supports_json = .*\"$(basename "$BERTH")\"" "$E2E_DIR/conf/containers.conf" || {
        export E2E_SKIP="$(basename "$BERTH") is not in runtime_supports_json of dist/podman/50-berth.conf"
        return 0
    }
    cat >"$E2E_DIR/conf/storage.conf" <<EOF
[storage]
driver = "vfs"
graphroot = "$E2E_DIR/storage"
runroot = "$E2E_DIR/run/storage"
EOF
    : >"$E2E_DIR/conf/registries.conf"
    export CONTAINERS_CONF="$E2E_DIR/conf/containers.conf"
    export CONTAINERS_STORAGE_CONF="$E2E_DIR/conf/storage.conf"
    export CONTAINERS_REGISTRIES_CONF="$E2E_DIR/conf/registries.conf"
    export TMPDIR="$E2E_DIR/tmp"

    "$BERTH_PODMAN_LIB_DIR/make-bundle.sh" --tar "$E2E_DIR/rootfs.tar"
    pm import --change 'CMD ["/bin/sh"]' "$E2E_DIR/rootfs.tar" "$IMAGE" >/dev/null
}

# toml_merge FILE...: the files' tables merged (each table once, at its first place, with the
# lines every file gives it), for flat containers.conf files without repeated keys.
toml_merge() {
    awk '
        /^[[:space:]]*\[/ { t = $0; sub(/[[:space:]]*(#.*)?$/, "", t); if (!(t in seen)) { seen[t] = 1; order[++n] = t }; next }
        { body[t] = body[t] $0 "\n" }
        END { printf "%s", body[""]; for (i = 1; i <= n; i++) { print order[i]; printf "%s", body[order[i]] } }' "$@"
}

podman_teardown_file() {
    [[ -n "${E2E_DIR:-}" ]] || return 0
    "$BERTH_PODMAN_LIB_DIR/podman-e2e-cleanup.sh" "$E2E_DIR"
}

podman_setup() {
    [[ -z "$E2E_SKIP" ]] || skip "$E2E_SKIP"
}

podman_teardown() {
    [[ -z "$E2E_SKIP" ]] || return 0
    if [[ -n "${BATS_TEST_COMPLETED:-}" ]]; then
        pm rm -af -t 0 >/dev/null 2>&1 || true
        return 0
    fi
    # The test failed: show podman's view before cleaning up.
    echo "# podman ps -a:" >&3
    pm ps -a --no-trunc 2>&1 | sed 's/^/#   /' >&3 || true
    pm rm -af -t 0 >/dev/null 2>&1 || true
}

# expect_status WANT: fail with the command's output when $status is not WANT.
expect_status() {
    if [[ "$status" -ne "$1" ]]; then
        echo "expected exit status $1, got $status; output:"
        echo "$output"
        return 1
    fi
}

# container_state NAME: podman's idea of the container's state (running, exited, ...).
container_state() {
    pm inspect --format '{{.State.Status}}' "$1"
}

