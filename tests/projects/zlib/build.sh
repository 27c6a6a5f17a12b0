#!/usr/bin/env bash
# zlib: the static library objects of zlib's Makefile (OBJZ + OBJG) and its
# three test programs: example, minigzip (make test) and infcover (make cover).
# Defines are what zlib's ./configure picks: -DHAVE_HIDDEN and unistd.h on
# both systems, -D_LARGEFILE64_SOURCE=1 only on Linux (macOS has no off64_t).
#   build.sh SRC_DIR OUT_DIR native|macos
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
build_args "$@"

lib=(adler32 crc32 deflate infback inffast inflate inftrees trees zutil
     compress uncompr gzclose gzlib gzread gzwrite)
# configure rewrites zconf.h's "#ifdef HAVE_UNISTD_H" / "HAVE_STDARG_H" to
# "#if 1"; defining them has the same effect on the pristine header.
flags=(-I"$SRC" -DHAVE_HIDDEN -DHAVE_UNISTD_H -DHAVE_STDARG_H)
[ "$MODE" = native ] && flags+=(-D_LARGEFILE64_SOURCE=1)
# zlib 1.2.13's zutil.h takes TARGET_OS_MAC (defined by every recent macOS
# SDK, zig's too) for classic Mac OS and #defines fdopen(fd,mode) to NULL,
# breaking the <stdio.h> that zutil.c includes next (fixed upstream in 1.3).
# Defining fdopen as itself keeps the real declaration (zutil.h only defines
# it #ifndef fdopen).
[ "$MODE" = macos ] && flags+=(-Dfdopen=fdopen)

srcs=(); for f in "${lib[@]}"; do srcs+=("$SRC/$f.c"); done
compile_all "${flags[@]}" -- "${srcs[@]}" \
    "$SRC/test/example.c" "$SRC/test/minigzip.c" "$SRC/test/infcover.c"
objs=("${lib[@]/%/.o}")
link example example.o "${objs[@]}"
link minigzip minigzip.o "${objs[@]}"
link infcover infcover.o "${objs[@]}"
