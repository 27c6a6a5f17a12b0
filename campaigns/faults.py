#!/usr/bin/env python3
"""Crash and fault campaign for machlink's links and updates (issue #17).

DESIGN.md invariant 6: an update (or a link) interrupted at any point -- a
crash, kill -9, a full disk, a read-only directory, another run at the same
time -- leaves the old binary, the new one, or a file that cannot be
executed; never a runnable mix, never no output where there was one; and
the next run repairs or completes the update.

What it does, on a program made by tests/gen/genprog.py (one object of it
edited into several versions: a constant changed in place, a function
grown so that it moves behind a trampoline), for each flavour (x86_64
unsigned, x86_64 -adhoc_codesign, arm64, which is always signed):

* kills: `kill -9` at a random moment of a run (uniform over the run's
  measured duration, or for half of them over its last third, where the
  files are written) of four kinds: an incremental update, a first
  -incremental link from nothing, an -incremental link that must relink in
  full over an existing output (changed options), and a plain link over an
  existing output; a share of the updates stop at machlink's named crash
  points instead (MACHLINK_TEST_CRASH). After each kill the output is
  classified (old / new / non-executable / not Mach-O / missing / TORN /
  LOST), then machlink runs again undisturbed and must give a correct,
  verified binary (byte-identical to an undisturbed run's, or running like
  the native build of the same C and passing `machlink verify`);
* enospc: a private tmpfs filled so that only N bytes are free, N swept
  from 0 to what the run needs (with points just under the journal's size:
  the journal write is what fails), for updates, full -incremental links
  and plain links: each run must succeed or fail cleanly (exit 1, the old
  output as it was), and the run after space is freed must succeed;
* readonly: the tmpfs remounted read-only (root is refused too) under an
  update, a full link, a plain link and an update with a journal pending
  from a crash; then read-write again and the next run must recover;
* concurrent: two runs started together on one output (update + update,
  update + plain link, update + full link with other options, plain +
  plain): each ends in success or a clean error, and the output is a
  correct binary.

Everything happens in one scratch directory (--workdir, or a new one under
$TMPDIR); the tmpfs is mounted inside it. Each failing case is copied with
its inputs to WORKDIR/failures/<case>/ (case.json says how to repeat it).
The scratch directory is removed at the end unless a case failed or
--keep is given. Progress goes to WORKDIR/progress.jsonl: running again
with the same --workdir resumes after the last case recorded (same seed and
sizes). Needs root for the tmpfs (enospc, readonly); --skip-root-cases
leaves those out.

Example (what the README gives):
    nice -n 19 python3 campaigns/faults.py --kills 1000 --seed 1
    python3 campaigns/faults.py --kills 30 --enospc-points 4 --concurrent 4   # quick
"""

import argparse
import hashlib
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SETUP = "scripts/setup.sh"
CRASH_POINTS = ["journal", "after-journal", "delta", "before-patch", "mid-patch", "after-patch"]
MACOS = "15.0"
VERSIONS = 4
BASE_TIME = 1_700_000_000

# Outcomes that fail the campaign.
BAD = {"TORN", "LOST", "UNRECOVERED", "UNCLEAN", "WRONG", "SETUP-FAILED"}


def die(msg):
    print(f"faults.py: {msg}", file=sys.stderr)
    sys.exit(2)


def need_tool(path, what):
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        die(f"{what} not found at {path}: build it (`cargo build --release -p machlink-cli "
            f"-p macho-run` and `cargo build --release -p macho-run --target "
            f"aarch64-unknown-linux-gnu`) and run `{SETUP}` for the toolchain")


class Tools:
    def __init__(self, args):
        self.machlink = os.path.abspath(args.machlink)
        self.macho_run = os.path.abspath(args.macho_run)
        self.sdk = os.path.abspath(args.sdk)
        need_tool(self.machlink, "machlink")
        need_tool(self.macho_run, "macho-run")
        if not os.path.isfile(os.path.join(self.sdk, "usr/lib/libSystem.tbd")):
            die(f"{self.sdk} has no usr/lib/libSystem.tbd: run `{SETUP}` first")
        r = subprocess.run([sys.executable, "-m", "ziglang", "version"], capture_output=True)
        if r.returncode != 0:
            die(f"zig is not installed (python3 -m ziglang failed): run `{SETUP}` first")
        if shutil.which("gcc") is None:
            die("gcc is not installed (the native oracle): run `scripts/apt.sh` or "
                f"`{SETUP}` first")


# ---------------------------------------------------------------- program

