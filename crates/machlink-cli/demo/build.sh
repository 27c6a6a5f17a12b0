#!/bin/sh
# Rebuilds the objects `machlink demo` embeds (committed, so the demo needs
# no C compiler): x86_64 macOS objects from main.c, greet_v1.c, greet_v2.c.
# Needs scripts/setup.sh (zig) first.
set -e
cd "$(dirname "$0")"
for f in main greet_v1 greet_v2; do
    python3 -m ziglang cc -target x86_64-macos -O1 -c "$f.c" -o "$f.o"
done
