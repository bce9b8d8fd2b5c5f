#!/usr/bin/env bats
# VPS network through `berth vps` (label root): a network namespace made here stands for the host
# (berth runs in it: the bridge, the VPSes' veths and their nftables filters live there), the VPSes
# are busybox-init VPSes. Default routes from network.conf's bridge addresses, IPv4 and IPv6 usable
# at once, two VPSes reaching each other while a spoofed address or MAC from one does not reach the
# other, set --ip/--ipadd/--ipdel live and at the next start, an address another VPS has refused,
# the template's own network config. Only addresses inside namespaces this test made are used.
load helpers

LIB="${BERTH_SOURCE_DIR:-$BATS_TEST_DIRNAME/../..}/tests/lib"

setup_file() {
    itest_setup_file
    [[ -n "$ITEST_SKIP" ]] && return 0
    command -v nft >/dev/null || { export ITEST_SKIP="nft is not installed (nftables)"; return 0; }
    # busybox + an inittab that only waits; an ifupdown config that would DHCP eth0 and an
    # /etc/systemd dir, as a Debian template has: berth must disable the one and write the other.
    export BASE_TAR="$BATS_FILE_TMPDIR/base.tar"
    tar -C "$TEMPLATE/rootfs" --numeric-owner -cf "$BASE_TAR" .
    mkdir -p "$BATS_FILE_TMPDIR/l2/etc/network" "$BATS_FILE_TMPDIR/l2/etc/systemd"
    printf '::sysinit:/bin/true\n' >"$BATS_FILE_TMPDIR/l2/etc/inittab"
    printf 'auto lo eth0\niface lo inet loopback\niface eth0 inet dhcp\n' >"$BATS_FILE_TMPDIR/l2/etc/network/interfaces"
    export LAYOUT="$BATS_FILE_TMPDIR/layout"
    "$LIB/make-oci-layout.sh" -t v1 "$LAYOUT" "$BASE_TAR" "$BATS_FILE_TMPDIR/l2" >/dev/null
}

setup() {
    itest_setup
    STORE="$TEST_DIR/store"
    export BERTH_VPS_CONFIG="$TEST_DIR/etc" BERTH_VPS_DATA="$TEST_DIR/data" BERTH_VPS_IDPOOL="1000000:4"
    export BERTH_VPS_LXCFS="$TEST_DIR/lxcfs"
    unset BERTH_VPS_BRIDGE
    HOSTNS="${TAG}-host"
    ip netns add "$HOSTNS"
    # berth, run in the test's host namespace (mounts stay the host's: nsenter --net only).
    printf '#!/bin/sh\nexec nsenter --net=/run/netns/%s %s "$@"\n' "$HOSTNS" "$BERTH" >"$TEST_DIR/berth-in-ns"
    chmod +x "$TEST_DIR/berth-in-ns"
    BR=vtestbr2
    NET4=10.213.11
    NET6=fd42:213:11
    mkdir -p "$BERTH_VPS_CONFIG"
    printf '# the test host'"'"'s VPS network\nBRIDGE=%s\nBRIDGE_ADDRESSES="%s.1/24 %s::1/64"\n' \
        "$BR" "$NET4" "$NET6" >"$BERTH_VPS_CONFIG/network.conf"
    A="${TAG}a" B="${TAG}b"
    rs image import "$LAYOUT" localhost/vpsnet:v1
    assert_ok
}

