# Shared by the projects' build.sh and run.sh (sourced, not run).
#
# build.sh SRC_DIR OUT_DIR MODE
#   MODE native: gcc -O1, linked by gcc.
#   MODE macos:  python3 -m ziglang cc -target x86_64-macos -O1 -c, each .c to
#                OUT_DIR/<name>.o, linked by $MACHO_LINK OUTPUT OBJECTS...
#                With TARGET_ARCH=arm64: -target aarch64-macos -ffp-contract=off
#                (no fused multiply-add, so doubles round as in the native
#                x86_64 build the runs are compared with) and -arch arm64.
set -euo pipefail

projects_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$projects_dir/../.." && pwd)"

# TARGET_ARCH (x86_64 by default, or arm64): what the macos mode builds for.
TARGET_ARCH="${TARGET_ARCH:-x86_64}"
case "$TARGET_ARCH" in
    x86_64) macos_cc=(python3 -m ziglang cc -target x86_64-macos) ;;
    arm64) macos_cc=(python3 -m ziglang cc -target aarch64-macos -ffp-contract=off) ;;
    *) echo "TARGET_ARCH must be x86_64 or arm64, not '$TARGET_ARCH'" >&2; exit 2 ;;
esac

# Parses build.sh's arguments into SRC, OUT, MODE and prepares OUT.
build_args() {
    if [ $# -ne 3 ] || { [ "$3" != native ] && [ "$3" != macos ]; }; then
        echo "usage: $(basename "$0") SRC_DIR OUT_DIR native|macos" >&2
        exit 2
    fi
    SRC="$(cd "$1" && pwd)"
    mkdir -p "$2"
    OUT="$(cd "$2" && pwd)"
    MODE="$3"
    MACHO_LINK="${MACHO_LINK:-ld64.lld-19 -arch $TARGET_ARCH -platform_version macos 15.0 15.0 -syslibroot $repo_root/.toolchain/sdk -lSystem -o}"
}

# compile_all FLAGS... -- SOURCES...: each source to $OUT/<basename>.o, in
# parallel, with the compiler of $MODE, run in $OUT (so paths inside OUT can
# be given relative to it). An object newer than its source and made by the
# same command line (kept in $OUT/.cmd/) is not rebuilt: a second build of
# the same OUT_DIR, or of a copy of it, only relinks.
compile_all() {
    local flags=()
    while [ "$1" != -- ]; do flags+=("$1"); shift; done
    shift
    # -w: old-style C draws hundreds of warnings; code generation is unchanged.
    local cc=(gcc -O1 -w)
    [ "$MODE" = macos ] && cc=("${macos_cc[@]}" -O1 -w)
    mkdir -p "$OUT/.cmd"
    printf '%s\0' "$@" | xargs -0 -P "$(nproc)" -I{} \
        bash -c 'src="$1"; cd "$2"; shift 2
                 name="$(basename "${src%.c}")"; o="$name.o"; stamp=".cmd/$name"
                 cmd="$* $src"
                 if [ "$o" -nt "$src" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$cmd" ]; then exit 0; fi
                 "$@" -c "$src" -o "$o" || { echo "compile failed: $src" >&2; exit 255; }
                 printf "%s" "$cmd" > "$stamp"' \
        _ {} "$OUT" "${cc[@]}" "${flags[@]}"
}

# link EXE OBJECTS... [-- NATIVE_LIBS...]: native links with gcc (adding the
# libraries after --); macos runs $MACHO_LINK $OUT/EXE OBJECTS.
link() {
    local exe="$OUT/$1" objs=() libs=()
    shift
    while [ $# -gt 0 ] && [ "$1" != -- ]; do objs+=("$OUT/$1"); shift; done
    [ $# -gt 0 ] && shift && libs=("$@")
    if [ "$MODE" = native ]; then
        gcc -o "$exe" "${objs[@]}" "${libs[@]}"
    else
        # shellcheck disable=SC2086 # MACHO_LINK is a command line
        $MACHO_LINK "$exe" "${objs[@]}"
    fi
}

# run.sh OUT_DIR RUNNER: sets OUT and RUNNER (absolute), makes a fresh
# scratch directory $OUT/run and enters it, so programs are started as
# ../PROG in both modes (argv[0] is the same string native and macOS).
run_args() {
    if [ $# -lt 1 ] || [ $# -gt 2 ]; then
        echo "usage: $(basename "$0") OUT_DIR [RUNNER]" >&2
        exit 2
    fi
    OUT="$(cd "$1" && pwd)"
    RUNNER="${2:-}"
    if [ -n "$RUNNER" ] && [[ "$RUNNER" == */* ]]; then
        RUNNER="$(cd "$(dirname "$RUNNER")" && pwd)/$(basename "$RUNNER")"
    fi
    rm -rf "$OUT/run"
    mkdir "$OUT/run"
    cd "$OUT/run"
    STATUS=0
}

# prog NAME ARGS...: runs ../NAME under $RUNNER (if any).
prog() {
    local name="$1"
    shift
    if [ -n "$RUNNER" ]; then "$RUNNER" "../$name" "$@"; else "../$name" "$@"; fi
}

# step LABEL COMMAND...: runs a test step that should succeed and prints its
# exit code. expect CODE LABEL COMMAND...: the same for a step that should
# exit with CODE. The first unexpected exit code becomes $STATUS (what run.sh
# exits with), so a run that behaves as expected exits 0.
step() { expect 0 "$@"; }
expect() {
    local want="$1" label="$2" rc=0
    shift 2
    echo "== $label"
    "$@" || rc=$?
    echo "== $label: exit $rc"
    if [ "$rc" -ne "$want" ] && [ "$STATUS" -eq 0 ]; then
        echo "run.sh: step '$label' exited $rc, expected $want" >&2
        STATUS=$rc
        [ "$STATUS" -eq 0 ] && STATUS=1
    fi
    return 0
}
