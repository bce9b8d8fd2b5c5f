#!/usr/bin/env bats
# VPS host network (vps/network through tests/tools/vps_host_tool): a network namespace made here
# stands for the host (the bridge and every veth live in it); two `unshare -U -r -n` sleepers stand for
# VPSes. Only addresses inside namespaces this test made are used; the machine's own interfaces
# are never touched.

load helpers

setup_file() {
    itest_setup_file
    export VPS_HOST_TOOL="${BERTH_BUILD_DIR:-$BATS_TEST_DIRNAME/../../build}/tests/tools/vps_host_tool"
    [[ -n "$ITEST_SKIP" || -x "$VPS_HOST_TOOL" ]] || export ITEST_SKIP="vps_host_tool not built: $VPS_HOST_TOOL"
    command -v nft >/dev/null || export ITEST_SKIP="nft is not installed (nftables)"
}

setup() {
    itest_setup
    HOSTNS="${TAG}-host"
    ip netns add "$HOSTNS"
    BR=vtestbr0
    NET4=10.213.7
    NET6=fd42:213:7
}

teardown() {
    # The VPS stand-ins die with their netns; the host netns takes bridge, veths and rules along.
    ip netns del "$HOSTNS" 2>/dev/null
    itest_teardown
}

# tool ARGS...: the driver, in the host namespace.
tool() {
    ip netns exec "$HOSTNS" "$VPS_HOST_TOOL" "$@"
}

# own_netns PID: PID runs in a network namespace other than this shell's.
own_netns() {
    [[ "$(readlink "/proc/$1/ns/net")" != "$(readlink /proc/self/ns/net)" ]]
}

# new_vps VAR: a sleeper in a network namespace of its own, owned by a user namespace of its own
# as a VPS's is; its pid in VAR.
new_vps() {
    unshare -U -r -n sleep 600 </dev/null >/dev/null 2>&1 &
    bg_register $!
    printf -v "$1" '%s' "$!"
    wait_for 100 own_netns "$!"
}

# attach NAME PID N [ARGS...]: NAME on the bridge with .N and ::N.
attach() {
    local name="$1" pid="$2" n="$3"
    shift 3
    run tool net-attach --name "$name" --pid "$pid" --bridge "$BR" \
        --bridge-addr "$NET4.1/24" --bridge-addr "$NET6::1/64" \
        --ip "$NET4.$n/24" --ip "$NET6::$n/64" "$@"
    [[ "$status" -eq 0 ]] || fail "attach $name failed: $output"
}

in_vps() {
    local pid="$1"
    shift
    nsenter -t "$pid" -n "$@"
}

ping4() { in_vps "$1" busybox ping -c 1 -W 2 "${@:2}" >/dev/null 2>&1; }

# echos PID: ICMP echo requests the VPS's kernel has received.
echos() {
    in_vps "$1" cat /proc/net/snmp |
        awk '/^Icmp:/ { if (!h) { for (i = 1; i <= NF; i++) if ($i == "InEchos") c = i; h = 1 } else { print $c; exit } }'
}

echos6() { in_vps "$1" awk '$1 == "Icmp6InEchos" { print $2 }' /proc/net/snmp6; }

host_links() { ip -n "$HOSTNS" -o link show | awk -F': ' '{ print $2 }' | cut -d@ -f1; }
# host_veths: the VPS veths in the host namespace.
host_veths() { host_links | grep -E '^bv[0-9a-f]{8}$'; }
host_tables() { ip netns exec "$HOSTNS" nft list tables; }

@test "two VPSes on the bridge reach each other and the gateway over IPv4 and IPv6" {
    new_vps A
    new_vps B
    attach vpsa "$A" 2
    grep -q "^gateway $NET4.1$" <<<"$output" || fail "no IPv4 gateway: $output"
    attach vpsb "$B" 3 --mtu 1400
    in_vps "$B" ip -o link show eth0 | grep -q 'mtu 1400 ' || fail "B's MTU is not 1400"
    host_links | grep -qx "$BR" || fail "no bridge $BR in the host namespace"
    [[ "$(host_links | grep -cE '^bv[0-9a-f]{8}$')" -eq 2 ]] || fail "expected two host veths: $(host_links)"
    in_vps "$A" ip -o addr show dev eth0 | grep -q "inet $NET4.2/24" || fail "no address in A"
    in_vps "$A" ip route show default | grep -q "via $NET4.1" || fail "no default route in A"
    in_vps "$A" ip -6 route show default | grep -q "via $NET6::1" || fail "no IPv6 default route in A"
    ping4 "$A" "$NET4.3" || fail "A cannot ping B"
    ping4 "$B" "$NET4.2" || fail "B cannot ping A"
    ping4 "$A" "$NET4.1" || fail "A cannot ping the gateway"
    wait_for 100 ping4 "$A" "$NET6::3" || fail "A cannot ping B over IPv6"
}

