#!/bin/sh
# Rebuilds the objects `machlink demo` embeds (committed, so the demo needs
# no C compiler): x86_64/ and arm64/ macOS objects from main.c, greet_v1.c
# and greet_v2.c, as zig cc writes them by default (DWARF CFI in __eh_frame
# beside compact unwind: an update replays both). Needs scripts/setup.sh
# (zig) first.
set -e
cd "$(dirname "$0")"
for f in main greet_v1 greet_v2; do
    python3 -m ziglang cc -target x86_64-macos -O1 -c "$f.c" -o "x86_64/$f.o"
    python3 -m ziglang cc -target aarch64-macos -O1 -c "$f.c" -o "arm64/$f.o"
done
