#!/usr/bin/env python3
"""Scale benchmark: the generated program at 100k functions and at ten
times that (1M: 2000 objects x 500 functions), linked plain and with
-incremental (from no state) by machlink, and by ld64.lld-22 (and -19), to
show how time and peak memory grow.

Compiling 2000 generated objects takes hours on a small machine, so the
1M-function inputs are made from the 100k ones (bench/link_bench.py's
cached objects): copy k of each object has every symbol the generated
objects define renamed by one letter (`_f_3_7` becomes `_A_3_7` in copy
1, `_E_3_7` in copy 2, ...; each copy maps the names' first letters f, g,
s, t to four letters of its own), in place in the string table, so each
copy is a whole second call graph with its own names. main.o calls into
the original copy only: the others are linked (there is no -dead_strip)
but not run. The 100k program is linked from the original objects plus
the same main.o, so the two differ only in size.

usage: bench/scale_bench.py [--copies K] [--runs R]
Needs scripts/setup.sh and `cargo build --release --workspace` first.
"""
import argparse
import os
import shutil
import statistics
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import link_bench  # noqa: E402

LC_SYMTAB = 0x2
N_EXT = 0x01
N_STAB = 0xE0
N_TYPE = 0x0E
N_UNDF = 0x0
# The first letters of the generated program's symbol names (after "_"):
# f_ functions, g_/gp_/gsum_ data and sums, s* strings, t* tables.
FIRST_LETTERS = "fgst"
# Letters no original name starts with, four per copy.
SPARE = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdehijklmnopqruvwxyz"


def symbols(data):
    """(strx, n_type, n_value) of every nlist of a 64-bit Mach-O object,
    and the string table's offset."""
    magic, _, _, _, ncmds, _, _, _ = struct.unpack_from("<IiiIIIII", data, 0)
    if magic != 0xFEEDFACF:
        raise ValueError("not a 64-bit Mach-O object")
    off = 32
    for _ in range(ncmds):
        cmd, size = struct.unpack_from("<II", data, off)
        if cmd == LC_SYMTAB:
            symoff, nsyms, stroff, _ = struct.unpack_from("<IIII", data, off + 8)
            syms = []
            for i in range(nsyms):
                strx, n_type, _, _, value = struct.unpack_from("<IBBHQ", data, symoff + 16 * i)
                syms.append((strx, n_type, value))
            return syms, stroff
        off += size
    raise ValueError("no LC_SYMTAB")


def name_at(data, stroff, strx):
    end = data.index(b"\0", stroff + strx)
    return bytes(data[stroff + strx:end])


def defined_names(path):
    """The external names object `path` defines, commons included (an
    undefined external with a size)."""
    data = open(path, "rb").read()
    syms, stroff = symbols(data)
    names = set()
    for strx, n_type, value in syms:
        if n_type & N_STAB or not n_type & N_EXT:
            continue
        if n_type & N_TYPE != N_UNDF or value != 0:
            names.add(name_at(data, stroff, strx))
    return names


def renamed(name, letters):
    """`name` ("_f_3_7") with its first letter mapped for one copy."""
    first = chr(name[1])
    return name[:1] + letters[FIRST_LETTERS.index(first)].encode() + name[2:]


def clone(src, dst, program_names, letters):
    """Writes copy `dst` of object `src` with the program's names renamed,
    and checks every name of the copy."""
    data = bytearray(open(src, "rb").read())
    syms, stroff = symbols(data)
    expected = []
    for strx, n_type, _ in syms:
        name = name_at(data, stroff, strx)
        if n_type & N_STAB == 0 and name in program_names:
            expected.append(renamed(name, letters))
        else:
            expected.append(name)
    for (strx, n_type, _), want in zip(syms, expected):
        if n_type & N_STAB == 0 and name_at(data, stroff, strx) != want:
            data[stroff + strx + 1] = want[1]
    # A string shared by two symbols (a suffix merged into a longer name)
    # would have been renamed for both: check each name is what it must be.
    for (strx, _, _), want in zip(syms, expected):
        got = name_at(data, stroff, strx)
        if got != want:
            raise SystemExit(f"{src}: cannot rename {want!r} in place (string shared: {got!r})")
    with open(dst, "wb") as f:
        f.write(data)


