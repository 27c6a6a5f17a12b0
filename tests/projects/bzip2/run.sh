#!/usr/bin/env bash
# bzip2's `make test` (compress the samples at -1/-2/-3, decompress the
# reference .bz2 files, compare), then file-mode operations, -t/-v/-k/-c,
# bunzip2/bzcat by program name, corrupt input and bzip2recover.
#   run.sh OUT_DIR [RUNNER]
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
run_args "$@"
cp ../data/* .
# bzip2 reads options from $BZIP2 and $BZIP.
unset BZIP BZIP2
ln -s bzip2 ../bunzip2 2>/dev/null || true
ln -s bzip2 ../bzcat 2>/dev/null || true

make_test() {
    cat words1
    prog bzip2 -1 < sample1.ref > sample1.rb2
    prog bzip2 -2 < sample2.ref > sample2.rb2
    prog bzip2 -3 < sample3.ref > sample3.rb2
    prog bzip2 -d < sample1.bz2 > sample1.tst
    prog bzip2 -d < sample2.bz2 > sample2.tst
    prog bzip2 -ds < sample3.bz2 > sample3.tst
    cmp sample1.bz2 sample1.rb2
    cmp sample2.bz2 sample2.rb2
    cmp sample3.bz2 sample3.rb2
    cmp sample1.tst sample1.ref
    cmp sample2.tst sample2.ref
    cmp sample3.tst sample3.ref
    cat words3
}
levels() {
    for level in 1 5 9; do
        prog bzip2 -$level -c sample1.ref > s.bz2 || return
        echo "-$level: $(wc -c < s.bz2) bytes, $(cksum < s.bz2)"
        prog bzip2 -dc s.bz2 | cmp - sample1.ref || return
    done
    for n in 0 1 100 5000; do
        head -c "$n" sample2.ref > small
        prog bzip2 -c small | prog bzip2 -dc | cmp - small && echo "$n bytes ok"
    done
}
file_mode() {
    cp sample2.ref work
    prog bzip2 -v work 2>&1 && ls work*
    prog bzip2 -t -v work.bz2 2>&1
    prog bzip2 -d -k work.bz2 && ls work*
    cmp work sample2.ref && echo same
    prog bzip2 work 2>&1
    echo "second compress: $?"
    prog bzip2 -f work && ls work*
    prog bunzip2 work.bz2 && ls work*
    prog bzcat sample1.bz2 | cksum
    prog bzip2 -zkc sample3.ref sample1.ref | prog bzip2 -dc | cksum
    cat sample3.ref sample1.ref | cksum
}
corrupt() {
    head -c 2000 sample1.bz2 > trunc.bz2
    prog bzip2 -t trunc.bz2 2>&1
}
not_bzip2() { local rc=0; prog bzip2 -d words1 2>&1 || rc=$?; ls words1*; return $rc; }
missing() { prog bzip2 no-such-file 2>&1; }
recover() {
    cat sample1.bz2 sample2.bz2 > two.bz2
    prog bzip2recover two.bz2 2>&1
    for f in rec*two.bz2; do echo "$f: $(prog bzip2 -dc "$f" | cksum)"; done
}
help_text() { prog bzip2 --help 2>&1 | head -5; prog bzip2 -L 2>&1 | head -3; }

step "make test" make_test
step "levels and sizes" levels
step "file mode" file_mode
expect 2 "truncated input" corrupt
expect 2 "not a bzip2 file" not_bzip2
expect 1 "missing file" missing
step "bzip2recover" recover
step "help" help_text
exit "$STATUS"
