#!/usr/bin/env bats
# Soak (the 150-cycle version of bench/soak.sh, whose 10,000-cycle figures are in the closing
# notes): create/start/delete cycles with exec and update leave no fd, mount, cgroup, state
# entry or process behind.

load helpers

setup_file() { itest_setup_file; }

@test "150 create/start/delete cycles: no fd, mount, cgroup, state or process growth" {
    run "${BERTH_SOURCE_DIR:-$BATS_TEST_DIRNAME/../..}/bench/soak.sh" -n 150 --every 50 --berth "$BERTH"
    echo "$output" >&3
    [[ "$status" -eq 0 ]] || fail "soak failed:" "$output"
    [[ "${lines[-1]}" == "soak: OK:"* ]] || fail "$output"
}
