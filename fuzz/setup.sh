#!/usr/bin/env bash
# Installs what the fuzz targets need and the project's own setup does not:
# nightly Rust and cargo-fuzz. Safe to run again (installed = no-op).
set -euo pipefail
CARGO_FUZZ_VERSION=0.13.2
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
if ! cargo fuzz --version 2>/dev/null | grep -q " $CARGO_FUZZ_VERSION\$"; then
    cargo install cargo-fuzz --locked --version "$CARGO_FUZZ_VERSION"
fi
cargo +nightly fuzz --version
