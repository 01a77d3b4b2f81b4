-- REPLICA IDENTITY FULL: keyless tables with identical duplicate rows (delete/update ONE of them by ctid), NULLs in the identity, types without equality operators (point, json, xml, box), values equal-but-different (0/-0, 1.0/1.00), TOASTed values, tables switching identity
-- @setup
CREATE SCHEMA rif;

CREATE TABLE rif.dups (
    a int,
    b text,
    c numeric
);
ALTER TABLE rif.dups REPLICA IDENTITY FULL;
INSERT INTO rif.dups VALUES
    (1, 'x', 1.0), (1, 'x', 1.0), (1, 'x', 1.0),
    (2, NULL, NULL), (2, NULL, NULL),
    (NULL, NULL, NULL), (NULL, NULL, NULL), (NULL, NULL, NULL),
    (3, '', 0), (3, '', 0),
    (4, 'y', 1.0), (4, 'y', 1.00), (4, 'y', 1.000),
    (5, 'z', 0), (5, 'z', -0.0);

-- columns whose types have no default equality operator
CREATE TABLE rif.no_equality (
    tag  text,
    p    point,
    j    json,
    x    xml,
    b    box,
    pg   polygon,
    f    float8
);
ALTER TABLE rif.no_equality REPLICA IDENTITY FULL;
INSERT INTO rif.no_equality VALUES
    ('one',  '(1,1)',   '{"a":1}',         '<a/>',  '(1,1),(0,0)', '((0,0),(1,1),(1,0))', 0),
    ('one',  '(1,1)',   '{"a":1}',         '<a/>',  '(1,1),(0,0)', '((0,0),(1,1),(1,0))', 0),
    ('one',  '(1,1)',   '{"a" : 1}',       '<a/>',  '(1,1),(0,0)', '((0,0),(1,1),(1,0))', '-0'),
    ('nan',  '(NaN,0)', '[1e1000]',        '<b>x</b>', NULL,       NULL,                  'NaN'),
    ('null', NULL,      NULL,              NULL,    NULL,          NULL,                  NULL),
    ('null', NULL,      'null',            NULL,    NULL,          NULL,                  NULL);

-- TOASTed values under FULL identity: old tuple must be detoasted, new tuple has unchanged-toast markers
CREATE TABLE rif.toasted (
    grp   int,
    body  text,
    note  text
);
ALTER TABLE rif.toasted REPLICA IDENTITY FULL;
INSERT INTO rif.toasted
SELECT g % 3, (SELECT string_agg(md5((g * 1000 + h)::text), '') FROM generate_series(1, 150) h), 'n' || g
FROM generate_series(1, 12) g;
INSERT INTO rif.toasted SELECT grp, body, note FROM rif.toasted WHERE note = 'n1';

-- a table with a unique index but no primary key, under FULL
CREATE TABLE rif.unique_no_pk (
    u    int UNIQUE,
    v    text
);
ALTER TABLE rif.unique_no_pk REPLICA IDENTITY FULL;
INSERT INTO rif.unique_no_pk VALUES (1, 'a'), (NULL, 'null u'), (NULL, 'null u'), (2, NULL);

-- a table with no columns at all: rows are "()" and only their count matters
CREATE TABLE rif.no_columns ();
ALTER TABLE rif.no_columns REPLICA IDENTITY FULL;
INSERT INTO rif.no_columns DEFAULT VALUES;
INSERT INTO rif.no_columns DEFAULT VALUES;
INSERT INTO rif.no_columns DEFAULT VALUES;

-- a table with a primary key that will later switch to FULL
CREATE TABLE rif.switcher (
    id  int PRIMARY KEY,
    v   text,
    d   numeric
);
INSERT INTO rif.switcher SELECT g, 'v' || g, g / 4.0 FROM generate_series(1, 20) g;