def edit_source(src, k):
    """Version k of an object's C source: k=0 as generated; otherwise one
    function's constant changed (same size: an in-place update), and for
    even k that function grown too (it moves behind a trampoline)."""
    if k == 0:
        return src
    lines = src.split("\n")
    pat = re.compile(r"^    x = x \* (0x[0-9a-f]+ULL) \+ (\d+)u;$")
    idx = [i for i, l in enumerate(lines) if pat.match(l)]
    i = idx[k % len(idx)]
    m = pat.match(lines[i])
    lines[i] = f"    x = x * {m.group(1)} + {(int(m.group(2)) + 7919 * k) % 4000000000}u;"
    if k % 2 == 0:
        grow = [f"    x ^= x >> {7 + j % 23}; x *= 0x9e3779b97f4a7c{j:02x}ULL;"
                for j in range(8 + 4 * k)]
        lines[i + 1:i + 1] = grow
    return "\n".join(lines)


class Program:
    """The generated program, compiled for one target: a directory of
    objects the links read (`live`), with the edited object's versions
    swapped in under one name and one modification time per version."""

    def __init__(self, work, arch, objects, functions, seed):
        self.arch = arch
        self.dir = os.path.join(work, "prog", arch)
        src = os.path.join(work, "prog", "src")
        self.live = os.path.join(self.dir, "live")
        os.makedirs(self.live, exist_ok=True)
        if not os.path.isfile(os.path.join(src, "main.c")):
            subprocess.run([sys.executable, os.path.join(ROOT, "tests/gen/genprog.py"),
                            "--objects", str(objects), "--functions", str(functions),
                            "--seed", str(seed), "--depth", "2", "--out", src], check=True)
        self.names = ["main"] + [f"obj_{o:04d}" for o in range(objects)]
        self.edited = "obj_0001" if objects > 1 else "obj_0000"
        zig_target = {"x86_64": "x86_64-macos", "arm64": "aarch64-macos"}[arch]
        def cc(c, o):
            if not os.path.isfile(o):
                subprocess.run([sys.executable, "-m", "ziglang", "cc", "-target", zig_target,
                                "-O1", "-ffp-contract=off", "-c", c, "-o", o + ".tmp"],
                               check=True)
                os.rename(o + ".tmp", o)
        for n in self.names:
            if n != self.edited:
                cc(os.path.join(src, n + ".c"), os.path.join(self.live, n + ".o"))
        base = open(os.path.join(src, self.edited + ".c")).read()
        for k in range(VERSIONS):
            c = os.path.join(src, f"{self.edited}_v{k}.c")
            if not os.path.isfile(c):
                open(c, "w").write(edit_source(base, k))
            cc(c, os.path.join(self.dir, f"{self.edited}_v{k}.o"))
        self.expected = []
        for k in range(VERSIONS):
            exe = os.path.join(work, "prog", f"native_v{k}")
            if not os.path.isfile(exe):
                cs = [os.path.join(src, n + ".c") for n in self.names if n != self.edited]
                cs.append(os.path.join(src, f"{self.edited}_v{k}.c"))
                subprocess.run(["gcc", "-O1", "-fcommon", "-o", exe] + cs, check=True)
            self.expected.append(subprocess.run([exe], capture_output=True, check=True).stdout)
        assert len(set(self.expected)) == VERSIONS, "the versions must behave differently"
        self.version = None

    def objs(self):
        return [os.path.join(self.live, n + ".o") for n in self.names]

    def set(self, k):
        """Puts version k of the edited object in place, with its own time."""
        dst = os.path.join(self.live, self.edited + ".o")
        tmp = dst + ".tmp"
        shutil.copyfile(os.path.join(self.dir, f"{self.edited}_v{k}.o"), tmp)
        t = (BASE_TIME + k) * 10**9
        os.utime(tmp, ns=(t, t))
        os.rename(tmp, dst)
        self.version = k


class Flavour:
    def __init__(self, name, prog, extra):
        self.name, self.prog, self.extra = name, prog, extra