@test "a spoofed source address from one VPS does not reach the other" {
    new_vps A
    new_vps B
    attach vpsa "$A" 2
    attach vpsb "$B" 3
    ping4 "$A" "$NET4.3" || fail "A cannot ping B"
    local before after
    before="$(echos "$B")"
    # A takes an address that is not its own (B's neighbour entry for A is already learnt).
    in_vps "$A" ip addr add "$NET4.99/24" dev eth0
    ! ping4 "$A" -I "$NET4.99" -c 2 "$NET4.3" || fail "a ping from a spoofed address got an answer"
    after="$(echos "$B")"
    [[ "$after" == "$before" ]] || fail "B received $((after - before)) echo requests from a spoofed address"
    # The counter does count: a ping from A's own address arrives.
    ping4 "$A" "$NET4.3" || fail "A cannot ping B from its own address"
    [[ "$(echos "$B")" -gt "$after" ]] || fail "B's echo counter did not move"
    # The same for IPv6.
    wait_for 100 in_vps "$A" busybox ping -c 1 -W 2 "$NET6::3" >/dev/null 2>&1 || fail "A cannot ping B over IPv6"
    in_vps "$A" ip addr add "$NET6::99/64" dev eth0 nodad
    before="$(echos6 "$B")"
    ! in_vps "$A" busybox ping -c 2 -W 2 -I "$NET6::99" "$NET6::3" >/dev/null 2>&1 || fail "spoofed IPv6 got an answer"
    [[ "$(echos6 "$B")" == "$before" ]] || fail "B received IPv6 echo requests from a spoofed address"
}

@test "a neighbour advertisement for an IPv6 address that is not the VPS's does not leave it" {
    new_vps A
    attach vpsa "$A" 2
    local mac
    mac="$(in_vps "$A" ip -o link show eth0 | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2)"
    # Its own address: the host resolves it to A's MAC.
    ip netns exec "$HOSTNS" busybox ping -6 -c 1 -W 2 "$NET6::2" >/dev/null 2>&1 || fail "the host cannot ping A over IPv6"
    ip -n "$HOSTNS" -6 neigh show "$NET6::2" | grep -q "lladdr $mac" || fail "no neighbour entry for A: $(ip -n "$HOSTNS" -6 neigh)"
    # An address A takes by itself: A answers the host's solicitation from its own link-local
    # address, but the advertisement's target is not A's, so it is dropped and the host never
    # learns A's MAC for it (the echo reply from that source is dropped anyway).
    in_vps "$A" ip addr add "$NET6::77/64" dev eth0 nodad
    ! ip netns exec "$HOSTNS" busybox ping -6 -c 1 -W 1 "$NET6::77" >/dev/null 2>&1 || fail "the host reached A's spoofed address"
    ! ip -n "$HOSTNS" -6 neigh show "$NET6::77" | grep -q lladdr || fail "the host learnt the spoofed address: $(ip -n "$HOSTNS" -6 neigh show "$NET6::77")"
}

@test "a spoofed MAC address from one VPS does not reach the other" {
    new_vps A
    new_vps B
    attach vpsa "$A" 2
    attach vpsb "$B" 3
    ping4 "$A" "$NET4.3" || fail "A cannot ping B"
    local mac before
    # (Not /sys/class/net: sysfs shows the namespace of whoever mounted it, not A's.)
    mac="$(in_vps "$A" ip -o link show eth0 | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2)"
    [[ "$mac" == 02:b7:* ]] || fail "A's MAC is $mac, not berth's"
    before="$(echos "$B")"
    in_vps "$A" ip link set eth0 address 02:00:00:00:00:99
    ! ping4 "$A" -c 2 "$NET4.3" || fail "a ping with a spoofed MAC got an answer"
    [[ "$(echos "$B")" == "$before" ]] || fail "B received echo requests from a spoofed MAC"
    in_vps "$A" ip link set eth0 address "$mac"
    ping4 "$A" "$NET4.3" || fail "A cannot ping B with its own MAC again"
}

@test "set --ip adds and removes addresses live, and the filter follows" {
    new_vps A
    new_vps B
    attach vpsa "$A" 2
    attach vpsb "$B" 3
    run tool net-set-ip --name vpsa --pid "$A" --old-ip "$NET4.2/24" --old-ip "$NET6::2/64" \
        --ip "$NET4.2/24" --ip "$NET4.20/24" --ip "$NET6::2/64"
    [[ "$status" -eq 0 ]] || fail "set-ip failed: $output"
    ping4 "$A" -I "$NET4.20" "$NET4.3" || fail "the added address cannot reach B"
    run tool net-set-ip --name vpsa --pid "$A" --old-ip "$NET4.2/24" --old-ip "$NET4.20/24" \
        --old-ip "$NET6::2/64" --ip "$NET4.20/24"
    [[ "$status" -eq 0 ]] || fail "set-ip failed: $output"
    ! in_vps "$A" ip -o addr show dev eth0 | grep -q "inet $NET4.2/" || fail "$NET4.2 still on A"
    ! in_vps "$A" ip -o addr show dev eth0 | grep -q "$NET6::2/" || fail "$NET6::2 still on A"
    ping4 "$A" "$NET4.3" || fail "A cannot reach B from its remaining address"
    ip netns exec "$HOSTNS" nft list set netdev "berth_$(host_veths | head -1)" addrs4 >/dev/null
    # The removed address, taken back by hand, is a spoofed one now.
    in_vps "$A" ip addr add "$NET4.2/24" dev eth0
    ! ping4 "$A" -I "$NET4.2" -c 2 "$NET4.3" || fail "a removed address still passes the filter"
}

