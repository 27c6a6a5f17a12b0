#!/usr/bin/env bash
# Installs what machlink's tests need, idempotently; silent when all is present.
#   - clang-19, lld-19 (ld64.lld-19, the reference linker), llvm-19 (objdump, readobj, dsymutil)
#   - lld-22 (ld64.lld-22, the newest lld, a second reference for the benchmarks)
#   - ziglang 0.17.0 from PyPI: `python3 -m ziglang cc -target x86_64-macos` compiles C for macOS
#   - the Rust standard library for x86_64-apple-darwin (rustup), for the test that verifies
#     a Rust program for macOS
#   - .toolchain/sdk: a -syslibroot whose usr/lib/libSystem.tbd is zig's stub with the
#     arm64e.x1-* targets removed (ld64.lld-19 rejects them). Derived here, never vendored.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        echo "setup.sh: need root to run: $*" >&2; exit 1; fi
}

missing=()
for tool in clang-19 ld64.lld-19 llvm-objdump-19 llvm-readobj-19 dsymutil-19 llvm-dwarfdump-19 \
    llvm-nm-19 llvm-ar-19 llvm-lipo-19 ld64.lld-22; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup.sh: installing clang-19 lld-19 llvm-19 lld-22 (missing: ${missing[*]})" >&2
    as_root apt-get update -qq >/dev/null
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang-19 lld-19 llvm-19 lld-22 >/dev/null
fi

if [ "$(python3 -m ziglang version 2>/dev/null)" != "0.17.0" ]; then
    echo "setup.sh: installing ziglang==0.17.0" >&2
    python3 -m pip install -q --disable-pip-version-check ziglang==0.17.0 \
        || python3 -m pip install -q --disable-pip-version-check --break-system-packages ziglang==0.17.0
fi

if command -v rustup >/dev/null 2>&1 && ! rustup target list --installed | grep -qx x86_64-apple-darwin; then
    echo "setup.sh: adding the Rust target x86_64-apple-darwin" >&2
    rustup target add x86_64-apple-darwin >/dev/null
fi

zig_lib="$(python3 -c 'import ziglang, os; print(os.path.dirname(ziglang.__file__))')/lib"
src_tbd="$zig_lib/libc/darwin/libSystem.tbd"
sdk="$root/.toolchain/sdk"
dst_tbd="$sdk/usr/lib/libSystem.tbd"
if [ ! -f "$dst_tbd" ] || [ "$src_tbd" -nt "$dst_tbd" ]; then
    mkdir -p "$sdk/usr/lib"
    python3 "$root/scripts/filter_tbd.py" "$src_tbd" "$dst_tbd"
fi
