#!/usr/bin/env python3
"""Link-time benchmark: machlink against ld64.lld-19 on the same objects.

Generates the large program of tests/gen/genprog.py (default 200 objects x
500 functions = 100k functions), compiles it once for macOS with zig cc
(x86_64, or arm64 with --arch arm64; objects are cached under target/bench/),
then links it alternately with machlink and ld64.lld-19 (and ld64.lld-22, the
newest lld, when installed), RUNS times each, and prints the median and spread
of wall time, peak memory (max RSS of the linker process) and the ratios.
machlink's first -incremental link (from no output and no state: a full
link that also records the incremental state) is timed alongside, as
"machlink -incr", with its cost relative to a plain link.
All outputs are checked to run under macho-run with the same checksum (arm64
ones through macho-run's aarch64 build under qemu-aarch64).

usage: bench/link_bench.py [--objects N] [--functions M] [--runs R]
                           [--arch x86_64|arm64] [--baseline REV|PATH]
--baseline adds another machlink to the same alternating runs, for a
before/after comparison on one machine: a git revision (built here: a git
worktree of REV in a temporary directory, `cargo build --release -p
machlink-cli` with its own cached target directory, target/bench/baseline-target)
or the path of a machlink binary.
Needs scripts/setup.sh and `cargo build --release --workspace` first.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SDK = os.path.join(ROOT, ".toolchain", "sdk")
MACHLINK = os.path.join(ROOT, "target", "release", "machlink")
MACHO_RUN = os.path.join(ROOT, "target", "release", "macho-run")


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


# zig's target and the extra flags for each --arch. arm64 objects are built
# without fused multiply-add, as the tests build them (testkit::Target).
ZIG_TARGETS = {
    "x86_64": ["-target", "x86_64-macos"],
    "arm64": ["-target", "aarch64-macos", "-ffp-contract=off"],
}


def compile_macos(src, out, arch="x86_64", flags=()):
    """One generated source to a macOS object, as the benchmarks build them
    (`flags`: extra compiler flags)."""
    sh([sys.executable, "-m", "ziglang", "cc"] + ZIG_TARGETS[arch] + ["-O1", "-fcommon", "-w"]
       + list(flags) + ["-c", src, "-o", out])


def build_objects(objects, functions, arch="x86_64", flags=(), tag=""):
    """The generated program's objects, compiled once and cached; objects
    compiled with extra `flags` are cached apart, under a name with `tag`."""
    suffix = ("" if arch == "x86_64" else f"-{arch}") + (f"-{tag}" if tag else "")
    work = os.path.join(ROOT, "target", "bench", f"gen-{objects}x{functions}{suffix}")
    src = os.path.join(work, "src")
    stamp = os.path.join(work, "objects.done")
    objs_dir = os.path.join(work, "obj")
    if not os.path.exists(stamp):
        os.makedirs(objs_dir, exist_ok=True)
        sh([sys.executable, os.path.join(ROOT, "tests", "gen", "genprog.py"),
            "--objects", str(objects), "--functions", str(functions), "--out", src])
        sources = sorted(f for f in os.listdir(src) if f.endswith(".c"))
        print(f"compiling {len(sources)} sources for {arch} macOS (once; cached)...", flush=True)

        def compile_one(f):
            compile_macos(os.path.join(src, f), os.path.join(objs_dir, f[:-2] + ".o"), arch, flags)

        with ThreadPoolExecutor(os.cpu_count() or 2) as pool:
            list(pool.map(compile_one, sources))
        open(stamp, "w").close()
    objs = sorted(os.path.join(objs_dir, f) for f in os.listdir(objs_dir) if f.endswith(".o"))
    return work, objs


def bench_args(doc, more=None):
    """The benchmarks' shared command line (`more` adds a script's own
    options to the parser); also checks the binaries exist and builds the
    --baseline revision (args.baseline becomes its binary)."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--objects", type=int, default=200)
    ap.add_argument("--functions", type=int, default=500)
    ap.add_argument("--runs", type=int, default=11)
    ap.add_argument("--arch", choices=sorted(ZIG_TARGETS), default="x86_64",
                    help="the CPU the program is compiled and linked for (default x86_64)")
    ap.add_argument("--baseline", metavar="REV|PATH",
                    help="another machlink to time in the same runs (before/after): a git "
                         "revision to build, or a machlink binary")
    if more:
        more(ap)
    args = ap.parse_args()
    for tool in (MACHLINK, MACHO_RUN):
        if not os.path.exists(tool):
            sys.exit(f"{tool} missing: run `cargo build --release --workspace`")
    if args.baseline:
        args.baseline_label = args.baseline
        args.baseline = baseline_binary(args.baseline)
    return args


