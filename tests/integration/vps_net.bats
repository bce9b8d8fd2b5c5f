#!/usr/bin/env bats
# VPS network through `berth vps` (label root): a network namespace made here stands for the host
# (berth runs in it: the bridge, the VPSes' veths and their nftables filters live there), the VPSes
# are busybox-init VPSes. Default routes from network.conf's bridge addresses, IPv4 and IPv6 usable
# at once, two VPSes reaching each other while a spoofed address or MAC from one does not reach the
# other, set --ip/--ipadd/--ipdel live and at the next start, an address another VPS has refused,
# the template's own network config. Only addresses inside namespaces this test made are used.
load helpers
load vps_helpers

setup_file() {
    itest_setup_file
    [[ -n "$ITEST_SKIP" ]] && return 0
    command -v nft >/dev/null || { export ITEST_SKIP="nft is not installed (nftables)"; return 0; }
    # busybox + an inittab that only waits; an ifupdown config that would DHCP eth0 and an
    # /etc/systemd dir, as a Debian template has: berth must disable the one and write the other.
    vps_busybox_layout '::sysinit:/bin/true' etc/network etc/systemd
    printf 'auto lo eth0\niface lo inet loopback\niface eth0 inet dhcp\n' >"$VPS_LAYER/etc/network/interfaces"
    vps_make_layout
}

