#!/usr/bin/env bash
# Builds machlink-client, resident mode's fast-starting client (README.md, "Resident mode"), and
# prints its path. On x86_64 Linux it is static against musl (the Rust target
# x86_64-unknown-linux-musl, which scripts/setup.sh adds; rustc links it with its own musl and
# start files through the host's cc), so that it starts in under 0.1 ms instead of a glibc
# program's 0.5-0.7 ms; elsewhere it is a plain release build. Extra arguments go to cargo
# (e.g. --quiet).
#   scripts/build-client.sh [cargo build flags]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
target_dir="${CARGO_TARGET_DIR:-target}"
if [ "$(uname -s)-$(uname -m)" = Linux-x86_64 ]; then
    triple=x86_64-unknown-linux-musl
    if command -v rustup >/dev/null 2>&1 && ! rustup target list --installed | grep -qx "$triple"; then
        echo "build-client.sh: the Rust target $triple is not installed: run scripts/setup.sh" >&2
        exit 1
    fi
    cargo build --release -p machlink-client --target "$triple" "$@"
    echo "$target_dir/$triple/release/machlink-client"
else
    cargo build --release -p machlink-client "$@"
    echo "$target_dir/release/machlink-client"
fi
