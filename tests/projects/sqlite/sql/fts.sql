-- Full-text search (FTS5 and FTS4) and R*Tree, compiled in as in Debian.
CREATE VIRTUAL TABLE docs USING fts5(title, body);
INSERT INTO docs VALUES
  ('Linkers', 'A linker combines object files into an executable and resolves symbols'),
  ('Loaders', 'The dynamic loader maps segments and applies fixups before main runs'),
  ('Mach-O', 'Mach-O files hold load commands, segments, sections and a symbol table'),
  ('Compression', 'zlib and bzip2 compress data; the linker does not'),
  ('Databases', 'SQLite stores tables in a single file made of fixed size pages');
SELECT title FROM docs WHERE docs MATCH 'linker' ORDER BY rank;
SELECT title, highlight(docs, 1, '[', ']') FROM docs WHERE docs MATCH 'segments' ORDER BY title;
SELECT title, snippet(docs, 1, '<', '>', '...', 4) FROM docs WHERE docs MATCH 'symbol*' ORDER BY title;
SELECT title, printf('%.4f', bm25(docs)) FROM docs WHERE docs MATCH 'files OR file' ORDER BY bm25(docs), title;
SELECT title FROM docs WHERE docs MATCH 'title:mach* AND body:segments';
SELECT title FROM docs WHERE docs MATCH '"load commands"';
SELECT title FROM docs WHERE docs MATCH 'NEAR(linker executable, 5)';
CREATE VIRTUAL TABLE notes USING fts4(content, tokenize=porter);
INSERT INTO notes(content) VALUES ('running runners ran'), ('the linking of linked libraries'), ('nothing relevant');
SELECT rowid, content FROM notes WHERE content MATCH 'run' ORDER BY rowid;
SELECT rowid, offsets(notes) FROM notes WHERE content MATCH 'link*' ORDER BY rowid;
SELECT rowid, snippet(notes) FROM notes WHERE notes MATCH 'libraries';
CREATE VIRTUAL TABLE boxes USING rtree(id, minx, maxx, miny, maxy);
INSERT INTO boxes SELECT value, value % 100, value % 100 + 5, value / 100, value / 100 + 3 FROM generate_series(1, 1000);
SELECT count(*) FROM boxes WHERE minx >= 10 AND maxx <= 30 AND miny >= 2 AND maxy <= 8;
SELECT id FROM boxes WHERE minx <= 50 AND maxx >= 50 AND miny <= 5 AND maxy >= 5 ORDER BY id;
SELECT rtreecheck('boxes');
