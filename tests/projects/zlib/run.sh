#!/usr/bin/env bash
# zlib's own checks (make test, make cover) plus minigzip round trips of
# generated data at every strategy; prints sizes and checksums.
#   run.sh OUT_DIR [RUNNER]
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
run_args "$@"

# Deterministic inputs: text with repeats, numbers, and pseudo-random bytes.
awk 'BEGIN { for (i = 0; i < 4000; i++) printf "line %d: the quick brown fox %d jumps over %x\n", i, i*i % 977, i*7919 }' > text
seq 1 30000 > numbers
awk 'BEGIN { x = 12345; for (i = 0; i < 60000; i++) { x = (x * 1103515245 + 12345) % 2147483648; printf "%c", 32 + int(x / 65536) % 95 } }' > noise
cat text numbers noise text > mixed

# The gzip header's OS byte is 3 (Unix) on Linux and 19 on macOS: compare
# everything after the 10-byte header.
body() { tail -c +11 "$1" | cksum; }

round_trip() { # FILE MINIGZIP-FLAGS...
    local f="$1"
    shift
    prog minigzip "$@" < "$f" > "$f.gz" || return
    echo "$f $*: $(wc -c < "$f") -> $(wc -c < "$f.gz") bytes, body $(body "$f.gz")"
    prog minigzip -d < "$f.gz" > "$f.out" || return
    cmp "$f" "$f.out" && echo "$f $*: round trip ok"
}

hello() { echo hello world | prog minigzip | prog minigzip -d; }
file_mode() {
    cp mixed copy
    prog minigzip copy && ls copy* && prog minigzip -d copy.gz && ls copy* && cmp copy mixed && echo same
}

step "make test: hello world" hello
step "make test: example" prog example foo.gz
step "make cover: infcover" prog infcover
for flags in "" -1 -9 -f -h -r -5; do
    for f in text numbers noise mixed; do
        step "minigzip $f $flags" round_trip "$f" $flags
    done
done
step "minigzip file mode" file_mode
exit "$STATUS"
