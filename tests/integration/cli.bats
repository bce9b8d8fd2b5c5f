#!/usr/bin/env bats
# The command line outside the lifecycle: spec, features, --version, --log/--log-format, --debug.

load helpers

setup_file() { itest_setup_file; }

@test "spec writes runc's default config.json" {
    command -v runc >/dev/null || skip "runc is not installed (the reference for spec)"
    mkdir -p "$TEST_DIR/berth" "$TEST_DIR/runc"
    rb spec -b "$TEST_DIR/berth"
    assert_ok
    runc spec -b "$TEST_DIR/runc"
    diff <(jq -S 'del(.ociVersion)' "$TEST_DIR/berth/config.json") \
        <(jq -S 'del(.ociVersion)' "$TEST_DIR/runc/config.json") >&2 ||
        fail "berth spec differs from runc spec"
    jq -e '.ociVersion | test("^1\\.")' "$TEST_DIR/berth/config.json" >/dev/null

    # Without -b: the current directory.
    mkdir -p "$TEST_DIR/cwd"
    (cd "$TEST_DIR/cwd" && rb spec)
    assert_ok
    cmp "$TEST_DIR/cwd/config.json" "$TEST_DIR/berth/config.json"
}

@test "spec --rootless matches runc spec --rootless" {
    command -v runc >/dev/null || skip "runc is not installed (the reference for spec)"
    mkdir -p "$TEST_DIR/berth" "$TEST_DIR/runc"
    rb spec --rootless -b "$TEST_DIR/berth"
    assert_ok
    runc spec --rootless -b "$TEST_DIR/runc"
    # The id mappings name the caller's uid/gid; both run as root here.
    diff <(jq -S 'del(.ociVersion)' "$TEST_DIR/berth/config.json") \
        <(jq -S 'del(.ociVersion)' "$TEST_DIR/runc/config.json") >&2 ||
        fail "berth spec --rootless differs from runc spec --rootless"
}

@test "spec refuses to overwrite an existing config.json" {
    mkdir -p "$TEST_DIR/s"
    echo '{"keep": "me"}' >"$TEST_DIR/s/config.json"
    rb spec -b "$TEST_DIR/s"
    assert_berth_error 'config\.json'
    [[ "$(cat "$TEST_DIR/s/config.json")" == '{"keep": "me"}' ]] || fail "config.json was changed"
}

@test "the spec berth writes runs (with the busybox rootfs)" {
    mkdir -p "$TEST_DIR/b"
    rb spec -b "$TEST_DIR/b"
    assert_ok
    cp -a "$BUNDLE/rootfs" "$TEST_DIR/b/rootfs"
    CFG_FILE="$TEST_DIR/b/config.json" cfg '.process.terminal = false | .process.args = ["sh", "-c", "echo spec-ok"]'
    rb run -b "$TEST_DIR/b" "$ID"
    assert_ok
    [[ "$output" == spec-ok ]] || fail "$output"
}

@test "features prints JSON listing what is implemented" {
    rb features
    assert_ok
    jq -e . <<<"$output" >/dev/null || fail "not JSON" "$output"
    jq -e '.ociVersionMin | test("^1\\.")' <<<"$output" >/dev/null || fail "ociVersionMin" "$output"
    jq -e '.ociVersionMax | test("^1\\.")' <<<"$output" >/dev/null || fail "ociVersionMax" "$output"
    local ns
    for ns in pid network ipc uts mount user cgroup; do
        jq -e --arg n "$ns" '.linux.namespaces | index($n) != null' <<<"$output" >/dev/null ||
            fail "linux.namespaces lacks $ns" "$(jq -c .linux.namespaces <<<"$output")"
    done
    jq -e '.hooks | type == "array" and (index("createRuntime") != null) and (index("poststop") != null)' \
        <<<"$output" >/dev/null || fail "hooks" "$output"
    jq -e '.mountOptions | type == "array" and (index("ro") != null) and (index("rbind") != null)' \
        <<<"$output" >/dev/null || fail "mountOptions" "$output"
    jq -e '.linux.capabilities | type == "array" and (index("CAP_SYS_ADMIN") != null)' \
        <<<"$output" >/dev/null || fail "capabilities" "$output"
}

@test "--version prints three or more lines starting with berth version" {
    rb --version
    assert_ok
    [[ "${#lines[@]}" -ge 3 ]] || fail "expected >= 3 lines" "$output"
    [[ "${lines[0]}" =~ ^berth\ version\ [0-9]+\.[0-9]+\.[0-9]+ ]] || fail "first line: ${lines[0]}"
    grep -Eq '^spec: 1\.[0-9]+\.[0-9]+' <<<"$output" || fail "no spec line" "$output"
    grep -Eq '^commit: ' <<<"$output" || fail "no commit line" "$output"
    rb -v
    assert_ok
    [[ "${lines[0]}" == "berth version"* ]]
}

