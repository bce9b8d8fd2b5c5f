#!/bin/bash
# Removes everything one run of tests/e2e/podman.bats left behind: its containers, conmon
# processes and mounts, its temp dir, and the host paths podman 4.3 writes outside its configured
# dirs when they did not exist before the run. Called by the bats teardown, and by
# scripts/test.sh for runs that were killed before their teardown.
#
#   podman-e2e-cleanup.sh [--if-stale] E2E_DIR
#
# --if-stale: do nothing while the bats process that made E2E_DIR (E2E_DIR/owner) still runs,
# so a sweep never touches a concurrent run.
set -uo pipefail

if_stale=0
if [[ "${1:-}" == "--if-stale" ]]; then
    if_stale=1
    shift
fi
dir="${1:?usage: $0 [--if-stale] E2E_DIR}"
case "$dir" in
    /tmp/berth-e2e-podman.*) ;;
    *) echo "podman-e2e-cleanup: refusing $dir (not a podman e2e dir)" >&2; exit 2 ;;
esac
preexisting="$dir.preexisting"

if [[ $if_stale -eq 1 ]]; then
    owner="$(cat "$dir/owner" 2>/dev/null || true)"
    if [[ -n "$owner" ]] && tr '\0' ' ' <"/proc/$owner/cmdline" 2>/dev/null | grep -q bats; then
        exit 0
    fi
fi

if [[ -f "$dir/conf/containers.conf" ]]; then
    runtime="$(cat "$dir/runtime" 2>/dev/null || true)"
    runtime_args=()
    [[ -n "$runtime" ]] && runtime_args=(--runtime "$runtime")
    CONTAINERS_CONF="$dir/conf/containers.conf" \
        CONTAINERS_STORAGE_CONF="$dir/conf/storage.conf" \
        CONTAINERS_REGISTRIES_CONF="$dir/conf/registries.conf" \
        timeout --kill-after=10 120 podman "${runtime_args[@]}" --cgroup-manager cgroupfs \
        --events-backend file rm -af -t 0 >/dev/null 2>&1 || true
fi

# conmon processes of this run that outlived podman, matched by the run's unique temp dir.
for pid in $(pgrep -x conmon || true); do
    if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$dir/"; then
        kill -KILL "$pid" 2>/dev/null || true
    fi
done

# Mounts at or below the temp dir (podman's /dev/shm tmpfs per container), deepest first.
awk -v d="$dir" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r |
    while read -r mnt; do umount -l "$mnt" 2>/dev/null || true; done
rm -rf "$dir"

# Host paths podman created during this run (see host_paths_podman_creates in podman.bats).
if [[ -f "$preexisting" ]]; then
    for p in /var/lib/containers /run/containers /run/netns /sys/fs/cgroup/*/libpod_parent; do
        [[ -e "$p" ]] || continue
        grep -qxF "$p" "$preexisting" && continue
        case "$p" in
            /var/lib/containers)
                rm -f /var/lib/containers/cache/blob-info-cache-v1.boltdb
                rmdir /var/lib/containers/cache /var/lib/containers 2>/dev/null ;;
            /run/containers)
                rm -f /run/containers/networks/ipam.db
                rmdir /run/containers/networks /run/containers 2>/dev/null ;;
            /run/netns)
                # netavark bind-mounts /run/netns onto itself (as `ip netns` does).
                if [[ -z "$(ls -A /run/netns 2>/dev/null)" ]]; then
                    umount /run/netns 2>/dev/null
                    rmdir /run/netns 2>/dev/null
                fi ;;
            */libpod_parent)
                find "$p" -depth -mindepth 1 -type d -exec rmdir {} + 2>/dev/null
                rmdir "$p" 2>/dev/null ;;
        esac
    done
    rm -f "$preexisting"
fi
exit 0
