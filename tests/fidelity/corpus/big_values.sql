-- multi-megabyte single values (compressible text, incompressible text, bytea, jsonb, text[]), unchanged-TOAST updates on them, rewriting them, and a multi-megabyte transaction streamed in chunks
-- @setup
CREATE SCHEMA big;

CREATE TABLE big.values (
    id     int PRIMARY KEY,
    kind   text NOT NULL,
    txt    text,
    b      bytea,
    j      jsonb,
    arr    text[],
    n      int DEFAULT 0
);
-- 3 MB of one character (compresses to almost nothing)
INSERT INTO big.values (id, kind, txt) VALUES (1, 'repeat_x', repeat('x', 3000000));
-- 3.2 MB of md5 hex (barely compressible)
INSERT INTO big.values (id, kind, txt) VALUES (2, 'md5_chain', (SELECT string_agg(md5(g::text), '') FROM generate_series(1, 100000) g));
-- 2.5 MB of binary
INSERT INTO big.values (id, kind, b) VALUES (3, 'bytea', (SELECT decode(string_agg(md5((g * 3)::text), ''), 'hex') FROM generate_series(1, 160000) g));
-- 1.5 MB jsonb document and a 40k-element text array
INSERT INTO big.values (id, kind, j, arr) VALUES (4, 'jsonb_and_array',
    (SELECT jsonb_object_agg('key' || g, jsonb_build_object('v', md5(g::text), 'n', g)) FROM generate_series(1, 20000) g),
    (SELECT array_agg(md5(g::text) || CASE WHEN g % 100 = 0 THEN ',"{}' ELSE '' END) FROM generate_series(1, 40000) g));
INSERT INTO big.values (id, kind, txt) VALUES (5, 'small', 'small');

-- @step unchanged_big
UPDATE big.values SET n = n + 1;
UPDATE big.values SET kind = kind || ' (renamed)' WHERE id IN (1, 2, 3);
UPDATE big.values SET id = 20 WHERE id = 2;

-- @step rewrite_big
UPDATE big.values SET txt = txt || 'tail' WHERE id = 20;
UPDATE big.values SET txt = repeat('y', 4000000) WHERE id = 1;
UPDATE big.values SET b = substring(b FROM 2) || '\x00ff'::bytea WHERE id = 3;
UPDATE big.values SET j = j || '{"extra": [1, 2, 3]}' WHERE id = 4;
UPDATE big.values SET txt = (SELECT string_agg(md5(g::text || 'v5'), E'\n') FROM generate_series(1, 60000) g) WHERE id = 5;

-- @step big_transaction
BEGIN;
INSERT INTO big.values (id, kind, txt) SELECT 100 + g, 'bulk ' || g, (SELECT string_agg(md5((g * 1000 + h)::text), '') FROM generate_series(1, 200) h) FROM generate_series(1, 300) g;
UPDATE big.values SET n = -1 WHERE id > 100;
SAVEPOINT sp;
UPDATE big.values SET txt = repeat('z', 2000000) WHERE id = 20;
DELETE FROM big.values WHERE id BETWEEN 100 AND 200;
ROLLBACK TO SAVEPOINT sp;
DELETE FROM big.values WHERE id BETWEEN 350 AND 400;
COMMIT;

-- @step delete_big
DELETE FROM big.values WHERE id = 1;
INSERT INTO big.values (id, kind, txt) VALUES (1, 'reinserted', repeat(md5('again'), 50000));
UPDATE big.values SET arr = arr[1:10] WHERE id = 4;
