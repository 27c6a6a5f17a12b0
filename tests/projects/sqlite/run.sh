#!/usr/bin/env bash
# Runs the sqlite3 shell over the SQL scripts in sql/ (in-memory and file
# databases, WAL, full-text search, R*Tree, the shell's modes and dot
# commands) and a few command-line forms and error exits.
#   run.sh OUT_DIR [RUNNER]
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"
run_args "$@"
cp "$projects_dir"/sqlite/sql/*.sql .
# SQLite reads these for its temporary files; the shell reads ~/.sqliterc
# (home from getpwuid, as on macOS): pass -init to skip it where it matters.
unset SQLITE_TMPDIR
export TMPDIR="$PWD" TZ=UTC LC_ALL=C

step "queries.sql (in memory)" prog sqlite3 -init /dev/null < queries.sql
expect 1 "errors.sql" prog sqlite3 -init /dev/null < errors.sql
step "fts.sql" prog sqlite3 -init /dev/null fts.db < fts.sql
step "files.sql (WAL file database)" prog sqlite3 -init /dev/null files.db < files.sql
step "reopen files.db read-only" prog sqlite3 -init /dev/null -readonly files.db \
    'SELECT count(*), sum(qty) FROM items' 'PRAGMA integrity_check' 'PRAGMA journal_mode'
expect 8 "write to read-only" prog sqlite3 -init /dev/null -readonly files.db 'DELETE FROM items'
step "-version" prog sqlite3 -version
step "-json -cmd" prog sqlite3 -init /dev/null -json -cmd 'CREATE TABLE t(a, b)' :memory: \
    "INSERT INTO t VALUES (1, 'x'), (2.5, NULL)" 'SELECT * FROM t'
step "-csv -header" prog sqlite3 -init /dev/null -csv -header files.db 'SELECT id, name FROM items LIMIT 3'
step ".read from a command" prog sqlite3 -init /dev/null :memory: '.read fts.sql'
expect 1 "-bail stops at the first error" prog sqlite3 -init /dev/null -bail :memory: \
    'SELECT 1' 'SELECT * FROM nowhere' 'SELECT 2'
expect 26 "not a database" prog sqlite3 -init /dev/null queries.sql 'SELECT * FROM sqlite_schema'
step "~/.sqliterc through getpwuid" bash -c 'echo "SELECT 40 + 2;" | "$@" 2>&1 | sed "s#$(getent passwd "$(id -u)" | cut -d: -f6)#HOME#"' _ \
    ${RUNNER:+"$RUNNER"} ../sqlite3
exit "$STATUS"
