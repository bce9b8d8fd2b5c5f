#!/usr/bin/env bats
# Idmapped bind mounts (runtime-spec 1.1 mounts[].uidMappings/gidMappings, options idmap and
# ridmap): the parent makes the bind as a detached mount, idmapped through a helper user
# namespace carrying the mapping, and the init moves it into the rootfs.

load helpers

setup_file() { itest_setup_file; }

# A host dir whose files belong to uid 1000, gid 1000.
make_source() {
    SRC="$TEST_DIR/src"
    mkdir -p "$SRC/sub"
    echo data >"$SRC/file"
    chown -R 1000:1000 "$SRC"
}

# add_idmapped DEST SRC UIDMAP GIDMAP OPTION...: maps are jq arrays.
add_idmapped() {
    local dest="$1" src="$2" uids="$3" gids="$4"
    shift 4
    cfg '.mounts += [{destination: $d, type: "bind", source: $s, options: $ARGS.positional,
                      uidMappings: ($u | fromjson), gidMappings: ($g | fromjson)}]' \
        --arg d "$dest" --arg s "$src" --arg u "$uids" --arg g "$gids" --args -- "$@"
}

userns_container() {
    add_ns user
    cfg '.linux.uidMappings = [{containerID: 0, hostID: 100000, size: 65536}]
         | .linux.gidMappings = [{containerID: 0, hostID: 100000, size: 65536}]'
    chown -hR 100000:100000 "$BUNDLE/rootfs"
}

@test "features: mountExtensions.idmap is enabled" {
    rb features
    assert_ok
    jq -e '.linux.mountExtensions.idmap.enabled == true' <<<"$output" >/dev/null ||
        fail "$(jq -c .linux.mountExtensions <<<"$output")"
    jq -e '.mountOptions | index("idmap") != null and index("ridmap") != null' <<<"$output" >/dev/null ||
        fail "mountOptions lacks idmap/ridmap"
}

@test "user namespace container: host uid 1000 files show as the chosen uid 42, gid 43" {
    userns_container
    make_source
    # On-disk 1000 appears as host 100042, which is 42 inside the container (0:100000:65536).
    add_idmapped /data "$SRC" '[{"containerID": 1000, "hostID": 100042, "size": 1}]' \
        '[{"containerID": 1000, "hostID": 100043, "size": 1}]' rbind idmap
    set_args sh -c 'stat -c "%u %g %n" /data /data/file /data/sub; cat /data/file'
    run_fg "$ID"
    assert_ok
    [[ "$output" == "$(printf '42 43 /data\n42 43 /data/file\n42 43 /data/sub\ndata')" ]] ||
        fail "$output" "$stderr"
    # Only the mount is mapped: the host still sees uid 1000.
    [[ "$(stat -c '%u %g' "$SRC/file")" == "1000 1000" ]] || fail "host owner changed"
}

@test "user namespace container: idmap without mappings takes the container's own" {
    userns_container
    make_source
    add_mount /data bind "$SRC" bind idmap
    set_args sh -c 'stat -c "%u %g" /data/file'
    run_fg "$ID"
    assert_ok
    # Without the idmap the container would see the overflow uid; through its own mapping
    # on-disk 1000 is 1000 inside too.
    [[ "$output" == "1000 1000" ]] || fail "$output" "$stderr"
}

@test "no user namespace: host uid 1000 files show as root, and root's writes land as 1000" {
    make_source
    add_idmapped /data "$SRC" '[{"containerID": 1000, "hostID": 0, "size": 1}]' \
        '[{"containerID": 1000, "hostID": 0, "size": 1}]' bind
    set_args sh -c 'stat -c "%u %g" /data/file; echo new > /data/new; stat -c "%u %g" /data/new'
    run_fg "$ID"
    assert_ok
    [[ "$output" == "$(printf '0 0\n0 0')" ]] || fail "$output" "$stderr"
    [[ "$(stat -c '%u %g' "$SRC/new")" == "1000 1000" ]] || fail "on the host: $(stat -c '%u %g' "$SRC/new")"
}

@test "ridmap maps the submounts of an rbind; idmap only its top" {
    make_source
    mkdir -p "$SRC/sub"
    mount -t tmpfs -o mode=0755,uid=1000,gid=1000 tmpfs "$SRC/sub"
    echo in-sub >"$SRC/sub/f"
    chown 1000:1000 "$SRC/sub/f"
    local m='[{"containerID": 1000, "hostID": 0, "size": 1}]'
    add_idmapped /r "$SRC" "$m" "$m" rbind ridmap
    add_idmapped /t "$SRC" "$m" "$m" rbind idmap
    set_args sh -c 'stat -c "%u %n" /r/file /r/sub/f /t/file /t/sub/f'
    run_fg "$ID"
    assert_ok
    [[ "$output" == "$(printf '0 /r/file\n0 /r/sub/f\n0 /t/file\n1000 /t/sub/f')" ]] || fail "$output" "$stderr"
}

@test "invalid idmapped mounts: one error line each, nothing left behind" {
    make_source
    mounts_snapshot
    local good='[{"containerID": 0, "hostID": 1000, "size": 10}]' base
    base="$(cat "$BUNDLE/config.json")"
    local -a cases=(
        # mapping on a non-bind mount
        '.mounts += [{destination: "/t", type: "tmpfs", source: "tmpfs", uidMappings: $g, gidMappings: $g}]'
        'must be a bind mount'
        # only one of the two
        '.mounts += [{destination: "/d", type: "bind", source: $src, options: ["bind"], uidMappings: $g}]'
        'uidMappings given without gidMappings'
        # overlapping ranges
        '.mounts += [{destination: "/d", type: "bind", source: $src, options: ["bind"], uidMappings: $g,
                      gidMappings: [{containerID: 0, hostID: 1000, size: 10}, {containerID: 5, hostID: 5000, size: 10}]}]'
        'gidMappings: containerID ranges 0-9 and 5-14 overlap'
        # a zero-size range
        '.mounts += [{destination: "/d", type: "bind", source: $src, options: ["bind"], uidMappings: $g,
                      gidMappings: [{containerID: 0, hostID: 1000, size: 0}]}]'
        'size: must be greater than zero'
        # idmap without mappings nor a user namespace
        '.mounts += [{destination: "/d", type: "bind", source: $src, options: ["bind", "idmap"]}]'
        'option idmap needs uidMappings and gidMappings'
    )
    local i id
    for ((i = 0; i < ${#cases[@]}; i += 2)); do
        jq --arg src "$SRC" --argjson g "$good" "${cases[i]}" <<<"$base" >"$BUNDLE/config.json"
        id="$(new_id)"
        rb create -b "$BUNDLE" "$id"
        assert_berth_error "${cases[i + 1]}"
        assert_no_leftovers "$id"
    done
    [[ -z "$(root_entries)" ]] || fail "state left: $(root_entries)"
}
