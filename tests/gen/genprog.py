#!/usr/bin/env python3
"""Generate a large, deterministic, multi-object C program for linker tests.

Usage:
    genprog.py --objects N --functions M --out DIR [--seed S] [--depth D]

Writes DIR/obj_0000.c ... DIR/obj_{N-1:04d}.c (M functions each) and
DIR/main.c.  Stale DIR/obj_*.c files from an earlier, larger generation are
removed so that compiling DIR/*.c always builds exactly this program.
The same arguments always produce byte-identical files (a private
splitmix64 PRNG is used, not the `random` module).

Shape of the generated program
------------------------------
* Every function is ``uint64_t f_<obj>_<idx>(uint64_t x, unsigned d)`` with
  global index ``g = obj * M + idx``.  It does a little unsigned 64-bit
  arithmetic (wrap-around is well defined), and:
    - reads and writes global variables of its own object and of other
      objects (``g_<obj>_<k>``; half initialized -> __data, half tentative
      zero -> common (-fcommon) or __bss), sometimes through pointer globals
      ``gp_<obj>_<k>`` that are initialized with the address of another
      object's global (cross-object data pointers -> rebase fixups);
    - hashes string literals, either inline literals or entries of a
      per-object string table ``strs_<obj>[]`` (pointers to literals in
      initialized data -> rebases; a shared pool makes literals repeat
      across objects, exercising cstring de-duplication);
    - when ``d != 0``, calls 0-3 other functions with a strictly smaller
      global index (40% nearby, usually in the same object; 60% anywhere
      below, usually in another object), passing
      ``d - 1``, and sometimes calls through the mutable function pointer
      table ``tbl_<obj>[]`` (external linkage, so the compiler cannot fold
      it into direct calls) whose entries also have smaller global indices
      than the caller.  There are no recursion cycles, and the depth
      argument bounds the size of every call tree (fan-out <= 4, so at most
      4^0 + ... + 4^D calls per top-level call).
* Every object exports ``tab_<obj>[M]``, a const table of pointers to all of
  its functions (M rebase fixups per object), and ``gsum_<obj>()`` which
  folds the object's globals into a value.
* main.c walks all tables, calls every function with depth D, folds the
  results into per-object and global checksums, calls a few functions
  directly by name, and prints ``obj <n> <hex>`` lines followed by
  ``checksum=%016llx``; it returns 0.

Functions are kept tiny so that 200 objects x 500 functions (100k
functions) compiles in reasonable time; one object compiles in well under
a second at -O1.
"""

import argparse
import os
import re
import sys

MASK = (1 << 64) - 1

# Pool of literals shared by all objects (so identical strings appear in many
# object files) -- plus per-object unique literals generated below.
STRING_POOL = [
    "alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta",
    "the quick brown fox", "jumps over the lazy dog", "lorem ipsum",
    "mach-o", "linker", "relocation", "rebase", "bind", "stub", "got",
    "", "x", "0123456789", "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "tab\there",
    "quote\"inside", "back\\slash",
]


class Rng:
    """splitmix64: tiny, portable and stable forever."""

    def __init__(self, seed):
        self.state = seed & MASK

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def below(self, n):
        """Uniform-ish integer in [0, n); n > 0."""
        return self.next() % n

    def chance(self, percent):
        return self.below(100) < percent

    def const64(self):
        return "0x%016xULL" % self.next()


def c_escape(s):
    out = []
    for ch in s:
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\t":
            out.append("\\t")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def fname(obj, idx):
    return "f_%d_%d" % (obj, idx)


