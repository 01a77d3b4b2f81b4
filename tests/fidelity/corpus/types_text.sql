-- text edges: tabs, CR/LF, U+2028/U+2029, backslashes, quotes, control chars, emoji, '' vs NULL, \N and \. look-alikes, char(n) padding, varchar(n), "char", name, text primary keys with special characters
-- @setup
CREATE SCHEMA ttxt;

CREATE TABLE ttxt.strings (
    id   int PRIMARY KEY,
    txt  text,
    vc   varchar(10),
    c    char(5),
    ch   "char",
    nm   name,
    tc   text COLLATE "C"
);
INSERT INTO ttxt.strings VALUES
    (1,  E'tab\there',                 E'a\tb',        E'\t',     E'\t',     E'name\twith tab', E'\t'),
    (2,  E'crlf\r\nline2\r\n',         E'\r\n',        E'\r\n',   E'\n',     E'nl\nname',       E'\r'),
    (3,  U&'line\2028sep\2029para',     U&'\2028',      U&'\2029', NULL,      U&'\2028',         U&'\0085next line'),
    (4,  E'back\\slash \\\\ double',    E'\\',          E'\\\\',   E'\\',     E'back\\slash',    E'\\x41'),
    (5,  E'\\N',                        E'\\N',         E'\\N',    'N',       E'\\N',            '\N'),
    (6,  'NULL',                        'NULL',         'NULL',    'n',       'NULL',            'null'),
    (7,  '',                            '',             '',        '',        '',                ''),
    (8,  NULL,                          NULL,           NULL,      NULL,      NULL,              NULL),
    (9,  E'ctl\x01\x02\x03\x1b[0m\x1f\x7f', E'\x01',    E'\x7f',   E'\x01',   E'\x1b',           E'\x08bs'),
    (10, U&'emoji \+01F600 \+01F468\200D\+01F469\200D\+01F467 flag \+01F1EB\+01F1F7', U&'\+01F600\+01F600', U&'\+01F4A9', 'x', U&'\+01F600', U&'\+10FFFF'),
    (11, 'single '' quote and "double" quotes', '''', '"', '''', '"quoted"', '"'),
    (12, E'\\.\n\\.',                   E'\\.',         E'\\.',    '.',       E'\\.',            E'\n\\.\n'),
    (13, E'{a,b}\t(c)\t"d"',            '{}',           '()',      '{',       '{"a"}',           '[1:2]={x,y}'),
    (14, '   leading and trailing   ',  ' ',            ' ',       ' ',       '  ',              '   '),
    (15, U&'\00A0nbsp\FEFFbom\200Bzwsp', U&'\00A0',     U&'\FEFF', NULL,      U&'\200B',         U&'\FFFD'),
    (16, 'combining e' || U&'\0301' || ' vs ' || U&'\00E9', U&'e\0301', U&'\00E9', NULL, U&'e\0301', U&'\00E9'),
    (17, U&'\05E9\05DC\05D5\05DD rtl \0627\0644\0633\0644\0627\0645', U&'\05E9\05DC', U&'\0627', NULL, U&'\05E9', U&'\202Ertl override'),
    (18, repeat(U&'\00E9', 1000),       repeat(U&'\20AC', 10), repeat(U&'\00E9', 5), U&'\00E9', repeat(U&'\00E9', 40), repeat('ab', 500)),
    (19, E'$$dollar$$ $tag$ %s %% ?',  '$1',           '%',       '$',       '$$',              E'\\\\'),
    (20, E'-- not a comment\n/* nor this */', '--',   '/*',      '-',       E'-- @step x',     E'-- @setup');

-- text primary key with characters that break naive quoting
CREATE TABLE ttxt.textkey (
    k text PRIMARY KEY,
    v int NOT NULL
);
INSERT INTO ttxt.textkey VALUES
    (E'a\tb', 1), (E'line\nbreak', 2), (E'\\N', 3), ('', 4), (' ', 5), ('NULL', 6),
    (U&'\+01F600', 7), (E'back\\slash', 8), ('quo''te', 9), ('"dq"', 10), (E'cr\r', 11),
    (U&'\2028', 12), (E'\\.', 13), ('a,b', 14), ('(x)', 15), ('{y}', 16);

-- varchar / char keys: trailing blanks in char(n) are insignificant
CREATE TABLE ttxt.charkey (
    k  char(4) PRIMARY KEY,
    vk varchar(4) UNIQUE,
    n  name
);
INSERT INTO ttxt.charkey VALUES ('a', 'a', 'a'), ('ab  ', 'ab  ', 'ab  '), (' b', ' b', ' b'), ('', '', '');

-- @step escapes_update
UPDATE ttxt.strings SET txt = txt || E'\r\n\t\\' WHERE id IN (1, 2, 3, 4);
UPDATE ttxt.strings SET txt = NULL WHERE id = 7;
UPDATE ttxt.strings SET txt = '' WHERE id = 8;
UPDATE ttxt.strings SET c = 'ab', vc = 'ab  ' WHERE id = 14;
UPDATE ttxt.strings SET ch = U&'\00E9'::"char" WHERE id = 16;
UPDATE ttxt.strings SET ch = E'\\303'::"char" WHERE id = 17;
UPDATE ttxt.strings SET nm = repeat(U&'\00E9', 40) || 'tail' WHERE id = 10;
UPDATE ttxt.strings SET nm = repeat('x', 70) WHERE id = 11;
INSERT INTO ttxt.strings VALUES
    (21, E'\\', E'\\\\', E'\\\\\\', E'\\', E'\\\\', E'\\\\\\\\'),
    (22, E'\\t\\n\\r', E'\\t', E'\\n', 't', E'\\r', E'\\b\\f'),
    (23, E'\b\f\v', E'\b', E'\f', E'\v', E'\x0b', E'\x1c\x1d\x1e');
UPDATE ttxt.textkey SET v = v + 100 WHERE k IN (E'a\tb', E'line\nbreak', '', 'NULL');
UPDATE ttxt.textkey SET k = k || E'\t' WHERE k = E'\\N';
UPDATE ttxt.textkey SET k = 'NULL ' WHERE k = 'NULL';
UPDATE ttxt.textkey SET k = E'\\\\N' WHERE k = '';

-- @step keys_and_padding
DELETE FROM ttxt.textkey WHERE k IN (U&'\+01F600', E'cr\r', 'quo''te');
INSERT INTO ttxt.textkey VALUES ('', 40), (U&'\+01F601', 41), ('quo''''te', 42);
UPDATE ttxt.textkey SET k = U&'\2029' WHERE k = U&'\2028';
UPDATE ttxt.charkey SET k = 'ab' WHERE k = 'ab';
UPDATE ttxt.charkey SET vk = 'a ', k = 'a   ' WHERE k = 'a';
UPDATE ttxt.charkey SET n = 'renamed ' WHERE k = ' b';
DELETE FROM ttxt.charkey WHERE k = '    ';
INSERT INTO ttxt.charkey VALUES ('  ', '  ', '  ');
DELETE FROM ttxt.strings WHERE id IN (5, 12);
INSERT INTO ttxt.strings VALUES (5, E'\\N\t\\N\n', E'\\N\\N', '\N', E'\\', E'\\N\t', '\.');
INSERT INTO ttxt.strings
SELECT 100 + g, repeat(chr(g + 32), g) || E'\t' || chr(9 + g % 4) || chr(g + 160), chr(g + 300), chr(g + 1000), chr(g + 32)::"char", chr(g + 20000), chr(g % 100 + 1)
FROM generate_series(1, 200) g;