-- @step delete_one_duplicate
DELETE FROM rif.dups WHERE ctid = (SELECT ctid FROM rif.dups WHERE a = 1 LIMIT 1);
DELETE FROM rif.dups WHERE ctid = (SELECT ctid FROM rif.dups WHERE a IS NULL LIMIT 1);
DELETE FROM rif.dups WHERE ctid = (SELECT ctid FROM rif.dups WHERE a = 4 AND c::text = '1.00');
DELETE FROM rif.dups WHERE ctid = (SELECT ctid FROM rif.dups WHERE a = 5 AND c::text = '0.0');
DELETE FROM rif.no_equality WHERE ctid = (SELECT ctid FROM rif.no_equality WHERE tag = 'one' LIMIT 1);
DELETE FROM rif.no_equality WHERE ctid = (SELECT ctid FROM rif.no_equality WHERE f::text = '-0');
DELETE FROM rif.no_equality WHERE ctid = (SELECT ctid FROM rif.no_equality WHERE j::text = 'null');
DELETE FROM rif.unique_no_pk WHERE ctid = (SELECT ctid FROM rif.unique_no_pk WHERE u IS NULL LIMIT 1);
DELETE FROM rif.toasted WHERE ctid = (SELECT ctid FROM rif.toasted WHERE note = 'n1' LIMIT 1);
DELETE FROM rif.no_columns WHERE ctid = (SELECT ctid FROM rif.no_columns LIMIT 1);
INSERT INTO rif.no_columns SELECT FROM generate_series(1, 5);

-- @step update_some_duplicates
UPDATE rif.dups SET b = 'changed' WHERE ctid = (SELECT ctid FROM rif.dups WHERE a = 1 LIMIT 1);
UPDATE rif.dups SET a = 20 WHERE ctid = (SELECT ctid FROM rif.dups WHERE a = 2 LIMIT 1);
UPDATE rif.dups SET b = 'was all null' WHERE ctid = (SELECT ctid FROM rif.dups WHERE a IS NULL AND b IS NULL LIMIT 1);
UPDATE rif.dups SET c = 2.000 WHERE a = 4 AND c::text = '1.000';
UPDATE rif.dups SET c = -0.0 WHERE a = 3;
UPDATE rif.dups SET a = a WHERE a = 5;
UPDATE rif.no_equality SET p = '(2,2)', tag = 'moved' WHERE tag = 'one';
UPDATE rif.no_equality SET j = '{"a":1,"a":1}' WHERE tag = 'nan';
UPDATE rif.no_equality SET f = 'Infinity' WHERE tag = 'null';
UPDATE rif.toasted SET note = note || ' (note only)' WHERE grp = 1;
UPDATE rif.toasted SET body = body || 'x', note = 'body changed' WHERE note = 'n2';
UPDATE rif.unique_no_pk SET u = 3 WHERE v = 'null u';
INSERT INTO rif.dups SELECT 7, 'bulk', g % 3 FROM generate_series(1, 300) g;
UPDATE rif.dups SET b = 'bulk updated' WHERE a = 7 AND c = 1;

-- @step switch_identity
ALTER TABLE rif.switcher REPLICA IDENTITY FULL;
UPDATE rif.switcher SET v = v || '!' WHERE id % 3 = 0;
UPDATE rif.switcher SET id = id + 100 WHERE id % 5 = 0;
DELETE FROM rif.switcher WHERE id IN (1, 2);
ALTER TABLE rif.switcher DROP CONSTRAINT switcher_pkey;
INSERT INTO rif.switcher VALUES (3, 'duplicate of 3?', 0.75);
UPDATE rif.switcher SET d = d * 2 WHERE id = 3;
DELETE FROM rif.dups WHERE a = 7 AND c = 2;
ALTER TABLE rif.dups ADD COLUMN id int;
-- numbering identical duplicates: whichever copy a replayed update picks, the result is the same multiset
UPDATE rif.dups d SET id = s.rn
FROM (SELECT ctid AS c_tid, row_number() OVER (ORDER BY a, b, c, ctid) AS rn FROM rif.dups) s
WHERE d.ctid = s.c_tid;

ALTER TABLE rif.no_columns ADD COLUMN x int DEFAULT 1;
UPDATE rif.no_columns SET x = 2 WHERE ctid = (SELECT ctid FROM rif.no_columns LIMIT 1);
DELETE FROM rif.no_columns WHERE ctid = (SELECT ctid FROM rif.no_columns WHERE x = 1 LIMIT 1);

-- @step full_to_pk
ALTER TABLE rif.dups ADD PRIMARY KEY (id);
ALTER TABLE rif.dups REPLICA IDENTITY DEFAULT;
UPDATE rif.dups SET b = 'via pk' WHERE id % 7 = 0;
DELETE FROM rif.dups WHERE id % 11 = 0;
DELETE FROM rif.toasted WHERE grp = 0;