class Gen:
    def __init__(self, nobj, nfun, seed, depth):
        self.n = nobj
        self.m = nfun
        self.seed = seed
        self.depth = depth
        self.nglob = max(2, nfun // 16)      # globals per object
        self.ngptr = max(1, nfun // 64)      # pointer globals per object
        self.nstr = max(4, nfun // 8)        # string table size per object
        self.ntbl = 8                        # static fn-pointer table size

    def split(self, g):
        return divmod(g, self.m)

    # ------------------------------------------------------------------
    def gen_object(self, o):
        m = self.m
        rng = Rng((self.seed * 0x100000001B3) ^ (o * 0x9E3779B97F4A7C15) ^ 0x5EED)
        base = o * m
        externs = set()                      # (obj, idx) of other-object callees
        ext_globals = set()                  # (obj, k) globals of other objects
        lines = []

        # --- globals -------------------------------------------------------
        gdefs = []
        for k in range(self.nglob):
            if k % 2 == 0:
                gdefs.append("uint64_t g_%d_%d = %s;" % (o, k, rng.const64()))
            else:
                gdefs.append("uint64_t g_%d_%d;" % (o, k))
        # pointer globals: point at a global of some (possibly other) object
        for k in range(self.ngptr):
            to = rng.below(self.n)
            tk = rng.below(self.nglob)
            if to != o:
                ext_globals.add((to, tk))
            gdefs.append("uint64_t *gp_%d_%d = &g_%d_%d;" % (o, k, to, tk))

        # --- string table --------------------------------------------------
        strs = []
        for k in range(self.nstr):
            if rng.chance(60):
                strs.append(c_escape(STRING_POOL[rng.below(len(STRING_POOL))]))
            else:
                strs.append(c_escape("obj%d-str%d-%x" % (o, k, rng.below(1 << 20))))

        # --- static function pointer table: entries with small indices ------
        # entries are drawn from [0, base + m/2) so later functions of this
        # object (and all functions of later objects) may call through them.
        tbl = []
        limit = max(1, base + m // 2)
        for k in range(self.ntbl):
            tg = rng.below(limit)
            tbl.append(tg)

        # --- functions ------------------------------------------------------
        bodies = []
        for i in range(m):
            g = base + i
            b = []
            b.append("uint64_t %s(uint64_t x, unsigned d)" % fname(o, i))
            b.append("{")
            b.append("    x = x * %s + %du;" % (rng.const64(), rng.below(1 << 31)))
            # globals
            r = rng.below(10)
            if r < 4:
                k = rng.below(self.nglob)
                b.append("    g_%d_%d += x;" % (o, k))
                b.append("    x ^= g_%d_%d;" % (o, (k + 1) % self.nglob))
            elif r < 6 and self.n > 1:
                to = rng.below(self.n)
                k = rng.below(self.nglob)
                if to != o:
                    ext_globals.add((to, k))
                b.append("    x += g_%d_%d;" % (to, k))
                b.append("    g_%d_%d ^= x >> 7;" % (to, k))
            elif r < 7:
                k = rng.below(self.ngptr)
                b.append("    *gp_%d_%d += x | 1;" % (o, k))
            # strings
            r = rng.below(10)
            if r < 3:
                b.append("    x += hs(strs_%d[%d]);" % (o, rng.below(self.nstr)))
            elif r < 5:
                lit = STRING_POOL[rng.below(len(STRING_POOL))] if rng.chance(50) \
                    else "f%d.%d" % (o, i)
                b.append("    x ^= hs(%s);" % c_escape(lit))
            # calls
            if g > 0:
                calls = []
                ncalls = (0, 0, 1, 1, 1, 2, 2, 3)[rng.below(8)]
                for _ in range(ncalls):
                    if rng.chance(40):
                        tg = g - 1 - rng.below(min(g, 40))        # nearby
                    else:
                        tg = rng.below(g)                        # anywhere
                    calls.append(tg)
                slot = rng.below(self.ntbl)
                use_tbl = rng.chance(25) and tbl[slot] < g
                if calls or use_tbl:
                    b.append("    if (d) {")
                    for tg in calls:
                        co, ci = self.split(tg)
                        if co != o:
                            externs.add((co, ci))
                        op = "+=" if rng.chance(50) else "^="
                        b.append("        x %s %s(x ^ %du, d - 1);"
                                 % (op, fname(co, ci), rng.below(1 << 31)))
                    if use_tbl:
                        b.append("        x += tbl_%d[%d](x + %d, d - 1);"
                                 % (o, slot, rng.below(1000)))
                    b.append("    }")
            b.append("    return x ^ (x >> %d);" % (13 + rng.below(40)))
            b.append("}")
            bodies.append("\n".join(b))

        for tg in tbl:
            co, ci = self.split(tg)
            if co != o:
                externs.add((co, ci))

        # --- assemble the file ----------------------------------------------
        out = []
        out.append("/* Generated by tests/gen/genprog.py (objects=%d functions=%d "
                   "seed=%d depth=%d). Object %d. Do not edit. */"
                   % (self.n, self.m, self.seed, self.depth, o))
        out.append("#include <stdint.h>")
        out.append("")
        out.append("typedef uint64_t (*fn_t)(uint64_t, unsigned);")
        out.append("")
        # prototypes: own functions, then external callees
        for i in range(m):
            out.append("uint64_t %s(uint64_t, unsigned);" % fname(o, i))
        for (co, ci) in sorted(externs):
            out.append("uint64_t %s(uint64_t, unsigned);" % fname(co, ci))
        for (to, tk) in sorted(ext_globals):
            out.append("extern uint64_t g_%d_%d;" % (to, tk))
        out.append("")
        out.extend(gdefs)
        out.append("")
        out.append("/* external linkage so the compiler keeps the table (rebases) */")
        out.append("const char *const strs_%d[%d] = {" % (o, self.nstr))
        for s in strs:
            out.append("    %s," % s)
        out.append("};")
        out.append("/* pointer to a pointer inside initialized data */")
        out.append("const char *const *strp_%d = &strs_%d[%d];"
                   % (o, o, rng.below(self.nstr)))
        out.append("")
        out.append("/* mutable (non-const) table with external linkage, so calls")
        out.append("   through it cannot be folded into direct calls: __DATA,__data */")
        out.append("fn_t tbl_%d[%d] = {" % (o, self.ntbl))
        for tg in tbl:
            out.append("    %s," % fname(*self.split(tg)))
        out.append("};")
        out.append("")
        out.append("static uint64_t hs(const char *s)")
        out.append("{")
        out.append("    uint64_t h = 0xcbf29ce484222325ULL;")
        out.append("    while (*s)")
        out.append("        h = (h ^ (unsigned char)*s++) * 0x100000001b3ULL;")
        out.append("    return h;")
        out.append("}")
        out.append("")
        out.append("\n\n".join(bodies))
        out.append("")
        out.append("/* exported table of every function in this object */")
        out.append("fn_t const tab_%d[%d] = {" % (o, m))
        for i in range(m):
            out.append("    %s," % fname(o, i))
        out.append("};")
        out.append("")
        out.append("uint64_t gsum_%d(void)" % o)
        out.append("{")
        out.append("    uint64_t s = hs(*strp_%d);" % o)
        for k in range(self.nglob):
            out.append("    s = s * 0x100000001b3ULL + g_%d_%d;" % (o, k))
        out.append("    return s;")
        out.append("}")
        out.append("")
        return "\n".join(out)

    # ------------------------------------------------------------------
    def gen_main(self):
        n, m = self.n, self.m
        rng = Rng(self.seed ^ 0xA11CE)
        out = []
        out.append("/* Generated by tests/gen/genprog.py (objects=%d functions=%d "
                   "seed=%d depth=%d). Do not edit. */" % (n, m, self.seed, self.depth))
        out.append("#include <stdio.h>")
        out.append("#include <stdint.h>")
        out.append("")
        out.append("typedef uint64_t (*fn_t)(uint64_t, unsigned);")
        out.append("")
        for o in range(n):
            out.append("extern fn_t const tab_%d[%d];" % (o, m))
            out.append("uint64_t gsum_%d(void);" % o)
        direct = sorted({(0, 0), (n - 1, m - 1), (n // 2, m // 2)} |
                        {self.split(rng.below(n * m)) for _ in range(3)})
        for (o, i) in direct:
            out.append("uint64_t %s(uint64_t, unsigned);" % fname(o, i))
        out.append("")
        out.append("static fn_t const *const tabs[%d] = {" % n)
        for o in range(n):
            out.append("    tab_%d," % o)
        out.append("};")
        out.append("")
        out.append("typedef uint64_t (*gsum_t)(void);")
        out.append("static gsum_t const gsums[%d] = {" % n)
        for o in range(n):
            out.append("    gsum_%d," % o)
        out.append("};")
        out.append("")
        out.append("int main(void)")
        out.append("{")
        out.append("    uint64_t total = 0x%016xULL;" % rng.next())
        out.append("    int o, i;")
        out.append("")
        out.append("    for (o = 0; o < %d; o++) {" % n)
        out.append("        uint64_t s = (uint64_t)o;")
        out.append("        for (i = 0; i < %d; i++)" % m)
        out.append("            s = s * 0x100000001b3ULL + "
                   "tabs[o][i](((uint64_t)o << 32) ^ (uint64_t)i, %du);" % self.depth)
        out.append("        printf(\"obj %d %016llx\\n\", o, (unsigned long long)s);")
        out.append("        total = (total ^ s) * 0x9e3779b97f4a7c15ULL;")
        out.append("    }")
        for (o, i) in direct:
            out.append("    total += %s(total, %du);" % (fname(o, i), self.depth))
        out.append("    for (o = 0; o < %d; o++)" % n)
        out.append("        total = (total ^ gsums[o]()) * 0xff51afd7ed558ccdULL;")
        out.append("    printf(\"checksum=%016llx\\n\", (unsigned long long)total);")
        out.append("    return 0;")
        out.append("}")
        out.append("")
        return "\n".join(out)


def write_if_changed(path, text):
    try:
        with open(path, "r") as f:
            if f.read() == text:
                return
    except OSError:
        pass
    with open(path, "w") as f:
        f.write(text)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--objects", type=int, required=True, help="number of object files N")
    ap.add_argument("--functions", type=int, required=True, help="functions per object M")
    ap.add_argument("--out", required=True, help="output directory")
    ap.add_argument("--seed", type=int, default=1, help="PRNG seed (default 1)")
    ap.add_argument("--depth", type=int, default=3,
                    help="call depth passed from main (default 3)")
    args = ap.parse_args(argv)
    if args.objects < 1 or args.functions < 1:
        ap.error("--objects and --functions must be >= 1")
    if args.objects > 9999:
        ap.error("--objects must be <= 9999")
    if args.depth < 0:
        ap.error("--depth must be >= 0")

    gen = Gen(args.objects, args.functions, args.seed, args.depth)
    os.makedirs(args.out, exist_ok=True)
    wanted = set()
    for o in range(args.objects):
        name = "obj_%04d.c" % o
        wanted.add(name)
        write_if_changed(os.path.join(args.out, name), gen.gen_object(o))
    write_if_changed(os.path.join(args.out, "main.c"), gen.gen_main())
    for name in os.listdir(args.out):
        if re.fullmatch(r"obj_\d{4}\.c", name) and name not in wanted:
            os.remove(os.path.join(args.out, name))
    return 0


if __name__ == "__main__":
    sys.exit(main())
