#!/usr/bin/env python3
"""Link benchmark on a real Rust program: ripgrep, from crates.io.

ripgrep (the `rg` binary: ~40 crates from crates.io plus Rust's std) is
built once per target with cargo, for x86_64-apple-darwin and
aarch64-apple-darwin, in the dev profile with incremental compilation (the
edit-build loop), with bench/capture_link.py as rustc's ld64.lld-flavoured
linker: it records the exact command line rustc runs and copies its inputs
(codegen-unit objects, rlibs, and rustc's temporary symbols.o) into the work
directory. Then ripgrep's source gets a one-line edit (crates/core/main.rs:
`--type-list` prints " => " instead of ": ") and cargo rebuilds it
incrementally, so that only the changed codegen units change; that link is
captured too. Everything is cached: later runs only replay the links.

The replays do what rustc does: the output is deleted before each link;
symbols.o is in a fresh temporary directory for each link; and every object
of ripgrep's crate is at a new path after each build (rustc names them
`crate-hash.unit.SESSION.rcgu.o`, SESSION new in every build; unchanged
units are hard links to the same files). machlink -incremental is also
replayed with the output kept, and with stable paths too (objects named
without SESSION, symbols.o in one directory, the output kept), which shows
what each of these habits of rustc costs it.

Measured, RUNS times each, alternating (medians, spread, peak RSS of the
linker process):
  - full link of the original inputs: machlink, ld64.lld-22, ld64.lld-19;
  - machlink -incremental, in each of the three replays: the first link,
    then the edited inputs (what machlink did is read from its -v line: an
    update, or a full link and why), then back to the original ones;
    against ld64.lld-22's full relink of the edited inputs;
  - with --callgrind: instructions of one full link by machlink and by
    ld64.lld-22 (valgrind --tool=callgrind).
The outputs of machlink are run under macho-run (`rg --version`, a search
through ripgrep's source, and `rg --type-list` showing the edit), and each
must print what ld64.lld-22's link of the same inputs prints; a failure
there is reported, not fatal (Rust programs under macho-run are work in
progress, issue #15); `machlink verify` checks every output.

usage: bench/ripgrep_bench.py [--arch x86_64|arm64 ...] [--runs R]
                              [--work DIR] [--callgrind] [--version V]
                              [--machlink PATH] [--macho-run PATH]
--machlink and --macho-run take other builds of those (a branch's, say).
--work is where the source, cargo's target directory and the captured links
are kept (default target/bench/ripgrep; building ripgrep takes minutes).
Needs scripts/setup.sh, `cargo build --release --workspace`, and rustup's
x86_64-apple-darwin and aarch64-apple-darwin targets.
"""
import argparse
import filecmp
import json
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from link_bench import MACHLINK, MACHO_RUN, ROOT, SDK, settle  # noqa: E402

CAPTURE = os.path.join(ROOT, "bench", "capture_link.py")
RUNNER = [MACHO_RUN]  # --macho-run replaces it
LINKER = [MACHLINK]  # --machlink replaces it
VERSIONS = ["14.1.1", "14.1.0", "14.0.3", "13.0.0"]
TRIPLES = {"x86_64": "x86_64-apple-darwin", "arm64": "aarch64-apple-darwin"}
# The one-line edit: a literal in `rg --type-list`, in ripgrep's own crate.
EDIT_FILE = os.path.join("crates", "core", "main.rs")
EDIT_FROM = 'stdout.write_all(b": ")?;'
EDIT_TO = 'stdout.write_all(b" => ")?;'


# ---- the source ----------------------------------------------------------

