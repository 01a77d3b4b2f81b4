-- dropped columns: dropped in setup and while streaming (with data, with TOAST, indexed, in a partitioned table, in a 1200-column table), re-added under the same name with another type, then inserts/updates on the new layout
-- @setup
CREATE SCHEMA dc;

CREATE TABLE dc.wide (
    id     int PRIMARY KEY,
    a      text,
    b      int,
    c      numeric,
    d      text,
    e      jsonb,
    f      date
);
INSERT INTO dc.wide SELECT g, 'a' || g, g, g / 2.0, 'd' || g, jsonb_build_object('g', g), '2020-01-01'::date + g FROM generate_series(1, 200) g;
ALTER TABLE dc.wide DROP COLUMN b;
INSERT INTO dc.wide (id, a, c, d, e, f) VALUES (1000, 'after first drop', 1, 'd', '{}', '2000-01-01');
ALTER TABLE dc.wide DROP COLUMN e;
UPDATE dc.wide SET a = a || '!' WHERE id % 10 = 0;

-- all but the key get dropped eventually
CREATE TABLE dc.shrink (
    id     int PRIMARY KEY,
    x      text,
    y      text,
    big    text
);
INSERT INTO dc.shrink SELECT g, 'x' || g, 'y' || g, (SELECT string_agg(md5((g * 100 + h)::text), '') FROM generate_series(1, 100) h) FROM generate_series(1, 40) g;
CREATE INDEX shrink_y ON dc.shrink (y);

-- keyless table with FULL identity and a dropped column
CREATE TABLE dc.keyless (
    p  int,
    q  text,
    r  text
);
ALTER TABLE dc.keyless REPLICA IDENTITY FULL;
INSERT INTO dc.keyless SELECT g % 10, 'q' || g, 'r' || g FROM generate_series(1, 50) g;
ALTER TABLE dc.keyless DROP COLUMN q;

-- partitioned table, columns dropped on the parent
CREATE TABLE dc.parted (
    id    int NOT NULL,
    k     int NOT NULL,
    junk  text,
    v     text,
    PRIMARY KEY (id, k)
) PARTITION BY LIST (k);
CREATE TABLE dc.parted_0 PARTITION OF dc.parted FOR VALUES IN (0);
CREATE TABLE dc.parted_1 PARTITION OF dc.parted FOR VALUES IN (1);
INSERT INTO dc.parted SELECT g, g % 2, 'junk', 'v' || g FROM generate_series(1, 100) g;
ALTER TABLE dc.parted DROP COLUMN junk;

-- a very wide table (1200 columns) with some of them dropped: high attnums, big null bitmaps
DO $$
BEGIN
    EXECUTE 'CREATE TABLE dc.very_wide (id int PRIMARY KEY, ' ||
            (SELECT string_agg(format('c%s int', g), ', ' ORDER BY g) FROM generate_series(1, 1200) g) || ')';
    EXECUTE 'INSERT INTO dc.very_wide (id, c1, c600, c1200) SELECT g, g, g * 2, g * 3 FROM generate_series(1, 20) g';
    EXECUTE 'ALTER TABLE dc.very_wide ' || (SELECT string_agg(format('DROP COLUMN c%s', g), ', ' ORDER BY g) FROM generate_series(2, 1200, 7) g);
END
$$;

-- @step drop_with_data
ALTER TABLE dc.wide DROP COLUMN c;
INSERT INTO dc.wide (id, a, d, f) VALUES (1001, 'after drop c', 'dd', 'infinity');
UPDATE dc.wide SET d = NULL, f = f + 1 WHERE id % 3 = 0;
ALTER TABLE dc.shrink DROP COLUMN big;
UPDATE dc.shrink SET x = x || ' (big dropped)' WHERE id % 2 = 0;
ALTER TABLE dc.shrink DROP COLUMN y;
INSERT INTO dc.shrink VALUES (100, 'only x left');
DELETE FROM dc.keyless WHERE ctid = (SELECT ctid FROM dc.keyless WHERE p = 3 LIMIT 1);
UPDATE dc.keyless SET r = r || '+' WHERE p = 4;
ALTER TABLE dc.parted DROP COLUMN v;
ALTER TABLE dc.parted ADD COLUMN v2 text DEFAULT 'v2 default';
UPDATE dc.parted SET k = 1 - k WHERE id % 5 = 0;
INSERT INTO dc.parted VALUES (500, 0, 'explicit v2');
ALTER TABLE dc.very_wide DROP COLUMN c600, DROP COLUMN c1198;
UPDATE dc.very_wide SET c1197 = id, c1200 = NULL WHERE id % 2 = 0;
INSERT INTO dc.very_wide (id, c1, c1197) VALUES (100, -1, -1199);
ALTER TABLE dc.very_wide ADD COLUMN c1201 text DEFAULT 'added past 1200';
UPDATE dc.very_wide SET c1201 = 'set', c5 = 5 WHERE id % 3 = 0;

-- @step readd_same_name
ALTER TABLE dc.wide ADD COLUMN b text DEFAULT 'b is text now';
ALTER TABLE dc.wide ADD COLUMN c int[];
UPDATE dc.wide SET b = 'updated b', c = ARRAY[id] WHERE id % 4 = 0;
INSERT INTO dc.wide (id, a, d, f, b, c) VALUES (1002, 'new layout', 'd', '2001-01-01', NULL, '{}');
ALTER TABLE dc.shrink ADD COLUMN y numeric DEFAULT 0.5;
ALTER TABLE dc.shrink ADD COLUMN big bytea;
UPDATE dc.shrink SET big = decode(md5(id::text), 'hex'), y = id WHERE id % 3 = 0;
ALTER TABLE dc.keyless ADD COLUMN q int;
UPDATE dc.keyless SET q = p * 10 WHERE p < 5;

-- @step drop_everything_but_key
ALTER TABLE dc.shrink DROP COLUMN x, DROP COLUMN y, DROP COLUMN big;
INSERT INTO dc.shrink VALUES (101), (102);
DELETE FROM dc.shrink WHERE id % 5 = 0;
ALTER TABLE dc.wide DROP COLUMN a, DROP COLUMN f;
UPDATE dc.wide SET d = 'after dropping a and f' WHERE id % 7 = 0;
DELETE FROM dc.wide WHERE id % 9 = 0;
