#!/usr/bin/env bash
# Installs what machlink's tests need, idempotently; silent when all is present.
#   - clang-19, lld-19 (ld64.lld-19, the reference linker), llvm-19 (objdump, readobj, dsymutil)
#   - lld-22 (ld64.lld-22, the newest lld, a second reference for the benchmarks)
#   - ziglang 0.17.0 from PyPI: `python3 -m ziglang cc -target x86_64-macos` compiles C for macOS
#   - the Rust standard library for x86_64-apple-darwin and aarch64-apple-darwin (rustup), for
#     the tests that link Rust programs for macOS, and for aarch64-unknown-linux-gnu, which
#     macho-run is also built for so that it runs arm64 Mach-O programs under qemu-aarch64, and on
#     x86_64 Linux for x86_64-unknown-linux-musl, which machlink-client (resident mode's client,
#     scripts/build-client.sh) is built for: static, it starts in a tenth of a glibc program's
#     time (rustc links it with the musl and start files it ships, through the host's cc)
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
    targets=(x86_64-apple-darwin aarch64-apple-darwin aarch64-unknown-linux-gnu)
    if [ "$(uname -s)-$(uname -m)" = Linux-x86_64 ]; then
        targets+=(x86_64-unknown-linux-musl)
    fi
    for target in "${targets[@]}"; do
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

# .toolchain/cxx/<arch>/libc++.a and libc++abi.a: zig's static libc++ and libc++abi for macOS,
# which machlink links into C++ programs (zig gives no libunwind for macOS: the _Unwind_* calls
# bind to macho-run's unwinder). zig builds both from its bundled sources when it links a C++
# program; --verbose-link names the archives in its cache, which are copied out. ReleaseFast is
# the mode `zig c++ -O1`/`-O2` objects are compiled in, so library and headers agree. The first
# derivation takes minutes per target; later runs only compare the zig version in the stamp.
zig_version="$(python3 -m ziglang version)"
for pair in x86_64:x86_64-macos arm64:aarch64-macos; do
    arch="${pair%%:*}" ztarget="${pair#*:}"
    cxx="$root/.toolchain/cxx/$arch"
    if [ -f "$cxx/libc++.a" ] && [ -f "$cxx/libc++abi.a" ] \
        && [ "$(cat "$cxx/zig-version" 2>/dev/null)" = "$zig_version" ]; then
        continue
    fi
    echo "setup.sh: building zig's libc++ and libc++abi for $ztarget (a few minutes)" >&2
    work="$(mktemp -d)"
    printf '#include <iostream>\nint main() { std::cout << 1 << std::endl; }\n' >"$work/probe.cpp"
    # In $work, where zig puts its local cache; the libraries land in zig's global one.
    if ! (cd "$work" && python3 -m ziglang build-exe -target "$ztarget" -O ReleaseFast -lc++ \
        probe.cpp -femit-bin=probe --verbose-link >log 2>&1); then
        echo "setup.sh: zig could not build libc++ for $ztarget:" >&2
        cat "$work/log" >&2
        exit 1
    fi
    mkdir -p "$cxx"
    for lib in libc++.a libc++abi.a; do
        path="$(tr ' ' '\n' <"$work/log" | grep -m1 "/$lib\$" || true)"
        if [ -z "$path" ] || [ ! -f "$path" ]; then
            echo "setup.sh: zig's link line for $ztarget names no $lib (zig $zig_version):" >&2
            cat "$work/log" >&2
            exit 1
        fi
        cp "$path" "$cxx/$lib.tmp" && mv "$cxx/$lib.tmp" "$cxx/$lib"
    done
    echo "$zig_version" >"$cxx/zig-version"
    rm -rf "$work"
done