@test "--log FILE --log-format json: an error is a JSON line with level error and msg" {
    rb --log "$TEST_DIR/log.json" --log-format json state no-such-ctr
    assert_berth_error 'does not exist'
    [[ -s "$TEST_DIR/log.json" ]] || fail "nothing logged"
    local line
    line="$(grep -v '^$' "$TEST_DIR/log.json" | tail -1)"
    jq -e . <<<"$line" >/dev/null || fail "not a JSON line: $line"
    [[ "$(jq -r .level <<<"$line")" == error ]] || fail "level: $line"
    jq -e '.msg | test("does not exist")' <<<"$line" >/dev/null || fail "msg: $line"
    jq -e '.time | type == "string"' <<<"$line" >/dev/null || fail "time: $line"
    # Every line of the file is JSON.
    while IFS= read -r line; do
        [[ -z "$line" ]] || jq -e . <<<"$line" >/dev/null || fail "not JSON: $line"
    done <"$TEST_DIR/log.json"
}

@test "--log FILE in text format, appended to" {
    rb --log "$TEST_DIR/log.txt" state no-such-ctr-1
    [[ "$status" -ne 0 ]]
    rb --log "$TEST_DIR/log.txt" state no-such-ctr-2
    [[ "$status" -ne 0 ]]
    grep -q 'no-such-ctr-1' "$TEST_DIR/log.txt" || fail "first error not logged" "$(cat "$TEST_DIR/log.txt")"
    grep -q 'no-such-ctr-2' "$TEST_DIR/log.txt" || fail "second error not logged" "$(cat "$TEST_DIR/log.txt")"
    grep -qi 'error' "$TEST_DIR/log.txt" || fail "no level in the text log" "$(cat "$TEST_DIR/log.txt")"
}

@test "--debug logs debug lines for a lifecycle operation" {
    set_args true
    rb --debug --log "$TEST_DIR/debug.json" --log-format json run -b "$BUNDLE" "$ID"
    assert_ok
    jq -se 'any(.[]; .level == "debug")' "$TEST_DIR/debug.json" >/dev/null ||
        fail "no debug line" "$(cat "$TEST_DIR/debug.json")"
    # Without --debug there are none.
    rb --log "$TEST_DIR/nodebug.json" --log-format json run -b "$BUNDLE" "$(new_id)"
    assert_ok
    ! jq -se 'any(.[]; .level == "debug")' "$TEST_DIR/nodebug.json" >/dev/null 2>&1 ||
        fail "debug lines without --debug" "$(cat "$TEST_DIR/nodebug.json")"
}

@test "help: berth --help and berth VERB --help exit 0" {
    rb --help
    assert_ok
    grep -q create <<<"$output" || fail "$output"
    rb create --help
    assert_ok
    grep -q -- '--console-socket' <<<"$output" || fail "$output"
}

@test "JSON output in runc's field order: state, list -f json, events" {
    set_args sleep 100
    run_d "$ID"
    local want='["ociVersion","id","pid","status","bundle","rootfs","created","owner"]'
    rb state "$ID"
    assert_ok
    [[ "$(jq -c keys_unsorted <<<"$output")" == "$want" ]] || fail "state: $output"
    rb list -f json
    assert_ok
    [[ "$(jq -c '.[0] | keys_unsorted' <<<"$output")" == "$want" ]] || fail "list: $output"
    # list names the state directory's owner, as runc.
    [[ "$(jq -r '.[0].owner' <<<"$output")" == root ]] || fail "list owner: $output"
    rb events --stats "$ID"
    assert_ok
    [[ "$(jq -c keys_unsorted <<<"$output")" == '["type","id","data"]' ]] || fail "events: $output"
    [[ "$(jq -c '.data | keys_unsorted | .[0:5]' <<<"$output")" == '["cpu","cpuset","memory","pids","blkio"]' ]] ||
        fail "events data: $output"
    [[ "$(jq -c '.data.memory.usage | keys_unsorted' <<<"$output")" == '["limit","usage","max","failcnt"]' ]] ||
        fail "events memory.usage: $output"
    [[ "$(jq -c '.data.cpu.usage | keys_unsorted | .[0:2]' <<<"$output")" == '["total","percpu"]' ]] ||
        fail "events cpu.usage: $output"
}

