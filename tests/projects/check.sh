#!/usr/bin/env bash
# Builds every project natively and for macOS, runs each build's run.sh, and
# compares the macOS runs (under macho-run) with the native run byte for
# byte: stdout, stderr and exit status.
#
#   tests/projects/check.sh [PROJECT...]      (default: all four)
#
# macOS variants:
#   macos          linked by $MACHO_LINK (default: ld64.lld-19, chained fixups)
#   macos-classic  ld64.lld-19 -no_fixup_chains (only when MACHO_LINK is unset)
#   macos-slid     with CHECK_SLID=1: the macos build run again with
#                  MACHO_RUN_FORCE_SLIDE=1 (loaded away from its preferred address)
#   macos-lazy     with CHECK_LAZY=1: the macos-classic build run again with
#                  MACHO_RUN_LAZY=1 (lazy pointers bound on first call)
#   machlink, machlink-classic, machlink-lazy
#                  with CHECK_MACHLINK=1: linked by target/release/machlink
#                  (chained fixups, then -no_fixup_chains), from the same
#                  objects as the macos variant
#   machlink-slid  with CHECK_MACHLINK=1 and CHECK_SLID=1: the machlink
#                  build run with MACHO_RUN_FORCE_SLIDE=1
# TARGET_ARCH=arm64 builds and links every macOS variant for arm64 (see
# lib.sh); the native build is the same x86_64 gcc one.
# Output goes to $PROJECTS_OUT (default target/projects-out, and
# target/projects-out-arm64 for arm64)/<project>/<variant>/.
# Exits 0 when every variant of every project matches the native run.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
export TARGET_ARCH="${TARGET_ARCH:-x86_64}"
case "$TARGET_ARCH" in
    x86_64) out_root="${PROJECTS_OUT:-$root/target/projects-out}" ;;
    arm64) out_root="${PROJECTS_OUT:-$root/target/projects-out-arm64}" ;;
    *) echo "check.sh: TARGET_ARCH must be x86_64 or arm64, not '$TARGET_ARCH'" >&2; exit 2 ;;
esac
src_root="${PROJECTS_SRC:-$root/target/projects-src}"
projects=("$@")
[ ${#projects[@]} -eq 0 ] && projects=(zlib bzip2 lua sqlite)

declare -A package=([zlib]=zlib [bzip2]=bzip2 [lua]=lua5.4 [sqlite]=sqlite3)
lld="ld64.lld-19 -arch $TARGET_ARCH -platform_version macos 15.0 15.0 -syslibroot $root/.toolchain/sdk -lSystem"
variants=(macos)
declare -A link=([macos]="${MACHO_LINK:-$lld -o}")
if [ -z "${MACHO_LINK:-}" ]; then
    variants+=(macos-classic)
    link[macos-classic]="$lld -no_fixup_chains -o"
fi
# MACHO_RUN_BIN / MACHLINK_BIN: binaries to use instead of building
# target/release ones (the cargo test that runs this script passes its own).
if [ -z "${MACHO_RUN_BIN:-}" ]; then
    (cd "$root" && cargo build --release -q -p macho-run -p machlink-cli)
fi
runner="${MACHO_RUN_BIN:-$root/target/release/macho-run}"
machlink_bin="${MACHLINK_BIN:-$root/target/release/machlink}"
if [ "${CHECK_MACHLINK:-}" = 1 ]; then
    machlink="$machlink_bin -arch $TARGET_ARCH -platform_version macos 15.0 15.0 -syslibroot $root/.toolchain/sdk -lSystem"
    variants+=(machlink machlink-classic)
    link[machlink]="$machlink -o"
    link[machlink-classic]="$machlink -no_fixup_chains -o"
fi

"$here/fetch.sh"

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }

failed=0
# compare PROJECT LABEL BUILD_DIR RESULT: runs BUILD_DIR under macho-run into
# RESULT.{stdout,stderr,status} and compares with the native run.
compare() {
    local p="$1" label="$2" dir="$3" res="$4" t rc=0 same=1 f
    t=$(now)
    "$here/$p/run.sh" "$dir" "$runner" > "$res.stdout" 2> "$res.stderr" || rc=$?
    echo "$rc" > "$res.status"
    for f in stdout stderr status; do
        if ! cmp -s "$out/native.$f" "$res.$f"; then
            same=0
            echo "$p: $label $f differs from native:"
            diff "$out/native.$f" "$res.$f" | head -20 || true
        fi
    done
    if [ "$same" = 1 ]; then
        echo "$p: $label run $(since "$t"): same as native ($(wc -l < "$res.stdout") lines)"
    else
        failed=1
    fi
}

for p in "${projects[@]}"; do
    [ -n "${package[$p]:-}" ] || { echo "check.sh: unknown project $p" >&2; exit 2; }
    src="$(find -H "$src_root" -maxdepth 1 -type d -name "${package[$p]}-*" | head -1)"
    out="$out_root/$p"
    t=$(now)
    "$here/$p/build.sh" "$src" "$out/native" native
    echo "$p: native build $(since "$t")"
    t=$(now)
    rc=0
    "$here/$p/run.sh" "$out/native" > "$out/native.stdout" 2> "$out/native.stderr" || rc=$?
    echo "$rc" > "$out/native.status"
    echo "$p: native run $(since "$t"), exit $rc"
    for v in "${variants[@]}"; do
        # A variant starts from the first one's objects: only the link differs.
        if [ "$v" != "${variants[0]}" ]; then
            mkdir -p "$out/$v"
            cp -a "$out/${variants[0]}/." "$out/$v/"
        fi
        t=$(now)
        MACHO_LINK="${link[$v]}" "$here/$p/build.sh" "$src" "$out/$v" macos
        echo "$p: $v build $(since "$t") ($(find "$out/$v" -maxdepth 1 -name '*.o' | wc -l) objects)"
        compare "$p" "$v" "$out/$v" "$out/$v"
        if [ "$v" = macos ] && [ "${CHECK_SLID:-}" = 1 ]; then
            MACHO_RUN_FORCE_SLIDE=1 compare "$p" macos-slid "$out/$v" "$out/macos-slid"
        fi
        if [ "$v" = machlink ] && [ "${CHECK_SLID:-}" = 1 ]; then
            MACHO_RUN_FORCE_SLIDE=1 compare "$p" machlink-slid "$out/$v" "$out/machlink-slid"
        fi
        if [ "$v" = macos-classic ] && [ "${CHECK_LAZY:-}" = 1 ]; then
            MACHO_RUN_LAZY=1 compare "$p" macos-lazy "$out/$v" "$out/macos-lazy"
        fi
        if [ "$v" = machlink-classic ] && [ "${CHECK_LAZY:-}" = 1 ]; then
            MACHO_RUN_LAZY=1 compare "$p" machlink-lazy "$out/$v" "$out/machlink-lazy"
        fi
    done
done
exit "$failed"
