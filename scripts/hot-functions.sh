#!/bin/bash
# Regenerates cli/hot_functions.txt, the order of the hot layout (cmake/hot_layout.cmake): the
# functions of berth's own text that `run` of /bin/true executes (a busybox bundle as `runc spec`
# makes it, plus one bind mount), the parent's then the container init's, each in the order
# callgrind first saw them; then what only `exec` of /bin/true into a running container of that
# bundle executes. Run it when ctest's unit.hot_functions says the list is stale, then
# build again (only berth is linked again) and commit the list.
#
#   sudo scripts/hot-functions.sh [--berth PATH] [--out FILE] [--runs N]
#
# PATH: a berth built the normal way (default: $BERTH, else build/cli/berth; the layout itself
# does not change the names, so any optimised build will do, not a sanitizer one). Needs root (it
# runs containers), valgrind (a developer tool, not installed by scripts/setup.sh), cc, jq, nm
# and busybox-static. How it profiles (bench/README.md, "Third pass"): valgrind 3.19 knows
# neither openat2 nor clone3, so an LD_PRELOAD shim, used only here, answers syscall(SYS_openat2)
# with openat (without the RESOLVE_ flags: the bundle is a fresh busybox one) and clone3 with
# ENOSYS (berth then clones with clone(2)); the bundle's rlimits are dropped (valgrind keeps
# RLIMIT_NOFILE lower); --dump-before=execve writes the container init's profile before it
# executes /bin/true, into the profile dir bind-mounted into the container.
set -euo pipefail

cd "$(dirname "$0")/.."
src="$PWD"
berth="${BERTH:-$src/build/cli/berth}"
out="$src/cli/hot_functions.txt"
runs=2

while [[ $# -gt 0 ]]; do
    case "$1" in
        --berth) berth="$2"; shift ;;
        --out) out="$2"; shift ;;
        --runs) runs="$2"; shift ;;
        -h | --help) sed -n '2,18p' "$0"; exit 0 ;;
        *) echo "hot-functions: unknown argument: $1" >&2; exit 2 ;;
    esac
    shift
done

die() { echo "hot-functions: $*" >&2; exit 1; }
[[ $EUID -eq 0 ]] || die "run as root (it runs containers): sudo $0"
command -v valgrind >/dev/null || die "valgrind not found: apt-get install valgrind (a developer tool, scripts/setup.sh leaves it out)"
for tool in cc jq nm; do
    command -v "$tool" >/dev/null || die "$tool not found (scripts/setup.sh installs it)"
done
[[ -x "$berth" ]] || die "no berth binary at $berth: build it first (scripts/build.sh) or pass --berth PATH"
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || die "--runs takes a positive number, not '$runs'"
berth="$(readlink -f "$berth")"

