#!/usr/bin/env bash
# Runs every fuzz target (or those named) for N seconds each, J at a time,
# under `nice -n 19`, and reports executions, coverage and findings. The targets
# are optimised and keep debug assertions and overflow checks (an overflow that a
# release build would wrap silently is a finding), under AddressSanitizer.
#
#   fuzz/campaign.sh [--seconds N] [--jobs J] [--seed S] [--workdir DIR]
#                    [--targets "object tbd ..."] [--no-build]
#
# Everything it writes is under the work directory (default: a new one under
# $TMPDIR, named at the start): corpus/<target>/ (the inputs libFuzzer found
# interesting: run again with the same --workdir to resume from them; the
# committed fuzz/corpus/<target>/ is read as well but never written),
# logs/<target>.log, artifacts/<target>/, findings/<target>/ (every crash,
# timeout and out-of-memory input, copied for fuzz/regressions/) and
# report.txt (one line per target and run, appended).
#
# Needs nightly Rust and cargo-fuzz: run fuzz/setup.sh once.
set -euo pipefail
fuzz=$(cd "$(dirname "$0")" && pwd)
all="object archive tbd dylib state journal options macho_run_load"
seconds=3600 jobs=1 seed="" workdir="" targets="$all" build=1
while [ $# -gt 0 ]; do
    case "$1" in
        --seconds) seconds=$2; shift 2 ;;
        --jobs) jobs=$2; shift 2 ;;
        --seed) seed=$2; shift 2 ;;
        --workdir) workdir=$2; shift 2 ;;
        --targets) targets=$2; shift 2 ;;
        --no-build) build=0; shift ;;
        -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
        *) echo "unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
for t in $targets; do
    case " $all " in *" $t "*) ;; *) echo "no fuzz target $t (targets: $all)" >&2; exit 2 ;; esac
done
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "cargo-fuzz or nightly Rust is missing: run fuzz/setup.sh" >&2
    exit 1
fi
[ -n "$workdir" ] || workdir=$(mktemp -d "${TMPDIR:-/tmp}/machlink-fuzz.XXXXXX")
mkdir -p "$workdir"/{corpus,logs,artifacts,findings}
workdir=$(cd "$workdir" && pwd)
echo "campaign: targets [$targets], ${seconds}s each, $jobs at a time, work directory $workdir"
if [ $build = 1 ]; then
    (cd "$fuzz" && cargo +nightly fuzz build -O --debug-assertions >"$workdir/logs/build.log" 2>&1) || {
        echo "build failed: see $workdir/logs/build.log" >&2; exit 1; }
fi
bin_dir="$fuzz/target/$(rustc +nightly -vV | sed -n 's/^host: //p')/release"

run_one() {
    local t=$1
    mkdir -p "$workdir/corpus/$t" "$workdir/artifacts/$t" "$workdir/findings/$t"
    local log="$workdir/logs/$t.log"
    local args=(-max_total_time="$seconds" -rss_limit_mb=2048 -malloc_limit_mb=2048 -timeout=10
                -artifact_prefix="$workdir/artifacts/$t/" -print_final_stats=1)
    [ -n "$seed" ] && args+=(-seed="$seed")
    local started rc=0
    started=$(date +%s)
    # The scratch directory the entries make goes under this TMPDIR.
    mkdir -p "$workdir/tmp"
    TMPDIR="$workdir/tmp" nice -n 19 "$bin_dir/$t" "${args[@]}" "$workdir/corpus/$t" "$fuzz/corpus/$t" \
        >"$log" 2>&1 || rc=$?
    local found=0
    for f in "$workdir/artifacts/$t"/*; do
        [ -e "$f" ] || continue
        # New this run: not already kept by an earlier run of the same workdir.
        [ -e "$workdir/findings/$t/$(basename "$f")" ] && continue
        cp "$f" "$workdir/findings/$t/" && found=$((found + 1))
    done
    rm -rf "$workdir/tmp"/machlink-fuzz-* 2>/dev/null || true
    local execs cov ft
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    # libFuzzer's last status line: "#N  DONE  cov: C ft: F corp: ..."
    cov=$(grep -E '^#[0-9]+' "$log" | tail -1 | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
    ft=$(grep -E '^#[0-9]+' "$log" | tail -1 | sed -n 's/.*ft: \([0-9]*\).*/\1/p')
    printf '%s %-15s %6ss exit=%-3s execs=%-10s cov=%-6s ft=%-6s corpus=%-5s findings=%s\n' \
        "$(date -u +%FT%TZ)" "$t" "$(( $(date +%s) - started ))" "$rc" "${execs:-?}" "${cov:-?}" \
        "${ft:-?}" "$(ls "$workdir/corpus/$t" | wc -l)" "$found" >>"$workdir/report.txt"
    grep -E '^#[0-9]+' "$log" | tail -1 >>"$workdir/report.txt" || true
}

running=0
for t in $targets; do
    run_one "$t" &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then wait -n || true; running=$((running - 1)); fi
done
wait || true
echo "== report ($workdir/report.txt) =="
cat "$workdir/report.txt"
total=$(find "$workdir/findings" -type f | wc -l)
echo "findings: $total input(s) under $workdir/findings (all runs of this work directory)"
[ "$total" -eq 0 ]