def baseline_binary(spec):
    """A machlink binary for --baseline: the path itself when it is a file,
    else machlink built at git revision `spec`."""
    if os.path.isfile(spec):
        return os.path.abspath(spec)
    rev = subprocess.run(["git", "-C", ROOT, "rev-parse", "--verify", "--quiet", spec + "^{commit}"],
                         capture_output=True, text=True)
    if rev.returncode != 0:
        sys.exit(f"--baseline {spec}: neither a file nor a git revision of {ROOT}")
    commit = rev.stdout.strip()
    out_dir = os.path.join(ROOT, "target", "bench", "baseline-bin")
    binary = os.path.join(out_dir, f"machlink-{commit[:12]}")
    if os.path.exists(binary):
        print(f"baseline {spec} ({commit[:12]}): {binary} (built before)")
        return binary
    os.makedirs(out_dir, exist_ok=True)
    # The target directory outlives the worktree, so that a second baseline
    # only rebuilds machlink's own crates, not every dependency.
    target_dir = os.path.join(ROOT, "target", "bench", "baseline-target")
    with tempfile.TemporaryDirectory(prefix="machlink-baseline-") as tmp:
        tree = os.path.join(tmp, "src")
        sh(["git", "-C", ROOT, "worktree", "add", "--detach", "--quiet", tree, commit])
        try:
            print(f"building machlink at {spec} ({commit[:12]}) in {tree}...", flush=True)
            sh(["cargo", "build", "--release", "--quiet", "-p", "machlink-cli"], cwd=tree,
               env=dict(os.environ, CARGO_TARGET_DIR=target_dir))
            shutil.copy(os.path.join(target_dir, "release", "machlink"), binary)
        finally:
            sh(["git", "-C", ROOT, "worktree", "remove", "--force", tree])
    return binary


# The row of machlink's first -incremental link (from no state).
FIRST_INCREMENTAL = "machlink -incr"


def link_cmd(linker, out, objs, arch="x86_64"):
    return [linker, "-arch", arch, "-platform_version", "macos", "15.0", "15.0",
            "-syslibroot", SDK, "-lSystem", "-o", out] + objs


def settle():
    """Untimed, before each timed run: writes back what earlier runs left
    dirty in the page cache. Otherwise a run pays for the previous linker's
    output (an fsync in ext4's ordered mode flushes every dirty file, and
    writeback competes for the 2 cores): a 29 MB lld output written just
    before made a 10 ms incremental update take 100 ms."""
    os.sync()


def timed(cmd):
    """Wall seconds and peak RSS (KiB) of one run."""
    settle()
    start = time.perf_counter()
    proc = subprocess.Popen(cmd)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if status != 0:
        sys.exit(f"failed: {' '.join(cmd[:3])} ... (status {status})")
    return wall, usage.ru_maxrss


def main():
    args = bench_args(__doc__)
    work, objs = build_objects(args.objects, args.functions, args.arch)
    linkers = {"machlink": MACHLINK, "ld64.lld-19": "ld64.lld-19"}
    if shutil.which("ld64.lld-22"):
        linkers["ld64.lld-22"] = "ld64.lld-22"
    else:
        print("ld64.lld-22 not found (scripts/setup.sh installs lld-22): comparing with lld 19 only")
    if args.baseline:
        linkers["baseline"] = args.baseline
    # The first -incremental link: a full link that also records the state
    # (issue #16 allows it 20% more than a plain link). Each run starts
    # from nothing: the output and its state are removed first, untimed.
    linkers[FIRST_INCREMENTAL] = MACHLINK
    results = {name: [] for name in linkers}
    outputs = {name: os.path.join(work, "prog-" + name.replace(" ", "_")) for name in linkers}

    def run(name, exe):
        cmd = link_cmd(exe, outputs[name], objs, args.arch)
        if name == FIRST_INCREMENTAL:
            for suffix in ("", ".machlink-state", ".machlink-image"):
                if os.path.exists(outputs[name] + suffix):
                    os.remove(outputs[name] + suffix)
            cmd.insert(1, "-incremental")
        return timed(cmd)

    for name, exe in linkers.items():  # warm the page cache
        run(name, exe)
    for _ in range(args.runs):
        for name, exe in linkers.items():
            results[name].append(run(name, exe))
    sums = {}
    for name in linkers:
        out = subprocess.run([MACHO_RUN, outputs[name]], capture_output=True, text=True, check=True).stdout
        sums[name] = out.strip().splitlines()[-1]
    if len(set(sums.values())) != 1:
        sys.exit(f"outputs differ: {sums}")
    print(f"\n{args.arch}: {len(objs)} objects ({args.objects} x {args.functions} functions), "
          f"{args.runs} runs each, "
          f"outputs agree ({sums['machlink']})")
    print(f"{'linker':<16}{'median ms':>10}{'min ms':>9}{'max ms':>9}{'peak RSS MiB':>14}")
    med = {}
    for name, runs in results.items():
        walls = [w * 1e3 for w, _ in runs]
        rss = max(r for _, r in runs) / 1024
        med[name] = statistics.median(walls)
        print(f"{name:<16}{med[name]:>10.1f}{min(walls):>9.1f}{max(walls):>9.1f}{rss:>14.1f}")
    rss = {name: max(r for _, r in runs) for name, runs in results.items()}
    print(f"\nfirst -incremental link / plain machlink link: "
          f"{med[FIRST_INCREMENTAL] / med['machlink']:.2f} (time), "
          f"{rss[FIRST_INCREMENTAL] / rss['machlink']:.2f} (peak memory)")
    for lld in ("ld64.lld-19", "ld64.lld-22"):
        if lld in rss:
            print(f"machlink / {lld} peak memory ratio: {rss['machlink'] / rss[lld]:.2f}")
    print(f"machlink / ld64.lld-19 median time ratio: {med['machlink'] / med['ld64.lld-19']:.2f} "
          f"(lld takes {med['ld64.lld-19'] / med['machlink']:.2f}x as long)")
    if "ld64.lld-22" in med:
        print(f"machlink / ld64.lld-22 median time ratio: {med['machlink'] / med['ld64.lld-22']:.2f} "
              f"(lld 22 takes {med['ld64.lld-22'] / med['machlink']:.2f}x as long)")
    if args.baseline:
        print(f"machlink / baseline ({args.baseline_label}) median time ratio: "
              f"{med['machlink'] / med['baseline']:.3f}")


if __name__ == "__main__":
    main()