setup() {
    itest_setup
    vps_test_env
    unset BERTH_VPS_BRIDGE
    HOSTNS="${TAG}-host"
    ip netns add "$HOSTNS"
    # berth, run in the test's host namespace (mounts stay the host's: nsenter --net only).
    printf '#!/bin/sh\nexec nsenter --net=/run/netns/%s %s "$@"\n' "$HOSTNS" "$BERTH" >"$TEST_DIR/berth-in-ns"
    chmod +x "$TEST_DIR/berth-in-ns"
    VPS_BERTH="$TEST_DIR/berth-in-ns"
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
    vps_teardown
    # The bridge, veths and filters go with the namespace.
    ip netns del "$HOSTNS" 2>/dev/null
    itest_teardown
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
    # ARP claiming the spoofed address does not arrive either (B learns no neighbour for it).
    in_vps "$A" sh -c "! arping -c1 -w1 -I eth0 -s $NET4.99 $NET4.3"
    assert_ok
    in_vps "$B" ip neigh show
    ! grep -q "^$NET4.99 " <<<"$output" || fail "B learnt the spoofed address from ARP: $output"
    grep -q "^$NET4.2 " <<<"$output" || fail "B has no neighbour entry for A at all: $output"
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
    # Control: without A's filter the same spoofed ping does arrive (so the checks above can fail).
    in_vps "$A" ip -o link show eth0
    hostif="$(ip -n "$HOSTNS" -o link show | awk -F': ' -v i="${output#*@if}" '$1 == i+0 { print $2 }' | cut -d@ -f1)"
    [[ "$hostif" == bv* ]] || fail "A's host veth not found: $output"
    ip netns exec "$HOSTNS" nft delete table netdev "berth_$hostif"
    before="$(echos "$B" | tail -1)"
    in_vps "$A" sh -c "ip addr add $NET4.99/24 dev eth0 && ping -c1 -W5 -I $NET4.99 $NET4.3"
    assert_ok
    [[ "$(echos "$B" | tail -1)" -gt "$before" ]] || fail "without the filter the spoofed ping did not arrive either"

    # Stop takes the veth and the filter away.
    rs vps stop --fast "$A"
    assert_ok
    rs vps stop --fast "$B"
    assert_ok
    [[ -z "$(host_veths)" ]] || fail "veths left: $(host_veths)"
    [[ -z "$(host_tables)" ]] || fail "filters left: $(host_tables)"
}

@test "vps net: set --ipadd/--ipdel/--ip live (addresses, filter, routes, /etc/hosts) or at the next start; an address another VPS has is refused" {
    rs vps create "$A" --template localhost/vpsnet:v1 --ip "$NET4.2/24" --ip "$NET6::2/64"
    assert_ok
    rs vps create "$B" --template localhost/vpsnet:v1 --ip "$NET4.3/24"
    assert_ok
    rs vps start "$A"
    assert_ok

    # Added live: usable at once from inside (the bridge answers: the filter lets it through).
    rs vps set "$A" --ipadd "$NET4.20/24" --ipadd "$NET6::20/64"
    assert_ok
    [[ "$output" == "applied now: ip" ]] || { show_call; fail "set did not say live"; }
    in_vps "$A" sh -c "ping -c1 -W5 -I $NET4.20 $NET4.1 && ping6 -c1 -W5 -I $NET6::20 $NET6::1 && cat /etc/hosts"
    assert_ok
    grep -q "^$NET4.20[[:space:]]" <<<"$output" || fail "/etc/hosts lacks the new address: $output"
    # Removed live, the first (primary) IPv4 address included: the others and the default route stay.
    rs vps set "$A" --ipdel "$NET4.2" --ipdel "$NET6::2"
    assert_ok
    [[ "$output" == "applied now: ip" ]] || { show_call; fail "set did not say live"; }
    in_vps "$A" sh -c 'ip addr show dev eth0; ip route; ip -6 route'
    ! grep -q "inet $NET4.2/" <<<"$output" && ! grep -q "inet6 $NET6::2/" <<<"$output" || fail "removed addresses remain: $output"
    grep -q "inet $NET4.20/24" <<<"$output" || fail "$NET4.20 went with the primary: $output"
    grep -q "default via $NET4.1" <<<"$output" && grep -q "default via $NET6::1" <<<"$output" || fail "default routes lost: $output"
    [[ "$(jq -c .network.ips "$BERTH_VPS_CONFIG/$A.json")" == "[\"$NET4.20/24\",\"$NET6::20/64\"]" ]] || fail "config: $(cat "$BERTH_VPS_CONFIG/$A.json")"
    # The removed address, taken back from inside, is a spoofed one now.
    in_vps "$A" sh -c "ip addr add $NET4.2/24 dev eth0 && ! ping -c1 -W1 -I $NET4.2 $NET4.1 && ip addr del $NET4.2/24 dev eth0 &&
        ping -c1 -W5 $NET4.1"
    assert_ok

    # --ip replaces the list; a gateway of the VPS's own (live route change).
    rs vps set "$A" --ip "$NET4.21/24" --gateway "$NET4.1"
    assert_ok
    [[ "$output" == "applied now: ip, gateway" ]] || { show_call; fail "set did not say live"; }
    in_vps "$A" sh -c "ip -6 route; ip addr show dev eth0; ping -c1 -W5 $NET4.1"
    assert_ok
    ! grep -q "default via $NET6" <<<"$output" || fail "an IPv6 default route without an IPv6 address: $output"
    grep -q "inet $NET4.21/24" <<<"$output" || fail "--ip did not replace: $output"

    # An address another VPS has, or the bridge's: one line, nothing changed.
    cp "$BERTH_VPS_CONFIG/$A.json" "$TEST_DIR/a.json"
    rs vps set "$A" --ipadd "$NET4.3/24"
    assert_berth_error "--ip $NET4.3: already used by VPS \"$B\""
    cmp "$BERTH_VPS_CONFIG/$A.json" "$TEST_DIR/a.json" || fail "the config changed"
    in_vps "$A" ip addr show dev eth0
    ! grep -q "inet $NET4.3/" <<<"$output" || fail "the address was added: $output"
    rs vps create "${TAG}c" --template localhost/vpsnet:v1 --ip "$NET4.21/24"
    assert_berth_error "--ip $NET4.21: already used by VPS \"$A\""
    rs vps create "${TAG}c" --template localhost/vpsnet:v1 --ip "$NET4.1/24"
    assert_berth_error "--ip $NET4.1: it is the bridge's address"
    [[ ! -e "$BERTH_VPS_CONFIG/${TAG}c.json" && ! -e "$BERTH_VPS_DATA/${TAG}c" ]] || fail "a refused create left files"
    rs vps set "$A" --gateway 10.99.0.1
    assert_berth_error "--gateway 10.99.0.1: not inside the network of any --ip"
    # berth run in another network namespace than the VPS's start: one line, nothing changed.
    rb_raw --root "$ROOT" --store "$STORE" vps set "$A" --ipadd "$NET4.30/24"
    assert_berth_error "is not in this network namespace"
    cmp "$BERTH_VPS_CONFIG/$A.json" "$TEST_DIR/a.json" || fail "the config changed"
    # A bad network.conf names its file and line.
    cp "$BERTH_VPS_CONFIG/network.conf" "$TEST_DIR/network.conf"
    echo 'BRIDGE_ADDRESS=10.0.0.1/24' >>"$BERTH_VPS_CONFIG/network.conf"
    rs vps create "${TAG}c" --template localhost/vpsnet:v1 --ip "$NET4.40/24"
    assert_berth_error "network.conf:4: unknown key \"BRIDGE_ADDRESS\""
    cp "$TEST_DIR/network.conf" "$BERTH_VPS_CONFIG/network.conf"

    # A stopped VPS: stored, applied at its next start, and set says so.
    rs vps set "$B" --ipadd "$NET4.4/24"
    assert_ok
    [[ "$output" == "applied at the next start: ip" ]] || { show_call; fail "set did not say next start"; }
    rs vps start "$B"
    assert_ok
    in_vps "$B" sh -c "ip addr show dev eth0; ping -c1 -W5 -I $NET4.4 $NET4.21"
    assert_ok
    grep -q "inet $NET4.4/24" <<<"$output" || fail "B lacks its new address: $output"

    # Removing every address takes the VPS off the bridge; adding one puts it back, live.
    rs vps set "$A" --ipdel all
    assert_ok
    [[ "$(host_tables | grep -c berth_bv)" -eq 1 ]] || fail "A's filter is still there: $(host_tables)"
    rs vps set "$A" --ipadd "$NET4.22/24"
    assert_ok
    in_vps "$A" ping -c1 -W5 "$NET4.4"
    assert_ok
    rs vps stop --fast "$A"
    assert_ok
    rs vps stop --fast "$B"
    assert_ok
    [[ -z "$(host_veths)" && -z "$(host_tables)" ]] || fail "left after stop: $(host_veths) $(host_tables)"
}
