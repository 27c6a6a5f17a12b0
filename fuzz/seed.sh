#!/usr/bin/env bash
# Builds seed inputs for every fuzz target from the repository's own
# inputs, into OUT (default: a fresh directory under $TMPDIR), laid out as
# OUT/<target>/<file>. The committed corpus (fuzz/corpus/) was made from
# these, minimised with `cargo +nightly fuzz cmin`.
#
#   fuzz/seed.sh [--out DIR] [--machlink PATH]
#
# Needs zig (python3 -m ziglang; scripts/setup.sh installs it), llvm-ar
# and a built machlink (default: target/release/machlink; build it with
# `cargo build -p machlink-cli --release`).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=""
machlink="$root/target/release/machlink"
while [ $# -gt 0 ]; do
    case "$1" in
        --out) out=$2; shift 2 ;;
        --machlink) machlink=$2; shift 2 ;;
        *) echo "usage: $0 [--out DIR] [--machlink PATH]" >&2; exit 2 ;;
    esac
done
[ -n "$out" ] || out=$(mktemp -d "${TMPDIR:-/tmp}/machlink-seeds.XXXXXX")
python3 -m ziglang version >/dev/null 2>&1 || { echo "zig missing: run scripts/setup.sh" >&2; exit 1; }
command -v llvm-ar >/dev/null || { echo "llvm-ar missing: run scripts/setup.sh" >&2; exit 1; }
[ -x "$machlink" ] || { echo "no machlink at $machlink: cargo build -p machlink-cli --release" >&2; exit 1; }
sdk="$root/.toolchain/sdk"
work="$out/work"
mkdir -p "$work"
for t in object archive tbd dylib state journal options macho_run_load; do mkdir -p "$out/$t"; done

# prefix SELECTOR FILE DEST: DEST is the selector byte, then FILE.
prefix() { { printf "\\x$(printf %02x "$1")"; cat "$2"; } > "$3"; }

