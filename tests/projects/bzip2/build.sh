#!/usr/bin/env bash
# bzip2 1.0.8: the library objects of its Makefile (OBJS), bzip2 linked
# against them and the standalone bzip2recover, with the Makefile's
# -D_FILE_OFFSET_BITS=64 (BIGFILES). Copies the sample files `make test`
# uses into OUT_DIR/data for run.sh.
#   build.sh SRC_DIR OUT_DIR native|macos
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
build_args "$@"

lib=(blocksort huffman crctable randtable compress decompress bzlib)
srcs=()
for f in "${lib[@]}" bzip2 bzip2recover; do srcs+=("$SRC/$f.c"); done
compile_all -D_FILE_OFFSET_BITS=64 -- "${srcs[@]}"
link bzip2 bzip2.o "${lib[@]/%/.o}"
link bzip2recover bzip2recover.o

mkdir -p "$OUT/data"
cp "$SRC"/sample[123].{ref,bz2} "$SRC"/words[123] "$OUT/data/"
