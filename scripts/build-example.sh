#!/usr/bin/env bash
# Rebuilds examples/hello-x86_64-macos from examples/hello.c (needs scripts/setup.sh).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
python3 -m ziglang cc -target x86_64-macos -O1 -c "$root/examples/hello.c" -o "$tmp/hello.o"
ld64.lld-19 -arch x86_64 -platform_version macos 15.0 15.0 -syslibroot "$root/.toolchain/sdk" \
    -lSystem -o "$root/examples/hello-x86_64-macos" "$tmp/hello.o"