def fetch_source(work, versions):
    """ripgrep's source in work/src (pristine copy in work/src.orig), from
    the first of: static.crates.io's tarball, cargo's registry cache, a
    git tag; each version in turn. Exits naming every attempt that failed."""
    src = os.path.join(work, "src")
    if os.path.exists(os.path.join(src, "Cargo.lock")):
        return own_workspace(src)
    failures = []
    for v in versions:
        for how in (from_crates_io, from_registry_cache, from_git_tag):
            tmp = os.path.join(work, "src.tmp")
            shutil.rmtree(tmp, ignore_errors=True)
            try:
                how(v, tmp)
                if not os.path.exists(os.path.join(tmp, "Cargo.lock")):
                    raise RuntimeError("no Cargo.lock in it (needed for --locked)")
            except Exception as e:  # noqa: BLE001 - every failure is reported below
                failures.append(f"ripgrep {v} via {how.__name__}: {e}")
                continue
            os.replace(tmp, src)
            print(f"ripgrep {v} source from {how.__name__} in {src}")
            return own_workspace(src)
    sys.exit("cannot get ripgrep's source:\n  " + "\n  ".join(failures))


def own_workspace(src):
    """Makes `src` a workspace of its own, as cargo asks of a package
    inside another's directory: the work directory is under machlink's
    `target/`, and cargo, finding machlink's workspace above a crates.io
    package's manifest (which has no `[workspace]` of its own, unlike the
    git tag's), refuses to build it. Returns `src`."""
    manifest = os.path.join(src, "Cargo.toml")
    with open(manifest) as f:
        text = f.read()
    if not any(line.strip() == "[workspace]" for line in text.splitlines()):
        with open(manifest, "a") as f:
            f.write("\n# Added by machlink's bench/ripgrep_bench.py: a workspace of its own.\n[workspace]\n")
    return src


def from_crates_io(version, dest):
    url = f"https://static.crates.io/crates/ripgrep/ripgrep-{version}.crate"
    with urllib.request.urlopen(url, timeout=60) as r, tempfile.TemporaryFile() as f:
        shutil.copyfileobj(r, f)
        f.seek(0)
        unpack(tarfile.open(fileobj=f, mode="r:gz"), version, dest)


def from_registry_cache(version, dest):
    home = os.environ.get("CARGO_HOME", os.path.expanduser("~/.cargo"))
    cache = os.path.join(home, "registry", "cache")
    for index in os.listdir(cache) if os.path.isdir(cache) else []:
        crate = os.path.join(cache, index, f"ripgrep-{version}.crate")
        if os.path.exists(crate):
            unpack(tarfile.open(crate, "r:gz"), version, dest)
            return
    raise RuntimeError(f"not in {cache}")


