#!/bin/sh
# Rebuilds the objects `machlink demo` embeds (committed, so the demo needs
# no C compiler): x86_64/ and arm64/ macOS objects from main.c, greet_v1.c
# and greet_v2.c. Needs scripts/setup.sh (zig) first.
#
# arm64: zig's clang writes DWARF CFI (__eh_frame) beside the compact unwind
# entries of every function by default (asynchronous unwind tables). The
# demo's functions all have frame-based compact unwind encodings, so the CFI
# says nothing the image's __unwind_info does not; but an object with
# __eh_frame makes an incremental update fall back to a full link, and the
# demo is there to show the update. -fno-asynchronous-unwind-tables leaves
# the compact unwind entries only. (x86_64 objects keep their CFI: there the
# FDEs that compact unwind covers are dropped, and the update goes ahead.)
set -e
cd "$(dirname "$0")"
for f in main greet_v1 greet_v2; do
    python3 -m ziglang cc -target x86_64-macos -O1 -c "$f.c" -o "x86_64/$f.o"
    python3 -m ziglang cc -target aarch64-macos -O1 -fno-asynchronous-unwind-tables \
        -c "$f.c" -o "arm64/$f.o"
done
