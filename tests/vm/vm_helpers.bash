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

# check_exec_tty RUN ID CONFIG: `RUN exec` (rb or a wrapper of the same shape) of a process with a
# terminal and a consoleSize of 33x111 (CONFIG's process otherwise) in ID, its pty master at
# --console-socket; the receiver resizes the master to 44x99 once the process says resize-me, as
# containerd's shim and conmon do. The process's tty starts at 33x111, then it gets SIGWINCH and
# sees 44x99; the receiver's bytes are exactly the process's lines (no leading NUL, no echo).
check_exec_tty() {
    local run="$1" id="$2" config="$3" got want
    compile_recvtty
    jq '.process | .terminal = true | .consoleSize = {height: 33, width: 111} | .args = $ARGS.positional' --args -- \
        sh -c 'trap "echo got-winch" WINCH; tty; stty size; echo resize-me; i=0
               while [ "$(stty size)" != "44 99" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done; stty size' \
        <"$config" >"$TEST_DIR/tty-proc.json"
    RECVTTY_TIMEOUT=90 start_recvtty rtty -w resize-me -s 44,99
    "$run" exec -p "$TEST_DIR/tty-proc.json" --console-socket "$TEST_DIR/rtty.sock" "$id"
    assert_ok
    wait_recvtty rtty
    got="$(head -n1 "$TEST_DIR/rtty.txt")"
    [[ "$got" =~ ^/dev/pts/[0-9]+$ ]] || fail "exec -t: tty:" "$(od -c "$TEST_DIR/rtty.out")"
    printf '%s\r\n33 111\r\nresize-me\r\ngot-winch\r\n44 99\r\n' "$got" >"$TEST_DIR/rtty.want"
    cmp -s "$TEST_DIR/rtty.want" "$TEST_DIR/rtty.out" ||
        fail "exec -t: the bytes at the console socket (want: tty, 33 111, resize-me, got-winch, 44 99):" \
            "$(od -c "$TEST_DIR/rtty.out")"
}
