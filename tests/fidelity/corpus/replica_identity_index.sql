-- REPLICA IDENTITY USING INDEX (unique index over NOT NULL columns, also on a table that has a different PK), key-changing updates (PK and identity index), composite primary keys, key swaps under a deferrable unique constraint, identity switched mid-stream
-- @setup
CREATE SCHEMA rii;

-- identity via a unique index, no primary key
CREATE TABLE rii.by_index (
    a    int NOT NULL,
    b    text NOT NULL,
    c    text,
    d    numeric
);
CREATE UNIQUE INDEX by_index_ab ON rii.by_index (a, b);
ALTER TABLE rii.by_index REPLICA IDENTITY USING INDEX by_index_ab;
INSERT INTO rii.by_index SELECT g, 'k' || (g % 4), 'c' || g, g * 1.5 FROM generate_series(1, 200) g;

-- primary key on one column, replica identity on a different unique index
CREATE TABLE rii.pk_and_index (
    id     int PRIMARY KEY,
    code   text NOT NULL,
    region text NOT NULL,
    val    int
);
CREATE UNIQUE INDEX pk_and_index_code ON rii.pk_and_index (region, code);
ALTER TABLE rii.pk_and_index REPLICA IDENTITY USING INDEX pk_and_index_code;
INSERT INTO rii.pk_and_index SELECT g, 'C' || g, CASE WHEN g % 2 = 0 THEN 'eu' ELSE 'us' END, g FROM generate_series(1, 100) g;

-- composite primary key over several types
CREATE TABLE rii.composite_pk (
    tenant   text,
    day      date,
    seq      int,
    amount   numeric(10,2),
    note     text,
    PRIMARY KEY (tenant, day, seq)
);
INSERT INTO rii.composite_pk
SELECT 't' || (g % 3), '2024-01-01'::date + (g % 10), g, g * 0.01, NULL FROM generate_series(1, 300) g;

-- deferrable unique constraint allows swaps; a deferrable constraint cannot be the identity, so FULL
CREATE TABLE rii.swappable (
    id    int NOT NULL,
    pos   int NOT NULL,
    label text,
    CONSTRAINT swappable_id_key UNIQUE (id) DEFERRABLE INITIALLY IMMEDIATE,
    CONSTRAINT swappable_pos_key UNIQUE (pos) DEFERRABLE INITIALLY DEFERRED
);
ALTER TABLE rii.swappable REPLICA IDENTITY FULL;
INSERT INTO rii.swappable SELECT g, g, 'item ' || g FROM generate_series(1, 50) g;

-- plain PK where key changes happen
CREATE TABLE rii.pk_changes (
    id  bigint PRIMARY KEY,
    v   text NOT NULL
);
INSERT INTO rii.pk_changes SELECT g, 'v' || g FROM generate_series(1, 100) g;

-- @step key_updates
UPDATE rii.by_index SET a = a + 1000 WHERE a % 10 = 0;
UPDATE rii.by_index SET b = b || '_renamed' WHERE a % 10 = 1;
UPDATE rii.by_index SET c = 'non-key change' WHERE a % 10 = 2;
UPDATE rii.by_index SET c = NULL, d = NULL WHERE a % 10 = 3;
DELETE FROM rii.by_index WHERE a % 10 = 4;
UPDATE rii.pk_and_index SET id = id + 1000 WHERE id % 7 = 0;
UPDATE rii.pk_and_index SET code = code || 'x' WHERE id % 7 = 1;
UPDATE rii.pk_and_index SET region = 'apac', id = -id WHERE id % 7 = 2;
UPDATE rii.pk_and_index SET val = NULL WHERE id % 7 = 3;
DELETE FROM rii.pk_and_index WHERE id % 7 = 4;
UPDATE rii.composite_pk SET day = day + 1 WHERE seq % 10 = 0;
UPDATE rii.composite_pk SET tenant = upper(tenant), note = 'tenant upper' WHERE seq % 10 = 1;
UPDATE rii.composite_pk SET amount = -amount WHERE seq % 10 = 2;
DELETE FROM rii.composite_pk WHERE seq % 10 = 3;
UPDATE rii.pk_changes SET id = id + 1 WHERE id >= 100;
UPDATE rii.pk_changes SET id = -id WHERE id % 2 = 0;

-- @step swaps_and_chains
BEGIN;
UPDATE rii.swappable SET pos = CASE pos WHEN 1 THEN 2 WHEN 2 THEN 1 END WHERE pos IN (1, 2);
SET CONSTRAINTS rii.swappable_id_key DEFERRED;
UPDATE rii.swappable SET id = CASE WHEN id = 20 THEN 10 ELSE id + 1 END WHERE id BETWEEN 10 AND 20;
UPDATE rii.swappable SET pos = 51 - pos;
COMMIT;
BEGIN;
-- key changed and changed back within one transaction; a deleted key reused
UPDATE rii.pk_changes SET id = 100000 WHERE id = 1;
UPDATE rii.pk_changes SET id = 1, v = 'back again' WHERE id = 100000;
DELETE FROM rii.pk_changes WHERE id = 3;
UPDATE rii.pk_changes SET id = 3 WHERE id = 5;
INSERT INTO rii.pk_changes VALUES (5, 'new row with old key of 5');
COMMIT;
UPDATE rii.by_index SET a = a - 1000, c = 'moved back' WHERE a > 1000 AND a < 1100;

-- @step switch_identity_index
UPDATE rii.by_index SET c = 'filled' WHERE c IS NULL;
ALTER TABLE rii.by_index ALTER COLUMN c SET NOT NULL;
CREATE UNIQUE INDEX by_index_ac ON rii.by_index (a, c);
ALTER TABLE rii.by_index REPLICA IDENTITY USING INDEX by_index_ac;
UPDATE rii.by_index SET b = 'k-new' WHERE a % 10 = 5;
UPDATE rii.by_index SET c = c || '*' WHERE a % 10 = 6;
DELETE FROM rii.by_index WHERE a % 10 = 7;
ALTER TABLE rii.pk_and_index REPLICA IDENTITY DEFAULT;
DROP INDEX rii.pk_and_index_code;
UPDATE rii.pk_and_index SET code = 'dup', region = 'dup' WHERE id BETWEEN 10 AND 20;
DELETE FROM rii.pk_and_index WHERE id = 15;
