#!/usr/bin/env python3
"""Incremental relink benchmark: machlink -incremental against a full
ld64.lld-19 (and ld64.lld-22, when installed) relink of the same objects.

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

Every machlink step runs with -v and -print_statistics: a step that fell
back to a full link stops the benchmark (its time is not an incremental
one), and the medians of the update's write phases are reported: how the
patches were written (in place, on a clone, on a copy), the clone or copy
of the output, the signature rehash, and the journal as a whole.

arm64 outputs are signed, so their updates are written on a clone or a copy
of the output. --output-dir puts the outputs (and their state) elsewhere,
e.g. on a filesystem with clones:
    truncate -s 2G /tmp/x/img && mkfs.xfs -q -m reflink=1 /tmp/x/img
    mkdir /tmp/x/mnt && mount -o loop /tmp/x/img /tmp/x/mnt   (as root)
--unsigned links with -no_adhoc_codesign (both linkers): the update is then
written in place. --no-eh-frame compiles the program with
-fno-asynchronous-unwind-tables (objects cached apart), so that it has
compact unwind only (clang emits __eh_frame for arm64 functions with stack
frames; updates of objects with __eh_frame came later than the first arm64
figures, which used this).

The same steps are then timed on a small program (--small-objects x
--small-functions, default 2 x 500 = 1k functions; --small-objects 0 skips
it), whose edited object is as large as the big program's: an update's cost
should follow the edit, not the program, and the ratio of the two medians
(issue #16 wants it under 1.5) is reported. For both programs a run where
nothing changed is timed too.

--serve sends machlink's steps to a resident machlink (`machlink --serve
SOCKET`, started by the script and stopped at its end; each step is a
client process with MACHLINK_SERVER=SOCKET that hands its command to it):
the client's wall time is what is timed, and the peak RSS column gives the
server's. The client is machlink-client, the small static client that
`scripts/build-client.sh` builds (the script stops, naming that command,
when it is not built); --client PATH times another, e.g.
target/release/machlink itself (a client that starts about 0.6 ms slower).

usage: bench/incremental_bench.py [--objects N] [--functions M] [--runs R]
                                  [--arch x86_64|arm64] [--baseline REV|PATH]
                                  [--output-dir DIR] [--unsigned] [--no-eh-frame]
                                  [--small-objects N] [--small-functions M]
                                  [--serve [--client PATH]]
--baseline times another machlink's incremental relinks in the same runs: a
git revision (built in a temporary git worktree, see bench/link_bench.py) or
the path of a machlink binary; both are reported.
Needs scripts/setup.sh and `cargo build --release --workspace` first.
"""
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from link_bench import (  # noqa: E402
    MACHLINK, MACHO_RUN, ROOT, bench_args, build_objects, compile_macos, link_cmd, settle, timed)

NO_EH_FRAME = ["-fno-asynchronous-unwind-tables"]
# The phases of an update's write, as -print_statistics names them.
WRITE_PHASES = ("rehash signature", "journal and patch", "write journal", "clone output",
                "copy output", "clear execute bits", "patch and sync", "rename and clean up")


def compile_variant(text, out, arch, flags):
    tmp = out[:-2] + ".c"
    with open(tmp, "w") as f:
        f.write(text)
    compile_macos(tmp, out, arch, flags)


def timed_update(cmd):
    """An incremental relink with -v -print_statistics: wall seconds, peak
    RSS (KiB), the write path and the write phases (ms). Exits if the step
    was not an incremental update."""
    settle()
    start = time.perf_counter()
    proc = subprocess.Popen(cmd + ["-v", "-print_statistics"], stderr=subprocess.PIPE, text=True,
                            env=machlink_env())
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if status != 0:
        sys.exit(f"failed: {' '.join(cmd[:3])} ...:\n{err}")
    line = next((ln for ln in err.splitlines() if "incremental:" in ln), "")
    m = re.search(r"written (in place|on a clone|on a copy)", line)
    if "updated" not in line or not m:
        sys.exit(f"not an incremental update, so no incremental time to report:\n{line or err}")
    phases = {}
    for ln in err.splitlines():
        pm = re.match(r"\s*(\S.*?)\s+([0-9.]+)\s+[0-9.]+%$", ln)
        if pm and pm.group(1) in WRITE_PHASES:
            phases[pm.group(1)] = float(pm.group(2))
    return wall, peak_rss(usage), m.group(1), phases


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
    walls = [r[0] * 1e3 for r in runs]
    rss = max(r[1] for r in runs) / 1024
    return statistics.median(walls), min(walls), max(walls), rss


def extra_args(ap):
    ap.add_argument("--output-dir", metavar="DIR",
                    help="where the outputs and machlink's state go (default: beside the objects)")
    ap.add_argument("--unsigned", action="store_true",
                    help="link with -no_adhoc_codesign (updates are written in place)")
    ap.add_argument("--no-eh-frame", action="store_true",
                    help="compile with -fno-asynchronous-unwind-tables (compact unwind only)")
    ap.add_argument("--small-objects", type=int, default=2,
                    help="objects of the small program timed beside (0: none; default 2)")
    ap.add_argument("--small-functions", type=int, default=500,
                    help="functions per object of the small program (default 500)")
    ap.add_argument("--serve", action="store_true",
                    help="send machlink's steps to a resident machlink (machlink --serve)")
    ap.add_argument("--client", metavar="PATH", default=default_client(),
                    help="with --serve: the client each step runs (default: machlink-client, "
                         "as scripts/build-client.sh builds it)")


