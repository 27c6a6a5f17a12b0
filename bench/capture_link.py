#!/usr/bin/env python3
"""A linker wrapper for rustc that records the link, for bench/ripgrep_bench.py.

rustc runs it as its ld64.lld-flavoured linker (`-C linker=` this script,
`-C linker-flavor=ld64.lld`). It writes the exact command line to
$MACHLINK_CAPTURE_DIR/args.json and copies every input file on it (the
codegen units' objects, the rlibs, and rustc's temporary symbols.o, which
rustc deletes after the link) into $MACHLINK_CAPTURE_DIR/files/, so that the
benchmark can replay the link later without rebuilding. Then it runs the real
linker, $MACHLINK_CAPTURE_LINKER (default ld64.lld-22), with the same
arguments, so that cargo gets its output.
"""
import json
import re
import os
import shutil
import subprocess
import sys
import tempfile


def expand(args):
    """rustc passes `@file` when the command line is too long for the OS."""
    out = []
    for a in args:
        if a.startswith("@") and os.path.isfile(a[1:]):
            with open(a[1:]) as f:
                out += [ln.strip().strip('"') for ln in f.read().splitlines() if ln.strip()]
        else:
            out.append(a)
    return out


def temporary(path, tmp):
    """Whether `path` is in a directory made for this link only: rustc's
    (`rustcXXXXXX`, beside the output, holding symbols.o) or any under
    the system's temporary directory."""
    real = os.path.realpath(path)
    return (re.fullmatch(r"rustc[A-Za-z0-9]{6}", os.path.basename(os.path.dirname(real))) is not None
            or real.startswith(tmp + os.sep))


def record(capture, args):
    """args.json: the arguments, and for each input file its copy and
    whether it lived in a temporary directory (rustc's symbols.o)."""
    os.makedirs(os.path.join(capture, "files"), exist_ok=True)
    tmp = os.path.realpath(tempfile.gettempdir())
    inputs = {}
    output = None
    for i, a in enumerate(args):
        if i > 0 and args[i - 1] == "-o":
            output = a
            continue
        if a.startswith("-") or not os.path.isfile(a):
            continue
        name = f"{i:04d}-{os.path.basename(a)}"
        shutil.copy2(a, os.path.join(capture, "files", name))
        inputs[str(i)] = {"copy": name, "temporary": temporary(a, tmp)}
    with open(os.path.join(capture, "args.json"), "w") as f:
        json.dump({"args": args, "inputs": inputs, "output": output,
                   "sdkroot": os.environ.get("SDKROOT")}, f, indent=1)


def main():
    args = expand(sys.argv[1:])
    capture = os.environ.get("MACHLINK_CAPTURE_DIR")
    if not capture:
        sys.exit("capture_link.py: MACHLINK_CAPTURE_DIR is not set")
    record(capture, args)
    linker = os.environ.get("MACHLINK_CAPTURE_LINKER", "ld64.lld-22")
    sys.exit(subprocess.run([linker] + args).returncode)


if __name__ == "__main__":
    main()