def from_git_tag(version, dest):
    r = subprocess.run(["git", "clone", "--quiet", "--depth", "1", "--branch", version,
                        "https://github.com/BurntSushi/ripgrep", dest],
                       capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        raise RuntimeError(f"git clone failed: {r.stderr.strip()}")


def unpack(tar, version, dest):
    top = f"ripgrep-{version}/"
    with tempfile.TemporaryDirectory(dir=os.path.dirname(dest)) as tmp:
        members = [m for m in tar.getmembers() if m.name.startswith(top) and (m.isreg() or m.isdir())]
        tar.extractall(tmp, members=members, filter="data")
        os.replace(os.path.join(tmp, top.rstrip("/")), dest)


# ---- the builds and their captured links -----------------------------------

# The `libc` crate links -liconv on Apple targets (whether or not iconv is
# called: ripgrep does not). The SDK stub here has libSystem only, so this
# describes macOS's /usr/lib/libiconv.2.dylib: its install name and the
# functions it exports.
LIBICONV_TBD = """--- !tapi-tbd
tbd-version:     4
targets:         [ x86_64-macos, arm64-macos, arm64e-macos ]
install-name:    '/usr/lib/libiconv.2.dylib'
current-version: 7
compatibility-version: 7
exports:
  - targets:         [ x86_64-macos, arm64-macos, arm64e-macos ]
    symbols:         [ _iconv, _iconv_canonicalize, _iconv_close, _iconv_open,
                       _iconv_open_into, _iconvctl, _iconvlist, _libiconv,
                       _libiconv_close, _libiconv_open, _libiconv_open_into,
                       _libiconv_set_relocation_prefix, _libiconvctl, _libiconvlist,
                       _locale_charset ]
...
"""


def rust_sdk(work):
    """SDKROOT for rustc: it links -lSystem -lc -lm, all three libSystem on
    macOS (copies of its stub), and the libc crate adds -liconv."""
    lib = os.path.join(work, "rust-sdk", "usr", "lib")
    os.makedirs(lib, exist_ok=True)
    for n in ("libSystem", "libc", "libm"):
        shutil.copy(os.path.join(SDK, "usr", "lib", "libSystem.tbd"), os.path.join(lib, n + ".tbd"))
    with open(os.path.join(lib, "libiconv.tbd"), "w") as f:
        f.write(LIBICONV_TBD)
    return os.path.dirname(os.path.dirname(lib))


def set_edit(src, edited):
    path = os.path.join(src, EDIT_FILE)
    with open(path) as f:
        text = f.read()
    old, new = (EDIT_FROM, EDIT_TO) if edited else (EDIT_TO, EDIT_FROM)
    if new in text:
        return
    if text.count(old) != 1:
        sys.exit(f"{path}: expected one `{old}` to edit (another ripgrep version?)")
    with open(path, "w") as f:
        f.write(text.replace(old, new))


def cargo_build(work, src, arch, capture):
    triple = TRIPLES[arch]
    var = triple.upper().replace("-", "_")
    env = dict(os.environ,
               SDKROOT=rust_sdk(work),
               CARGO_TARGET_DIR=os.path.join(work, "target"),
               CARGO_INCREMENTAL="1",
               MACHLINK_CAPTURE_DIR=capture,
               MACHLINK_CAPTURE_LINKER="ld64.lld-22",
               **{f"CARGO_TARGET_{var}_LINKER": CAPTURE,
                  f"CARGO_TARGET_{var}_RUSTFLAGS": "-C linker-flavor=ld64.lld"})
    env.setdefault("CARGO_BUILD_JOBS", "2")
    if not shutil.which("ld64.lld-22"):
        sys.exit("ld64.lld-22 not found (capture_link.py links with it for cargo): run scripts/setup.sh")
    installed = subprocess.run(["rustup", "target", "list", "--installed"],
                               capture_output=True, text=True).stdout.split()
    if triple not in installed:
        sys.exit(f"Rust's std for {triple} is not installed: rustup target add {triple}")
    shutil.rmtree(capture, ignore_errors=True)
    start = time.perf_counter()
    build = subprocess.run(["cargo", "build", "--locked", "--target", triple, "--bin", "rg"],
                           cwd=src, env=env)
    if build.returncode != 0:
        sys.exit(f"cargo build of ripgrep for {triple} failed (above); its link, if it got "
                 f"that far, is recorded in {capture}")
    if not os.path.exists(os.path.join(capture, "args.json")):
        sys.exit(f"cargo did not link rg (nothing captured in {capture}): "
                 f"delete {os.path.join(work, 'target')} and run again")
    print(f"{arch}: cargo build took {time.perf_counter() - start:.0f} s; link captured in {capture}")


def captures(work, src, arch):
    """The captured links of the original build and of the edited rebuild."""
    base = os.path.join(work, "capture", arch, "original")
    edit = os.path.join(work, "capture", arch, "edited")
    if not os.path.exists(os.path.join(edit, "args.json")):
        set_edit(src, False)
        cargo_build(work, src, arch, base)
        set_edit(src, True)
        try:
            cargo_build(work, src, arch, edit)
        finally:
            set_edit(src, False)
    return load(base), load(edit)


def load(capture):
    with open(os.path.join(capture, "args.json")) as f:
        c = json.load(f)
    c["dir"] = capture
    return c


# ---- replaying a captured link ----------------------------------------------

# crate-hash.unit.SESSION.rcgu.o (a name without SESSION does not match).
SESSION = re.compile(r"^([^./]+\.[0-9a-z]+)\.[0-9a-z]+\.rcgu\.o$")


def unit_name(path):
    """An input's name without rustc's per-session part: rustc names the
    objects of a codegen unit `crate-hash.unit.SESSION.rcgu.o`, SESSION new
    in every build, so that after an edit every object is at a new path."""
    return SESSION.sub(r"\1.rcgu.o", os.path.basename(path))


class Stage:
    """A directory where captured links are replayed.

    With `as_rustc` (the default), as rustc runs them: inputs at the paths
    of the capture (their basenames); an object of an unchanged codegen
    unit is hard-linked under its new name, as rustc hard-links the objects
    it reuses from its incremental cache, and a changed one is a new file;
    files of the previous build are removed. Temporary inputs (symbols.o)
    are copied into a fresh directory for every link, and the output is
    deleted before every link.

    Without it, what a linker that keeps its own state would see from a
    build system kinder than rustc: every input at a stable path (the
    object's name without the session part; symbols.o in one directory),
    rewritten only when its content changes, and the output kept."""

    def __init__(self, root, as_rustc=True, delete_output=None):
        self.root = root
        self.as_rustc = as_rustc
        self.delete_output = as_rustc if delete_output is None else delete_output
        self.inputs = os.path.join(root, "in")
        shutil.rmtree(root, ignore_errors=True)
        os.makedirs(self.inputs)
        self.fresh = 0

    def _name(self, capture, index):
        path = capture["args"][int(index)]
        return os.path.basename(path) if self.as_rustc else unit_name(path)

    def stage(self, capture):
        """Puts capture's lasting inputs in place; returns how many have
        new content."""
        present = {unit_name(f): os.path.join(self.inputs, f) for f in os.listdir(self.inputs)}
        wanted, changed = set(), 0
        for index, inp in capture["inputs"].items():
            if inp["temporary"]:
                continue
            name = self._name(capture, index)
            dst = os.path.join(self.inputs, name)
            wanted.add(name)
            src = os.path.join(capture["dir"], "files", inp["copy"])
            old = present.get(unit_name(name))
            if old and filecmp.cmp(src, old, shallow=False):
                if old != dst:
                    os.link(old, dst)
                continue
            tmp = dst + ".new"
            shutil.copy(src, tmp)
            os.replace(tmp, dst)
            changed += 1
        for f in os.listdir(self.inputs):
            if f not in wanted:
                os.remove(os.path.join(self.inputs, f))
        return changed

    def _temporary_dir(self, capture):
        """Where this link's temporary inputs go: a fresh directory (the
        previous one removed, as rustc removes its own), or a stable one
        where they are rewritten only when they change."""
        if not self.as_rustc:
            tmpdir = os.path.join(self.root, "rustc-tmp")
            os.makedirs(tmpdir, exist_ok=True)
            return tmpdir
        for d in os.listdir(self.root):
            if d.startswith("rustc-tmp"):
                shutil.rmtree(os.path.join(self.root, d))
        self.fresh += 1
        tmpdir = os.path.join(self.root, f"rustc-tmp{self.fresh}")
        os.makedirs(tmpdir)
        return tmpdir

    def command(self, capture, linker, output, extra=()):
        """The captured command line with the staged inputs and `output`
        (deleted first when replaying rustc)."""
        if self.delete_output and os.path.exists(output):
            os.remove(output)
        tmpdir = self._temporary_dir(capture)
        args = list(capture["args"])
        for index, inp in capture["inputs"].items():
            i = int(index)
            if inp["temporary"]:
                args[i] = os.path.join(tmpdir, os.path.basename(args[i]))
                src = os.path.join(capture["dir"], "files", inp["copy"])
                if not (os.path.exists(args[i]) and filecmp.cmp(src, args[i], shallow=False)):
                    shutil.copy(src, args[i])
            else:
                args[i] = os.path.join(self.inputs, self._name(capture, index))
        args[args.index("-o") + 1] = output
        return [linker] + args + list(extra)


def input_summary(capture):
    files = [os.path.join(capture["dir"], "files", i["copy"]) for i in capture["inputs"].values()]
    objs = [f for f in files if f.endswith(".o")]
    rlibs = [f for f in files if f.endswith(".rlib") or f.endswith(".a")]
    size = sum(os.path.getsize(f) for f in files) / 2**20
    return len(objs), len(rlibs), size


def changed_inputs(base, edit):
    """Inputs whose content differs between the two captures (by unit)."""
    def by_name(c):
        return {unit_name(c["args"][int(i)]): os.path.join(c["dir"], "files", v["copy"])
                for i, v in c["inputs"].items()}
    a, b = by_name(base), by_name(edit)
    return sorted(n for n in b if n not in a or not filecmp.cmp(a[n], b[n], shallow=False))


def timed(cmd):
    """Wall seconds, peak RSS (KiB), CPU seconds (user + system, all
    threads: steadier than wall time on a loaded machine) and stderr of
    one run (after link_bench.settle, untimed)."""
    settle()
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    if status != 0:
        sys.exit(f"failed: {' '.join(cmd[:3])} ...:\n{err}")
    return wall, usage.ru_maxrss, usage.ru_utime + usage.ru_stime, err


def machlink_step(cmd):
    """A machlink -incremental run with -v: timed()'s figures, with what
    it did ('update: ...', or 'full link: <reason>') in place of stderr."""
    wall, rss, cpu, err = timed(cmd + ["-v"])
    line = next((ln for ln in err.splitlines() if ln.startswith("machlink: incremental: ")), "")
    what = line[len("machlink: incremental: "):]
    if what.startswith("updated") or "; updated " in what:
        # Without the update's own time, which differs run to run.
        what = "update: " + re.sub(r"; [0-9.]+ ms$", "", what)
    # The reason up to the link statistics, which differ run to run.
    what = re.sub(r"; \d+ objects, \d+ atoms.*$", "", what) or f"(no -v line: {err.strip()[:200]})"
    # Paths by their names, and rustc's session part of an object's name
    # left out, so that the same reason reads the same in every run.
    what = re.sub(r"/[^\s:;,()]*/", "", what)
    what = re.sub(SESSION.pattern.strip("^$"), r"\1.SESSION.rcgu.o", what)
    return wall, rss, cpu, what


def summary(runs):
    """Median, min and max wall ms, peak RSS MiB, median CPU ms."""
    walls = [r[0] * 1e3 for r in runs]
    return (statistics.median(walls), min(walls), max(walls), max(r[1] for r in runs) / 1024,
            statistics.median(r[2] * 1e3 for r in runs))


def callgrind(cmd, out_dir, name):
    """Instructions executed by one run of cmd (all threads), or None."""
    if not shutil.which("valgrind"):
        return None
    out = os.path.join(out_dir, f"callgrind.{name}")
    r = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"] + cmd,
                       capture_output=True, text=True)
    if r.returncode != 0:
        print(f"callgrind of {name} failed: {r.stderr[-300:]}")
        return None
    with open(out) as f:
        for ln in f:
            if ln.startswith(("summary:", "totals:")):
                return int(ln.split()[1])
    return None


