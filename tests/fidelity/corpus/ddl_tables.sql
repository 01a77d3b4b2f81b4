-- table DDL while streaming: CREATE SCHEMA, CREATE TABLE (serial, identity, defaults, FK, indexes, LIKE ... INCLUDING ALL, AS SELECT, keyless then FULL, unqualified names under a non-default search_path), RENAME TABLE, SET SCHEMA, RENAME SCHEMA, DROP TABLE with data, re-create a dropped name with another shape, views and a materialized view
-- @setup
CREATE SCHEMA dt;
CREATE TABLE dt.base (
    id     int PRIMARY KEY,
    name   text NOT NULL DEFAULT 'unnamed',
    score  numeric(6,2) CHECK (score >= 0),
    tags   text[]
);
CREATE INDEX base_name ON dt.base (name);
COMMENT ON COLUMN dt.base.score IS 'score column';
INSERT INTO dt.base SELECT g, 'b' || g, g / 4.0, ARRAY['t' || g] FROM generate_series(1, 100) g;
CREATE TABLE dt.doomed (id int PRIMARY KEY, v text);
INSERT INTO dt.doomed SELECT g, 'doomed ' || g FROM generate_series(1, 50) g;
CREATE VIEW dt.base_view AS SELECT id, name FROM dt.base WHERE score > 10;
-- same table name in public, so unqualified names depend on search_path
CREATE TABLE public.base (id int PRIMARY KEY, note text);
INSERT INTO public.base VALUES (1, 'public.base, not dt.base');

-- @step create_tables
CREATE SCHEMA dt_new;
CREATE TABLE dt_new.with_serial (
    id     serial PRIMARY KEY,
    label  text DEFAULT 'serial row',
    made   date DEFAULT '2020-01-01'
);
INSERT INTO dt_new.with_serial (label) SELECT 'row ' || g FROM generate_series(1, 20) g;
INSERT INTO dt_new.with_serial DEFAULT VALUES;
CREATE TABLE dt_new.with_identity (
    id       bigint GENERATED ALWAYS AS IDENTITY (START WITH 100) PRIMARY KEY,
    base_id  int NOT NULL REFERENCES dt.base (id) ON DELETE CASCADE,
    qty      int NOT NULL DEFAULT 1 CHECK (qty > 0),
    note     text COLLATE "C"
);
CREATE INDEX with_identity_base ON dt_new.with_identity (base_id);
CREATE UNIQUE INDEX with_identity_note ON dt_new.with_identity (note) WHERE note IS NOT NULL;
INSERT INTO dt_new.with_identity (base_id, qty, note) SELECT g, g % 5 + 1, CASE WHEN g % 2 = 0 THEN 'n' || g END FROM generate_series(1, 60) g;
CREATE TABLE dt_new.copy_of_base (LIKE dt.base INCLUDING ALL);
INSERT INTO dt_new.copy_of_base SELECT * FROM dt.base WHERE id % 2 = 0;
INSERT INTO dt_new.copy_of_base (id) VALUES (1000);
CREATE TABLE dt_new.ctas AS SELECT id, name, score * 2 AS doubled FROM dt.base WHERE id <= 30;
ALTER TABLE dt_new.ctas ADD PRIMARY KEY (id);
UPDATE dt_new.ctas SET doubled = -doubled WHERE id % 3 = 0;
CREATE TABLE dt_new.keyless (a int, b text);
INSERT INTO dt_new.keyless VALUES (1, 'x'), (1, 'x'), (2, NULL);
ALTER TABLE dt_new.keyless REPLICA IDENTITY FULL;
UPDATE dt_new.keyless SET b = 'y' WHERE a = 2;
DELETE FROM dt_new.keyless WHERE ctid = (SELECT ctid FROM dt_new.keyless WHERE a = 1 LIMIT 1);
SELECT id, name INTO dt_new.select_into FROM dt.base WHERE id > 90;
ALTER TABLE dt_new.select_into ADD PRIMARY KEY (id);
CREATE MATERIALIZED VIEW dt_new.base_mv AS SELECT count(*) AS n, sum(score) AS total FROM dt.base;
-- unqualified DDL under a non-default search_path: the table lands in dt_new, "base" means dt.base
SET search_path = dt_new, dt, public;
CREATE TABLE unqualified (id int PRIMARY KEY, base_id int REFERENCES base (id), v text DEFAULT 'unq');
INSERT INTO unqualified (id, base_id) VALUES (1, 1), (2, 2);
ALTER TABLE base ADD COLUMN via_search_path text DEFAULT 'added through search_path';
CREATE INDEX unqualified_v ON unqualified (v);
RESET search_path;
UPDATE dt.base SET via_search_path = 'set' WHERE id % 10 = 0;

-- @step rename_and_move
ALTER TABLE dt.base RENAME TO base_renamed;
INSERT INTO dt.base_renamed (id, name, score) VALUES (101, 'after rename', 1);
UPDATE dt.base_renamed SET name = name || ' (renamed table)' WHERE id % 10 = 0;
ALTER TABLE dt_new.copy_of_base SET SCHEMA dt;
INSERT INTO dt.copy_of_base (id, name) VALUES (1001, 'after set schema');
ALTER SCHEMA dt_new RENAME TO dt_renamed;
INSERT INTO dt_renamed.with_serial (label) VALUES ('after schema rename');
UPDATE dt_renamed.with_identity SET qty = qty + 10 WHERE base_id % 4 = 0;
ALTER TABLE dt_renamed.ctas RENAME COLUMN doubled TO "Doubled Score";
ALTER INDEX dt_renamed.with_identity_base RENAME TO with_identity_base_idx;
ALTER SEQUENCE dt_renamed.with_serial_id_seq RENAME TO serial_seq_renamed;
INSERT INTO dt_renamed.with_serial (label) VALUES ('after sequence rename');
REFRESH MATERIALIZED VIEW dt_renamed.base_mv;

-- @step drop_and_recreate
DROP VIEW dt.base_view;
DROP TABLE dt.doomed;
CREATE TABLE dt.doomed (
    key     text PRIMARY KEY,
    payload jsonb,
    id      int
);
INSERT INTO dt.doomed VALUES ('k1', '{"reborn": true}', 1), ('k2', NULL, 2);
DROP TABLE dt_renamed.select_into, dt_renamed.keyless;
DELETE FROM dt.base_renamed WHERE id % 5 = 0;
DROP MATERIALIZED VIEW dt_renamed.base_mv;
CREATE VIEW dt.base_view AS SELECT b.id, b.name, count(w.id) AS n FROM dt.base_renamed b LEFT JOIN dt_renamed.with_identity w ON w.base_id = b.id GROUP BY b.id, b.name;
DROP TABLE dt_renamed.ctas;
CREATE TABLE dt_renamed.ctas (id int PRIMARY KEY, "Doubled Score" text);
INSERT INTO dt_renamed.ctas VALUES (1, 'same name, new table');
