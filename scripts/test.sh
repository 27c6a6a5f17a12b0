#!/usr/bin/env bash
# The one command that runs all of machlink's tests (README.md names it; .ci/run calls it).
#
#   scripts/test.sh             everything (some tests need the network: see README.md)
#   scripts/test.sh --offline   everything but the tests that download sources
#
# Every step runs even when an earlier one fails (cargo test with
# --no-fail-fast runs every test binary); the script ends with the list of
# what failed and exits 1 if anything did.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

offline=""
for arg in "$@"; do
    case "$arg" in
        --offline) offline=1 ;;
        *) echo "usage: scripts/test.sh [--offline]" >&2; exit 2 ;;
    esac
done

failures=()
step() {
    local name="$1"
    shift
    echo "== $name" >&2
    "$@" || failures+=("$name")
}

# Setup installs the tools; without them every test would fail for the same
# reason, so a failed setup stops here.
if ! scripts/setup.sh; then
    echo "test.sh: scripts/setup.sh failed; the tests need what it installs" >&2
    exit 1
fi
step "cargo fmt --check" cargo fmt --all -- --check
step "cargo clippy" cargo clippy --workspace --all-targets --quiet -- -D warnings
# The aarch64 side of macho-run (its assembly, its variadic entry points)
# only compiles for aarch64.
step "cargo clippy (aarch64 macho-run)" cargo clippy -p macho-run --all-targets --quiet \
    --target aarch64-unknown-linux-gnu -- -D warnings
step "cargo build" cargo build --workspace --release --quiet
# machlink-client, static against musl on x86_64 Linux (a target of its own, so not in the
# workspace build above): the resident-mode tests (tests/cli/serve.rs) run it.
step "build machlink-client" scripts/build-client.sh --quiet
# macho-run runs arm64 programs through its aarch64 build under qemu-aarch64
# (crates/macho-run/tests/arm64.rs); it lives beside target/release.
step "cargo build (aarch64 macho-run)" \
    cargo build --release --quiet -p macho-run --target aarch64-unknown-linux-gnu
skip=()
if [ -n "$offline" ]; then
    # The tests that fetch Debian source packages (tests/projects/fetch.sh)
    # and the ones that download crates from crates.io (toolchains.rs,
    # crates_io.rs).
    # cargo matches these substrings anywhere in a test's full name, e.g.
    # projects::real_projects_... in machlink-cli's one test binary `cli`.
    skip=(-- --skip real_projects_ --skip fetch_ --skip cargo_project_ --skip crates_io_suites_)
    echo "test.sh: --offline: not running the tests that download sources" \
        "(real_projects_*, fetch_*, cargo_project_*, crates_io_suites_*)" >&2
fi
# cargo prints the failing test binaries at the end; the summary below
# names the failed steps.
step "cargo test" cargo test --workspace --release --no-fail-fast "${skip[@]}"
# macho-run's own unit tests on aarch64 (run under qemu-aarch64 by the
# runner in .cargo/config.toml): the traps, stubs and variadic entry points
# called the way Apple arm64 code calls them.
step "cargo test (aarch64 macho-run unit tests)" \
    cargo test --release -p macho-run --lib --target aarch64-unknown-linux-gnu

if [ ${#failures[@]} -gt 0 ]; then
    echo "test.sh: FAILED: ${failures[*]}" >&2
    exit 1
fi
echo "test.sh: all steps passed${offline:+ (offline: source-fetching tests not run)}" >&2
