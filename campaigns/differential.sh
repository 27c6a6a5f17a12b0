#!/usr/bin/env bash
# The long differential run of issue #17: random incremental edit steps
# (crates/machlink-cli/tests/cli/incremental_random.rs) over a range of
# seeds, on x86_64 and arm64, chained fixups and -no_fixup_chains, C
# programs with and without a C++ object (zig's clang) and a Rust object
# (rustc). After every step the incremental output must run, plain and
# slid under macho-run, like a fresh link of the same objects, unwind like
# it, pass `machlink verify` and (arm64) its signature check; at the end of
# each seed the program must print what its native build prints. Any
# divergence is shrunk to a reproducer (see the ignored test's module,
# incremental_random/campaign.rs).
#
#   campaigns/differential.sh [--workdir DIR] [--seeds A-B|A,B,..] [--steps N]
#                             [--total-steps N] [--hours H] [--targets x86_64,arm64]
#                             [--jobs N] [--no-shrink] [--keep]
#
#   --workdir DIR     the campaign's directory (default: a new one under
#                     $TMPDIR). Everything the campaign writes goes there;
#                     run again with the same DIR to resume: the seeds it
#                     finished are skipped and the report covers all of them.
#   --seeds A-B       the seeds (default 1000-1999); a seed fixes its target,
#                     fixup format, languages and -dead_strip.
#   --steps N         edit steps per seed (default 50).
#   --total-steps N   start no seed once N steps are done (resumed ones count).
#   --hours H         stop at the first step after H hours.
#   --targets T       x86_64,arm64 (default) or one of them.
#   --jobs N          seeds at once (default 1); the campaign runs at nice 19.
#   --no-shrink       keep a failure's whole history instead of shrinking it.
#   --keep            keep every seed's scratch directory.
#
# The report (counts per target, format and languages, updates and full
# links with their reasons, time per step, divergences) is printed at the
# end and kept in DIR/report.txt; failing seeds' messages, edits and shrunk
# reproducers are in DIR/failures/. Exit status 1 if any seed diverged.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

usage() { sed -n '13,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }
workdir=""
targets="x86_64,arm64"
while [ $# -gt 0 ]; do
    case "$1" in
        --workdir) workdir="$2"; shift 2 ;;
        --seeds) export MACHLINK_CAMPAIGN_SEEDS="$2"; shift 2 ;;
        --steps) export MACHLINK_CAMPAIGN_STEPS="$2"; shift 2 ;;
        --total-steps) export MACHLINK_CAMPAIGN_TOTAL_STEPS="$2"; shift 2 ;;
        --hours) export MACHLINK_CAMPAIGN_HOURS="$2"; shift 2 ;;
        --targets) targets="$2"; shift 2 ;;
        --jobs) export MACHLINK_CAMPAIGN_JOBS="$2"; shift 2 ;;
        --no-shrink) export MACHLINK_CAMPAIGN_SHRINK=0; shift ;;
        --keep) export MACHLINK_CAMPAIGN_KEEP=1; shift ;;
        *) usage ;;
    esac
done
export MACHLINK_CAMPAIGN_TARGETS="$targets"

# The tools every step needs; scripts/setup.sh installs them.
missing() { echo "differential.sh: $1 is missing: run scripts/setup.sh first" >&2; exit 1; }
python3 -m ziglang version >/dev/null 2>&1 || missing "zig (python3 -m ziglang)"
command -v gcc >/dev/null || missing "gcc"
for arch in x86_64 arm64; do
    case ",$targets," in *",$arch,"*) ;; *) continue ;; esac
    [ -f ".toolchain/cxx/$arch/libc++.a" ] || missing "zig's libc++ for $arch (.toolchain/cxx/$arch)"
    triple=$([ "$arch" = arm64 ] && echo aarch64-apple-darwin || echo x86_64-apple-darwin)
    libdir=$(rustc --print target-libdir --target "$triple" 2>/dev/null) || missing "rustc"
    ls "$libdir"/libcore-* >/dev/null 2>&1 || missing "the Rust target $triple"
done
case ",$targets," in *",arm64,"*) command -v qemu-aarch64 >/dev/null || missing "qemu-aarch64" ;; esac

if [ -z "$workdir" ]; then
    workdir=$(mktemp -d "${TMPDIR:-/tmp}/machlink-differential.XXXXXX")
fi
mkdir -p "$workdir/tmp"
workdir=$(cd "$workdir" && pwd)
export MACHLINK_CAMPAIGN_DIR="$workdir"
echo "differential.sh: campaign directory $workdir" >&2

cargo build --release --workspace --quiet
case ",$targets," in
    *",arm64,"*) cargo build --release --quiet -p macho-run --target aarch64-unknown-linux-gnu ;;
esac
cargo test --release -p machlink-cli --test cli --no-run --quiet

# The compilers' temporaries and caches stay in the campaign's directory.
export TMPDIR="$workdir/tmp"
export ZIG_GLOBAL_CACHE_DIR="$workdir/zig-cache" ZIG_LOCAL_CACHE_DIR="$workdir/zig-cache"
status=0
nice -n 19 cargo test --release -p machlink-cli --test cli --quiet -- --ignored --exact \
    incremental_random::campaign::campaign --nocapture 2>&1 | tee -a "$workdir/campaign.log" \
    || status=$?
echo "differential.sh: report in $workdir/report.txt, failures in $workdir/failures/;" \
    "resume with: campaigns/differential.sh --workdir $workdir (and the same settings)" >&2
exit $status
