#!/usr/bin/env bash
# The map cannot drift (ctest: unit.layout, label unit). Fails when
#  1. an #include goes against the dependency direction
#       cli → vps → runtime → {namespaces, cgroups, images} → common
#     with vm/ reached only through the runtime's Handler seam (cli/main.cpp registers it);
#  2. README.md's Layout section names a folder that does not exist;
#  3. docs/README.md links a document that does not exist.
# Usage: check_layout.sh [SOURCE_DIR]   (default: the repository this script is in)
set -uo pipefail
src="${1:-$(cd "$(dirname "$0")/../../.." && pwd)}"
cd "$src" || exit 2
failures=0
fail() { echo "layout: $*"; failures=$((failures + 1)); }

# What each part of the tree may include, by path prefix; the longest prefix of
# a file's path is its rule. A prefix ending in "/" allows a folder, anything else one header.
declare -A allowed=(
    [common/]="common/"
    [namespaces/]="common/ namespaces/"
    [cgroups/]="common/ cgroups/"
    [images/]="common/ images/"
    # berth_spec: pure parsing over common/ (the fuzz targets link it alone).
    [runtime/spec/]="common/ runtime/spec/"
    # berth_state: state.hpp names cgroups::Saved, a plain struct (no cgroups code is linked).
    [runtime/state/]="common/ runtime/spec/ runtime/state/ cgroups/manager.hpp"
    # What the guest agent links (berth_process, berth_security, berth_hooks) stays off the host-only
    # parts: no namespaces/, cgroups/, launch or lifecycle code.
    [runtime/security/]="common/ runtime/spec/ runtime/security/"
    [runtime/process/]="common/ runtime/spec/ runtime/security/ runtime/process/"
    [runtime/hooks/]="common/ runtime/spec/ runtime/hooks/"
    [runtime/]="common/ namespaces/ cgroups/ images/ runtime/"
    # vm's host side implements runtime::Handler: the seam's headers and what a process
    # in a container needs (spec, state, hooks, terminals, security), not the runtime's insides;
    # runtime/container_cgroup.hpp is the seam's too (a container's host cgroup, for every handler).
    [vm/]="common/ namespaces/ vm/ cgroups/stats.hpp cgroups/manager.hpp runtime/handler.hpp runtime/container_cgroup.hpp runtime/runtime.hpp runtime/foreground.hpp runtime/hooks/hooks.hpp runtime/spec/ runtime/state/ runtime/security/ runtime/process/terminal.hpp"
    # The guest agent (static, the VM's /init) shares with the host only berth_process (the
    # last steps of a container process), berth_spec, namespaces/, the wire format and cgroups/
    # (the container's cgroup in the guest is made by the same cgroup2 manager).
    [vm/agent/]="common/ namespaces/ cgroups/ runtime/spec/ runtime/security/ runtime/process/exec_process.hpp runtime/process/terminal.hpp runtime/process/sync.hpp vm/agent/ vm/wire/"
    # The wire format: what host and guest agree on, nothing of either side.
    [vm/wire/]="common/ runtime/spec/ vm/wire/"
    [vps/]="common/ namespaces/ cgroups/ images/ runtime/ vps/"
    # cli/ sees vm/ only to register its handler (cli/main.cpp, below).
    [cli/]="common/ images/ runtime/ vps/ cli/"
    [cli/main.cpp]="common/ images/ runtime/ vps/ cli/ vm/vm_handler.hpp"
)

