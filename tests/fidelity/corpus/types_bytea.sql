-- bytea edges: empty vs NULL, every byte value 0..255, escape-format input with \000, bytea keys, medium incompressible blobs, bytea_output changes
-- @setup
CREATE SCHEMA tbin;

CREATE TABLE tbin.blobs (
    id    int PRIMARY KEY,
    label text NOT NULL,
    b     bytea,
    ba    bytea[]
);
INSERT INTO tbin.blobs VALUES
    (1, 'empty',        '',                       '{}'),
    (2, 'null',         NULL,                     '{NULL}'),
    (3, 'zero_byte',    '\x00',                   ARRAY['\x00'::bytea, ''::bytea]),
    (4, 'escape_000',   E'\\000abc\\000\\001\\377', ARRAY[E'\\000'::bytea]),
    (5, 'all_bytes',    (SELECT string_agg(set_byte('\x00'::bytea, 0, g), ''::bytea ORDER BY g) FROM generate_series(0, 255) g), NULL),
    (6, 'all_bytes_rev',(SELECT string_agg(set_byte('\x00'::bytea, 0, g), ''::bytea ORDER BY g DESC) FROM generate_series(0, 255) g), NULL),
    (7, 'backslashes',  E'\\\\\\\\'::bytea,        ARRAY[E'\\\\'::bytea, '\x5c78'::bytea]),
    (8, 'looks_hex',    convert_to('\x41', 'UTF8'), ARRAY[convert_to(E'\\x', 'UTF8')]),
    (9, 'utf8_text',    convert_to(U&'caf\00E9 \+01F600', 'UTF8'), NULL),
    (10,'latin1_text',  convert_to(U&'caf\00E9', 'LATIN1'), NULL),
    (11,'crlf',         '\x0d0a090d0a',          ARRAY['\x0a'::bytea, '\x22'::bytea, '\x2c'::bytea, '\x7b7d'::bytea]),
    (12,'medium',       (SELECT decode(string_agg(md5(g::text), ''), 'hex') FROM generate_series(1, 100) g), NULL);

CREATE TABLE tbin.bytekey (
    k bytea PRIMARY KEY,
    v text
);
INSERT INTO tbin.bytekey VALUES ('\x', 'empty key'), ('\x00', 'nul'), ('\x0000', 'two nuls'), ('\xff', 'ff'), ('\x5c4e', 'backslash N'), ('\x0a', 'newline');

-- @step modify_bytes
UPDATE tbin.blobs SET b = b || '\x00ff00' WHERE label IN ('empty', 'zero_byte', 'all_bytes');
UPDATE tbin.blobs SET b = set_byte(b, 0, 0) WHERE label = 'all_bytes_rev';
UPDATE tbin.blobs SET b = '' WHERE label = 'null';
UPDATE tbin.blobs SET b = NULL, ba = ARRAY[NULL, '\x'::bytea, NULL] WHERE label = 'escape_000';
UPDATE tbin.blobs SET label = label || ' (touched)' WHERE label = 'medium';
INSERT INTO tbin.blobs
SELECT 100 + g, 'gen_' || g,
       (SELECT string_agg(set_byte('\x00'::bytea, 0, (g * 7 + h) % 256), ''::bytea ORDER BY h) FROM generate_series(0, g) h),
       ARRAY[int4send(g), int8send(-g::bigint), float8send(g::float8 / 3)]
FROM generate_series(1, 200) g;
UPDATE tbin.bytekey SET k = '\x000000' WHERE k = '\x0000';
UPDATE tbin.bytekey SET k = '\x00' || k, v = v || ' prefixed' WHERE k = '\xff';

-- @step escape_output_session
SET bytea_output = 'escape';
INSERT INTO tbin.blobs VALUES (13, 'inserted_with_escape_output', E'\\001\\002\\\\\\377', ARRAY[E'\\134'::bytea]);
UPDATE tbin.blobs SET b = decode(encode(b, 'escape'), 'escape') || E'\\012'::bytea WHERE label = 'crlf';
RESET bytea_output;
DELETE FROM tbin.bytekey WHERE k = '\x';
INSERT INTO tbin.bytekey VALUES ('\x', 'empty key again'), (E'\\000\\000\\000\\000'::bytea, 'four nuls');
DELETE FROM tbin.blobs WHERE id BETWEEN 150 AND 199;
UPDATE tbin.blobs SET b = substring(b FROM 2) WHERE id BETWEEN 100 AND 120;
