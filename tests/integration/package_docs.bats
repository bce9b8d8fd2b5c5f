#!/usr/bin/env bats
# What an installation ships besides the binary (label root): `berth --version` in runc's shape,
# the man pages (generated from --help by scripts/gen-man.sh) against every option the CLI
# accepts (`berth __cli-tree`), the bash and zsh completions (dist/completion/) driven as the
# shells drive them, and the client snippets in dist/ parsed. The .deb itself:
# tests/e2e/package.bats.
load helpers

SRC="${BERTH_SOURCE_DIR:-$BATS_TEST_DIRNAME/../..}"

setup_file() {
    itest_setup_file
    [[ -n "$ITEST_SKIP" ]] && return 0
    # The pages the build made (target berth_man) when this is the build's binary; else fresh.
    export MAN_DIR="$BATS_FILE_TMPDIR/man"
    "$SRC/scripts/gen-man.sh" "$BERTH" "$MAN_DIR"
}

# tree: the hidden CLI tree.
tree() { "$BERTH" __cli-tree; }

# plain PAGE: the page's text without roff escapes, as grep can read it.
plain() { sed -e 's/\\-/-/g' -e 's/\\f[BRIP]//g' -e 's/\\e/\\/g' "$1"; }

@test "--version: runc's lines (berth version X, commit, spec) and the spec features reports" {
    rb --version
    assert_ok
    [[ "${lines[0]}" =~ ^berth\ version\ [0-9]+\.[0-9]+\.[0-9]+ ]] || fail "first line: ${lines[0]}"
    [[ "${lines[1]}" =~ ^commit:\ [0-9a-zA-Z.+~-]+$ ]] || fail "second line: ${lines[1]}"
    [[ "${lines[2]}" =~ ^spec:\ 1\.[0-9]+\.[0-9]+ ]] || fail "third line: ${lines[2]}"
    # podman and containerd take "NAME version X" apart on the word "version"; docker reads
    # "commit:" the same way.
    local spec="${lines[2]#spec: }" commit="${lines[1]#commit: }"
    rb features
    assert_ok
    [[ "$(jq -r .ociVersionMax <<<"$output")" == "$spec" ]] ||
        fail "features says ociVersionMax $(jq -r .ociVersionMax <<<"$output"), --version says $spec"
    [[ -n "$(git -C "$SRC" rev-parse --git-dir 2>/dev/null)" ]] || return 0
    # Built from this checkout: the commit is this one's (describe's hash prefix).
    local head
    head="$(git -C "$SRC" rev-parse --short=12 HEAD)"
    [[ "$commit" == *"$head"* ]] || skip_part "binary not built from HEAD $head (commit: $commit)"
}