def default_client():
    """Where scripts/build-client.sh puts machlink-client: static against
    musl on x86_64 Linux, a plain release build elsewhere."""
    if sys.platform.startswith("linux") and platform.machine() == "x86_64":
        return os.path.join(ROOT, "target", "x86_64-unknown-linux-musl", "release",
                            "machlink-client")
    return os.path.join(ROOT, "target", "release", "machlink-client")


# With --serve: the environment of machlink's steps (MACHLINK_SERVER) and
# the server process, whose peak RSS is reported instead of the client's.
SERVED = {"env": None, "server": None}


def machlink_env():
    return SERVED["env"]


def peak_rss(usage):
    """The peak RSS (KiB) to report for a machlink step: the client's, or
    with --serve the server's (VmHWM)."""
    server = SERVED["server"]
    if server is None:
        return usage.ru_maxrss
    with open(f"/proc/{server.pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def start_server(out_dir):
    """Starts `machlink --serve` on a socket in `out_dir`; returns it once
    it answers."""
    socket = os.path.join(out_dir, "machlink.sock")
    if os.path.exists(socket):
        os.remove(socket)  # a killed server's (ours, in our directory)
    server = subprocess.Popen([MACHLINK, "--serve", socket])
    for _ in range(500):
        if os.path.exists(socket):
            break
        time.sleep(0.01)
    else:
        server.kill()
        sys.exit(f"machlink --serve {socket} did not start")
    SERVED["env"] = dict(os.environ, MACHLINK_SERVER=socket)
    SERVED["server"] = server
    return server


def timed_nochange(cmd):
    """A run with nothing changed: wall seconds and peak RSS (KiB). Exits if
    machlink did anything else."""
    settle()
    start = time.perf_counter()
    proc = subprocess.Popen(cmd + ["-v"], stderr=subprocess.PIPE, text=True, env=machlink_env())
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if status != 0 or "nothing changed" not in err:
        sys.exit(f"expected a run with nothing changed:\n{err}")
    return wall, peak_rss(usage)


def measure(args, n_objects, n_functions):
    """Times one generated program's steps; prints its table and returns
    the medians (ms) of its machlink steps by label."""
    flags = NO_EH_FRAME if args.no_eh_frame else []
    work, cached = build_objects(n_objects, n_functions, args.arch, flags,
                                 "compact-unwind" if args.no_eh_frame else "")
    inc = os.path.join(work, "incremental")
    shutil.rmtree(inc, ignore_errors=True)
    os.makedirs(inc)
    objs = []
    for o in cached:
        dst = os.path.join(inc, os.path.basename(o))
        shutil.copy(o, dst)
        objs.append(dst)
    k = n_objects // 2
    target = os.path.join(inc, f"obj_{k:04d}.o")
    with open(os.path.join(work, "src", f"obj_{k:04d}.c")) as f:
        source = f.read()
    in_place, grown = edits(source, k, n_functions)
    variants = {
        "original": os.path.join(inc, "v_original.o"),
        "in place": os.path.join(inc, "v_inplace.o"),
        "grown": os.path.join(inc, "v_grown.o"),
    }
    shutil.copy(target, variants["original"])
    compile_variant(in_place, variants["in place"], args.arch, flags)
    compile_variant(grown, variants["grown"], args.arch, flags)

    out_dir = os.path.join(args.output_dir, os.path.basename(work)) if args.output_dir else inc
    os.makedirs(out_dir, exist_ok=True)
    for f in os.listdir(out_dir):
        if f.startswith("prog-"):
            os.remove(os.path.join(out_dir, f))
    sign = ["-no_adhoc_codesign"] if args.unsigned else []
    exe = os.path.join(out_dir, "prog-incremental")
    machlink = link_cmd(MACHLINK, exe, objs, args.arch) + sign + ["-incremental"]
    references = {}
    for lld in ("ld64.lld-19", "ld64.lld-22"):
        if shutil.which(lld):
            references[lld] = link_cmd(lld, os.path.join(out_dir, f"prog-{lld}"), objs,
                                       args.arch) + sign
        else:
            print(f"{lld} not found (scripts/setup.sh installs it): not compared")
    full = timed(machlink)  # the first, full link with headroom (in its own process)
    server = start_server(out_dir) if args.serve else None
    if server:
        machlink = [args.client] + machlink[1:]
    print(f"full incremental-mode link by machlink: {full[0] * 1e3:.1f} ms, {full[1] / 1024:.1f} MiB")
    # --baseline: another machlink keeps its own output (and state) beside ours.
    base_exe = os.path.join(out_dir, "prog-baseline")
    baseline = (link_cmd(args.baseline, base_exe, objs, args.arch) + sign + ["-incremental"]
                if args.baseline else None)
    if baseline:
        timed(baseline)

    results = {}
    for kind, variant in (("in place", variants["in place"]), ("grown", variants["grown"])):
        forward, back, base = [], [], []
        reference = {lld: [] for lld in references}
        for _ in range(args.runs):
            for step, source_obj in (("forward", variant), ("back", variants["original"])):
                shutil.copy(source_obj, target)
                t = timed_update(machlink)
                (forward if step == "forward" else back).append(t)
                # lld relinks after both steps, so each machlink step runs
                # after the same kind of run (the back step used to follow
                # lld's relinks and the forward step machlink's own, which
                # showed as a slower back step that was only the order).
                for lld, cmd in references.items():
                    reference[lld].append(timed(cmd))
                if baseline:
                    b = timed(baseline)
                    if step == "forward":
                        base.append(b)
        # The last step left the original object: check the outputs agree
        # after an edited state too.
        shutil.copy(variant, target)
        timed_update(machlink)
        sums = {"machlink": checksum(exe)}
        for lld, cmd in references.items():
            timed(cmd)
            sums[lld] = checksum(cmd[cmd.index("-o") + 1])
        if len(set(sums.values())) != 1:
            sys.exit(f"{kind}: the outputs differ: {sums}")
        subprocess.run([MACHLINK, "verify", exe], check=True, stdout=subprocess.DEVNULL)
        results[kind] = (forward, back, reference, base)
        shutil.copy(variants["original"], target)
        timed_update(machlink)
        if baseline:
            timed(baseline)
    # Nothing changed since the last step.
    nochange = [timed_nochange(machlink) for _ in range(args.runs)]
    if server:
        server.terminate()
        server.wait()
        SERVED.update(env=None, server=None)

    signed = "unsigned (-no_adhoc_codesign)" if args.unsigned else "as signed as the target's default"
    if args.serve:
        signed += (f"; machlink's steps served by a resident machlink (--serve; client "
                   f"{os.path.relpath(args.client, ROOT)}; RSS: the server's)")
    print(f"\n{args.arch}: {len(objs)} objects ({n_objects} x {n_functions} functions), "
          f"{args.runs} runs per step kind; outputs {signed} in {out_dir}; "
          f"outputs agree with {', '.join(references) or 'each other'}")
    print(f"{'step':<40}{'median ms':>10}{'min':>8}{'max':>8}{'peak RSS MiB':>14}")
    medians = {}
    med, lo, hi, rss = summary(nochange)
    medians["nothing changed"] = med
    print(f"{'machlink -incremental (nothing changed)':<40}{med:>10.2f}{lo:>8.2f}{hi:>8.2f}{rss:>14.1f}")
    for kind, (forward, back, reference, base) in results.items():
        rows = [(f"machlink -incremental ({kind} edit)", forward)]
        if kind == "grown":
            rows.append(("machlink -incremental (shrink back)", back))
        if base:
            rows.append((f"baseline {args.baseline_label} ({kind} edit)", base))
        rows += [(f"{lld} full relink ({kind} edit)", runs) for lld, runs in reference.items()]
        for label, runs in rows:
            med, lo, hi, rss = summary(runs)
            medians[label] = med
            print(f"{label:<40}{med:>10.2f}{lo:>8.2f}{hi:>8.2f}{rss:>14.1f}")
        paths = sorted({r[2] for r in forward})
        phase_meds = {p: statistics.median(r[3].get(p, 0.0) for r in forward)
                      for p in WRITE_PHASES if any(p in r[3] for r in forward)}
        total = statistics.median(r[0] * 1e3 for r in forward)
        print(f"  write path: {', '.join(paths)}; median phase ms (share of the median relink): "
              + "; ".join(f"{p} {ms:.2f} ({100 * ms / total:.0f}%)" for p, ms in phase_meds.items()))
        mine = statistics.median(r[0] for r in forward)
        for lld, runs in reference.items():
            ratio = statistics.median(r[0] for r in runs) / mine
            print(f"  -> {lld} takes {ratio:.1f}x as long as machlink's incremental relink ({kind})")
    return medians


def main():
    args = bench_args(__doc__, extra_args)
    if args.serve and not os.path.isfile(args.client):
        sys.exit(f"{args.client} is not built: run scripts/build-client.sh "
                 "(--serve times it as the client; --client PATH names another)")
    args.client = os.path.abspath(args.client)
    large = measure(args, args.objects, args.functions)
    if args.small_objects <= 0:
        return
    small = measure(args, args.small_objects, args.small_functions)
    print(f"\nthe same steps at {args.objects * args.functions} functions and at "
          f"{args.small_objects * args.small_functions} (issue #16 wants the ratio under 1.5):")
    for label, med in large.items():
        if label.startswith("machlink") or label == "nothing changed":
            if label in small and small[label] > 0:
                print(f"  {label:<40} {med:8.2f} ms / {small[label]:8.2f} ms = {med / small[label]:.2f}")


if __name__ == "__main__":
    main()
