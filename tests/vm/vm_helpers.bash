# Shared by the micro-VM bats files (ctest label vm); load after ../integration/helpers.

# vm_setup_file [--generic]: the integration set-up, then a skip with the reason when this host
# cannot boot a guest: no QEMU, no cloud kernel, or (--generic, for 9p shares and pods) no
# generic guest kernel extracted by scripts/setup.sh. A TCG boot on two busy cores is slow:
# berth's commands get 180 s.
vm_setup_file() {
    itest_setup_file
    [[ -n "$ITEST_SKIP" ]] && return 0
    command -v qemu-system-x86_64 >/dev/null || { export ITEST_SKIP="qemu-system-x86 is not installed"; return 0; }
    ls /boot/vmlinuz-*-cloud-amd64 >/dev/null 2>&1 || { export ITEST_SKIP="linux-image-cloud-amd64 is not installed"; return 0; }
    if [[ "${1:-}" == --generic ]]; then
        ls -d "${BERTH_VM_KERNELS:-/var/cache/berth/vm/kernels}"/*/ >/dev/null 2>&1 ||
            { export ITEST_SKIP="no generic guest kernel with 9p (run scripts/setup.sh)"; return 0; }
    fi
    export BERTH_TIMEOUT=180
}

# vm_setup: a test's bundle, run by the vm handler.
vm_setup() {
    itest_setup
    cfg '.annotations["run.oci.handler"] = "vm"'
}

# wait_file FILE REGEX: until FILE has a line matching REGEX (up to 120 s: the guest boots).
wait_file() {
    local i
    for ((i = 0; i < 1200; i++)); do
        grep -qE -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    fail "no line matching /$2/ in $1:" "$(cat "$1" 2>/dev/null)"
}
