-- Tables, inserts, joins, aggregates, CTEs, window functions, printf.
.headers on
.mode list
CREATE TABLE dept(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, budget REAL);
CREATE TABLE emp(
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  dept_id INTEGER REFERENCES dept(id),
  salary INTEGER CHECK (salary > 0),
  manager_id INTEGER REFERENCES emp(id),
  hired TEXT
);
INSERT INTO dept VALUES (1, 'Engineering', 1500000.5), (2, 'Sales', 600000), (3, 'Support', 250000.25), (4, 'Legal', NULL);
INSERT INTO emp VALUES
  (1, 'Ada', 1, 250000, NULL, '2015-03-01'),
  (2, 'Brian', 1, 180000, 1, '2017-07-15'),
  (3, 'Chen', 1, 175000, 1, '2018-01-09'),
  (4, 'Dana', 2, 120000, 1, '2016-11-30'),
  (5, 'Eve', 2, 95000, 4, '2020-02-29'),
  (6, 'Farid', 3, 70000, 4, '2021-06-01'),
  (7, 'Gita', 3, 72000, 6, '2019-09-09'),
  (8, 'Hugo', NULL, 50000, 1, '2023-01-01');

SELECT e.name, d.name AS dept, e.salary FROM emp e JOIN dept d ON d.id = e.dept_id ORDER BY e.salary DESC;
SELECT e.name, coalesce(d.name, '(none)') AS dept FROM emp e LEFT JOIN dept d ON d.id = e.dept_id ORDER BY e.id;
SELECT d.name, count(e.id) AS n, sum(e.salary) AS total, avg(e.salary) AS mean, min(e.salary), max(e.salary)
  FROM dept d LEFT JOIN emp e ON e.dept_id = d.id GROUP BY d.id ORDER BY total DESC NULLS LAST;
SELECT dept_id, group_concat(name, '+') AS names FROM (SELECT * FROM emp ORDER BY name) GROUP BY dept_id HAVING count(*) > 1 ORDER BY dept_id;
SELECT name FROM emp WHERE salary > (SELECT avg(salary) FROM emp) ORDER BY name;
SELECT name FROM emp e WHERE EXISTS (SELECT 1 FROM emp r WHERE r.manager_id = e.id) ORDER BY name;
SELECT m.name AS manager, count(*) AS reports FROM emp e JOIN emp m ON e.manager_id = m.id GROUP BY m.id ORDER BY reports DESC, manager;
SELECT name, salary FROM emp ORDER BY salary LIMIT 3 OFFSET 2;
SELECT total(budget), sum(budget), count(budget), count(*) FROM dept;

-- Recursive CTEs: org chart, Fibonacci, a date series
WITH RECURSIVE chain(id, name, depth, path) AS (
  SELECT id, name, 0, name FROM emp WHERE manager_id IS NULL
  UNION ALL
  SELECT e.id, e.name, c.depth + 1, c.path || ' > ' || e.name FROM emp e JOIN chain c ON e.manager_id = c.id
)
SELECT printf('%.*c%s', depth * 2, ' ', name) AS tree, path FROM chain ORDER BY path;
WITH RECURSIVE fib(n, a, b) AS (SELECT 1, 0, 1 UNION ALL SELECT n + 1, b, a + b FROM fib WHERE n < 90)
SELECT n, a FROM fib WHERE n IN (1, 2, 10, 50, 90);
WITH RECURSIVE d(day) AS (SELECT date('2024-02-26') UNION ALL SELECT date(day, '+1 day') FROM d WHERE day < '2024-03-03')
SELECT group_concat(day || ':' || strftime('%w', day), ' ') FROM d;
WITH t(x) AS (VALUES (3), (1), (2)) SELECT group_concat(x) FROM (SELECT x FROM t ORDER BY x);

-- Window functions
SELECT name, dept_id, salary,
  row_number() OVER (PARTITION BY dept_id ORDER BY salary DESC) AS rn,
  rank() OVER (ORDER BY salary DESC) AS rk,
  sum(salary) OVER (PARTITION BY dept_id) AS dept_total,
  lag(name) OVER (ORDER BY id) AS prev,
  lead(salary, 1, 0) OVER (ORDER BY id) AS next_salary,
  printf('%.1f%%', 100.0 * salary / sum(salary) OVER ()) AS share
FROM emp ORDER BY id;
SELECT id, sum(id) OVER (ORDER BY id ROWS BETWEEN 1 PRECEDING AND 1 FOLLOWING) AS s3,
  ntile(3) OVER (ORDER BY id) AS tile, first_value(name) OVER w, last_value(name) OVER w
FROM emp WINDOW w AS (ORDER BY id RANGE BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) ORDER BY id;