programs="printf_fmt weak_defs globals_common tls_threads ctor_dtor fnptr_tables strings_const"
for arch in x86_64 arm64; do
    zt=$([ $arch = x86_64 ] && echo x86_64-macos || echo aarch64-macos)
    sel=$([ $arch = x86_64 ] && echo 0 || echo 1)
    # objs_P: every object of program P (the seed is its main.o).
    for p in $programs; do
        objs=""
        for c in "$root/tests/corpus/$p"/*.c; do
            o="$work/$p-$(basename "$c" .c)-$arch.o"
            python3 -m ziglang cc -target "$zt" -O1 -c "$c" -o "$o"
            objs="$objs $o"
        done
        eval "objs_$p=\"\$objs\""
        prefix $sel "$work/$p-main-$arch.o" "$out/object/$p-$arch"
    done
    # A plugin object for the dylib, one with DWARF unwind info.
    python3 -m ziglang cc -target "$zt" -O1 -fPIC -c "$root/tests/corpus/weak_shared/plugin.c" \
        -I"$root/tests/corpus/weak_shared" -o "$work/plugin-$arch.o"
    prefix $sel "$work/plugin-$arch.o" "$out/object/plugin-$arch"
    python3 -m ziglang cc -target "$zt" -O0 -g -c "$root/tests/corpus/setjmp_longjmp/main.c" -o "$work/dbg-$arch.o"
    prefix $sel "$work/dbg-$arch.o" "$out/object/debug-$arch"
    llvm-ar rcs "$work/lib-$arch.a" "$work/plugin-$arch.o" "$work/weak_defs-main-$arch.o"
    prefix $sel "$work/lib-$arch.a" "$out/archive/lib-$arch"
    llvm-ar rcS "$work/nosym-$arch.a" "$work/strings_const-main-$arch.o"
    prefix $sel "$work/nosym-$arch.a" "$out/archive/nosym-$arch"
    link=("$machlink" -arch $arch -platform_version macos 15.0 15.0 -syslibroot "$sdk" -lSystem)
    "${link[@]}" -dylib -install_name /usr/local/lib/libplugin.dylib -o "$work/libplugin-$arch.dylib" "$work/plugin-$arch.o"
    prefix $sel "$work/libplugin-$arch.dylib" "$out/dylib/libplugin-$arch"
    for fix in chained classic; do
        flag=$([ $fix = chained ] && echo -fixup_chains || echo -no_fixup_chains)
        for p in printf_fmt tls_threads fnptr_tables; do
            eval "objs=\$objs_$p"
            # shellcheck disable=SC2086
            "${link[@]}" $flag -o "$work/$p-$arch-$fix" $objs
            cp "$work/$p-$arch-$fix" "$out/macho_run_load/$p-$arch-$fix"
        done
        "${link[@]}" $flag -o "$work/plugged-$arch-$fix" "$work/printf_fmt-main-$arch.o" "$work/libplugin-$arch.dylib"
        cp "$work/plugged-$arch-$fix" "$out/macho_run_load/plugged-$arch-$fix"
        cp "$work/libplugin-$arch.dylib" "$out/macho_run_load/libplugin-$arch"
    done
    prefix $((sel | 2)) "$work/printf_fmt-$arch-chained" "$out/dylib/loader-$arch"

    # An incremental link and one update: its state, delta and journal.
    inc="$work/inc-$arch"
    mkdir -p "$inc"
    python3 -m ziglang cc -target "$zt" -O1 -c "$root/tests/corpus/qsort_bsearch/main.c" -o "$inc/a.o"
    "${link[@]}" -incremental -o "$inc/prog" "$inc/a.o"
    cp "$inc/prog.machlink-state" "$out/state/state-$arch"
    sed 's/return 0;/return 1;/' "$root/tests/corpus/qsort_bsearch/main.c" > "$inc/a.c"
    python3 -m ziglang cc -target "$zt" -O1 -c "$inc/a.c" -o "$inc/a.o"
    touch "$inc/a.o"
    "${link[@]}" -incremental -o "$inc/prog" "$inc/a.o"
    [ -f "$inc/prog.machlink-delta" ] && cp "$inc/prog.machlink-delta" "$out/state/delta-$arch"
    # The journal file less its 16-byte prefix (the mark and the length).
    [ -f "$inc/prog.machlink-journal" ] && tail -c +17 "$inc/prog.machlink-journal" > "$out/journal/journal-$arch"
done

# .tbd: the SDK's libSystem cut short (the fuzzer needs no 340 KB), and
# small stubs of each format. Selector bit 1: read as a library.
head -c 6000 "$sdk/usr/lib/libSystem.tbd" > "$work/libSystem-head.tbd"
for s in 0 3; do prefix $s "$work/libSystem-head.tbd" "$out/tbd/libSystem-head-$s"; done
cat > "$work/v3.tbd" <<'TBD'
--- !tapi-tbd-v3
archs:           [ x86_64, arm64 ]
platform:        macosx
install-name:    /usr/lib/libfoo.dylib
current-version: 1.2.3
exports:
  - archs:           [ x86_64, arm64 ]
    symbols:         [ _foo, '$ld$hide$os10.4$_bar', _baz ]
    weak-def-symbols: [ _weak ]
    objc-classes:    [ Klass ]
    thread-local-symbols: [ _tls ]
...
TBD
cat > "$work/v4.tbd" <<'TBD'
--- !tapi-tbd
tbd-version:     4
targets:         [ x86_64-macos, arm64-macos ]
install-name:    '/usr/lib/libbar.dylib'
reexported-libraries:
  - targets:     [ x86_64-macos, arm64-macos ]
    libraries:   [ '/usr/lib/libfoo.dylib' ]
exports:
  - targets:     [ x86_64-macos, arm64-macos ]
    symbols:     [ _a, _b, '$ld$previous$/usr/lib/libold.dylib$$1$10.0$11.0$_a$' ]
    objc-classes: [ C ]
    objc-ivars:  [ C.x ]
--- !tapi-tbd
tbd-version:     4
targets:         [ x86_64-macos, arm64-macos ]
install-name:    '/usr/lib/libfoo.dylib'
exports:
  - targets:     [ x86_64-macos, arm64-macos ]
    symbols:     [ _inner ]
...
TBD
cat > "$work/v5.tbd" <<'TBD'
{"tapi_tbd_version": 5, "main_library": {
  "target_info": [{"target": "x86_64-macos", "min_deployment": "10.13"}, {"target": "arm64-macos"}],
  "install_names": [{"name": "/usr/lib/libjson.dylib"}],
  "current_versions": [{"version": "2.1"}],
  "reexported_libraries": [{"names": ["/usr/lib/libfoo.dylib"]}],
  "exported_symbols": [{"data": {"global": ["_d"], "weak": ["_w"], "thread_local": ["_t"]},
                        "text": {"global": ["_f"], "objc_class": ["K"]}}]},
 "libraries": [{"target_info": [{"target": "x86_64-macos"}, {"target": "arm64-macos"}],
  "install_names": [{"name": "/usr/lib/libfoo.dylib"}],
  "exported_symbols": [{"text": {"global": ["_inner"]}}]}]}
TBD
for f in v3 v4 v5; do for s in 0 1 2 3; do prefix $s "$work/$f.tbd" "$out/tbd/$f-$s"; done; done

# Command lines (one argument a line), then NUL-separated response files.
printf -- '-arch\nx86_64\n-o\na.out\n@1\nmain.o\n\0-lSystem -dead_strip "-exported_symbol" _main\n@2\n\0-order_file\nx -sectcreate __A __b f -rpath @loader_path/..\n' > "$out/options/rsp"
printf -- '-arch\narm64\n-platform_version\nmacos\n15.0\n15.0\n-dylib\n-install_name\n@rpath/libx.dylib\n-current_version\n1.2.3\n-compatibility_version\n1\n-headerpad\n0x1000\n-pagezero_size\n0x1000\n-e\n_start\n-U\n_u\n-alias\n_a\n_b\n-incremental\nx.o\n' > "$out/options/many"
printf -- '@1\n\0@1 \x27quoted arg\x27 back\\ slash\n' > "$out/options/loop"
echo "seeds in $out"
for t in object archive tbd dylib state journal options macho_run_load; do
    printf '%-16s %3d files %8d bytes\n' "$t" "$(ls "$out/$t" | wc -l)" "$(cat "$out/$t"/* | wc -c)"
done