ruleFor() {
    local path="$1" best=""
    for prefix in "${!allowed[@]}"; do
        if [[ "$path" == "$prefix"* && ${#prefix} -gt ${#best} ]]; then best="$prefix"; fi
    done
    printf '%s' "$best"
}

ours='^(common|namespaces|cgroups|images|runtime|vm|vps|cli)/'
declare -A ruleOf=()
while IFS=: read -r file line inc; do
    [[ "$inc" =~ $ours ]] || continue
    [[ -n "${ruleOf[$file]+x}" ]] || ruleOf[$file]="$(ruleFor "$file")"
    rule="${ruleOf[$file]}"
    [[ -n "$rule" ]] || continue
    ok=0
    for a in ${allowed[$rule]}; do
        if [[ "$a" == */ ]]; then [[ "$inc" == "$a"* ]] && ok=1
        else [[ "$inc" == "$a" ]] && ok=1; fi
        ((ok)) && break
    done
    ((ok)) || fail "$file:$line includes $inc, against the dependency direction (rule for $rule)"
done < <(grep -rnoE --include='*.cpp' --include='*.hpp' --include='*.h' \
              '^[[:space:]]*#[[:space:]]*include[[:space:]]+"[^"]+"' \
              common namespaces cgroups images runtime vm vps cli |
         sed -E 's/^([^:]+):([0-9]+):.*"([^"]+)"$/\1:\2:\3/')

# 4. folder = namespace: a file under MODULE/SUB/ declares berth::MODULE::SUB (common/: berth),
#    optionally plus one sub-namespace of its own (spec::detail, wire::proto, cgroups::fields).
#    Also accepted: an ancestor module's namespace (cgroups/v1/resources.cpp defines what
#    cgroups/resources.hpp declares) and a header's block of forward declarations.
nsDecls() {  # NAME<TAB>fwd|def for each namespace block opened at column 0
    awk '/^namespace [A-Za-z0-9_:]+ *\{/ { if (open) print ns "\tdef"; ns = $2; open = 1; fwd = 1; next }
         open && /^\}/ { print ns "\t" (fwd ? "fwd" : "def"); open = 0; next }
         open && !/^(class|struct) [A-Za-z0-9_]+;$/ && !/^[[:space:]]*$/ && !/^[[:space:]]*\/\// { fwd = 0 }
         END { if (open) print ns "\tdef" }' "$1"
}
while IFS= read -r file; do
    dir="$(dirname "$file")"
    want="berth::${dir//\//::}"
    [[ "$dir" == common* ]] && want="berth${dir#common}" && want="${want//\//::}"
    want="${want//-/_}"
    while IFS=$'\t' read -r ns kind; do
        [[ "$kind" == fwd ]] && continue
        [[ "$ns" == "$want" || "$ns" =~ ^${want}::[a-z0-9_]+$ ]] && continue
        [[ "$ns" == berth::* && "$want" == "$ns"::* ]] && continue
        fail "$file declares namespace $ns, but its folder says $want"
    done < <(nsDecls "$file")
done < <(find common namespaces cgroups images runtime vm vps cli \( -name '*.cpp' -o -name '*.hpp' \) | sort)

# README.md's Layout: the code block after "## Layout". A line starting at column 0 names a
# top-level folder; "name/" words on its description lines name sub-folders of it.
layout="$(awk '/^## Layout/{on=1; next} on && /^```/{n++; if (n==2) exit; next} on && n==1' README.md)"
[[ -n "$layout" ]] || fail "README.md has no Layout code block"
top=""
while IFS= read -r l; do
    if [[ "$l" =~ ^([A-Za-z0-9._-]+)/ ]]; then
        top="${BASH_REMATCH[1]}"
        [[ -d "$top" ]] || fail "README.md Layout names $top/, which does not exist"
        l="${l#"$top"/}"
    fi
    [[ -n "$top" ]] || continue
    # "v1/ v2/", "(tests/)": a word ending in "/" then a space, ",", ")" or the line's end
    # ("masked/readonly", "bridge/veth" are not folder names).
    for w in $(grep -oE '(^|[[:space:](,])[A-Za-z0-9_-]+/([[:space:],)]|$)' <<<"$l" | tr -d ' (,)'); do
        [[ -d "$top/$w" || -d "$w" ]] || fail "README.md Layout names $w under $top/, which does not exist"
    done
done <<<"$layout"

# docs/README.md's index: every linked document exists.
for f in $(grep -oE '\]\([^)#]+\)' docs/README.md | sed -E 's/^\]\((.*)\)$/\1/'); do
    [[ "$f" == http* ]] && continue
    [[ -e "docs/$f" ]] || fail "docs/README.md links $f, which does not exist"
done

if ((failures)); then
    echo "layout: $failures problem(s)"
    exit 1
fi
echo "layout: includes follow the dependency direction; README Layout and docs/README.md match the tree"
