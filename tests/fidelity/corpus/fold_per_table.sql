-- folding decided per table: one table cut by its DDL or TRUNCATE while the others fold on, a keyless FULL table folded as a multiset of duplicate rows, a foreign key across a cut and a folded table, and a schema change that cuts every table
-- @setup
CREATE SCHEMA fpt;
CREATE TABLE fpt.parents (id int PRIMARY KEY, name text NOT NULL, score numeric(8,2));
CREATE TABLE fpt.children (id int PRIMARY KEY, parent_id int REFERENCES fpt.parents (id) ON DELETE CASCADE,
                           note text, tags text[]);
CREATE TABLE fpt.audit (who text, what text, amount numeric, at date);
ALTER TABLE fpt.audit REPLICA IDENTITY FULL;
CREATE TABLE fpt.tags (id int PRIMARY KEY, label text);
INSERT INTO fpt.parents SELECT g, 'parent ' || g, g * 1.5 FROM generate_series(1, 60) g;
INSERT INTO fpt.children SELECT g, 1 + g % 60, 'child ' || g, ARRAY['a', 'b' || g] FROM generate_series(1, 200) g;
INSERT INTO fpt.audit SELECT 'user' || (g % 5), 'login', NULL, date '2026-01-01' + g % 3 FROM generate_series(1, 90) g;
INSERT INTO fpt.audit VALUES ('dup', 'same', 1.0, '2026-02-02'), ('dup', 'same', 1.0, '2026-02-02'),
                             ('dup', 'same', 1.0, '2026-02-02');
INSERT INTO fpt.tags SELECT g, 'tag ' || g FROM generate_series(1, 20) g;
-- @step changes_everywhere
UPDATE fpt.parents SET score = score + 1 WHERE id % 7 = 0;
DELETE FROM fpt.children WHERE id % 11 = 0;
INSERT INTO fpt.children SELECT g, 1 + g % 60, 'late ' || g, NULL FROM generate_series(201, 240) g;
UPDATE fpt.audit SET amount = 2.5 WHERE ctid = (SELECT ctid FROM fpt.audit WHERE who = 'dup' LIMIT 1);
DELETE FROM fpt.audit WHERE ctid = (SELECT ctid FROM fpt.audit WHERE who = 'dup' AND amount = 1.0 LIMIT 1);
INSERT INTO fpt.audit VALUES ('dup', 'same', 1.0, '2026-02-02'), ('new', NULL, NULL, NULL);
-- @step ddl_cuts_children_only
UPDATE fpt.children SET note = 'before ddl' WHERE id <= 10;
ALTER TABLE fpt.children ADD COLUMN prio int DEFAULT 3;
UPDATE fpt.children SET prio = id % 4, note = 'after ddl' WHERE id <= 20;
INSERT INTO fpt.children (id, parent_id, note, prio) VALUES (300, 5, 'with prio', 9);
UPDATE fpt.parents SET name = 'renamed ' || id WHERE id <= 30;
DELETE FROM fpt.parents WHERE id = 59;
INSERT INTO fpt.parents VALUES (61, 'parent 61', 0), (62, 'parent 62', NULL);
INSERT INTO fpt.children (id, parent_id, note) VALUES (301, 61, 'child of a new parent');
UPDATE fpt.audit SET what = 'logout' WHERE who = 'user3';
-- @step truncate_cuts_tags_only
TRUNCATE fpt.tags;
INSERT INTO fpt.tags SELECT g, 'second tag ' || g FROM generate_series(5, 15) g;
UPDATE fpt.tags SET label = label || '!' WHERE id = 7;
DELETE FROM fpt.parents WHERE id = 58;
UPDATE fpt.children SET parent_id = 61 WHERE id BETWEEN 21 AND 25;
DELETE FROM fpt.audit WHERE who = 'user1' AND at = date '2026-01-02';
-- @step constraint_across_tables
ALTER TABLE fpt.tags ADD COLUMN parent_id int;
UPDATE fpt.tags SET parent_id = id WHERE id <= 10;
ALTER TABLE fpt.tags ADD CONSTRAINT tags_parent_fk FOREIGN KEY (parent_id) REFERENCES fpt.parents (id) NOT VALID;
DELETE FROM fpt.parents WHERE id = 57;
UPDATE fpt.parents SET score = 0 WHERE id = 3;
ALTER TABLE fpt.tags VALIDATE CONSTRAINT tags_parent_fk;
-- @step type_cuts_every_table
CREATE TYPE fpt.mood AS ENUM ('sad', 'ok', 'happy');
ALTER TABLE fpt.parents ADD COLUMN mood fpt.mood;
UPDATE fpt.parents SET mood = 'happy' WHERE id % 3 = 0;
ALTER TYPE fpt.mood RENAME VALUE 'ok' TO 'fine';
UPDATE fpt.parents SET mood = 'fine' WHERE id % 3 = 1;
INSERT INTO fpt.audit VALUES ('dup', 'same', 1.0, '2026-02-02');
DELETE FROM fpt.children WHERE id = 300;