@test "help has runc's shape: NAME:/USAGE: sections; an unknown command is an error, exit 1" {
    rb --help
    assert_ok
    [[ "${lines[0]}" == "NAME:" && "${lines[2]}" == "" && "${lines[3]}" == "USAGE:" ]] || fail "$output"
    grep -q '^COMMANDS:$' <<<"$output" || fail "no COMMANDS: section" "$output"
    grep -q '^GLOBAL OPTIONS:$' <<<"$output" || fail "no GLOBAL OPTIONS: section" "$output"
    grep -qE '^   --root value +' <<<"$output" || fail "--root entry" "$output"
    grep -qE '^   exec +' <<<"$output" || fail "exec entry" "$output"
    rb exec -h
    assert_ok
    [[ "${lines[0]}" == "NAME:" ]] || fail "$output"
    grep -qE '^   [^ ]+ exec - ' <<<"$output" || fail "exec NAME line" "$output"
    grep -qE '^   [^ ]+ exec \[command options\] <container-id> <command>' <<<"$output" || fail "exec USAGE" "$output"
    grep -q '^OPTIONS:$' <<<"$output" || fail "no OPTIONS: section" "$output"
    grep -qE '^   --cgroup value +' <<<"$output" || fail "--cgroup entry" "$output"
    grep -qE '^   --tty, -t +' <<<"$output" || fail "--tty entry" "$output"
    rb kill --help
    assert_ok
    grep -qE '^   [^ ]+ kill \[command options\] <' <<<"$output" || fail "kill USAGE" "$output"
    # runc's `help COMMAND`, and no command at all: the help, exit 0.
    local exec_help
    rb exec --help
    exec_help="$output"
    rb help exec
    assert_ok
    [[ "$output" == "$exec_help" ]] || fail "help exec differs from exec --help" "$output"
    rb_raw
    assert_ok
    [[ "${lines[0]}" == "NAME:" ]] || fail "$output"
    # An unknown command, alone or with -h: one error line, exit 1 (runc: "No help topic").
    rb no-such-verb
    assert_berth_error 'no-such-verb'
    rb no-such-verb -h
    assert_berth_error 'no-such-verb'
    [[ -z "$output" ]] || fail "help printed for an unknown command" "$output"
}

@test "--debug: text lines in logrus's shape on stderr, JSON objects with --log-format json; exec logs" {
    ctl_dir
    set_args sh -c "$WAIT_STOP"
    run_d "$ID"
    rb --debug exec "$ID" true
    assert_ok
    grep -qE '^time="[^"]+" level=debug msg=".*exec' <<<"$stderr" || fail "no text debug line for exec" "$stderr"
    ! grep -q '^berth: debug' <<<"$stderr" || fail "old debug shape" "$stderr"
    rb --debug --log-format json exec "$ID" true
    assert_ok
    jq -se 'length > 0 and all(.[]; .level == "debug" and (.msg | type) == "string" and has("time"))' \
        <<<"$stderr" >/dev/null || fail "not JSON debug lines" "$stderr"
    local verb
    for verb in state pause resume; do
        rb --debug "$verb" "$ID"
        assert_ok
        grep -q 'level=debug' <<<"$stderr" || fail "$verb logged nothing at debug" "$stderr"
    done
    rb --debug kill "$ID" 0
    assert_ok
    grep -q 'level=debug' <<<"$stderr" || fail "kill logged nothing at debug" "$stderr"
    rb exec "$ID" true
    [[ -z "$stderr" ]] || fail "debug lines without --debug" "$stderr"
}

@test "container verbs load neither libsystemd nor its crypto and compression libraries" {
    [[ "$("$BERTH" --version 2>/dev/null)" == berth* ]] || skip "berth's own start-up (BERTH is another runtime)"
    # libsystemd is dlopened by the systemd cgroup driver only (tests/e2e/systemd.bats uses it):
    # linked, it and libgcrypt, libgpg-error, liblzma, libzstd and liblz4 were loaded and
    # relocated by every berth start.
    set_args true
    local verb loaded
    for verb in "run -b $BUNDLE $ID" "list" "state $ID"; do
        # shellcheck disable=SC2086 # the verb's words
        LD_DEBUG=files rb $verb
        loaded="$(grep -oE 'file=[^ ]+' <<<"$stderr" | sort -u | tr '\n' ' ')"
        [[ -n "$loaded" ]] || fail "LD_DEBUG=files showed nothing for $verb" "$stderr"
        ! grep -qE 'libsystemd|libgcrypt|liblzma|libzstd|liblz4|libcurl|libarchive|libcrypto' <<<"$loaded" ||
            fail "berth $verb loaded: $loaded"
    done
}

@test "a global option's value that is also a verb's name is not taken for the verb" {
    # berth builds only the chosen verb's parser: the verb is the first word that is neither an
    # option nor a global option's value.
    mkdir -p "$TEST_DIR/run"
    cd "$TEST_DIR"
    rb_raw --root run --log-format json state no-such-ctr
    assert_berth_error 'no-such-ctr'
    rb_raw --log-format text --root run list -q
    assert_ok
    [[ -z "$output" ]] || fail "list of an empty root printed" "$output"
    rb_raw --help
    assert_ok
    local verb
    for verb in create start run state kill delete list ps exec spec features pause resume update events image bundle vps; do
        grep -qE "^   $verb( |$)" <<<"$output" || fail "--help does not list $verb" "$output"
    done
}
