-- several statements in ONE query string (psql \;) mixing DDL and DML, DO blocks running dynamic DDL + DML, a function that creates and fills a table, DROP and re-CREATE of the same name inside one query string
-- @setup
CREATE SCHEMA dms;
CREATE TABLE dms.existing (
    id  int PRIMARY KEY,
    v   text
);
INSERT INTO dms.existing SELECT g, 'v' || g FROM generate_series(1, 50) g;

-- @step create_insert_alter
CREATE TABLE dms.x (id int PRIMARY KEY, a text) \; INSERT INTO dms.x VALUES (1, 'one'), (2, 'two') \; ALTER TABLE dms.x ADD COLUMN b int DEFAULT 10 \; INSERT INTO dms.x VALUES (3, 'three', 30) \; UPDATE dms.x SET b = b + 1 WHERE id < 3;
UPDATE dms.existing SET v = v || '!' WHERE id % 2 = 0 \; ALTER TABLE dms.existing ADD COLUMN w numeric \; UPDATE dms.existing SET w = id / 3.0 WHERE id % 3 = 0 \; INSERT INTO dms.existing VALUES (100, 'new', 1.5);
ALTER TABLE dms.x RENAME COLUMN a TO a_renamed \; INSERT INTO dms.x (id, a_renamed) VALUES (4, 'four') \; ALTER TABLE dms.x ALTER COLUMN b TYPE bigint \; UPDATE dms.x SET b = b * 1000000000000 WHERE id = 4;

-- @step drop_recreate_same_string
DROP TABLE dms.x \; CREATE TABLE dms.x (id text PRIMARY KEY, payload jsonb) \; INSERT INTO dms.x VALUES ('a', '{"shape": "new"}'), ('b', NULL);
CREATE TABLE dms.keyless (a int, b text) \; ALTER TABLE dms.keyless REPLICA IDENTITY FULL \; INSERT INTO dms.keyless VALUES (1, 'x'), (1, 'x') \; UPDATE dms.keyless SET b = 'y' WHERE ctid = (SELECT ctid FROM dms.keyless LIMIT 1);
ALTER TABLE dms.existing DROP COLUMN w \; INSERT INTO dms.existing VALUES (101, 'after drop in same string') \; ALTER TABLE dms.existing ADD COLUMN w text DEFAULT 'w is text' \; UPDATE dms.existing SET w = 'set' WHERE id > 95;

-- @step do_blocks
DO $$
DECLARE
    i int;
BEGIN
    FOR i IN 1..5 LOOP
        EXECUTE format('CREATE TABLE dms.%I (id int PRIMARY KEY, n int DEFAULT %s)', 'dyn_' || i, i);
        EXECUTE format('INSERT INTO dms.%I (id) SELECT generate_series(1, %s)', 'dyn_' || i, i * 10);
        IF i % 2 = 0 THEN
            EXECUTE format('ALTER TABLE dms.%I ADD COLUMN extra text DEFAULT %L', 'dyn_' || i, 'extra ' || i);
            EXECUTE format('UPDATE dms.%I SET n = -n WHERE id %% 2 = 0', 'dyn_' || i);
        END IF;
    END LOOP;
    EXECUTE 'DROP TABLE dms.dyn_3';
END
$$;
CREATE FUNCTION dms.make_table(tname text, nrows int) RETURNS int LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('CREATE TABLE dms.%I (id int PRIMARY KEY, label text)', tname);
    EXECUTE format('INSERT INTO dms.%I SELECT g, %L || g FROM generate_series(1, %s) g', tname, tname || ' row ', nrows);
    RETURN nrows;
END $$;
SELECT dms.make_table('from_function', 25) \; UPDATE dms.from_function SET label = upper(label) WHERE id <= 5;

-- @step mixed_final
BEGIN \; INSERT INTO dms.existing VALUES (200, 'in explicit tx string') \; ALTER TABLE dms.existing ADD COLUMN z int \; UPDATE dms.existing SET z = 1 \; COMMIT;
BEGIN \; INSERT INTO dms.existing VALUES (201, 'in tx 1') \; SAVEPOINT sp \; INSERT INTO dms.existing VALUES (202, 'discarded') \; ROLLBACK TO SAVEPOINT sp \; INSERT INTO dms.existing VALUES (203, 'kept after rollback to') \; COMMIT;
DELETE FROM dms.dyn_1 \; DROP TABLE dms.dyn_2 \; ALTER TABLE dms.dyn_4 RENAME TO dyn_four \; INSERT INTO dms.dyn_four (id) VALUES (1000);
