#!/usr/bin/env python3
"""Incremental relink benchmark: machlink -incremental against a full
ld64.lld-19 relink of the same objects.

Uses the generated program of bench/link_bench.py (default 200 objects x
500 functions = 100k functions; objects cached under target/bench/). One
object is recompiled in two edited versions:

  (a) in place: a constant in one function changes (same size);
  (b) growing:  one function gains ~40 statements (it outgrows its slot,
      moves, and its old slot becomes a trampoline).

For each kind, the object alternates between its original and the edited
version; every step is timed for machlink's incremental relink and for
ld64.lld-19's full relink of the same objects. For (b), the timed machlink
steps are the growing ones (original -> grown); the steps back (a shrink,
in place) are reported separately. After each kind, both outputs must print
the same checksum under macho-run, and `machlink verify` must pass.

usage: bench/incremental_bench.py [--objects N] [--functions M] [--runs R]
                                  [--arch x86_64|arm64] [--baseline REV|PATH]
--baseline times another machlink's incremental relinks in the same runs: a
git revision (built in a temporary git worktree, see bench/link_bench.py) or
the path of a machlink binary; both are reported.
Needs scripts/setup.sh and `cargo build --release --workspace` first.
"""
import os
import re
import shutil
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from link_bench import (  # noqa: E402
    MACHLINK, MACHO_RUN, bench_args, build_objects, compile_macos, link_cmd, timed)


def compile_variant(text, out, arch):
    tmp = out[:-2] + ".c"
    with open(tmp, "w") as f:
        f.write(text)
    compile_macos(tmp, out, arch)


def edits(source, obj_index, functions):
    """(in-place text, grown text) of one object's source."""
    name = f"f_{obj_index}_{functions // 2}"
    m = re.search(r"uint64_t %s\(uint64_t x, unsigned d\)\n\{\n    x = x \* (0x[0-9a-f]+)ULL" % name, source)
    if not m:
        sys.exit(f"cannot find {name} to edit")
    old = m.group(1)
    new = "0x%016x" % (int(old, 16) ^ 0x5555555555555555)
    in_place = source[:m.start(1)] + new + source[m.end(1):]
    body = "".join(f"    x ^= x >> {13 + i % 7}; x *= 0x{(0x9e3779b97f4a7c15 * (i + 1)) & (2**64 - 1):016x}ULL;\n"
                   for i in range(40))
    at = source.index("{\n", m.start()) + 2
    grown = source[:at] + body + source[at:]
    return in_place, grown


def checksum(exe):
    out = subprocess.run([MACHO_RUN, exe], capture_output=True, text=True, check=True).stdout
    return out.strip().splitlines()[-1]


def summary(runs):
    walls = [w * 1e3 for w, _ in runs]
    rss = max(r for _, r in runs) / 1024
    return statistics.median(walls), min(walls), max(walls), rss


def main():
    args = bench_args(__doc__)
    work, cached = build_objects(args.objects, args.functions, args.arch)
    inc = os.path.join(work, "incremental")
    shutil.rmtree(inc, ignore_errors=True)
    os.makedirs(inc)
    objs = []
    for o in cached:
        dst = os.path.join(inc, os.path.basename(o))
        shutil.copy(o, dst)
        objs.append(dst)
    k = args.objects // 2
    target = os.path.join(inc, f"obj_{k:04d}.o")
    with open(os.path.join(work, "src", f"obj_{k:04d}.c")) as f:
        source = f.read()
    in_place, grown = edits(source, k, args.functions)
    variants = {
        "original": os.path.join(inc, "v_original.o"),
        "in place": os.path.join(inc, "v_inplace.o"),
        "grown": os.path.join(inc, "v_grown.o"),
    }
    shutil.copy(target, variants["original"])
    compile_variant(in_place, variants["in place"], args.arch)
    compile_variant(grown, variants["grown"], args.arch)

    exe = os.path.join(inc, "prog-incremental")
    ref = os.path.join(inc, "prog-lld")
    machlink = link_cmd(MACHLINK, exe, objs, args.arch) + ["-incremental"]
    lld = link_cmd("ld64.lld-19", ref, objs, args.arch)
    full = timed(machlink)  # the first, full link with headroom
    print(f"full incremental-mode link by machlink: {full[0] * 1e3:.1f} ms, {full[1] / 1024:.1f} MiB")
    # --baseline: another machlink keeps its own output (and state) beside ours.
    base_exe = os.path.join(inc, "prog-baseline")
    baseline = (link_cmd(args.baseline, base_exe, objs, args.arch) + ["-incremental"]
                if args.baseline else None)
    if baseline:
        timed(baseline)

    results = {}
    for kind, variant in (("in place", variants["in place"]), ("grown", variants["grown"])):
        forward, back, reference, base = [], [], [], []
        for _ in range(args.runs):
            for step, source_obj in (("forward", variant), ("back", variants["original"])):
                shutil.copy(source_obj, target)
                t = timed(machlink)
                (forward if step == "forward" else back).append(t)
                if step == "forward":
                    reference.append(timed(lld))
                if baseline:
                    b = timed(baseline)
                    if step == "forward":
                        base.append(b)
        # The last step left the original object: check both outputs agree
        # after an edited state too.
        shutil.copy(variant, target)
        timed(machlink)
        timed(lld)
        a, b = checksum(exe), checksum(ref)
        if a != b:
            sys.exit(f"{kind}: incremental output differs from lld's: {a} vs {b}")
        subprocess.run([MACHLINK, "verify", exe], check=True, stdout=subprocess.DEVNULL)
        results[kind] = (forward, back, reference, a, base)
        shutil.copy(variants["original"], target)
        timed(machlink)
        if baseline:
            timed(baseline)

    v = subprocess.run(machlink + ["-v"], capture_output=True, text=True).stderr
    print(f"\n{args.arch}: {len(objs)} objects ({args.objects} x {args.functions} functions), "
          f"{args.runs} runs per step kind; outputs agree with ld64.lld-19")
    print(f"{'step':<40}{'median ms':>10}{'min':>8}{'max':>8}{'peak RSS MiB':>14}")
    for kind, (forward, back, reference, _, base) in results.items():
        rows = [(f"machlink -incremental ({kind} edit)", forward),
                (f"ld64.lld-19 full relink ({kind} edit)", reference)]
        if base:
            rows.insert(1, (f"baseline {args.baseline_label} ({kind} edit)", base))
        if kind == "grown":
            rows.insert(1, ("machlink -incremental (shrink back)", back))
        for label, runs in rows:
            med, lo, hi, rss = summary(runs)
            print(f"{label:<40}{med:>10.2f}{lo:>8.2f}{hi:>8.2f}{rss:>14.1f}")
        ratio = statistics.median(w for w, _ in reference) / statistics.median(w for w, _ in forward)
        print(f"  -> ld64.lld-19 takes {ratio:.1f}x as long as machlink's incremental relink ({kind})")
    print("\nlast -v line: " + next((line for line in v.splitlines() if "incremental:" in line), "?"))


if __name__ == "__main__":
    main()
