-- TOAST: large incompressible text/bytea/jsonb values; updates that leave the TOASTed value unchanged (other column only, key change), that replace it, shrink it inline, grow inline values out of line, NULL it; storage/compression settings; toasted values moving between partitions
-- @setup
CREATE SCHEMA tst;

CREATE TABLE tst.docs (
    id     int PRIMARY KEY,
    title  text,
    body   text,
    blob   bytea,
    meta   jsonb,
    small  text
);
ALTER TABLE tst.docs ALTER COLUMN blob SET STORAGE EXTERNAL;
ALTER TABLE tst.docs ALTER COLUMN meta SET COMPRESSION lz4;
-- body: ~3-20 kB of md5 hex (compresses poorly, stays out of line)
INSERT INTO tst.docs
SELECT g, 'title ' || g,
       (SELECT string_agg(md5((g * 10000 + h)::text), '') FROM generate_series(1, 100 + g * 5) h),
       (SELECT decode(string_agg(md5((g * 7 + h)::text), ''), 'hex') FROM generate_series(1, 200) h),
       (SELECT jsonb_agg(md5((g + h)::text)) FROM generate_series(1, 150) h),
       'small ' || g
FROM generate_series(1, 100) g;

-- two large columns; only one changes at a time
CREATE TABLE tst.pairs (
    id  int PRIMARY KEY,
    l   text,
    r   text,
    n   int
);
INSERT INTO tst.pairs
SELECT g, (SELECT string_agg(md5(('l' || g || h)), '') FROM generate_series(1, 120) h),
          (SELECT string_agg(md5(('r' || g || h)), '') FROM generate_series(1, 120) h), 0
FROM generate_series(1, 30) g;

-- highly compressible large value: compressed inline vs. external
CREATE TABLE tst.compressible (
    id  int PRIMARY KEY,
    v   text
);
INSERT INTO tst.compressible SELECT g, repeat('abc', 10000 * g) FROM generate_series(1, 5) g;

-- toasted rows moving between partitions
CREATE TABLE tst.parted (
    id    int NOT NULL,
    part  int NOT NULL,
    body  text,
    PRIMARY KEY (id, part)
) PARTITION BY LIST (part);
CREATE TABLE tst.parted_a PARTITION OF tst.parted FOR VALUES IN (1);
CREATE TABLE tst.parted_b PARTITION OF tst.parted FOR VALUES IN (2);
INSERT INTO tst.parted SELECT g, 1 + g % 2, (SELECT string_agg(md5((g * 31 + h)::text), '') FROM generate_series(1, 150) h) FROM generate_series(1, 20) g;

-- @step unchanged_toast
UPDATE tst.docs SET title = title || ' (title only)' WHERE id % 2 = 0;
UPDATE tst.docs SET small = NULL WHERE id % 3 = 0;
UPDATE tst.docs SET id = id + 1000 WHERE id % 10 = 0;
UPDATE tst.pairs SET n = n + 1;
UPDATE tst.pairs SET l = l || 'L' WHERE id % 2 = 0;
UPDATE tst.pairs SET r = reverse(r) WHERE id % 3 = 0;
UPDATE tst.compressible SET id = id * 10 WHERE id <= 2;
BEGIN;
INSERT INTO tst.docs (id, title, body) VALUES (5000, 'insert then update in one tx', (SELECT string_agg(md5(h::text), '') FROM generate_series(1, 300) h));
UPDATE tst.docs SET title = 'updated in same tx' WHERE id = 5000;
UPDATE tst.docs SET small = 'and again' WHERE id = 5000;
COMMIT;

-- @step change_toast
UPDATE tst.docs SET body = body || md5('x') WHERE id % 5 = 1;
UPDATE tst.docs SET body = 'now tiny', blob = '\x00' WHERE id % 5 = 2;
UPDATE tst.docs SET body = NULL, meta = NULL WHERE id % 5 = 3;
UPDATE tst.docs SET meta = meta || '["appended"]'::jsonb WHERE id % 5 = 4;
UPDATE tst.docs SET small = (SELECT string_agg(md5(('grow' || id || h)), '') FROM generate_series(1, 100) h) WHERE id BETWEEN 1 AND 9;
UPDATE tst.parted SET part = 3 - part WHERE id % 3 = 0;
UPDATE tst.parted SET body = upper(body) WHERE id % 3 = 1;
UPDATE tst.compressible SET v = v || 'tail' WHERE id = 3;

-- @step delete_and_storage
DELETE FROM tst.docs WHERE id % 7 = 0;
DELETE FROM tst.pairs WHERE id > 25;
ALTER TABLE tst.docs ALTER COLUMN body SET STORAGE MAIN;
INSERT INTO tst.docs (id, title, body) SELECT 6000 + g, 'main storage', repeat(md5(g::text), 200) FROM generate_series(1, 5) g;
UPDATE tst.docs SET title = 'title change after storage change' WHERE id BETWEEN 11 AND 19;
ALTER TABLE tst.parted DETACH PARTITION tst.parted_b;
UPDATE tst.parted_b SET id = id + 100;
