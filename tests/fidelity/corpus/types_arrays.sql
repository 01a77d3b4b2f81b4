-- arrays: multi-dimensional, non-default lower bounds, NULL elements vs "NULL" strings, quoting of commas/braces/quotes/backslashes/whitespace, empty arrays, arrays of many element types, array keys, element assignment that extends arrays
-- @setup
CREATE SCHEMA tarr;

CREATE TABLE tarr.arrs (
    id    int PRIMARY KEY,
    label text NOT NULL,
    ia    int[],
    ta    text[],
    na    numeric[],
    da    date[],
    ba    boolean[],
    va    varchar(3)[],
    ja    jsonb[],
    ca    char(2)[]
);
INSERT INTO tarr.arrs VALUES
    (1,  'empty',        '{}',                          '{}',                                      '{}',              '{}',                '{}',             '{}',          '{}',                 '{}'),
    (2,  'null_elems',   '{NULL,1,NULL}',               '{NULL,"NULL",null,"null",""}',            '{NULL}',          '{NULL,infinity}',   '{NULL,t}',       '{NULL}',      '{NULL,"null"}',      '{NULL," "}'),
    (3,  'two_dim',      '{{1,2},{3,4}}',               '{{a,b},{c,d}}',                           '{{1.0,2.00},{NaN,-0}}', '{{2000-01-01},{-infinity}}', '{{t},{f}}', '{{ab},{cd}}', NULL, '{{a,b}}'),
    (4,  'lower_bounds', '[0:1]={1,2}',                 '[-3:-2]={x,y}',                           '[5:5]={5}',       '[2:3]={2000-01-01,2000-01-02}', '[1:1]={t}', '[0:0]={z}', '[0:0]={"{}"}', '[7:7]={x}'),
    (5,  'lb_two_dim',   '[-5:-4][3:4]={{1,2},{3,4}}',  '[0:0][0:1]={{"a b","c,d"}}',              NULL,              NULL,                NULL,             NULL,          NULL,                 NULL),
    (6,  'quoting',      '{-2147483648,2147483647}',
                         ARRAY['a,b', '{x}', 'q"uote', E'back\\slash', ' lead', 'trail ', '', 'NULL', E'tab\there', E'nl\nx', '"', '\', E'\\"', 'a b', '[1:2]', '{}', '=', U&'\+01F600', '()', ';'],
                         '{1e30,-1e-30}', NULL, NULL, ARRAY['a,b', '"', ''], ARRAY['{"k":"v,w"}'::jsonb, '["{"]'::jsonb, '"\\"'::jsonb], ARRAY['"', ',']),
    (7,  'three_dim',    '{{{1,2},{3,4}},{{5,6},{7,8}}}', '{{{a}},{{"}"}}}',                        NULL,              NULL,                NULL,             NULL,          NULL,                 NULL),
    (8,  'all_null',     NULL,                          NULL,                                      NULL,              NULL,                NULL,             NULL,          NULL,                 NULL),
    (9,  'null_2d',      '{{NULL,NULL},{NULL,NULL}}',   '{{NULL},{""}}',                           '{{NULL}}',        NULL,                NULL,             NULL,          NULL,                 NULL),
    (10, 'big',          (SELECT array_agg(g) FROM generate_series(1, 2000) g),
                         (SELECT array_agg('elem ' || g || CASE WHEN g % 10 = 0 THEN '"' ELSE ',' END) FROM generate_series(1, 300) g),
                         NULL, NULL, NULL, NULL, NULL, NULL);

-- other element types
CREATE TABLE tarr.more_arrs (
    id   int PRIMARY KEY,
    fa   float8[],
    tsa  timestamptz[],
    ua   uuid[],
    ia   interval[],
    ina  inet[],
    ba   bytea[],
    ra   numrange[],
    aa   int[][]
);
INSERT INTO tarr.more_arrs VALUES
    (1, '{-0,NaN,Infinity,-Infinity,4.9e-324}', '{infinity,"2000-01-01 00:00:00+05"}', '{00000000-0000-0000-0000-000000000000}', '{"1 mon -1 day","-178000000 years"}', '{::1,10.0.0.0/8}', '{"\\x00","\\x"}', '{"[1,2)",empty}', '{{1},{2}}'),
    (2, '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}'),
    (3, NULL, ARRAY[NULL::timestamptz], ARRAY[NULL::uuid], ARRAY[NULL::interval], ARRAY[NULL::inet], ARRAY[NULL::bytea], ARRAY[NULL::numrange], ARRAY[[NULL::int]]);

-- arrays as keys: '{1,2}' and '[0:1]={1,2}' are different keys
CREATE TABLE tarr.arrkey (
    k int[] PRIMARY KEY,
    tk text[] UNIQUE,
    v int
);
INSERT INTO tarr.arrkey VALUES
    ('{1,2}', '{a}', 1), ('[0:1]={1,2}', '{"a "}', 2), ('{}', '{}', 3), ('{NULL}', '{NULL}', 4), ('{{1,2}}', '{"NULL"}', 5), ('{-1}', '{""}', 6);

-- @step element_updates
UPDATE tarr.arrs SET ia[5] = 9 WHERE label = 'empty';
UPDATE tarr.arrs SET ia[10] = 10 WHERE label = 'null_elems';
UPDATE tarr.arrs SET ia[-3] = -3 WHERE label = 'lower_bounds';
UPDATE tarr.arrs SET ta[1:2] = '{X,Y}' WHERE label IN ('quoting', 'big');
UPDATE tarr.arrs SET ia[2][1] = 99, ta[2][2] = '}' WHERE label = 'two_dim';
UPDATE tarr.arrs SET ta = array_append(ta, NULL), na = array_prepend('NaN'::numeric, na) WHERE label IN ('empty', 'quoting', 'lower_bounds');
UPDATE tarr.arrs SET ta = array_remove(ta, 'NULL') WHERE label = 'null_elems';
UPDATE tarr.arrs SET ia = ia || '{{5,6}}'::int[] WHERE label = 'two_dim';
UPDATE tarr.arrs SET label = 'big (label only)' WHERE label = 'big';
UPDATE tarr.arrkey SET k = '[2:3]={1,2}' WHERE k = '[0:1]={1,2}';
UPDATE tarr.arrkey SET k = '{NULL,NULL}', tk = '{NULL,NULL}' WHERE k = '{NULL}';
UPDATE tarr.arrkey SET v = v * 10 WHERE k = '{}';
INSERT INTO tarr.arrs (id, label, ia, ta, na)
SELECT 100 + g, 'gen_' || g,
       array_fill(g, ARRAY[g % 3 + 1, 2], ARRAY[g % 5 - 2, 0]),
       ARRAY[g::text, repeat('"', g % 4), repeat('\', g % 3), CASE WHEN g % 7 = 0 THEN NULL ELSE 'x,y' END],
       ARRAY[g / 7.0, -g]
FROM generate_series(1, 200) g;

-- @step replace_and_delete
UPDATE tarr.arrs SET ia = NULL, ta = '{}' WHERE label = 'three_dim';
UPDATE tarr.arrs SET ia = '{}' WHERE label = 'all_null';
UPDATE tarr.arrs SET ta = '[-1:-1]={"NULL"}' WHERE label = 'null_2d';
UPDATE tarr.more_arrs SET fa = fa || '-0'::float8, aa = aa || '{3}' WHERE id = 1;
UPDATE tarr.more_arrs SET aa = '[2:2][2:2]={{7}}' WHERE id = 2;
DELETE FROM tarr.arrs WHERE id BETWEEN 120 AND 180;
DELETE FROM tarr.arrkey WHERE k = '{}';
INSERT INTO tarr.arrkey VALUES ('{}', '{X}', 30), ('[5:5]={1}', '{"[5:5]={1}"}', 31);