def is_macho(data):
    return data[:4] in (b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe")


# ---------------------------------------------------------------- runs

class Campaign:
    def __init__(self, args, tools, work):
        self.args, self.tools, self.work = args, tools, work
        self.counts = {}          # section -> flavour/mode -> outcome -> n
        self.failures = []
        self.refs = {}            # key -> (bytes, duration)
        self.known_good = {}      # sha256 -> version
        self.durations = {}
        self.case_no = 0
        self.progress = os.path.join(work, "progress.jsonl")
        self.done = {}
        if os.path.isfile(self.progress):
            for line in open(self.progress):
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue  # a line cut short by a kill of this script
                self.done[rec["case"]] = rec
        self.deadline = time.time() + args.hours * 3600 if args.hours else None

    # -- bookkeeping

    def count(self, section, key, outcome, n=1):
        d = self.counts.setdefault(section, {}).setdefault(key, {})
        d[outcome] = d.get(outcome, 0) + n

    def next_case(self, section):
        """The next case's id and random generator, or None when it was
        recorded by an earlier run of the campaign (its counts are taken
        from the record)."""
        self.case_no += 1
        cid = f"{section}-{self.case_no:06d}"
        if cid in self.done:
            rec = self.done[cid]
            for key, outcome in rec["outcomes"]:
                self.count(section, key, outcome)
            if rec.get("failed"):
                self.failures.append(rec["failed"])
            return cid, None
        return cid, random.Random(f"{self.args.seed}:{cid}")

    def record(self, cid, outcomes, failed=None):
        with open(self.progress, "a") as f:
            f.write(json.dumps({"case": cid, "outcomes": outcomes, "failed": failed}) + "\n")

    def keep_failure(self, cid, case_dir, info):
        dst = os.path.join(self.work, "failures", cid)
        if os.path.exists(dst):
            shutil.rmtree(dst)
        os.makedirs(dst)
        if os.path.isdir(case_dir):
            shutil.copytree(case_dir, os.path.join(dst, "case"), symlinks=True)
        prog = info.get("prog")
        if prog:
            shutil.copytree(prog.live, os.path.join(dst, "inputs"))
            info = dict(info, prog=prog.dir)
        json.dump(info, open(os.path.join(dst, "case.json"), "w"), indent=1, default=str)
        msg = f"{cid}: {info.get('why')} (kept in {dst})"
        print("FAIL " + msg, flush=True)
        self.failures.append(msg)
        return msg

    # -- machlink

    def command(self, fl, out, mode, extra=()):
        t = self.tools
        cmd = [t.machlink, "-arch", fl.prog.arch, "-platform_version", "macos", MACOS, MACOS,
               "-syslibroot", t.sdk, "-lSystem", "-o", out, "-v"]
        if mode != "plain":
            cmd.append("-incremental")
        return cmd + list(fl.extra) + list(extra) + fl.prog.objs()

    def run(self, cmd, env=None, cwd=None):
        e = dict(os.environ)
        e.pop("MACHLINK_SERVER", None)
        if env:
            e.update(env)
        t = time.perf_counter()
        r = subprocess.run(cmd, capture_output=True, env=e, cwd=cwd)
        return r, time.perf_counter() - t

    def link(self, fl, out, mode, extra=()):
        r, dt = self.run(self.command(fl, out, mode, extra))
        if r.returncode != 0:
            raise RuntimeError(f"link failed: {' '.join(self.command(fl, out, mode, extra))}: "
                               f"{r.stderr.decode(errors='replace')}")
        return dt

    def behaves(self, out, k):
        """Whether `out` runs like the native build of version k and passes
        `machlink verify`; known-good bytes are not run again."""
        data = open(out, "rb").read()
        h = hashlib.sha256(data).hexdigest()
        if self.known_good.get(h) == k:
            return True
        r = subprocess.run([self.tools.macho_run, out], capture_output=True, timeout=120)
        fl_prog = None
        if r.returncode != 0:
            return False
        for prog in self.progs:
            if prog.arch == self.arch_of(data):
                fl_prog = prog
        if fl_prog is None or r.stdout != fl_prog.expected[k]:
            return False
        v = subprocess.run([self.tools.machlink, "verify", out], capture_output=True, timeout=120)
        if v.returncode != 0:
            return False
        self.known_good[h] = k
        return True

    @staticmethod
    def arch_of(data):
        cpu = int.from_bytes(data[4:8], "little")
        return {0x01000007: "x86_64", 0x0100000C: "arm64"}.get(cpu)

    def fresh_dir(self, name):
        d = os.path.join(self.work, "cases", name)
        if os.path.lexists(d):
            shutil.rmtree(d)
        os.makedirs(d)
        return d

    def prepare(self, fl, mode, a, d):
        """Puts the case's starting point in `d`: for an update, an
        -incremental link of version a; for a full or plain link, an
        output of version a to replace; for a first link, nothing."""
        out = os.path.join(d, "prog")
        prog = fl.prog
        if mode in ("update", "full"):
            prog.set(a)
            self.link(fl, out, "incremental")
        elif mode == "plain":
            prog.set(a)
            self.link(fl, out, "plain")
        return out

    def mode_extra(self, mode):
        # A full relink with the state beside the output: other options.
        return ["-headerpad", "0x1000"] if mode == "full" else []

    def reference(self, fl, mode, a, b):
        """What the case's run writes when undisturbed, and how long it
        takes (made twice, in two directories, to be sure it is the same)."""
        key = (fl.name, mode, a if mode in ("update", "plain", "full") else None, b)
        if key in self.refs:
            return self.refs[key]
        got = []
        for i in range(2):
            d = self.fresh_dir(f"ref{i}")
            out = self.prepare(fl, mode, a, d)
            fl.prog.set(b)
            dt = self.link(fl, out, mode, self.mode_extra(mode))
            got.append((open(out, "rb").read(), dt))
        data = got[0][0] if got[0][0] == got[1][0] else None
        if data is not None and not self.behaves(os.path.join(self.work, "cases", "ref1", "prog"), b):
            raise RuntimeError(f"{key}: the undisturbed run's output does not run like the "
                               "native build")
        self.refs[key] = (data, min(got[0][1], got[1][1]))
        return self.refs[key]

    # -- kills

    def kills(self):
        modes = ["update", "update", "first", "full", "plain"]
        killed = 0
        attempts = 0
        while killed < self.args.kills and attempts < self.args.kills * 4:
            if self.deadline and time.time() > self.deadline:
                print("faults.py: --hours reached", flush=True)
                break
            attempts += 1
            cid, rnd = self.next_case("kill")
            if rnd is None:
                rec = self.done[cid]
                killed += rec.get("killed", 0)
                continue
            fl = self.flavours[rnd.randrange(len(self.flavours))]
            mode = modes[rnd.randrange(len(modes))]
            a = rnd.randrange(VERSIONS)
            b = (a + 1 + rnd.randrange(VERSIONS - 1)) % VERSIONS
            point = None
            if mode == "update" and rnd.random() < self.args.point_share:
                point = CRASH_POINTS[rnd.randrange(len(CRASH_POINTS))]
            # Uniform over the run (a little past its end, for kills that
            # come too late), or, for --late-share of them, over its last
            # third, where a link writes its files.
            if rnd.random() < self.args.late_share:
                delay_frac = rnd.uniform(0.66, 1.05)
            else:
                delay_frac = rnd.uniform(0.0, 1.15)
            key = f"{fl.name}/{mode}" + ("@point" if point else "")
            try:
                outcome, recovered, was_killed, info = self.one_kill(fl, mode, a, b, point,
                                                                     delay_frac)
            except (RuntimeError, subprocess.SubprocessError, OSError) as e:
                outcome, recovered, was_killed, info = "SETUP-FAILED", "-", False, {"why": str(e)}
            if point is None and not was_killed:
                outcome = "finished-before-kill"
            killed += 1 if was_killed or point else 0
            outcomes = [[key, outcome], [key, "recovery:" + recovered]]
            outcomes += [[key, "stray:" + n] for n in info.get("stray", [])]
            for k_, o_ in outcomes:
                self.count("kill", k_, o_)
            failed = None
            if outcome in BAD or recovered in BAD:
                info.update(case=cid, seed=self.args.seed, flavour=fl.name, mode=mode,
                            from_version=a, to_version=b, crash_point=point,
                            delay_fraction=delay_frac, outcome=outcome, recovery=recovered,
                            prog=fl.prog)
                info.setdefault("why", f"{outcome}, recovery {recovered}")
                failed = self.keep_failure(cid, os.path.join(self.work, "cases", "k"), info)
            rec_killed = 1 if was_killed or point else 0
            with open(self.progress, "a") as f:
                f.write(json.dumps({"case": cid, "outcomes": outcomes, "failed": failed,
                                    "killed": rec_killed}) + "\n")
            if self.args.verbose:
                print(f"{cid} {key} v{a}->v{b} {outcome} {recovered}", flush=True)
            elif killed and killed % 100 == 0 and rec_killed:
                print(f"faults.py: {killed} kills", flush=True)
        self.total_kills = killed

    def one_kill(self, fl, mode, a, b, point, delay_frac):
        ref, dur = self.reference(fl, mode, a, b)
        full_ref = None
        if mode == "update":
            # What a full link (a journal discarded) gives instead.
            full_ref = self.reference(fl, "first", None, b)[0]
        d = self.fresh_dir("k")
        out = self.prepare(fl, mode, a, d)
        old = open(out, "rb").read() if os.path.exists(out) else None
        fl.prog.set(b)
        cmd = self.command(fl, out, mode, self.mode_extra(mode))
        env = dict(os.environ)
        env.pop("MACHLINK_SERVER", None)
        err = open(os.path.join(d, "killed-run.stderr"), "wb")
        if point:
            env["MACHLINK_TEST_CRASH"] = point
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, env=env)
        if not point:
            time.sleep(dur * delay_frac)
            try:
                os.kill(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        rc = p.wait()
        err.close()
        was_killed = rc == -signal.SIGKILL
        outcome = self.classify(out, old, [ref, full_ref], b)
        info = {"returncode": rc}
        # The next run, undisturbed.
        r, _ = self.run(cmd)
        open(os.path.join(d, "recovery.stderr"), "wb").write(r.stderr)
        if r.returncode != 0 or not os.path.isfile(out):
            recovered = "UNRECOVERED"
            info["why"] = f"the run after the kill failed: {r.stderr.decode(errors='replace')}"
        else:
            data = open(out, "rb").read()
            if data == ref or data == full_ref:
                recovered = "identical"
            elif self.behaves(out, b):
                recovered = "equivalent"
            else:
                recovered = "UNRECOVERED"
                info["why"] = "the run after the kill wrote a wrong binary"
        # Files a killed run left that the next one did not clean up
        # (information, not a failure: nothing runs or reads them).
        kept = {"prog", "killed-run.stderr", "recovery.stderr"} | {
            f"prog.machlink-{n}" for n in ("state", "delta", "lock", "image", "journal")}
        stray = sorted({re.sub(r"\d+", "N", n) for n in os.listdir(d) if n not in kept})
        info["stray"] = stray
        return outcome, recovered, was_killed, info

    def classify(self, out, old, news, k):
        if not os.path.lexists(out):
            return "missing" if old is None else "LOST"
        st = os.lstat(out)
        if not os.path.isfile(out) or os.path.islink(out):
            return "TORN"
        data = open(out, "rb").read()
        if old is not None and data == old:
            return "old"
        if any(n is not None and data == n for n in news):
            return "new"
        if st.st_mode & 0o111 == 0:
            return "non-executable"
        if not is_macho(data):
            return "not-mach-o"
        return "new-equivalent" if self.behaves(out, k) else "TORN"

    # -- tmpfs

    def mount(self, size):
        disk = os.path.join(self.work, "disk")
        os.makedirs(disk, exist_ok=True)
        if os.path.ismount(disk):
            subprocess.run(["umount", disk], check=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", disk],
                       check=True)
        self.mounted = disk
        return disk

    def unmount(self):
        if getattr(self, "mounted", None) and os.path.ismount(self.mounted):
            subprocess.run(["umount", "-l", self.mounted])
        self.mounted = None

    @staticmethod
    def remount(disk, how):
        """Remounts the tmpfs rw or ro. A read-only remount fails (EBUSY)
        while any file on it is open for writing or deleted but still open:
        the process a link hands its exit's cleanup to (see
        crates/machlink-cli/src/detached_exit.rs) holds the replaced output
        open for a moment after the link's own exit, so wait for it."""
        start = time.monotonic()
        deadline = start + 20
        while True:
            r = subprocess.run(["mount", "-o", f"remount,{how}", disk],
                               capture_output=True, text=True)
            if r.returncode == 0:
                if time.monotonic() - start > 0.04:
                    print(f"remount {how}: busy for {time.monotonic() - start:.2f} s",
                          file=sys.stderr)
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"cannot remount {disk} {how}: {r.stderr.strip()}")
            time.sleep(0.05)

    @staticmethod
    def free(disk):
        s = os.statvfs(disk)
        return s.f_bavail * s.f_frsize

    def fill(self, disk, leave):
        """A filler file that leaves `leave` bytes free (page granular)."""
        filler = os.path.join(disk, "filler")
        with open(filler, "ab") as f:
            chunk = 1 << 20
            while True:
                room = self.free(disk) - leave
                if room <= 0:
                    break
                try:
                    f.write(b"\xa5" * min(chunk, room))
                    f.flush()
                except OSError:
                    break
        return filler

    def clear(self, disk):
        for n in os.listdir(disk):
            p = os.path.join(disk, n)
            if os.path.isdir(p) and not os.path.islink(p):
                shutil.rmtree(p)
            else:
                os.remove(p)

    # -- full disks

    def enospc(self):
        modes = ["update", "full", "plain", "first"]
        for fl in self.flavours:
            for mode in modes:
                a, b = (0, 2) if mode != "first" else (None, 2)
                ref, _ = self.reference(fl, mode, a, b)
                # What the run needs: sizes of the files it writes, with
                # the journal's own size for a point just under it.
                d = self.fresh_dir("measure")
                out = self.prepare(fl, mode, a, d)
                fl.prog.set(b)
                self.link(fl, out, mode, self.mode_extra(mode))
                sizes = {n: os.path.getsize(os.path.join(d, n)) for n in os.listdir(d)}
                need = sum(sizes.values()) + 2 * sizes.get("prog", 0) + (1 << 20)
                journal = sizes.get("prog.machlink-journal", 0)
                page = 4096
                points = sorted({0, page, max(0, journal - page), journal // 2, journal,
                                 journal + page} | {need * i // self.args.enospc_points
                                                    for i in range(self.args.enospc_points + 1)})
                disk_size = need + (8 << 20)
                disk = self.mount(disk_size)
                try:
                    for leave in points:
                        self.one_enospc(fl, mode, a, b, ref, disk, leave)
                finally:
                    self.unmount()

    def one_enospc(self, fl, mode, a, b, ref, disk, leave):
        cid, rnd = self.next_case("enospc")
        if rnd is None:
            return
        key = f"{fl.name}/{mode}"
        self.clear(disk)
        d = os.path.join(disk, "out")
        os.makedirs(d)
        out = self.prepare(fl, mode, a, d)
        old = open(out, "rb").read() if os.path.exists(out) else None
        fl.prog.set(b)
        filler = self.fill(disk, leave)
        cmd = self.command(fl, out, mode, self.mode_extra(mode))
        r, _ = self.run(cmd)
        stderr = r.stderr.decode(errors="replace")
        info = {"free_bytes": leave, "stderr": stderr, "returncode": r.returncode}
        if r.returncode == 0:
            outcome = "succeeded" if open(out, "rb").read() == ref or self.behaves(out, b) \
                else "WRONG"
        elif r.returncode == 1 and "No space left" in stderr:
            now = open(out, "rb").read() if os.path.exists(out) else None
            if now != old:
                outcome = "UNCLEAN"
                info["why"] = "a failed run changed the output"
            elif journal_pending(out) and mode != "update":
                outcome = "UNCLEAN"
                info["why"] = "a failed full link left a journal"
            else:
                outcome = "failed-cleanly:" + failed_at(stderr)
        else:
            outcome = "UNCLEAN"
            info["why"] = f"exit {r.returncode} without saying the disk is full: {stderr}"
        os.remove(filler)
        r2, _ = self.run(cmd)
        if r2.returncode == 0 and (open(out, "rb").read() == ref or self.behaves(out, b)):
            recovered = "recovered"
        else:
            recovered = "UNRECOVERED"
            info["why"] = "the run after space was freed: " + r2.stderr.decode(errors="replace")
        outcomes = [[key, outcome], [key, recovered]]
        for k_, o_ in outcomes:
            self.count("enospc", k_, o_)
        failed = None
        if outcome in BAD or recovered in BAD:
            info.update(case=cid, flavour=fl.name, mode=mode, prog=fl.prog)
            failed = self.keep_failure(cid, d, info)
        self.record(cid, outcomes, failed)

    # -- read-only directory

    def readonly(self):
        cases = ["update", "full", "plain", "first", "pending-journal"]
        for fl in self.flavours:
            disk = self.mount("64m")
            try:
                for case in cases:
                    self.one_readonly(fl, case, disk)
            finally:
                self.unmount()

    def one_readonly(self, fl, case, disk):
        cid, rnd = self.next_case("readonly")
        if rnd is None:
            return
        mode = "update" if case == "pending-journal" else case
        a, b = 0, 2
        key = f"{fl.name}/{case}"
        self.remount(disk, "rw")
        self.clear(disk)
        d = os.path.join(disk, "out")
        os.makedirs(d)
        out = os.path.join(d, "prog")
        info = {}
        if case == "first":
            # The directory exists, holds nothing, and cannot be written.
            pass
        else:
            out = self.prepare(fl, mode, a, d)
        fl.prog.set(b)
        cmd = self.command(fl, out, mode, self.mode_extra(mode))
        if case == "pending-journal":
            # A crash after the first patch: a non-executable, half-patched
            # output (or, signed, a copy not renamed) and a journal.
            env = {"MACHLINK_TEST_CRASH": "mid-patch"}
            r, _ = self.run(cmd, env=env)
        old = open(out, "rb").read() if os.path.exists(out) else None
        self.remount(disk, "ro")
        r, _ = self.run(cmd)
        stderr = r.stderr.decode(errors="replace")
        info.update(stderr=stderr, returncode=r.returncode)
        now = open(out, "rb").read() if os.path.exists(out) else None
        if r.returncode == 1 and now == old and "Read-only file system" in stderr:
            outcome = "failed-cleanly"
        elif r.returncode == 0 and case == "pending-journal":
            outcome = "UNCLEAN"  # cannot have finished on a read-only disk
            info["why"] = "succeeded on a read-only filesystem"
        else:
            outcome = "UNCLEAN"
            info["why"] = f"exit {r.returncode}, output changed: {now != old}: {stderr}"
        self.remount(disk, "rw")
        r2, _ = self.run(cmd)
        ref = self.reference(fl, mode, a, b)[0]
        if r2.returncode == 0 and (open(out, "rb").read() == ref or self.behaves(out, b)):
            recovered = "recovered"
        else:
            recovered = "UNRECOVERED"
            info["why"] = "the run after remounting read-write: " + \
                r2.stderr.decode(errors="replace")
        outcomes = [[key, outcome], [key, recovered]]
        for k_, o_ in outcomes:
            self.count("readonly", k_, o_)
        failed = None
        if outcome in BAD or recovered in BAD:
            info.update(case=cid, flavour=fl.name, prog=fl.prog)
            failed = self.keep_failure(cid, d, info)
        self.record(cid, outcomes, failed)

    # -- two runs at once

    def concurrent(self):
        pairs = [("update", "update"), ("update", "plain"), ("update", "full"),
                 ("plain", "plain")]
        for i in range(self.args.concurrent):
            cid, rnd = self.next_case("concurrent")
            if rnd is None:
                continue
            fl = self.flavours[rnd.randrange(len(self.flavours))]
            first, second = pairs[i % len(pairs)]
            a = rnd.randrange(VERSIONS)
            b = (a + 1 + rnd.randrange(VERSIONS - 1)) % VERSIONS
            key = f"{fl.name}/{first}+{second}"
            _, dur = self.reference(fl, "update", a, b)
            stagger = rnd.uniform(0, dur)
            d = self.fresh_dir("c")
            out = self.prepare(fl, "update", a, d)
            fl.prog.set(b)
            cmds = [self.command(fl, out, m, self.mode_extra(m)) for m in (first, second)]
            env = dict(os.environ)
            env.pop("MACHLINK_SERVER", None)
            errs = [open(os.path.join(d, f"run{j}.stderr"), "wb") for j in (0, 1)]
            p0 = subprocess.Popen(cmds[0], stdout=subprocess.DEVNULL, stderr=errs[0], env=env)
            time.sleep(stagger if rnd.random() < 0.5 else 0)
            p1 = subprocess.Popen(cmds[1], stdout=subprocess.DEVNULL, stderr=errs[1], env=env)
            rcs = [p0.wait(), p1.wait()]
            for e in errs:
                e.close()
            stderrs = [open(os.path.join(d, f"run{j}.stderr"), errors="replace").read()
                       for j in (0, 1)]
            info = {"returncodes": rcs, "stderr": stderrs}
            clean = all(rc == 0 or (rc == 1 and ("was replaced" in s or "lock" in s))
                        for rc, s in zip(rcs, stderrs))
            if not clean:
                outcome = "UNCLEAN"
                info["why"] = f"a run failed: {rcs} {stderrs}"
            elif not os.path.isfile(out) or not self.behaves(out, b):
                outcome = "TORN"
                info["why"] = "the output after both runs is not a correct binary"
            else:
                outcome = "both-succeeded" if rcs == [0, 0] else "one-failed-cleanly"
            r, _ = self.run(self.command(fl, out, "update"))
            if r.returncode == 0 and self.behaves(out, b):
                recovered = "next-run-ok"
            else:
                recovered = "UNRECOVERED"
                info["why"] = "the next run: " + r.stderr.decode(errors="replace")
            outcomes = [[key, outcome], [key, recovered]]
            for k_, o_ in outcomes:
                self.count("concurrent", k_, o_)
            failed = None
            if outcome in BAD or recovered in BAD:
                info.update(case=cid, flavour=fl.name, pair=[first, second], stagger=stagger,
                            prog=fl.prog)
                failed = self.keep_failure(cid, d, info)
            self.record(cid, outcomes, failed)


