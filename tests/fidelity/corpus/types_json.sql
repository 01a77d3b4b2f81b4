-- json kept verbatim (duplicate keys, odd whitespace, escapes, \u0000) and jsonb normalisation (nesting, unicode escapes, huge numbers, key order, jsonb keys equal under different spellings)
-- @setup
CREATE SCHEMA tjs;

CREATE TABLE tjs.docs (
    id  int PRIMARY KEY,
    j   json,
    jb  jsonb,
    ja  json[],
    jba jsonb[]
);
INSERT INTO tjs.docs VALUES
    (1,  '{"a":1,"a":2,"a":{"a":3}}',                '{"a":1,"a":2,"a":{"a":3}}',       NULL, NULL),
    (2,  E'  {\n\t"b" :  [ 1 ,2,\r\n 3 ] ,  "c":null }  ', E'  {\n\t"b" :  [ 1 ,2,\r\n 3 ] ,  "c":null }  ', NULL, NULL),
    (3,  '"\u0000 nul escape stays in json"',          '"\u00e9\u00E9 \ud83d\ude00 \t \" \\ \/"',        NULL, NULL),
    (4,  '[1e1000, -1E-1000, 0.10, -0, 1.0e+2]',     '[1e1000, -1E-1000, 0.10, -0, 1.0e+2]', NULL, NULL),
    (5,  'null',                                      'null',                             ARRAY['null'::json, NULL], ARRAY['null'::jsonb, NULL]),
    (6,  NULL,                                        NULL,                               NULL, NULL),
    (7,  '{}',                                        '[]',                               '{}', '{}'),
    (8,  '""',                                        '""',                               ARRAY['""'::json], ARRAY['{"":""}'::jsonb]),
    (9,  '{"zzz":1,"a":2,"mm":3,"":4,"b":{"y":1,"x":2}}', '{"zzz":1,"a":2,"mm":3,"":4,"b":{"y":1,"x":2}}', NULL, NULL),
    (10, '{"deep":[[[[[[[[[[{"x":[[[[[]]]]]}]]]]]]]]]]}', '{"deep":[[[[[[[[[[{"x":[[[[[]]]]]}]]]]]]]]]]}', NULL, NULL),
    (11, '123456789012345678901234567890.123456789012345678901234567890', '123456789012345678901234567890.123456789012345678901234567890', NULL, NULL),
    (12, '{"key with \"quotes\"":"val\\ue","\ud83d\ude00":"emoji key","tab\tkey":1}', '{"key with \"quotes\"":"val\\ue","\ud83d\ude00":"emoji key","tab\tkey":1}', NULL, NULL),
    (13, 'true', 'false', ARRAY['{"a":[1,{"b":"c,d"}]}'::json, '"x\"y"'::json], ARRAY['{"a":[1,{"b":"c,d"}]}'::jsonb, '"{\\\"}"'::jsonb]),
    (14, '"\\N"', '"\\N"', ARRAY['"\\N"'::json], ARRAY['"NULL"'::jsonb, 'null'::jsonb]);

-- jsonb primary key: {"a":1.0} and {"a":1.00} are equal jsonb values with different text
CREATE TABLE tjs.jkey (
    k jsonb PRIMARY KEY,
    n int
);
INSERT INTO tjs.jkey VALUES ('{"a":1.0}', 1), ('[1,2]', 2), ('"s"', 3), ('null', 4), ('{}', 5), ('{"b":{"c":[true,false,null]}}', 6);

-- @step jsonb_ops
UPDATE tjs.docs SET jb = jsonb_set(jb, '{b,1}', '"two"') WHERE id = 2;
UPDATE tjs.docs SET jb = jb || '{"added":{"nested":[1,2,3]}, "zzz":"replaced"}' WHERE id = 9;
UPDATE tjs.docs SET jb = jb - 'a', j = '{"a"  :  1,   "a":1}' WHERE id = 1;
UPDATE tjs.docs SET jb = jb #- '{deep,0,0,0}' WHERE id = 10;
UPDATE tjs.docs SET ja = ARRAY[j, j], jba = ARRAY[jb, '{"n":-0.0}'::jsonb] WHERE id IN (3, 4);
UPDATE tjs.jkey SET k = '{"a":1.00}', n = 10 WHERE k = '{"a":1}';
UPDATE tjs.jkey SET k = '[1, 2, 3]' WHERE k = '[1,2]';
INSERT INTO tjs.docs
SELECT 100 + g,
       json_build_object('g', g, 'half', g / 2.0, 'neg', -g, 's', repeat(chr(65 + g % 26), g % 10), 'arr', json_build_array(g, NULL, 'x')),
       jsonb_build_object('g', g, 'third', g / 3.0, 'exp', (10::numeric ^ (g % 30)), 'uni', chr(1000 + g), 'bool', g % 2 = 0),
       NULL, NULL
FROM generate_series(1, 250) g;

-- @step replace_and_delete
UPDATE tjs.docs SET j = NULL, jb = 'null' WHERE id = 5;
UPDATE tjs.docs SET j = 'null', jb = NULL WHERE id = 6;
UPDATE tjs.docs SET j = E'\n[\n]\n' WHERE id = 7;
UPDATE tjs.docs SET jb = jsonb_build_object('big', '1e400'::numeric, 'small', '-1e-400'::numeric, 'nan_as_text', 'NaN') WHERE id = 11;
DELETE FROM tjs.docs WHERE id BETWEEN 200 AND 240;
DELETE FROM tjs.jkey WHERE k = 'null';
INSERT INTO tjs.jkey VALUES ('[null]', 7), ('{"a":1.000,"a":2}', 8);
UPDATE tjs.docs SET jb = jb || jsonb_build_object('id', id) WHERE id BETWEEN 100 AND 150;
