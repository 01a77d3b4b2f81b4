-- physical rewrites that change relfilenodes but not logical contents (VACUUM FULL, CLUSTER, REINDEX, SET ACCESS METHOD, SET fillfactor, no-op ALTER TYPE), interleaved with writes before and after each rewrite
-- @setup
CREATE SCHEMA mnt;
CREATE TABLE mnt.hot (
    id    int PRIMARY KEY,
    k     int NOT NULL,
    v     text,
    body  text
);
CREATE INDEX hot_k ON mnt.hot (k);
-- CLUSTER ... USING marks the index (ALTER TABLE ... CLUSTER ON in pg_dump); it fires no
-- event trigger, so only a base snapshot can carry that mark: it is set before the base.
ALTER TABLE mnt.hot CLUSTER ON hot_k;
INSERT INTO mnt.hot SELECT g, g % 50, 'v' || g, CASE WHEN g % 10 = 0 THEN (SELECT string_agg(md5((g * 100 + h)::text), '') FROM generate_series(1, 100) h) END FROM generate_series(1, 2000) g;
CREATE TABLE mnt.keyless (a int, b text);
ALTER TABLE mnt.keyless REPLICA IDENTITY FULL;
INSERT INTO mnt.keyless SELECT g % 10, 'b' || (g % 3) FROM generate_series(1, 300) g;

-- @step vacuum_full
UPDATE mnt.hot SET v = v || '+' WHERE id % 3 = 0;
DELETE FROM mnt.hot WHERE id % 4 = 0;
VACUUM FULL mnt.hot;
UPDATE mnt.hot SET v = 'after vacuum full' WHERE id % 5 = 0;
INSERT INTO mnt.hot VALUES (5000, 1, 'post-vacuum insert', NULL);
DELETE FROM mnt.keyless WHERE ctid = (SELECT ctid FROM mnt.keyless WHERE a = 1 LIMIT 1);
VACUUM FULL mnt.keyless;
UPDATE mnt.keyless SET b = 'after vacuum full' WHERE ctid = (SELECT ctid FROM mnt.keyless WHERE a = 2 LIMIT 1);
DELETE FROM mnt.keyless WHERE ctid = (SELECT ctid FROM mnt.keyless WHERE a = 3 LIMIT 1);

-- @step cluster_reindex
CLUSTER mnt.hot;
UPDATE mnt.hot SET k = k + 1 WHERE id % 7 = 0;
REINDEX TABLE mnt.hot;
UPDATE mnt.hot SET body = 'small now' WHERE id % 20 = 0;
DELETE FROM mnt.hot WHERE id % 9 = 0;

-- @step rewrite_by_alter
ALTER TABLE mnt.hot SET (fillfactor = 50);
VACUUM FULL mnt.hot;
ALTER TABLE mnt.hot ALTER COLUMN v TYPE text;
ALTER TABLE mnt.hot ALTER COLUMN k TYPE bigint;
UPDATE mnt.hot SET k = k * 1000000000 WHERE id % 11 = 0;
ALTER TABLE mnt.keyless SET ACCESS METHOD heap;
ALTER TABLE mnt.keyless ALTER COLUMN a TYPE numeric;
UPDATE mnt.keyless SET a = a / 3 WHERE ctid IN (SELECT ctid FROM mnt.keyless WHERE a = 4 LIMIT 3);
INSERT INTO mnt.keyless VALUES (1.5, 'after rewrites');
