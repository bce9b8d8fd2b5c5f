#!/usr/bin/env bats
# `vps create/set --userpasswd USER:PASS` (label root): a SHA-512 crypt hash in the VPS's
# /etc/shadow (checked with `openssl passwd -6`), the user made when missing (passwd, group,
# home), on a stopped and on a running VPS; files the VPS planted as symlinks to host files are
# replaced, never written through; the password is in no config file and not in `ps`.
load helpers
load vps_helpers

setup_file() {
    itest_setup_file
    [[ -n "$ITEST_SKIP" ]] && return 0
    vps_busybox_layout '::sysinit:/bin/true'
    vps_make_layout
}

setup() {
    itest_setup
    command -v openssl >/dev/null || skip "no openssl (scripts/setup.sh installs it)"
    vps_test_env
    VPS="${TAG}u"
    UPPER="$BERTH_VPS_DATA/$VPS/upper"
    rs image import "$LAYOUT" localhost/vpsup:v1
    assert_ok
}

teardown() {
    vps_teardown
    itest_teardown
}

# check_hash SHADOW_TEXT USER PASS: USER's hash is SHA-512 crypt of PASS.
check_hash() {
    local hash salt
    hash="$(awk -F: -v u="$2" '$1 == u { print $2 }' <<<"$1")"
    [[ "$hash" == '$6$'* ]] || { fail "no SHA-512 hash for $2 in: $1"; return 1; }
    salt="$(cut -d'$' -f3 <<<"$hash")"
    [[ "$(openssl passwd -6 -salt "$salt" "$3")" == "$hash" ]] || { fail "the hash of $2 is not of its password"; return 1; }
}

@test "vps userpasswd: create writes the hash and makes the user on a stopped VPS; the password is in no config" {
    rs vps create "$VPS" --template localhost/vpsup:v1 --userpasswd 'alice:Secret pass1' --userpasswd root:r00tpw
    assert_ok
    base="$(jq -r .idmap.base "$BERTH_VPS_CONFIG/$VPS.json")"
    check_hash "$(cat "$UPPER/etc/shadow")" alice 'Secret pass1'
    check_hash "$(cat "$UPPER/etc/shadow")" root r00tpw
    # uid 1000 is the template's "user": alice gets 1001, her group, a home of her own.
    grep -qx 'alice:x:1001:1001::/home/alice:/bin/sh' "$UPPER/etc/passwd" || fail "passwd: $(cat "$UPPER/etc/passwd")"
    grep -qx 'alice:x:1001:' "$UPPER/etc/group" || fail "group: $(cat "$UPPER/etc/group")"
    [[ "$(stat -c %u:%g:%a "$UPPER/home/alice")" == "$((base + 1001)):$((base + 1001)):700" ]] || fail "home: $(stat -c %u:%g:%a "$UPPER/home/alice")"
    [[ "$(stat -c %u:%a "$UPPER/etc/shadow")" == "$base:600" ]] || fail "shadow: $(stat -c %u:%a "$UPPER/etc/shadow")"
    # The template's lines are kept byte for byte (the new ones come after them).
    size="$(stat -c %s "$TEMPLATE/rootfs/etc/passwd")"
    cmp <(head -c "$size" "$UPPER/etc/passwd") "$TEMPLATE/rootfs/etc/passwd" || fail "passwd's old lines changed"
    ! grep -rqF -e 'Secret pass1' -e r00tpw "$BERTH_VPS_CONFIG" "$BERTH_VPS_DATA/$VPS/bundle" 2>/dev/null || fail "a password is stored"
    ! grep -q userpasswd "$BERTH_VPS_CONFIG/$VPS.json" || fail "the config has a userpasswd field"
    # The running VPS sees them.
    rs vps start "$VPS"
    assert_ok
    rs vps exec "$VPS" sh -c 'grep ^alice: /etc/shadow >/dev/null && ls -d /home/alice && id alice'
    assert_ok
    [[ "$output" == *"uid=1001(alice) gid=1001(alice)"* ]] || fail "inside: $output"
}

