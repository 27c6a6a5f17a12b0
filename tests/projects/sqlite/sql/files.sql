-- A file database in WAL mode: locking, shared memory, checkpoints, VACUUM,
-- ATTACH, backup, CSV import and export, the shell's output modes and dot
-- commands, dbstat.
PRAGMA page_size = 4096;
PRAGMA journal_mode = WAL;
PRAGMA synchronous = FULL;
CREATE TABLE items(id INTEGER PRIMARY KEY, name TEXT, qty INTEGER, price REAL, note BLOB);
BEGIN;
INSERT INTO items(name, qty, price, note)
  SELECT printf('item%04d', value), value % 17, round(value * 1.25, 2), zeroblob(value % 50) FROM generate_series(1, 3000);
COMMIT;
SELECT count(*), sum(qty), printf('%.2f', sum(price)), sum(length(note)) FROM items;
PRAGMA wal_checkpoint(TRUNCATE);
UPDATE items SET qty = qty + 1 WHERE id % 3 = 0;
DELETE FROM items WHERE id > 2500;
PRAGMA integrity_check;
PRAGMA journal_mode = DELETE;
VACUUM;
PRAGMA page_count;
PRAGMA freelist_count;
SELECT name, path, pagetype, ncell FROM dbstat WHERE name = 'items' ORDER BY path LIMIT 4;
SELECT count(*) AS pages FROM dbstat;

ATTACH 'other.db' AS other;
CREATE TABLE other.summary AS SELECT qty, count(*) AS n, sum(price) AS total FROM items GROUP BY qty;
SELECT * FROM other.summary WHERE qty < 4 ORDER BY qty;
SELECT name FROM pragma_database_list ORDER BY seq;
DETACH other;

.headers on
.mode csv
.once export.csv
SELECT id, name, qty, price FROM items WHERE id <= 5;
CREATE TABLE imported(id, name, qty, price);
.import --skip 1 export.csv imported
SELECT * FROM imported;
.mode box
SELECT id, name, qty FROM items WHERE id IN (1, 10, 100);
.mode markdown
SELECT id, name, price FROM items WHERE id IN (2, 20);
.mode json
SELECT id, name, qty, price, note FROM items WHERE id IN (3, 4);
.mode line
SELECT * FROM items WHERE id = 7;
.mode insert items_copy
SELECT id, name, qty, price FROM items WHERE id IN (5, 6);
.mode table
.nullvalue NULL
SELECT NULL AS a, 1 AS b, 'x' AS c;
.mode tabs
.headers off
SELECT 'tab', 'separated', 1.5;
.mode list
.separator ' | '
SELECT 'custom', 'separator';
.separator '|'

.schema items
.tables
.indexes
.backup backup.db
.open backup.db
SELECT count(*) FROM items;
.sha3sum items
.print "printed by .print"
.parameter set @q 5
SELECT name FROM items WHERE qty = @q ORDER BY id LIMIT 3;
.dump imported