@test "detach leaves no veth and no rule; a failed attach leaves nothing" {
    new_vps A
    new_vps B
    attach vpsa "$A" 2
    attach vpsb "$B" 3
    run tool net-detach --name vpsa
    [[ "$status" -eq 0 ]] || fail "detach failed: $output"
    run tool net-detach --name vpsb
    [[ "$status" -eq 0 ]] || fail "detach failed: $output"
    run tool net-detach --name vpsb
    [[ "$status" -eq 0 ]] || fail "a second detach failed: $output"
    [[ -z "$(host_veths)" ]] || fail "veths left: $(host_links)"
    [[ -z "$(host_tables)" ]] || fail "rules left: $(host_tables)"
    ! in_vps "$A" ip link show eth0 2>/dev/null || fail "eth0 left in A"
    # A gateway outside the VPS's networks fails at the last step (the route): veth, rules and
    # addresses made before it are undone.
    run tool net-attach --name vpsa --pid "$A" --bridge "$BR" --ip "$NET4.2/24" --gw4 10.99.99.1
    [[ "$status" -eq 1 ]] || fail "attach with an unreachable gateway: status $status: $output"
    [[ "${#lines[@]}" -eq 1 && "$output" == *"default route via 10.99.99.1"* ]] || fail "error: $output"
    [[ -z "$(host_veths)" ]] || fail "veths left after a failed attach: $(host_links)"
    [[ -z "$(host_tables)" ]] || fail "rules left after a failed attach: $(host_tables)"
    ! in_vps "$A" ip link show eth0 2>/dev/null || fail "eth0 left in A after a failed attach"
}

@test "bad network input: one error line, nothing made" {
    new_vps A
    run tool net-attach --name vpsa --pid "$A" --bridge "$BR" --ip "$NET4.2"
    [[ "$status" -eq 1 && "${#lines[@]}" -eq 1 && "$output" == *"no /prefix"* ]] || fail "$output"
    run tool net-attach --name vpsa --pid "$A" --bridge "$BR" --ip "$NET4.2/24" --ip "$NET4.2/24"
    [[ "$status" -eq 1 && "$output" == *"given twice"* ]] || fail "$output"
    [[ -z "$(host_links | grep -v '^lo$')" ]] || fail "links made: $(host_links)"
}

@test "guest files: hostname, hosts, resolv.conf written inside the rootfs, symlinks not followed out" {
    local rootfs="$TEST_DIR/rootfs"
    mkdir -p "$rootfs/etc"
    echo secret >"$TEST_DIR/outside"
    ln -s "$TEST_DIR/outside" "$rootfs/etc/resolv.conf"
    ln -s ../../../../../../../.."$TEST_DIR/outside" "$rootfs/etc/hostname"
    run "$VPS_HOST_TOOL" guest-files --rootfs "$rootfs" --hostname web1.example.org --ip 10.1.2.3/24 \
        --ip fd00::3/64 --nameserver 10.1.2.1 --nameserver fd00::1 --search example.org --uid 100000 --gid 100000
    [[ "$status" -eq 0 ]] || fail "guest-files failed: $output"
    [[ "$(cat "$TEST_DIR/outside")" == secret ]] || fail "a file outside the rootfs was written"
    [[ ! -L "$rootfs/etc/resolv.conf" && ! -L "$rootfs/etc/hostname" ]] || fail "symlinks left in place"
    [[ "$(cat "$rootfs/etc/hostname")" == web1.example.org ]]
    grep -qx $'10.1.2.3\tweb1.example.org web1' "$rootfs/etc/hosts"
    grep -qx $'fd00::3\tweb1.example.org web1' "$rootfs/etc/hosts"
    grep -qx 'nameserver fd00::1' "$rootfs/etc/resolv.conf"
    grep -qx 'search example.org' "$rootfs/etc/resolv.conf"
    [[ "$(stat -c %u:%g "$rootfs/etc/hosts")" == 100000:100000 ]]
    run "$VPS_HOST_TOOL" guest-files --rootfs "$rootfs" --hostname "bad_name"
    [[ "$status" -eq 1 && "$output" == *"not a valid name"* ]] || fail "$output"
}