@test "vps userpasswd: set on a running VPS replaces a symlink planted to host files and changes nothing outside" {
    rs vps create "$VPS" --template localhost/vpsup:v1
    assert_ok
    rs vps start "$VPS"
    assert_ok
    for f in shadow passwd group tmp; do echo "host $f, keep out" >"$TEST_DIR/host-$f"; done
    sum_before="$(md5sum "$TEST_DIR"/host-*)"
    # Absolute links to the host's files, a relative one climbing out, a trap at the temp name.
    rs vps exec "$VPS" sh -c "ln -sf $TEST_DIR/host-shadow /etc/shadow &&
        ln -sf ../../../../../../../..$TEST_DIR/host-group /etc/group &&
        ln -sf $TEST_DIR/host-tmp /etc/.shadow.berth-tmp && ln -sf $TEST_DIR/host-tmp /etc/.passwd.berth-tmp"
    assert_ok
    rs vps set "$VPS" --userpasswd bob:pw2
    assert_ok
    [[ "$output" == "applied now: userpasswd" ]] || fail "set said: $output"
    [[ "$(md5sum "$TEST_DIR"/host-*)" == "$sum_before" ]] || fail "a host file changed: $(head "$TEST_DIR"/host-*)"
    rs vps exec "$VPS" sh -c 'test -f /etc/shadow && test ! -L /etc/shadow && test ! -L /etc/group && cat /etc/shadow'
    assert_ok
    check_hash "$output" bob pw2
    # A second set on an existing user changes its hash only.
    rs vps exec "$VPS" cat /etc/passwd
    passwd_before="$output"
    rs vps set "$VPS" --userpasswd bob:pw3
    assert_ok
    rs vps exec "$VPS" cat /etc/passwd
    [[ "$output" == "$passwd_before" ]] || fail "passwd changed on a password change"
    rs vps exec "$VPS" cat /etc/shadow
    check_hash "$output" bob pw3
}

@test "vps userpasswd: bad USER:PASS is one line and changes nothing; ps never shows the password" {
    rs vps create "$VPS" --template localhost/vpsup:v1 --userpasswd 'bob:a:b'
    assert_berth_error "must not contain ':'"
    [[ ! -e "$BERTH_VPS_CONFIG/$VPS.json" && ! -e "$BERTH_VPS_DATA/$VPS" ]] || fail "a half-made VPS remains"
    rs vps create "$VPS" --template localhost/vpsup:v1
    assert_ok
    rs vps set "$VPS" --userpasswd $'bob:two\nlines'
    assert_berth_error "one line"
    rs vps set "$VPS" --userpasswd 'bad/name:pw'
    assert_berth_error "invalid user name"
    rs vps set "$VPS" --userpasswd $'bo\nb:pw'
    assert_berth_error "invalid user name"
    [[ ! -e "$UPPER/etc/shadow" ]] || fail "a refused set wrote /etc/shadow"

    # While berth waits for the VPS lock, its command line (what ps shows) has no password.
    exec 8>>"$BERTH_VPS_CONFIG/.lock"
    flock 8
    env BERTH_ITEST_TAG="$TAG" "$BERTH" --root "$ROOT" --store "$STORE" vps set "$VPS" --userpasswd carol:TopSecret9 \
        >"$TEST_DIR/set.out" 2>&1 &
    bpid=$!
    bg_register "$bpid"
    # Blocked on the lock: /proc/locks lists it as a waiter ("-> FLOCK ... PID ...").
    wait_for 400 grep -qE -- "-> FLOCK +ADVISORY +WRITE +$bpid " /proc/locks || fail "berth did not wait for the lock: $(cat /proc/locks)"
    cmdline="$(tr '\0' ' ' <"/proc/$bpid/cmdline")"
    flock -u 8
    exec 8>&-
    wait "$bpid" || fail "set failed: $(cat "$TEST_DIR/set.out")"
    [[ "$cmdline" != *TopSecret9* ]] || fail "ps shows the password: $cmdline"
    [[ "$cmdline" == *"carol:*********"* ]] || fail "cmdline: $cmdline"
    check_hash "$(cat "$UPPER/etc/shadow")" carol TopSecret9
}
