-- Constraint violations and SQL errors go to stderr; the shell goes on.
.bail off
PRAGMA foreign_keys = ON;
CREATE TABLE p(id INTEGER PRIMARY KEY, v TEXT UNIQUE NOT NULL);
CREATE TABLE c(id INTEGER PRIMARY KEY, p_id INTEGER REFERENCES p(id), n INTEGER CHECK (n >= 0));
INSERT INTO p VALUES (1, 'one'), (2, 'two');
INSERT INTO p VALUES (3, 'one');
INSERT INTO p VALUES (4, NULL);
INSERT INTO c VALUES (1, 1, 5);
INSERT INTO c VALUES (2, 99, 5);
INSERT INTO c VALUES (3, 1, -1);
DELETE FROM p WHERE id = 1;
SELEC 1;
SELECT * FROM missing_table;
SELECT no_such_function(1);
SELECT json('{bad');
SELECT abs(-9223372036854775808);
INSERT INTO p VALUES (1, 'dup');
INSERT OR IGNORE INTO p VALUES (1, 'dup');
INSERT OR REPLACE INTO p VALUES (2, 'TWO');
SELECT * FROM p ORDER BY id;
SELECT * FROM c ORDER BY id;
SELECT raise(ABORT, 'outside trigger');
CREATE TRIGGER no_neg BEFORE INSERT ON c WHEN new.n > 100 BEGIN SELECT raise(ABORT, 'n too large'); END;
INSERT INTO c VALUES (4, 2, 1000);
SELECT count(*) FROM c;
.print done with errors