def run_rg(exe, args, want, reference=None):
    """Runs a linked rg under macho-run; returns a one-line verdict. With
    `reference` (ld64.lld-22's link of the same inputs), its output must
    be the same."""
    def run(prog):
        try:
            return subprocess.run([RUNNER[0], prog] + args, capture_output=True, text=True,
                                  timeout=120)
        except subprocess.TimeoutExpired:
            return None
    shown = f"`rg {shlex.join(args)}`"
    r = run(exe)
    if r is None:
        return f"{shown}: timed out under macho-run"
    first = (r.stdout.strip().splitlines() or [""])[0]
    if r.returncode != 0 or want not in r.stdout:
        err = (r.stderr.strip().splitlines() or [""])[-1]
        return f"{shown} FAILED under macho-run (status {r.returncode}): {err[:160] or first[:160]}"
    same = ""
    if reference:
        ref = run(reference)
        if ref is None or (ref.returncode, ref.stdout) != (r.returncode, r.stdout):
            return f"{shown} works under macho-run but its output differs from ld64.lld-22's link's"
        same = ", the same as ld64.lld-22's link"
    return f"under macho-run, {shown} OK{same} ({first[:60]})"


# ---- the benchmark -------------------------------------------------------------

def bench_arch(args, work, src, arch):
    base, edit = captures(work, src, arch)
    stage = Stage(os.path.join(work, "replay", arch))
    stage.stage(base)
    out = lambda n: os.path.join(stage.root, f"rg-{n}")  # noqa: E731
    linkers = {"machlink": LINKER[0], "ld64.lld-22": "ld64.lld-22", "ld64.lld-19": "ld64.lld-19"}
    for name in list(linkers):
        if name != "machlink" and not shutil.which(linkers[name]):
            print(f"{name} not found (scripts/setup.sh installs it): not compared")
            del linkers[name]
    full = {n: [] for n in linkers}
    for n, exe in linkers.items():  # warm the page cache
        timed(stage.command(base, exe, out(n)))
    for _ in range(args.runs):
        for n, exe in linkers.items():
            full[n].append(timed(stage.command(base, exe, out(n))))
    # A search through ripgrep's own source (--sort path: one thread, so
    # that the two outputs can be compared line by line).
    search = ["--sort", "path", "-c", "fn ", os.path.join(src, "crates", "core")]
    checks = [run_rg(out("machlink"), ["--version"], "ripgrep", out("ld64.lld-22")),
              run_rg(out("machlink"), search, "main.rs", out("ld64.lld-22"))]
    verify = subprocess.run([LINKER[0], "verify", out("machlink")], capture_output=True, text=True)
    checks.append("machlink verify of the full link: " +
                  ("OK" if verify.returncode == 0 else f"FAILED: {verify.stderr.strip()[:200]}"))

    # The edit-build loop: machlink -incremental on one output, alternating
    # the original and the edited inputs; lld-22 relinks the edited ones.
    # Replayed as rustc does it, then (to show what each of rustc's habits
    # costs machlink) with the output kept, then with stable input paths too.
    modes = {"as rustc": Stage(stage.root + "-inc", True),
             "output kept": Stage(stage.root + "-kept", True, delete_output=False),
             "stable paths": Stage(stage.root + "-stable", False)}
    incremental = {}
    for mode, st in modes.items():
        inc = os.path.join(st.root, "rg-incremental")
        st.stage(base)
        first = machlink_step(st.command(base, LINKER[0], inc, ["-incremental"]))
        forward, back, lld = [], [], []
        for _ in range(args.runs):
            st.stage(edit)
            forward.append(machlink_step(st.command(edit, LINKER[0], inc, ["-incremental"])))
            if "ld64.lld-22" in linkers:
                lld.append(timed(st.command(edit, "ld64.lld-22", os.path.join(st.root, "rg-lld"))))
            st.stage(base)
            back.append(machlink_step(st.command(base, LINKER[0], inc, ["-incremental"])))
        st.stage(edit)
        last = machlink_step(st.command(edit, LINKER[0], inc, ["-incremental"]))
        incremental[mode] = (first, forward, back + [last], lld)
        lld_out = os.path.join(st.root, "rg-lld")
        if "ld64.lld-22" in linkers:
            timed(st.command(edit, "ld64.lld-22", lld_out))
        ref = lld_out if "ld64.lld-22" in linkers else None
        checks.append(f"[{mode}] " + run_rg(inc, ["--type-list"], " => ", ref))
        checks.append(f"[{mode}] " + run_rg(inc, search, "main.rs", ref))
        verify = subprocess.run([LINKER[0], "verify", inc], capture_output=True, text=True)
        checks.append(f"[{mode}] machlink verify of the incremental output: " +
                      ("OK" if verify.returncode == 0 else f"FAILED: {verify.stderr.strip()[:200]}"))

    counts = {}
    if args.callgrind:
        stage.stage(base)
        for n in ("machlink", "ld64.lld-22"):
            if n in linkers:
                counts[n] = callgrind(stage.command(base, linkers[n], out(n)), stage.root, n)

    nobj, nrlib, size = input_summary(base)
    changed = changed_inputs(base, edit)
    print(f"\n== ripgrep, {TRIPLES[arch]} (dev profile, incremental): {nobj} objects + {nrlib} "
          f"rlibs, {size:.0f} MB of inputs; output {os.path.getsize(out('machlink')) / 2**20:.1f} MB "
          f"(machlink); {args.runs} runs each; load average {os.getloadavg()[0]:.1f}")
    if LINKER[0] != MACHLINK:
        print(f"machlink measured: {LINKER[0]}")
    print(f"{'link':<52}{'median ms':>10}{'min':>9}{'max':>9}{'CPU ms':>9}{'peak RSS MiB':>14}")
    rows = [(f"full link: {n}", full[n]) for n in linkers]
    for mode, (first, forward, back, lld) in incremental.items():
        rows += [(f"machlink -incremental [{mode}], first link", [first]),
                 ("  after the edit", forward),
                 ("  back to the original", back)]
        if lld:
            rows.append(("  ld64.lld-22 full relink of the edited inputs", lld))
    for label, runs in rows:
        med, lo, hi, rss, cpu = summary(runs)
        print(f"{label:<52}{med:>10.1f}{lo:>9.1f}{hi:>9.1f}{cpu:>9.1f}{rss:>14.1f}")
    med = {n: statistics.median(r[0] for r in full[n]) for n in linkers}
    for n in linkers:
        if n != "machlink":
            print(f"full link: machlink / {n} = {med['machlink'] / med[n]:.2f}")
    print(f"the edit changed {len(changed)} input(s) by content: {', '.join(changed[:6])}"
          + (" ..." if len(changed) > 6 else ""))
    for mode, (first, forward, back, lld) in incremental.items():
        ratio = (f"ld64.lld-22's full relink takes "
                 f"{statistics.median(r[0] for r in lld) / statistics.median(r[0] for r in forward):.2f}x "
                 f"as long; " if lld else "")
        whats = sorted({r[3] for r in forward + back})
        print(f"machlink -incremental [{mode}]: {ratio}it did: " + " | ".join(whats))
        print(f"  (its first link: {first[3]})")
    for c in checks:
        print(f"{arch} check: {c}")
    for n, c in counts.items():
        print(f"callgrind, full link by {n}: " + (f"{c / 1e6:,.1f} M instructions" if c else "n/a"))


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--arch", choices=sorted(TRIPLES), action="append",
                    help="a target to build and link (repeatable; default both)")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--work", default=os.path.join(ROOT, "target", "bench", "ripgrep"))
    ap.add_argument("--version", action="append",
                    help="ripgrep version(s) to try, in order (default: " + ", ".join(VERSIONS) + ")")
    ap.add_argument("--callgrind", action="store_true",
                    help="also count the instructions of one full link (machlink, ld64.lld-22)")
    ap.add_argument("--machlink", metavar="PATH",
                    help="the machlink binary to measure (default: this tree's release build)")
    ap.add_argument("--macho-run", metavar="PATH",
                    help="the macho-run that runs the outputs (default: this tree's)")
    args = ap.parse_args()
    if args.macho_run:
        RUNNER[0] = os.path.abspath(args.macho_run)
    if args.machlink:
        LINKER[0] = os.path.abspath(args.machlink)
    for tool in (LINKER[0], RUNNER[0]):
        if not os.path.exists(tool):
            sys.exit(f"{tool} missing: run `cargo build --release --workspace`")
    work = os.path.abspath(args.work)
    os.makedirs(work, exist_ok=True)
    src = fetch_source(work, args.version or VERSIONS)
    for arch in args.arch or ["x86_64", "arm64"]:
        bench_arch(args, work, src, arch)


if __name__ == "__main__":
    main()