tmp="$(mktemp -d /tmp/berth-hot.XXXXXX)"
id="hot-functions-$$"
cleanup() {
    "$berth" --root "$tmp/root" delete -f "$id" >/dev/null 2>&1 || true
    "$berth" --root "$tmp/root" delete -f "$id-exec" >/dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap cleanup EXIT

# The profiling shim: syscall(2)'s openat2 and clone3 for valgrind (see above).
cat >"$tmp/shim.c" <<'EOF'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <sys/syscall.h>
#include <unistd.h>

long syscall(long nr, ...) {
    va_list ap;
    long a[6];
    va_start(ap, nr);
    for (int i = 0; i < 6; i++) a[i] = va_arg(ap, long);
    va_end(ap);
    if (nr == SYS_openat2) {
        const struct open_how *how = (const struct open_how *)a[2];
        return openat((int)a[0], (const char *)a[1], (int)how->flags, (mode_t)how->mode);
    }
    if (nr == SYS_clone3) {
        errno = ENOSYS;
        return -1;
    }
    long (*real)(long, ...) = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
    return real(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}
EOF
cc -O2 -shared -fPIC -o "$tmp/shim.so" "$tmp/shim.c" -ldl || die "could not compile the profiling shim"

"$src/tests/lib/make-bundle.sh" "$tmp/bundle" true >/dev/null || die "could not make the busybox bundle"
# The init writes its profile after pivot_root: the profile dir is bind-mounted at the same path
# (a container with a bind mount, as podman's always have: /etc/hosts, resolv.conf). The rootfs
# stays read-only as `runc spec` makes it (bench/bench.sh's bundle), so its remount is profiled too.
mkdir -p "$tmp/profiles" "$tmp/bundle/rootfs$tmp/profiles"
jq --arg dir "$tmp/profiles" 'del(.process.rlimits) |
    .mounts += [{destination: $dir, type: "bind", source: $dir, options: ["rbind", "rw"]}]' \
    "$tmp/bundle/config.json" >"$tmp/config.json"
mv "$tmp/config.json" "$tmp/bundle/config.json"

for ((i = 1; i <= runs; i++)); do
    if ! (cd "$tmp/bundle" && LD_PRELOAD="$tmp/shim.so" valgrind --tool=callgrind --demangle=no \
        --dump-before=execve --callgrind-out-file="$tmp/profiles/run$i.%p" \
        --log-file="$tmp/valgrind.$i" "$berth" --root "$tmp/root" run -b "$tmp/bundle" "$id" \
        </dev/null >"$tmp/run.out" 2>&1); then
        cat "$tmp/run.out" >&2
        tail -n 15 "$tmp/valgrind.$i" >&2 || true
        die "berth run under valgrind failed (run $i; berth's output and valgrind's log above)"
    fi
done

# Then `exec` of /bin/true into a running container of the same bundle, profiled the same way:
# its profiles are numbered after the runs', so what only exec runs comes after run's functions.
id2="$id-exec"
jq --arg root "$tmp/bundle/rootfs" '.process.args = ["sleep", "600"] | .root.path = $root' \
    "$tmp/bundle/config.json" >"$tmp/exec-config.json"
mkdir -p "$tmp/bundle-exec"
mv "$tmp/exec-config.json" "$tmp/bundle-exec/config.json"
"$berth" --root "$tmp/root" run -d -b "$tmp/bundle-exec" "$id2" </dev/null >/dev/null 2>"$tmp/run-exec.err" ||
    { cat "$tmp/run-exec.err" >&2; die "could not start the container to profile exec in"; }
for ((i = 1; i <= runs; i++)); do
    n=$((runs + i))
    if ! LD_PRELOAD="$tmp/shim.so" valgrind --tool=callgrind --demangle=no --dump-before=execve \
        --callgrind-out-file="$tmp/profiles/run$n.%p" --log-file="$tmp/valgrind.$n" \
        "$berth" --root "$tmp/root" exec "$id2" /bin/true </dev/null >"$tmp/run.out" 2>&1; then
        cat "$tmp/run.out" >&2
        tail -n 15 "$tmp/valgrind.$n" >&2 || true
        die "berth exec under valgrind failed (exec $i; berth's output and valgrind's log above)"
    fi
done

# The profiles by run (the order within a run comes from callgrind's numbers, below): the
# parent's and the init's (pid 1 in its namespace), each dump of a process (NAME.1 before NAME).
mapfile -t profiles < <(ls "$tmp/profiles" | sort -t. -k1,1V -k2,2n -k3,3n | sed "s|^|$tmp/profiles/|")
[[ ${#profiles[@]} -gt 0 ]] || die "valgrind wrote no profile"
echo "hot-functions: ${#profiles[@]} profiles of $runs runs and $runs execs" >&2

# callgrind's compressed names: "fn=(ID) NAME" defines ID, "fn=(ID)" uses it (fn and cfn share
# one table, ob and cob another). ID is callgrind's number for the function, given when the
# function first ran (the forked init inherits the parent's numbering). Order: by run, the
# parent's functions (by ID: first-seen order), then those only the init ran (its files are
# pid 1's): measured, this packs `run`'s resident text ~64 KiB tighter than one ID order over
# both. A function counts when the current ob= is berth itself; "'N" is callgrind's
# recursion-depth suffix.
awk -v berth="$berth" '
    function parse(line, kind,    rest, name) {
        rest = substr(line, index(line, "=") + 1)
        lastId = 0
        if (rest ~ /^\([0-9]+\)/) {
            lastId = substr(rest, 2, index(rest, ")") - 2)
            name = substr(rest, index(rest, ")") + 1)
            sub(/^ /, "", name)
            if (name != "") names[kind, lastId] = name
            else name = names[kind, lastId]
        } else name = rest
        return name
    }
    FNR == 1 {
        split("", names)
        ob = ""; run = FILENAME; sub(/.*\/run/, "", run); sub(/\..*/, "", run)
        side = (FILENAME ~ /\/run[0-9]+\.1(\.[0-9]+)?$/) ? 1 : 0
    }
    /^c?ob=/ { n = parse($0, "ob"); if ($0 ~ /^ob=/) ob = n; next }
    /^cfn=/ { parse($0, "fn"); next }
    /^fn=/ {
        n = parse($0, "fn")
        sub(/'"'"'[0-9]+$/, "", n)
        if (ob == berth && n !~ /^0x/) printf "%d %d %d %s\n", run, side, lastId, n
    }' "${profiles[@]}" | sort -k1,1n -k2,2n -k3,3n -s | awk '!($4 in seen) { seen[$4] = 1; print $4 }' >"$tmp/called"

# Only names that are text symbols of berth (what lld can order).
nm --defined-only "$berth" | awk '$2 ~ /^[TtWw]$/ { print $3 }' | sort -u >"$tmp/symbols"
awk 'NR == FNR { sym[$0] = 1; next } $0 in sym' "$tmp/symbols" "$tmp/called" >"$tmp/list"
count="$(wc -l <"$tmp/list")"
((count > 100)) || die "only $count of berth's functions in the profiles: not a real run"
cp "$tmp/list" "$out"
echo "hot-functions: $count functions that run and exec execute, in $out"
