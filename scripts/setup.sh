#!/usr/bin/env bash
# Installs what machlink's tests need, idempotently; silent when all is present.
#   - clang-19, lld-19 (ld64.lld-19, the reference linker), llvm-19 (objdump, readobj, dsymutil)
#   - lld-22 (ld64.lld-22, the newest lld, a second reference for the benchmarks)
#   - ziglang 0.17.0 from PyPI: `python3 -m ziglang cc -target x86_64-macos` compiles C for macOS
#   - the Rust standard library for x86_64-apple-darwin and aarch64-apple-darwin (rustup), for
#     the tests that link Rust programs for macOS, and for aarch64-unknown-linux-gnu, which
#     macho-run is also built for so that it runs arm64 Mach-O programs under qemu-aarch64
#   - xfsprogs (mkfs.xfs): the test of updates written on a clone mounts a small XFS made
#     with reflinks from a loop file (as root)
#   - qemu-user (qemu-aarch64), gcc-aarch64-linux-gnu, libc6-arm64-cross and
#     libc6-dev-arm64-cross: the aarch64 Linux toolchain and emulator macho-run's arm64 side needs
#   - .toolchain/sdk: a -syslibroot whose usr/lib/libSystem.tbd is zig's stub with the
#     arm64e.x1-* targets removed (ld64.lld-19 rejects them). Derived here, never vendored.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

# as_root, apt_get
source "$root/scripts/apt.sh"

missing=()
for tool in clang-19 ld64.lld-19 llvm-objdump-19 llvm-readobj-19 dsymutil-19 llvm-dwarfdump-19 \
    llvm-nm-19 llvm-ar-19 llvm-lipo-19 ld64.lld-22 qemu-aarch64 aarch64-linux-gnu-gcc mkfs.xfs; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
    packages=(clang-19 lld-19 llvm-19 lld-22 qemu-user gcc-aarch64-linux-gnu libc6-arm64-cross
        libc6-dev-arm64-cross xfsprogs)
    echo "setup.sh: installing ${packages[*]} (missing: ${missing[*]})" >&2
    apt_get update -qq
    apt_get install -y -qq "${packages[@]}"
fi
if [ ! -e /usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1 ]; then
    echo "setup.sh: /usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1 is missing after installing" \
        "libc6-arm64-cross" >&2
    exit 1
fi

if [ "$(python3 -m ziglang version 2>/dev/null)" != "0.17.0" ]; then
    echo "setup.sh: installing ziglang==0.17.0" >&2
    python3 -m pip install -q --disable-pip-version-check ziglang==0.17.0 \
        || python3 -m pip install -q --disable-pip-version-check --break-system-packages ziglang==0.17.0
fi

if command -v rustup >/dev/null 2>&1; then
    installed="$(rustup target list --installed)"
    for target in x86_64-apple-darwin aarch64-apple-darwin aarch64-unknown-linux-gnu; do
        if ! grep -qx "$target" <<<"$installed"; then
            echo "setup.sh: adding the Rust target $target" >&2
            rustup target add "$target" >/dev/null
        fi
    done
fi

zig_lib="$(python3 -c 'import ziglang, os; print(os.path.dirname(ziglang.__file__))')/lib"
src_tbd="$zig_lib/libc/darwin/libSystem.tbd"
sdk="$root/.toolchain/sdk"
dst_tbd="$sdk/usr/lib/libSystem.tbd"
if [ ! -f "$dst_tbd" ] || [ "$src_tbd" -nt "$dst_tbd" ]; then
    mkdir -p "$sdk/usr/lib"
    python3 "$root/scripts/filter_tbd.py" "$src_tbd" "$dst_tbd"
fi