def journal_pending(out):
    try:
        return not open(out + ".machlink-journal", "rb").read(8).startswith(b"MLJRDONE")
    except OSError:
        return False


def failed_at(stderr):
    for what, name in [("journal", "journal"), ("delta", "delta"), ("copy the output", "copy"),
                       ("incremental state", "state"), ("lock", "lock"), ("output", "output")]:
        if what in stderr:
            return name
    return "other"


def report(c, elapsed):
    print()
    print("=" * 72)
    print(f"machlink fault campaign: seed {c.args.seed}, {elapsed:.0f} s, workdir {c.work}")
    for section in ["kill", "enospc", "readonly", "concurrent"]:
        rows = c.counts.get(section)
        if not rows:
            continue
        total = {}
        print(f"\n[{section}]")
        for key in sorted(rows):
            parts = ", ".join(f"{o} {n}" for o, n in sorted(rows[key].items()))
            print(f"  {key:34} {parts}")
            for o, n in rows[key].items():
                total[o] = total.get(o, 0) + n
        print("  " + "-" * 34)
        print(f"  {'total':34} " + ", ".join(f"{o} {n}" for o, n in sorted(total.items())))
    if c.refs:
        print("\nundisturbed run times (ms; the kills are spread over these):")
        times = {}
        for (fl, mode, _, _), (_, dt) in c.refs.items():
            times.setdefault(f"{fl}/{mode}", []).append(dt * 1e3)
        for k in sorted(times):
            v = sorted(times[k])
            print(f"  {k:34} {v[len(v) // 2]:.1f} (min {v[0]:.1f}, max {v[-1]:.1f})")
    if "kill" in c.counts:
        print("(stray:NAME counts a file a killed run left that the next one kept; "
              "information, not a failure)")
        print(f"\nkills (SIGKILL landed, or a crash point fired): {getattr(c, 'total_kills', 0)}")
    bad = sum(n for rows in c.counts.values() for r in rows.values()
              for o, n in r.items() if o in BAD or o.split(":")[-1] in BAD)
    print(f"failures: {bad} (torn, lost, unrecovered, unclean, wrong, setup)")
    for f in c.failures:
        print("  " + f)
    print("=" * 72)
    return bad