-- printf / format and scalar functions
SELECT printf('%d|%5d|%-5d|%05d|%x|%X|%o|%c', 42, 42, 42, 42, 255, 255, 8, 'xyz');
SELECT printf('%f|%.2f|%10.3f|%e|%g|%g', 3.14159265, 2.5, -1.0/3, 123456.789, 1e-10, 100000000.0);
SELECT printf('%s|%10s|%-10s|%.3s|%q|%Q|%Q|%w', 'a', 'right', 'left', 'truncate', 'it''s', 'it''s', NULL, 'x"y');
SELECT printf('%,d', 1234567890), printf('%!.20g', 0.1), format('%s=%d', 'n', 7), printf('%z', 'z');
SELECT upper('straße'), lower('ÀB'), length('häll€'), length(x'00ff'), substr('hello world', 7), substr('hello', -3, 2);
SELECT replace('a-b-c', '-', '+'), instr('hello', 'll'), trim('  x  '), ltrim('xxyx', 'x'), rtrim('abc  '), hex('AZ'), quote('it''s'), quote(x'0102');
SELECT char(72, 105), unicode('€'), 'abc' LIKE 'A%', 'abc' GLOB 'A*', 'abc' GLOB 'a?c', soundex('Robert'), typeof(1), typeof(1.0), typeof('1'), typeof(x'01'), typeof(NULL);
SELECT abs(-5), round(2.5), round(-2.5), round(3.14159, 3), 7 / 2, 7 / 2.0, 7 % 3, -7 % 3, 1 << 62, cast('12abc' AS INTEGER), cast(3.99 AS INTEGER);
SELECT sqrt(2), pow(2, 10), log(100), ln(exp(1)), log2(1024), ceil(1.2), floor(-1.2), pi(), sin(pi() / 2), mod(10, 3), trunc(-2.7);
SELECT 9223372036854775807 + 1, -9223372036854775808 - 1, 1e308 * 10, 0.1 + 0.2, 1.0 / 0, 5 / 0;
SELECT iif(1 < 2, 'yes', 'no'), nullif(3, 3), ifnull(NULL, 'dflt'), coalesce(NULL, NULL, 'third'), max(1, 'a', x'00'), min(3, 1.5);
SELECT CASE WHEN salary >= 150000 THEN 'high' WHEN salary >= 90000 THEN 'mid' ELSE 'low' END AS band, count(*) FROM emp GROUP BY band ORDER BY band;

-- Dates and times from fixed instants
SELECT date('2024-02-29', '+1 year'), date('2024-01-31', '+1 month'), datetime(0, 'unixepoch'), datetime(1700000000, 'unixepoch');
SELECT julianday('2000-01-01 12:00:00'), strftime('%Y-%j %H:%M:%f', '2023-12-31 23:59:59.123'), strftime('%s', '2024-01-01'), unixepoch('2024-01-01');
SELECT date('2024-03-15', 'start of month', '-1 day'), time('12:34:56', '+3600 seconds'), date('2024-06-15', 'weekday 0'), julianday('2024-12-25') - julianday('2024-01-01');

-- JSON
SELECT json_object('name', name, 'salary', salary) FROM emp WHERE id <= 2 ORDER BY id;
SELECT json_group_array(name) FROM (SELECT name FROM emp ORDER BY name);
SELECT json_extract('{"a":{"b":[1,2,{"c":"deep"}]}}', '$.a.b[2].c'), json_array_length('[1,2,3]'), json_type('{"x":1.5}', '$.x'), json_valid('{bad');
SELECT key, value, type FROM json_each('{"x":1,"y":[2,3],"z":null}') ORDER BY key;
SELECT fullkey, atom FROM json_tree('[1,[2,[3]]]') WHERE atom IS NOT NULL ORDER BY fullkey;
SELECT json_set('{"a":1}', '$.b', 2, '$.a', 10), json_remove('[1,2,3]', '$[1]'), json_patch('{"a":1,"b":2}', '{"b":null,"c":3}'), json('  [ 1 , 2 ]  ');

-- Views, triggers, upsert, indexes, RETURNING
CREATE VIEW payroll AS SELECT d.name AS dept, sum(e.salary) AS total FROM emp e JOIN dept d ON d.id = e.dept_id GROUP BY d.id;
SELECT * FROM payroll ORDER BY dept;
CREATE TABLE audit(seq INTEGER PRIMARY KEY, what TEXT);
CREATE TRIGGER emp_raise AFTER UPDATE OF salary ON emp BEGIN
  INSERT INTO audit(what) VALUES (printf('%s: %d -> %d', old.name, old.salary, new.salary));
END;
UPDATE emp SET salary = salary * 11 / 10 WHERE dept_id = 3;
SELECT * FROM audit;
CREATE TABLE counters(name TEXT PRIMARY KEY, hits INTEGER NOT NULL DEFAULT 0);
INSERT INTO counters(name, hits) VALUES ('a', 1), ('b', 1);
INSERT INTO counters(name, hits) VALUES ('a', 1), ('c', 1) ON CONFLICT(name) DO UPDATE SET hits = hits + excluded.hits;
SELECT * FROM counters ORDER BY name;
INSERT INTO counters(name) VALUES ('d') RETURNING name, hits;
DELETE FROM counters WHERE hits > 1 RETURNING *;
CREATE INDEX emp_dept_salary ON emp(dept_id, salary);
EXPLAIN QUERY PLAN SELECT name FROM emp WHERE dept_id = 1 AND salary > 100000;
EXPLAIN QUERY PLAN SELECT * FROM emp e JOIN dept d ON d.id = e.dept_id WHERE d.name = 'Sales';

-- Transactions and savepoints
BEGIN;
INSERT INTO dept VALUES (10, 'Temp', 1);
SAVEPOINT sp1;
DELETE FROM dept;
ROLLBACK TO sp1;
RELEASE sp1;
ROLLBACK;
SELECT count(*) FROM dept;

-- generate_series (the shell's built-in extension), and a bigger computation
SELECT sum(value), count(*) FROM generate_series(1, 100000);
SELECT o.value, (SELECT count(*) FROM generate_series(2, o.value - 1) AS d WHERE o.value % d.value = 0) = 0 AS prime
  FROM generate_series(2, 30) AS o WHERE prime ORDER BY o.value;
CREATE TABLE big AS SELECT value AS n, value * value % 1009 AS r, printf('row-%06d', value) AS label FROM generate_series(1, 20000);
SELECT count(*), count(DISTINCT r), sum(r), min(label), max(label) FROM big;
SELECT r, count(*) FROM big GROUP BY r ORDER BY count(*) DESC, r LIMIT 5;
SELECT label FROM big WHERE n IN (SELECT n * 997 FROM big WHERE n < 25) ORDER BY n;
