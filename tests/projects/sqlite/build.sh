#!/usr/bin/env bash
# SQLite 3.40.1 built the way Debian builds it: not as the amalgamation but
# one object per source file (configure --disable-amalgamation: the LIBOBJS0
# list of Makefile.in), with Debian's feature flags, plus the sqlite3 shell
# (shell.c with the Makefile's SHELL_OPT).
#
# The generated sources (parse.c, opcodes.c/h, keywordhash.h, sqlite3.h,
# fts5.c, shell.c) come from SQLite's own configure and Makefile run
# natively in OUT_DIR/gen (needs gcc and tclsh). sqlite_cfg.h is the
# hand-written config-MODE.h.
#   build.sh SRC_DIR OUT_DIR native|macos
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
build_args "$@"
command -v tclsh >/dev/null || { echo "build.sh: tclsh is needed (apt-get install tcl)" >&2; exit 1; }

# debian/rules CFLAGS, then what Debian's configure options add
# (--enable-fts4 --enable-fts5, math functions by default).
features=(-DSQLITE_SECURE_DELETE -DSQLITE_ENABLE_COLUMN_METADATA
    -DSQLITE_ENABLE_FTS3 -DSQLITE_ENABLE_FTS3_PARENTHESIS
    -DSQLITE_ENABLE_RTREE=1 -DSQLITE_SOUNDEX=1 -DSQLITE_ENABLE_UNLOCK_NOTIFY
    -DSQLITE_OMIT_LOOKASIDE=1 -DSQLITE_ENABLE_DBSTAT_VTAB
    -DSQLITE_ALLOW_ROWID_IN_VIEW -DSQLITE_ENABLE_UPDATE_DELETE_LIMIT=1
    -DSQLITE_ENABLE_LOAD_EXTENSION -DSQLITE_ENABLE_JSON1
    -DSQLITE_LIKE_DOESNT_MATCH_BLOBS -DSQLITE_THREADSAFE=1
    -DSQLITE_ENABLE_FTS3_TOKENIZER=1 -DSQLITE_USE_URI=1
    -DSQLITE_MAX_SCHEMA_RETRY=25 -DSQLITE_ENABLE_PREUPDATE_HOOK
    -DSQLITE_ENABLE_SESSION -DSQLITE_ENABLE_STMTVTAB
    -DSQLITE_MAX_VARIABLE_NUMBER=250000
    -DSQLITE_ENABLE_FTS4 -DSQLITE_ENABLE_MATH_FUNCTIONS -DSQLITE_ENABLE_FTS5)

gen="$OUT/gen"
if [ ! -f "$gen/shell.c" ] || [ "$SRC/VERSION" -nt "$gen/shell.c" ]; then
    rm -rf "$gen"
    mkdir -p "$gen"
    # The feature flags go through CFLAGS: configure hands the -DSQLITE_*
    # ones to lemon and mkkeywordhash (OPT_FEATURE_FLAGS), which shape the
    # generated parser and keyword table.
    (cd "$gen" && "$SRC/configure" --disable-amalgamation --enable-fts5 \
        --disable-tcl --disable-readline CFLAGS="-O1 ${features[*]}" >configure.log 2>&1 \
        && make -s parse.c parse.h opcodes.c opcodes.h keywordhash.h sqlite3.h \
            fts5.c fts5.h shell.c >make.log 2>&1) \
        || { echo "build.sh: generating sources failed, see $gen/*.log" >&2; exit 1; }
fi
mkdir -p "$OUT/cfg"
cp "$projects_dir/sqlite/config-$MODE.h" "$OUT/cfg/sqlite_cfg.h"

# Makefile.in LIBOBJS0, in its order.
objs=(alter analyze attach auth backup bitvec btmutex btree build callback
    complete ctime date dbpage dbstat delete expr fault fkey
    fts3 fts3_aux fts3_expr fts3_hash fts3_icu fts3_porter fts3_snippet
    fts3_tokenizer fts3_tokenizer1 fts3_tokenize_vtab fts3_unicode fts3_unicode2
    fts3_write fts5 func global hash icu insert json legacy loadext main malloc
    mem0 mem1 mem2 mem3 mem5 memdb memjournal mutex mutex_noop mutex_unix
    mutex_w32 notify opcodes os os_kv os_unix os_win pager parse pcache pcache1
    pragma prepare printf random resolve rowset rtree sqlite3session select
    sqlite3rbu status stmt table threads tokenize treeview trigger update
    userauth upsert util vacuum vdbe vdbeapi vdbeaux vdbeblob vdbemem vdbesort
    vdbetrace vdbevtab wal walker where wherecode whereexpr window utf vtab)
# Extension sources (ext/*, fts5.c) get -DSQLITE_CORE, as their Makefile rules.
core=() ext=()
for o in "${objs[@]}"; do
    if [ -f "$SRC/src/$o.c" ]; then core+=("$SRC/src/$o.c")
    elif [ "$o" = fts5 ]; then ext+=("gen/$o.c")
    elif [ -f "$gen/$o.c" ]; then core+=("gen/$o.c")
    else
        for d in "$SRC"/ext/{fts3,icu,rtree,session,rbu,userauth,misc}; do
            if [ -f "$d/$o.c" ]; then ext+=("$d/$o.c"); continue 2; fi
        done
        echo "build.sh: no source for $o.lo" >&2
        exit 1
    fi
done

# Makefile.in TCC (configure puts -DSQLITE_OS_UNIX=1 in CFLAGS);
# -fno-strict-aliasing from debian/rules.
# (Paths inside OUT_DIR are relative: compile_all runs in OUT_DIR.)
tcc=(-fno-strict-aliasing -DSQLITE_OS_UNIX=1 -Icfg -Igen -I"$SRC/src"
    -I"$SRC/ext/rtree" -I"$SRC/ext/icu" -I"$SRC/ext/fts3" -I"$SRC/ext/async"
    -I"$SRC/ext/session" -I"$SRC/ext/userauth" -D_HAVE_SQLITE_CONFIG_H
    -DBUILD_sqlite -DNDEBUG "${features[@]}")
# On arm64 macOS `long double` is `double`, so SQLite's printf keeps 16
# significant digits (printf('%.20f', 0.1) is 0.1); x86_64's 80-bit long
# double gives more. The native build that an arm64 run is compared with
# (TARGET_ARCH=arm64 builds it in its own directory) computes in double too.
if [ "$MODE" = native ] && [ "$TARGET_ARCH" = arm64 ]; then
    tcc+=(-DLONGDOUBLE_TYPE=double)
fi
shell_opt=(-DSQLITE_ENABLE_FTS4 -DSQLITE_ENABLE_RTREE
    -DSQLITE_ENABLE_EXPLAIN_COMMENTS -DSQLITE_ENABLE_UNKNOWN_SQL_FUNCTION
    -DSQLITE_ENABLE_STMTVTAB -DSQLITE_ENABLE_DBPAGE_VTAB
    -DSQLITE_ENABLE_DBSTAT_VTAB -DSQLITE_ENABLE_BYTECODE_VTAB
    -DSQLITE_ENABLE_OFFSET_SQL_FUNC)
compile_all "${tcc[@]}" -- "${core[@]}"
compile_all "${tcc[@]}" -DSQLITE_CORE -- "${ext[@]}"
compile_all "${tcc[@]}" "${shell_opt[@]}" -- gen/shell.c
link sqlite3 shell.o "${objs[@]/%/.o}" -- -lm -ldl -lpthread