@test "man: a page per verb, and every option the CLI accepts is in its page" {
    local verbs missing=() path names name page p
    local -A text
    [[ -s "$MAN_DIR/berth.8" ]] || fail "no berth.8"
    for verbs in $(tree | awk -F'\t' '$1 == "cmd" && $2 != "" && $2 !~ / / { print $2 }'); do
        [[ -s "$MAN_DIR/berth-$verbs.8" ]] || missing+=("page berth-$verbs.8")
    done
    for p in "$MAN_DIR"/*.8; do
        text[$p]="$(plain "$p")"
    done
    while IFS=$'\t' read -r names path; do
        page="$MAN_DIR/berth.8"
        [[ "$path" != - ]] && page="$MAN_DIR/berth-${path%% *}.8"
        for name in ${names//,/ }; do
            # the option as a word of its own: --root, not --root-dir
            [[ "${text[$page]-}" =~ (^|[^-[:alnum:]])${name}([^-[:alnum:]]|$) ]] ||
                missing+=("$name of '$path' in $(basename "$page")")
        done
    done < <(tree | awk -F'\t' '$1 == "opt" { print $3 "\t" ($2 == "" ? "-" : $2) }')
    [[ ${#missing[@]} -eq 0 ]] || fail "missing from the man pages:" "${missing[@]}"
}

@test "man: the pages render without groff warnings, and the build's pages are current" {
    # One groff run over every page (-ww: all warnings; -z: no output).
    run -0 --separate-stderr groff -man -Tutf8 -ww -z "$MAN_DIR"/*.8
    [[ -z "$stderr" ]] || fail "$stderr"
    run -0 --separate-stderr man -l "$MAN_DIR/berth-create.8"
    [[ "$output" == *NAME* && "$output" == *--console-socket* ]] || fail "berth-create.8 renders as: $output"
    # The pages under the build dir are what the package ships: the same as from this binary.
    if [[ -n "${BERTH_BUILD_DIR:-}" && -d "$BERTH_BUILD_DIR/man" && "$BERTH" == "$BERTH_BUILD_DIR/cli/berth" ]]; then
        diff -r "$BERTH_BUILD_DIR/man" "$MAN_DIR" || fail "build/man is stale"
    fi
}

# bash_complete WORD...: what the bash completion offers for the last WORD (may be "").
bash_complete() {
    PATH="$(dirname "$BERTH"):$PATH" bash -c '
        source "$1"; shift
        COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMPREPLY=()
        _berth
        printf "%s\n" "${COMPREPLY[@]}"' _ "$SRC/dist/completion/berth.bash" "$@"
}

# tiny_image NAME: a one-file image named NAME in $STORE.
tiny_image() {
    mkdir -p "$TEST_DIR/layer/etc"
    echo hi >"$TEST_DIR/layer/etc/hi"
    "$SRC/tests/lib/make-oci-layout.sh" -z none "$TEST_DIR/layout" "$TEST_DIR/layer" >/dev/null
    rb_raw --root "$ROOT" --store "$STORE" image import "$TEST_DIR/layout" "$1"
    assert_ok
}

@test "bash completion: complete -p, verbs (berth de -> delete), flags, container ids, images" {
    run -0 bash -c 'source "$1"; complete -p berth; complete -p berth-vm' _ "$SRC/dist/completion/berth.bash"
    [[ "${lines[0]}" == "complete -F _berth berth" && "${lines[1]}" == "complete -F _berth berth-vm" ]] ||
        fail "$output"
    run -0 bash_complete berth de
    [[ "$output" == delete ]] || fail "berth de -> '$output'"
    run -0 bash_complete berth image l
    [[ "$output" == ls ]] || fail "berth image l -> '$output'"
    run -0 bash_complete berth run --no-
    [[ "$(sort <<<"$output" | tr '\n' ' ')" == "--no-new-keyring --no-pivot --no-subreaper " ]] || fail "$output"
    run -0 bash_complete berth --log-format ""
    [[ "$(tr '\n' ' ' <<<"$output")" == "text json " ]] || fail "$output"

    # Container ids of the --root typed before the verb.
    create_ctr "$ID"
    run -0 bash_complete berth --root "$ROOT" kill "${ID:0:5}"
    [[ "$output" == "$ID" ]] || fail "kill: '$output'"
    run -0 bash_complete berth --root "$ROOT" exec ""
    [[ "$output" == "$ID" ]] || fail "exec: '$output'"
    # Image names (name:tag: bash splits words at ':', so a typed "localhost/t" completes whole).
    STORE="$TEST_DIR/store"
    tiny_image localhost/tiny:v1
    run -0 bash_complete berth --root "$ROOT" --store "$STORE" image rm local
    [[ "$output" == "localhost/tiny:v1" ]] || fail "image rm: '$output'"
}

@test "zsh completion: verbs, flags and container ids through compadd" {
    command -v zsh >/dev/null || skip "zsh is not installed (run scripts/setup.sh)"
    # zsh_complete WORD...: compadd stubbed to print what it is given.
    zsh_complete() {
        PATH="$(dirname "$BERTH"):$PATH" zsh -f -c '
            compadd() { while [[ $1 != -- ]]; do shift; done; shift; print -l -- "$@" }
            _files() { print -- "<files>" }
            source "$1"; shift
            words=("$@"); CURRENT=$#
            _berth' _ "$SRC/dist/completion/_berth" "$@" | grep -- "^${!#}" || true
    }
    run -0 zsh_complete berth de
    [[ "$output" == delete ]] || fail "berth de -> '$output'"
    run -0 zsh_complete berth vps sta
    [[ "$(tr '\n' ' ' <<<"$output")" == "start status " || "$output" == start* ]] || fail "vps sta -> '$output'"
    run -0 zsh_complete berth create --pid
    [[ "$output" == --pid-file ]] || fail "$output"
    create_ctr "$ID"
    run -0 zsh_complete berth --root "$ROOT" delete "${ID:0:5}"
    [[ "$output" == "$ID" ]] || fail "delete: '$output'"
}

@test "client snippets: the TOML files parse, handlers and RuntimeClasses agree" {
    local f
    run -0 python3 -c '
import sys, tomllib
d = tomllib.load(open(sys.argv[1], "rb"))
r = d["plugins"]["io.containerd.grpc.v1.cri"]["containerd"]["runtimes"]
print(" ".join(sorted(r)))
for h in sorted(r):
    print(h, r[h]["runtime_type"], r[h]["options"]["BinaryName"])
d = tomllib.load(open(sys.argv[2], "rb"))
print(" ".join(sorted(d["crio"]["runtime"]["runtimes"])))
d = tomllib.load(open(sys.argv[3], "rb"))
print(" ".join(d["engine"]["runtime_supports_json"]))
print(" ".join(sorted(d["engine"]["runtimes"])))' \
        "$SRC/dist/containerd/berth.toml" "$SRC/dist/crio/50-berth.conf" "$SRC/dist/podman/50-berth.conf"
    [[ "${lines[0]}" == "berth berth-vm" ]] || fail "$output"
    [[ "${lines[1]}" == "berth io.containerd.runc.v2 /usr/sbin/berth" ]] || fail "$output"
    [[ "${lines[2]}" == "berth-vm io.containerd.runc.v2 /usr/sbin/berth-vm" ]] || fail "$output"
    [[ "${lines[3]}" == "berth berth-vm" ]] || fail "$output"
    # podman's own defaults stay in the list a drop-in replaces
    [[ "${lines[4]}" == "crun runc kata runsc krun berth berth-vm" ]] || fail "$output"
    [[ "${lines[5]}" == "berth berth-vm" ]] || fail "$output"
    for f in berth berth-vm; do
        grep -qx "handler: $f" "$SRC/dist/kubernetes/runtimeclass-$f.yaml"
        grep -qx "  name: $f" "$SRC/dist/kubernetes/runtimeclass-$f.yaml"
    done
}
