-- folding across TRUNCATE: a keyed table changed, truncated and refilled with the same keys (then updated with and without unchanged TOAST values, deleted, truncated again), a keyless FULL table of duplicate rows truncated and refilled, a TRUNCATE CASCADE over a table a schema change cut before, a table truncated and then altered, RESTART IDENTITY followed by updates, a table only truncated, and TRUNCATE in a transaction with changes before and after it
-- @setup
CREATE SCHEMA ftr;
CREATE TABLE ftr.docs (id int PRIMARY KEY, title text NOT NULL, body text, score numeric(6,2));
INSERT INTO ftr.docs SELECT g, 'doc ' || g, repeat(md5(g::text), 300), g FROM generate_series(1, 80) g;
CREATE TABLE ftr.log (who text, what text, n int);
ALTER TABLE ftr.log REPLICA IDENTITY FULL;
INSERT INTO ftr.log SELECT 'u' || (g % 3), 'same', 1 FROM generate_series(1, 30) g;
CREATE TABLE ftr.owners (id int PRIMARY KEY, name text);
CREATE TABLE ftr.items (id int PRIMARY KEY, owner_id int REFERENCES ftr.owners (id), label text);
INSERT INTO ftr.owners SELECT g, 'owner ' || g FROM generate_series(1, 20) g;
INSERT INTO ftr.items SELECT g, 1 + g % 20, 'item ' || g FROM generate_series(1, 60) g;
CREATE TABLE ftr.counters (id serial PRIMARY KEY, v int);
INSERT INTO ftr.counters (v) SELECT g FROM generate_series(1, 25) g;
CREATE TABLE ftr.emptied (id int PRIMARY KEY, v text);
INSERT INTO ftr.emptied SELECT g, 'e' || g FROM generate_series(1, 12) g;
CREATE TABLE ftr.later (id int PRIMARY KEY, v text);
INSERT INTO ftr.later SELECT g, 'v' || g FROM generate_series(1, 15) g;
-- @step truncate_and_refill
UPDATE ftr.docs SET score = score + 1 WHERE id <= 40;
DELETE FROM ftr.docs WHERE id > 70;
TRUNCATE ftr.docs;
INSERT INTO ftr.docs SELECT g, 'again ' || g, repeat(md5((g * 7)::text), 250), g / 2.0 FROM generate_series(1, 50) g;
UPDATE ftr.log SET n = 2 WHERE ctid = (SELECT ctid FROM ftr.log WHERE who = 'u1' LIMIT 1);
TRUNCATE ftr.log;
INSERT INTO ftr.log VALUES ('dup', 'x', 1), ('dup', 'x', 1), ('dup', 'x', 1), ('other', NULL, NULL);
DELETE FROM ftr.log WHERE ctid = (SELECT ctid FROM ftr.log WHERE who = 'dup' LIMIT 1);
-- @step changes_after_truncate
TRUNCATE ftr.emptied;
UPDATE ftr.docs SET score = 99 WHERE id % 5 = 0;
UPDATE ftr.docs SET body = body || ' edited' WHERE id = 7;
DELETE FROM ftr.docs WHERE id BETWEEN 40 AND 45;
INSERT INTO ftr.docs VALUES (1000, 'late', NULL, NULL);
UPDATE ftr.log SET what = 'y' WHERE who = 'other';
-- @step cut_then_truncate_cascade
ALTER TABLE ftr.items ADD COLUMN qty int DEFAULT 1;
UPDATE ftr.items SET qty = id % 4 WHERE id <= 10;
TRUNCATE ftr.owners CASCADE;
INSERT INTO ftr.owners VALUES (1, 'first again'), (2, 'second again');
INSERT INTO ftr.items (id, owner_id, label, qty) VALUES (1, 1, 'new item', 5), (2, 2, 'other', NULL);
-- @step truncate_then_alter
TRUNCATE ftr.later;
INSERT INTO ftr.later VALUES (1, 'after'), (2, 'after');
ALTER TABLE ftr.later ADD COLUMN extra text DEFAULT 'd';
UPDATE ftr.later SET extra = 'set' WHERE id = 2;
-- @step restart_identity_and_transaction
TRUNCATE ftr.counters RESTART IDENTITY;
INSERT INTO ftr.counters (v) SELECT g * 10 FROM generate_series(1, 5) g;
UPDATE ftr.counters SET v = v + 1 WHERE id = 3;
BEGIN;
UPDATE ftr.docs SET title = 'in transaction' WHERE id = 2;
TRUNCATE ftr.docs;
INSERT INTO ftr.docs VALUES (2, 'only one left', repeat('z', 5000), 1);
UPDATE ftr.docs SET score = 2 WHERE id = 2;
COMMIT;
TRUNCATE ftr.docs;
INSERT INTO ftr.docs VALUES (3, 'after the second truncate', NULL, 3);
