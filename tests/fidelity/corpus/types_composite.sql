-- composite types: nested composites, arrays of composites, NULL fields vs NULL row vs all-NULL row, fields with quotes/commas/parens/backslashes, table row types as column types, composite keys
-- @setup
CREATE SCHEMA tcomp;

CREATE TYPE tcomp.addr AS (street text, city text, zip varchar(10));
CREATE TYPE tcomp.person AS (name text, home tcomp.addr, tags text[], born date);
CREATE TYPE tcomp.pair AS (a int, b numeric);

CREATE TABLE tcomp.contacts (
    id     int PRIMARY KEY,
    a      tcomp.addr,
    p      tcomp.person,
    ps     tcomp.person[],
    pr     tcomp.pair,
    prs    tcomp.pair[]
);
INSERT INTO tcomp.contacts VALUES
    (1, ROW('1 Main St', 'Springfield', '12345'), ROW('Homer', ROW('742 Evergreen', 'Springfield', '49007'), '{dad,"safety inspector"}', '1956-05-12'),
        ARRAY[ROW('Marge', NULL, '{}', NULL)::tcomp.person], ROW(1, 1.5), ARRAY[ROW(1, 1.0)::tcomp.pair, ROW(2, NULL)::tcomp.pair]),
    (2, ROW(NULL, NULL, NULL), ROW(NULL, ROW(NULL, NULL, NULL), NULL, NULL), '{}', ROW(NULL, NULL), '{}'),
    (3, NULL, NULL, NULL, NULL, NULL),
    (4, ROW('', '', ''), ROW('', ROW('', '', ''), '{""}', 'infinity'), ARRAY[NULL::tcomp.person], ROW(0, 'NaN'), ARRAY[NULL::tcomp.pair, ROW(NULL, NULL)::tcomp.pair]),
    (5, ROW('a,b', '(c)', 'q"u'), ROW(E'back\\slash', ROW('"', ',', ')'), ARRAY['{', '}', ',', '"', E'\\'], '0044-03-15 BC'),
        ARRAY[ROW('x,y', ROW('(', ')', 'z'), '{"a,b"}', NULL)::tcomp.person, ROW(NULL, NULL, NULL, NULL)::tcomp.person], ROW(-2147483648, -0.0), NULL),
    (6, '(" leading",trailing ,"")', '(Name,"(s,c,z)","{t1,t2}",2000-01-01)', '{"(p1,\"(a,b,c)\",{},)","(p2,,,)"}', '(,)', '{"(1,2)","(,)",NULL}'),
    (7, ROW(E'tab\there', E'nl\nhere', E'cr\r'), ROW(U&'\+01F600', ROW(U&'\2028', 'NULL', '\N'), '{NULL,"NULL"}', NULL), NULL, ROW(7, 1e100), NULL);

-- table row type used as a column type
CREATE TABLE tcomp.base_row (
    id   int PRIMARY KEY,
    name text,
    qty  numeric(6,2)
);
INSERT INTO tcomp.base_row VALUES (1, 'widget', 2.5);
CREATE TABLE tcomp.snapshots (
    id   int PRIMARY KEY,
    snap tcomp.base_row,
    hist tcomp.base_row[]
);
INSERT INTO tcomp.snapshots SELECT 1, b, ARRAY[b, b] FROM tcomp.base_row b;
INSERT INTO tcomp.snapshots VALUES (2, ROW(NULL, NULL, NULL), '{}'), (3, '(9,"a ""quoted"" name",0.01)', '{"(1,x,1)","(2,\"y,z\",2)"}');

-- composite primary key column
CREATE TABLE tcomp.pairkey (
    k tcomp.pair PRIMARY KEY,
    v text
);
INSERT INTO tcomp.pairkey VALUES (ROW(1, 1.0), 'one'), (ROW(1, NULL), 'one-null'), (ROW(NULL, NULL), 'null-null'), (ROW(2, 'NaN'), 'two-nan');

-- @step field_updates
UPDATE tcomp.contacts SET a.city = 'Shelbyville', p.home.zip = '00000', pr.b = 2.50 WHERE id = 1;
UPDATE tcomp.contacts SET a.street = 'now set', p.name = 'now named' WHERE id = 2;
UPDATE tcomp.contacts SET a = ROW(NULL, NULL, NULL) WHERE id = 3;
UPDATE tcomp.contacts SET a = NULL, pr = ROW(NULL, NULL) WHERE id = 4;
UPDATE tcomp.contacts SET ps = ps || ROW('appended "q"', ROW('s', 'c', 'z'), '{}', '2020-02-29')::tcomp.person, prs[3] = ROW(3, 3.000) WHERE id IN (1, 5);
UPDATE tcomp.snapshots SET snap.qty = 99.99, hist = hist || snap WHERE id = 1;
UPDATE tcomp.pairkey SET k = ROW(1, 1.00) WHERE k = ROW(1, 1.0)::tcomp.pair;
UPDATE tcomp.pairkey SET k.b = 7 WHERE v = 'one-null';
INSERT INTO tcomp.contacts
SELECT 100 + g, ROW(g || ' Street', 'City ' || (g % 10), lpad(g::text, 5, '0'))::tcomp.addr,
       ROW('Person ' || g, ROW(NULL, 'c' || g, NULL)::tcomp.addr, ARRAY['t' || g, NULL], '2000-01-01'::date + g)::tcomp.person,
       CASE WHEN g % 3 = 0 THEN NULL ELSE ARRAY[ROW('child', NULL, NULL, NULL)::tcomp.person] END,
       ROW(g, g / 3.0)::tcomp.pair, ARRAY[ROW(g, NULL)::tcomp.pair]
FROM generate_series(1, 200) g;

-- @step delete_and_replace
DELETE FROM tcomp.contacts WHERE id IN (6, 7) OR id BETWEEN 150 AND 190;
INSERT INTO tcomp.contacts VALUES (6, '("","","")', '(,"(,,)",{},)', '{"(,,,)"}', '(0,0)', '{"(0,-0.0)"}');
DELETE FROM tcomp.pairkey WHERE k = ROW(NULL, NULL)::tcomp.pair;
INSERT INTO tcomp.pairkey VALUES (ROW(NULL, NULL), 'null-null again'), (ROW(-1, '-Infinity'), 'neg');
UPDATE tcomp.snapshots SET snap = NULL WHERE id = 2;
