#!/usr/bin/env bash
# The one command that runs all of machlink's tests (README.md names it; .ci/run calls it).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/setup.sh
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings
cargo build --workspace --release --quiet
cargo test --workspace --release
