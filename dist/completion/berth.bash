# bash completion for berth and berth-vm. Installed as
# /usr/share/bash-completion/completions/berth (and berth-vm); by hand: source this file.
#
# Verbs and flags come from the binary itself (`berth __cli-tree`, read once per shell and
# binary), so they match the installed version; container ids from `berth list -q`, image names
# from `berth image ls`, VPS names from `berth vps list`, each with the global flags already typed
# (--root, --store, ...). Needs nothing from the bash-completion package.
# tests/integration/package_docs.bats drives it.

# _berth_tree BIN: the CLI tree of BIN in _berth_tree_text (cached per binary path).
_berth_tree() {
    if [[ "${_berth_tree_bin-}" != "$1" || -z "${_berth_tree_text-}" ]]; then
        _berth_tree_text="$("$1" __cli-tree 2>/dev/null)"
        _berth_tree_bin="$1"
    fi
}

# _berth_opt_kind PATH WORD: "value" or "flag" if WORD is an option of PATH (or a global one).
_berth_opt_kind() {
    # (awk, not read: IFS=tab would merge the empty path field of global options)
    awk -F'\t' -v p="$1" -v w="$2" '
        $1 == "opt" && ($2 == p || $2 == "") {
            n = split($3, a, ","); for (i = 1; i <= n; i++) if (a[i] == w) { print $4; exit }
        }' <<<"$_berth_tree_text"
}

# _berth_reply_words WORD... : COMPREPLY = the WORDs that start with $cur, with what bash already
# treats as typed before a ':' taken off (image names are name:tag).
_berth_reply_words() {
    local w prefix=""
    [[ "$cur" == *:* && "$COMP_WORDBREAKS" == *:* ]] && prefix="${cur%"${cur##*:}"}"
    COMPREPLY=()
    for w in "$@"; do
        [[ "$w" == "$cur"* ]] && COMPREPLY+=("${w#"$prefix"}")
    done
}

_berth() {
    local cur="${COMP_WORDS[COMP_CWORD]}" bin="${COMP_WORDS[0]}"
    local path="" npos=0 i w pending="" globals=()
    _berth_tree "$bin"
    [[ -n "$_berth_tree_text" ]] || return 0

    # Walk what is typed before the current word: verbs, options (and their values), positionals.
    for ((i = 1; i < COMP_CWORD; i++)); do
        w="${COMP_WORDS[i]}"
        if [[ -n "$pending" ]]; then
            [[ -z "$path" ]] && globals+=("$pending" "$w")
            pending=""
            continue
        fi
        if [[ "$w" == -?* ]]; then
            if [[ "$w" == *=* ]]; then
                [[ -z "$path" ]] && globals+=("$w")
            elif [[ "$(_berth_opt_kind "$path" "$w")" == value ]]; then
                pending="$w"
            fi
            continue
        fi
        if [[ $npos -eq 0 ]] && awk -F'\t' -v p="${path:+$path }$w" \
            '$1 == "cmd" && $2 == p { found = 1; exit } END { exit !found }' <<<"$_berth_tree_text"; then
            path="${path:+$path }$w"
        else
            npos=$((npos + 1))
        fi
    done

    # The value of an option.
    if [[ -n "$pending" ]]; then
        case "$pending" in
            --log-format) _berth_reply_words text json ;;
            -f | --format) _berth_reply_words table json ;;
            --root | --store | -b | --bundle | --data-dir | --config-dir)
                mapfile -t COMPREPLY < <(compgen -d -- "$cur") ;;
            *) mapfile -t COMPREPLY < <(compgen -f -- "$cur") ;;
        esac
        return 0
    fi

    # Options of the verb (berth's global ones before any verb).
    if [[ "$cur" == -* ]]; then
        local opts=()
        mapfile -t opts < <(awk -F'\t' -v p="$path" '$1 == "opt" && $2 == p && $5 == "shown" {
            n = split($3, a, ","); for (i = 1; i <= n; i++) print a[i] }' <<<"$_berth_tree_text")
        _berth_reply_words "${opts[@]}"
        return 0
    fi

    # Sub-verbs, before any positional argument.
    local subs=()
    if [[ $npos -eq 0 ]]; then
        mapfile -t subs < <(awk -F'\t' -v p="$path" '$1 == "cmd" && $2 != "" {
            parent = $2; sub(/ ?[^ ]+$/, "", parent); last = $2; sub(/^.* /, "", last)
            if (parent == p) print last }' <<<"$_berth_tree_text")
    fi
    if [[ ${#subs[@]} -gt 0 ]]; then
        _berth_reply_words "${subs[@]}"
        return 0
    fi

    # The positional argument: what does this verb call it?
    local arg
    arg="$(awk -F'\t' -v p="$path" -v n="$npos" '$1 == "arg" && $2 == p { if (k++ == n) { print $3; exit } }' \
        <<<"$_berth_tree_text")"
    [[ "$path" == exec || "$path" == ps ]] && [[ $npos -eq 0 ]] && arg=id
    case "$path:$arg" in
        vps*:name)
            local names=()
            mapfile -t names < <("$bin" "${globals[@]}" vps list -a -H -o name 2>/dev/null)
            _berth_reply_words "${names[@]}" ;;
        *:id)
            local ids=()
            mapfile -t ids < <("$bin" "${globals[@]}" list -q 2>/dev/null)
            _berth_reply_words "${ids[@]}" ;;
        *:image | bundle:args)
            local images=()
            mapfile -t images < <("$bin" "${globals[@]}" image ls 2>/dev/null | awk 'NR > 1 { print $1 }')
            _berth_reply_words "${images[@]}" ;;
        *) mapfile -t COMPREPLY < <(compgen -f -- "$cur") ;;
    esac
    return 0
}

complete -F _berth berth berth-vm