def scaled_objects(objs, copies):
    """main.o and `copies` renamed copies of the other objects (copy 0 is
    the original), made once under target/bench/."""
    main = [o for o in objs if os.path.basename(o) == "main.o"]
    rest = [o for o in objs if os.path.basename(o) != "main.o"]
    if len(main) != 1:
        raise SystemExit("the generated program has no main.o")
    if copies > len(SPARE) // len(FIRST_LETTERS) + 1:
        raise SystemExit(f"at most {len(SPARE) // len(FIRST_LETTERS) + 1} copies")
    work = os.path.join(link_bench.ROOT, "target", "bench", f"scaled-{len(rest)}x{copies}")
    stamp = os.path.join(work, "objects.done")
    out = main + list(rest)
    if not os.path.exists(stamp):
        os.makedirs(work, exist_ok=True)
        names = set()
        for o in rest:
            names |= defined_names(o)
        for name in names:
            if len(name) < 2 or chr(name[1]) not in FIRST_LETTERS:
                raise SystemExit(f"unexpected name {name!r} in the generated objects")
        for k in range(1, copies):
            letters = SPARE[4 * (k - 1):4 * k]
            for o in rest:
                clone(o, os.path.join(work, f"c{k}_{os.path.basename(o)}"), names, letters)
        open(stamp, "w").close()
    for k in range(1, copies):
        out += [os.path.join(work, f"c{k}_{os.path.basename(o)}") for o in rest]
    return work, out


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--copies", type=int, default=10)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    if not os.path.exists(link_bench.MACHLINK):
        sys.exit(f"{link_bench.MACHLINK} missing: run `cargo build --release --workspace`")
    _, small = link_bench.build_objects(200, 500)
    work, big = scaled_objects(small, args.copies)
    linkers = [("machlink", link_bench.MACHLINK, False), ("machlink -incr", link_bench.MACHLINK, True)]
    for lld in ("ld64.lld-22", "ld64.lld-19"):
        if shutil.which(lld):
            linkers.append((lld, lld, False))
    results = {}
    for label, objs in (("100k", small), (f"{args.copies * 100}k", big)):
        for name, exe, incremental in linkers:
            out = os.path.join(work, "prog-" + name.replace(" ", "_"))
            runs = []
            for _ in range(args.runs + 1):  # the first run warms the page cache
                for suffix in ("", ".machlink-state", ".machlink-image"):
                    if os.path.exists(out + suffix):
                        os.remove(out + suffix)
                cmd = link_bench.link_cmd(exe, out, objs)
                if incremental:
                    cmd.insert(1, "-incremental")
                runs.append(link_bench.timed(cmd))
            runs = runs[1:]
            walls = [w * 1e3 for w, _ in runs]
            results[(label, name)] = (statistics.median(walls), min(walls), max(walls),
                                      max(r for _, r in runs) / 1024)
        check = link_bench.subprocess.run([link_bench.MACHO_RUN, out], capture_output=True,
                                          text=True, check=True).stdout.strip().splitlines()[-1]
        print(f"{label}: {len(objs)} objects, last output runs: {check}")
    big_label = f"{args.copies * 100}k"
    print(f"\n{'program':<8}{'linker':<16}{'median ms':>10}{'min':>9}{'max':>9}{'peak RSS MiB':>14}")
    for (label, name), (med, lo, hi, rss) in results.items():
        print(f"{label:<8}{name:<16}{med:>10.1f}{lo:>9.1f}{hi:>9.1f}{rss:>14.1f}")
    print(f"\ngrowth from 100k to {big_label} functions ({args.copies}x the input):")
    for name, _, _ in linkers:
        a, b = results[("100k", name)], results[(big_label, name)]
        print(f"  {name:<16} time {b[0] / a[0]:.2f}x, peak memory {b[3] / a[3]:.2f}x")


if __name__ == "__main__":
    main()