teardown() {
    local f n pid
    for f in "$BERTH_VPS_CONFIG"/*.json; do
        [[ -f "$f" ]] || continue
        n="$(basename "$f" .json)"
        timeout -k 5 60 "$TEST_DIR/berth-in-ns" --root "$ROOT" --store "$STORE" vps destroy --force "$n" </dev/null >/dev/null 2>&1
    done
    pid="$(cat "$BERTH_VPS_LXCFS/state/lxcfs.pid" 2>/dev/null)"
    [[ -n "$pid" && "$(cat "/proc/$pid/comm" 2>/dev/null)" == lxcfs ]] && kill "$pid" && wait_for 100 bash -c "! kill -0 $pid 2>/dev/null"
    grep -qF " $BERTH_VPS_LXCFS/mnt " /proc/self/mountinfo && umount -l "$BERTH_VPS_LXCFS/mnt"
    # The bridge, veths and filters go with the namespace.
    ip netns del "$HOSTNS" 2>/dev/null
    itest_teardown
}

# rs ARGS...: berth --root $ROOT --store $STORE ARGS, in the test's host namespace.
rs() {
    local saved="$BERTH"
    BERTH="$TEST_DIR/berth-in-ns"
    rb_raw --root "$ROOT" --store "$STORE" "$@"
    BERTH="$saved"
}

# in_vps NAME CMD...: run CMD in the VPS; its output in $output.
in_vps() {
    local n="$1"
    shift
    rs vps exec "$n" "$@"
}

# echos NAME: ICMP echo requests (v4 + v6) the VPS's kernel has received.
echos() {
    in_vps "$1" cat /proc/net/snmp /proc/net/snmp6
    awk '/^Icmp:/ { if (!h) { for (i = 1; i <= NF; i++) if ($i == "InEchos") c = i; h = 1 } else v4 = $c }
         $1 == "Icmp6InEchos" { v6 = $2 } END { print v4 + v6 }' <<<"$output"
}

host_tables() { ip netns exec "$HOSTNS" nft list tables; }
host_veths() { ip -n "$HOSTNS" -o link show | awk -F': ' '{ print $2 }' | cut -d@ -f1 | grep -E '^bv[0-9a-f]{8}$'; }

@test "vps net: gateway from network.conf, IPv4+IPv6 at once, two VPSes ping each other, spoofed IP and MAC do not reach the other, rules gone at stop" {
    rs vps create "$A" --template localhost/vpsnet:v1 --ip "$NET4.2/24" --ip "$NET6::2/64"
    assert_ok
    rs vps create "$B" --template localhost/vpsnet:v1 --ip "$NET4.3/24" --ip "$NET6::3/64"
    assert_ok
    rs vps start "$A"
    assert_ok
    rs vps start "$B"
    assert_ok
    # berth made the bridge with network.conf's addresses.
    ip -n "$HOSTNS" -o addr show dev "$BR" | grep -q "inet $NET4.1/24" || fail "bridge has no $NET4.1/24"
    ip -n "$HOSTNS" -o addr show dev "$BR" | grep -q "inet6 $NET6::1/64" || fail "bridge has no $NET6::1/64"
    [[ "$(host_tables | grep -c berth_bv)" -eq 2 ]] || fail "expected two filter tables: $(host_tables)"
    # Default routes via the bridge; the IPv6 address usable at once (not tentative).
    in_vps "$A" sh -c 'ip route show default; ip -6 route show default; ip -6 addr show dev eth0'
    assert_ok
    grep -q "default via $NET4.1 dev eth0" <<<"$output" || fail "no IPv4 default route: $output"
    grep -q "default via $NET6::1 dev eth0" <<<"$output" || fail "no IPv6 default route: $output"
    grep -q "inet6 $NET6::2/64" <<<"$output" || fail "no IPv6 address: $output"
    ! grep -q tentative <<<"$output" || fail "an address is tentative (DAD): $output"
    # Straight away, no retries: each other and the gateway, both families.
    in_vps "$A" sh -c "ping -c1 -W5 $NET4.3 && ping6 -c1 -W5 $NET6::3 && ping -c1 -W5 $NET4.1 && ping6 -c1 -W5 $NET6::1"
    assert_ok
    in_vps "$B" ping -c1 -W5 "$NET4.2"
    assert_ok
    # The template's own network config: ifupdown's eth0 disabled, networkd told the same.
    in_vps "$A" sh -c 'cat /etc/network/interfaces /etc/systemd/network/10-berth-eth0.network'
    grep -qx '#berth-disabled: iface eth0 inet dhcp' <<<"$output" || fail "ifupdown's eth0 not disabled: $output"
    grep -qx 'iface eth0 inet manual' <<<"$output" || fail "no manual eth0: $output"
    grep -qx "Address=$NET4.2/24" <<<"$output" && grep -qx "Gateway=$NET6::1" <<<"$output" || fail "networkd file: $output"

    # A spoofed source address: A takes one that is not its own (the VPS's root has
    # CAP_NET_ADMIN in its netns) and pings B from it. Nothing arrives at B.
    before="$(echos "$B" | tail -1)"
    # (busybox ip has no nodad: wait out the spoofed IPv6 address's DAD, so ping can use it.)
    in_vps "$A" sh -c "ip addr add $NET4.99/24 dev eth0 && ip addr add $NET6::99/64 dev eth0 &&
        for i in \$(seq 100); do ip -6 addr show dev eth0 | grep -q tentative || break; sleep 0.1; done &&
        ! ping -c1 -W1 -I $NET4.99 $NET4.3 && ! ping6 -c1 -W1 -I $NET6::99 $NET6::3 && ip -6 addr show dev eth0"
    assert_ok
    grep -q "inet6 $NET6::99/64" <<<"$output" && ! grep -q tentative <<<"$output" || fail "the spoofed IPv6 address was not usable: $output"
    [[ "$(echos "$B" | tail -1)" == "$before" ]] || fail "B received echo requests from a spoofed address"
    # A spoofed MAC: nothing arrives either.
    in_vps "$A" sh -c "ip -o link show eth0 | grep -o 'link/ether [0-9a-f:]*'"
    mac="${output#link/ether }"
    [[ "$mac" == 02:b7:* ]] || fail "A's MAC is $mac, not berth's"
    in_vps "$A" sh -c "ip addr del $NET4.99/24 dev eth0; ip link set eth0 address 02:00:00:00:00:99 &&
        ! ping -c1 -W1 $NET4.3"
    assert_ok
    [[ "$(echos "$B" | tail -1)" == "$before" ]] || fail "B received echo requests from a spoofed MAC"
    # The counter counts: with its own MAC back, A's pings arrive.
    in_vps "$A" sh -c "ip link set eth0 address $mac && ping -c1 -W5 $NET4.3"
    assert_ok
    [[ "$(echos "$B" | tail -1)" -gt "$before" ]] || fail "B's echo counter did not move"

    # Stop takes the veth and the filter away.
    rs vps stop --fast "$A"
    assert_ok
    rs vps stop --fast "$B"
    assert_ok
    [[ -z "$(host_veths)" ]] || fail "veths left: $(host_veths)"
    [[ -z "$(host_tables)" ]] || fail "filters left: $(host_tables)"
}
