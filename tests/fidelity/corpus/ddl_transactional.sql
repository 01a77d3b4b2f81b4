-- DDL inside explicit transactions with DML: create+fill+alter in one commit, rolled-back DDL, DDL inside a rolled-back savepoint, DML before and after a table rewrite (ALTER TYPE) in one transaction, a >64kB streamed transaction whose schema changes mid-way
-- @setup
CREATE SCHEMA dtx;
CREATE TABLE dtx.main (
    id   int PRIMARY KEY,
    a    int,
    b    text
);
INSERT INTO dtx.main SELECT g, g, 'b' || g FROM generate_series(1, 100) g;

-- @step create_fill_alter
BEGIN;
CREATE TABLE dtx.fresh (id int PRIMARY KEY, v text);
INSERT INTO dtx.fresh SELECT g, 'v' || g FROM generate_series(1, 20) g;
ALTER TABLE dtx.fresh ADD COLUMN w int DEFAULT 0;
UPDATE dtx.fresh SET w = id * 2 WHERE id % 2 = 0;
INSERT INTO dtx.fresh VALUES (21, 'v21', 21);
ALTER TABLE dtx.fresh RENAME COLUMN v TO v_renamed;
UPDATE dtx.main SET b = 'touched in same tx' WHERE id <= 5;
COMMIT;

-- @step rolled_back_ddl
BEGIN;
ALTER TABLE dtx.main ADD COLUMN ghost text DEFAULT 'ghost';
INSERT INTO dtx.main VALUES (1000, 1000, 'ghost row', 'g');
CREATE TABLE dtx.ghost_table (id int PRIMARY KEY);
INSERT INTO dtx.ghost_table VALUES (1);
ROLLBACK;
BEGIN;
INSERT INTO dtx.main VALUES (1001, 1001, 'kept, outside the savepoint');
SAVEPOINT s;
ALTER TABLE dtx.main DROP COLUMN b;
INSERT INTO dtx.main VALUES (1002, 1002);
ROLLBACK TO SAVEPOINT s;
ALTER TABLE dtx.main ADD COLUMN c numeric DEFAULT 1.5;
INSERT INTO dtx.main VALUES (1003, 1003, 'kept, new shape', 2.5);
SAVEPOINT t;
ALTER TABLE dtx.main RENAME COLUMN c TO c_renamed_rolled_back;
ROLLBACK TO SAVEPOINT t;
UPDATE dtx.main SET c = c * 2 WHERE id % 10 = 0;
COMMIT;

-- @step rewrite_mid_transaction
BEGIN;
INSERT INTO dtx.main VALUES (2000, 2000, 'before rewrite', 0);
UPDATE dtx.main SET a = -a WHERE id % 7 = 0;
ALTER TABLE dtx.main ALTER COLUMN a TYPE text USING 'a=' || a;
INSERT INTO dtx.main VALUES (2001, 'a is text now', 'after rewrite', 0);
UPDATE dtx.main SET a = a || '!' WHERE id % 5 = 0;
ALTER TABLE dtx.main DROP COLUMN c;
INSERT INTO dtx.main VALUES (2002, 'x', 'after drop');
DELETE FROM dtx.main WHERE id % 11 = 0;
COMMIT;

-- @step streamed_with_schema_change
BEGIN;
INSERT INTO dtx.main SELECT g, 'bulk ' || g, repeat('p', 100) || g FROM generate_series(10001, 13000) g;
ALTER TABLE dtx.main ADD COLUMN d jsonb DEFAULT '{"phase": 2}';
INSERT INTO dtx.main SELECT g, 'bulk ' || g, repeat('q', 100) || g, jsonb_build_object('g', g) FROM generate_series(13001, 16000) g;
UPDATE dtx.main SET d = NULL WHERE id BETWEEN 10001 AND 10500;
ALTER TABLE dtx.main RENAME COLUMN b TO b_renamed;
UPDATE dtx.main SET b_renamed = 'renamed mid-stream' WHERE id BETWEEN 15001 AND 15500;
ALTER TABLE dtx.main DROP COLUMN d;
DELETE FROM dtx.main WHERE id BETWEEN 12000 AND 12999;
COMMIT;
