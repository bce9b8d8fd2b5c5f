#!/usr/bin/env bash
# The hot layout's function list cannot go stale unnoticed (ctest: unit.hot_functions, label unit;
# registered when berth is linked with the hot layout, cmake/hot_layout.cmake). Fails when
#  1. fewer than MIN_PERCENT (90) % of the names in cli/hot_functions.txt are functions of the
#     built berth: code was renamed, moved or removed since scripts/hot-functions.sh made the
#     list, and the functions `run` executes now lie scattered over the cold text again;
#  2. the listed functions that exist are not at the front of berth's text: the link did not
#     apply the order (no lld, or a flag that defeats it).
# A list made from this binary scores 100 %. New hot functions that the list lacks are not seen
# here (that needs a profile, scripts/hot-functions.sh); renames and removals are what code
# changes do to it most, and they are what this finds.
# Usage: check_hot_functions.sh BERTH [LIST]   (LIST default: cli/hot_functions.txt of this repo)
set -uo pipefail
berth="${1:?usage: check_hot_functions.sh BERTH [LIST]}"
list="${2:-$(cd "$(dirname "$0")/../../.." && pwd)/cli/hot_functions.txt}"
min_percent="${MIN_PERCENT:-90}"
[[ -r "$berth" ]] || { echo "hot layout: no berth binary at $berth"; exit 2; }
[[ -r "$list" ]] || { echo "hot layout: no function list at $list"; exit 2; }
command -v nm >/dev/null || { echo "hot layout: nm (binutils) not found"; exit 2; }

# Defined text symbols in address order (nm -n), then the list: one awk pass over both.
# rank = position among the distinct text addresses (aliases such as C1/C2 constructors share one).
report="$(nm -n --defined-only "$berth" 2>/dev/null |
    awk -v min="$min_percent" '
        NR == FNR {
            if ($2 !~ /^[TtWw]$/) next
            if ($1 != last) { rank++; last = $1 }
            if (!($3 in where)) where[$3] = rank
            next
        }
        $0 == "" || /^#/ { next }
        { listed++; if ($0 in where) { found++; ranks[found] = where[$0] } }
        END {
            if (listed == 0) { print "empty"; exit }
            percent = int(found * 100 / listed)
            # Ordered: the present names lie within the first 1.25 x found distinct addresses
            # (slack for the few unlisted functions lld or the startup code put first).
            front = 0
            for (i = 1; i <= found; i++) if (ranks[i] <= found * 1.25 + 20) front++
            printf "%d %d %d %d\n", found, listed, percent, (found ? int(front * 100 / found) : 0)
        }' /dev/stdin "$list")"

if [[ "$report" == empty || -z "$report" ]]; then
    echo "hot layout: $list lists no functions (or nm read no symbols from $berth)"
    exit 1
fi
read -r found listed percent front <<<"$report"
if ((percent < min_percent)); then
    echo "hot layout: $list is stale: only $percent % ($found of $listed) of its functions exist in $berth" \
        "(at least $min_percent % wanted): run scripts/hot-functions.sh (as root) and commit the new list"
    exit 1
fi
if ((front < 90)); then
    echo "hot layout: $berth was not linked in the order of $list: only $front % of its $found" \
        "listed functions are at the front of the text (lld --symbol-ordering-file not applied?)"
    exit 1
fi
echo "hot layout: $found of $listed listed functions ($percent %) exist in $berth, $front % of them at the front of its text"