def main():
    bin_dir = os.path.join(ROOT, "target", "release")
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__[__doc__.index("What it does"):])
    ap.add_argument("--kills", type=int, default=1000, help="kill -9 injections (default 1000)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--hours", type=float, default=None, help="stop the kills after this long")
    ap.add_argument("--workdir", help="scratch directory (created; resumed if it holds "
                    "progress.jsonl); default: a new one under $TMPDIR")
    ap.add_argument("--keep", action="store_true", help="keep the scratch directory")
    ap.add_argument("--objects", type=int, default=6)
    ap.add_argument("--functions", type=int, default=40)
    ap.add_argument("--archs", default="x86_64,arm64")
    ap.add_argument("--point-share", type=float, default=0.2,
                    help="share of update kills made at named crash points (default 0.2)")
    ap.add_argument("--late-share", type=float, default=0.5,
                    help="share of kills drawn from the last third of the run, where the "
                    "files are written (default 0.5; the rest over the whole run)")
    ap.add_argument("--enospc-points", type=int, default=12,
                    help="free-space points per flavour and mode (plus points at the journal)")
    ap.add_argument("--concurrent", type=int, default=40, help="pairs of concurrent runs")
    ap.add_argument("--sections", default="kill,enospc,readonly,concurrent")
    ap.add_argument("--skip-root-cases", action="store_true",
                    help="leave out enospc and readonly (they mount a tmpfs, as root)")
    ap.add_argument("--machlink", default=os.path.join(bin_dir, "machlink"))
    ap.add_argument("--macho-run", default=os.path.join(bin_dir, "macho-run"))
    ap.add_argument("--sdk", default=os.path.join(ROOT, ".toolchain", "sdk"))
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()

    tools = Tools(args)
    sections = set(args.sections.split(","))
    if args.skip_root_cases:
        sections -= {"enospc", "readonly"}
    elif sections & {"enospc", "readonly"} and os.geteuid() != 0:
        die("the enospc and readonly cases mount a tmpfs and need root "
            "(or give --skip-root-cases)")
    archs = args.archs.split(",")
    if "arm64" in archs:
        aarch64 = os.environ.get("MACHO_RUN_AARCH64") or os.path.join(
            os.path.dirname(os.path.dirname(tools.macho_run)),
            "aarch64-unknown-linux-gnu", "release", "macho-run")
        need_tool(aarch64, "macho-run's aarch64 build")
        if shutil.which("qemu-aarch64") is None:
            die(f"qemu-aarch64 is not installed: run `{SETUP}` first")

    if args.workdir:
        work = os.path.abspath(args.workdir)
        os.makedirs(work, exist_ok=True)
    else:
        work = tempfile.mkdtemp(prefix=f"machlink-faults-{args.seed}-")
    start = time.time()
    c = Campaign(args, tools, work)
    c.progs = []
    try:
        c.flavours = []
        for arch in archs:
            prog = Program(work, arch, args.objects, args.functions, args.seed)
            c.progs.append(prog)
            if arch == "x86_64":
                c.flavours.append(Flavour("x86_64", prog, []))
                c.flavours.append(Flavour("x86_64-signed", prog, ["-adhoc_codesign"]))
            else:
                c.flavours.append(Flavour(arch, prog, []))
        if "kill" in sections:
            c.kills()
        if "enospc" in sections:
            c.enospc()
        if "readonly" in sections:
            c.readonly()
        if "concurrent" in sections:
            c.concurrent()
    finally:
        c.unmount()
    bad = report(c, time.time() - start)
    if bad:
        print(f"faults.py: {bad} failure(s); cases kept in {os.path.join(work, 'failures')}")
        return 1
    if not args.keep and not args.workdir:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
