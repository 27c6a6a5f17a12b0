#!/usr/bin/env python3
"""Derive a libSystem.tbd that ld64.lld-19 accepts from zig's copy.

ld64.lld-19 does not know the `arm64e.x1-*` target triples that zig's TAPI
stub lists, and rejects the whole file. We drop those entries from every
target list (they only describe an arm64e variant we never link for) and
leave everything else untouched, so the stub still describes the real
libSystem exports for x86_64 and arm64e.

usage: filter_tbd.py IN OUT
"""
import re
import sys


def filter_targets(text: str) -> str:
    # An x1 entry preceded by a comma ("..., arm64e.x1-macos") or, when first
    # in its list, followed by one ("[ arm64e.x1-macos, ...").
    text = re.sub(r",\s*arm64e\.x1-[A-Za-z]+", "", text)
    text = re.sub(r"arm64e\.x1-[A-Za-z]+\s*,\s*", "", text)
    if "arm64e.x1" in text:
        sys.exit("filter_tbd.py: an arm64e.x1 target stands alone in a list; cannot filter")
    return text


def main() -> None:
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    src, dst = sys.argv[1], sys.argv[2]
    with open(src, encoding="utf-8") as f:
        text = f.read()
    tmp = dst + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(filter_targets(text))
    import os

    os.replace(tmp, dst)


if __name__ == "__main__":
    main()
