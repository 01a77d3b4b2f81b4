-- enums (odd labels: spaces, quotes, empty, unicode, 'NULL'; values added with BEFORE/AFTER) and enum arrays/keys; domains with CHECK over text/numeric/arrays/domains, NOT NULL, DEFAULT, collation
-- @setup
CREATE SCHEMA ted;

CREATE TYPE ted.mood AS ENUM ('sad', 'ok', 'happy');
CREATE TYPE ted.odd AS ENUM ('with space', 'quo''te', 'dq"', '', 'NULL', U&'\00FCn\00EFc\00F8d\00E9', U&'\+01F600', 'a,b', '{x}', E'back\\slash', 'UPPER', 'upper');

CREATE DOMAIN ted.posint AS int CHECK (VALUE > 0);
CREATE DOMAIN ted.email AS text COLLATE "C" CHECK (VALUE ~ '^[^@]+@[^@]+$');
CREATE DOMAIN ted.amount AS numeric(12,2) DEFAULT 0 NOT NULL CHECK (VALUE >= 0);
CREATE DOMAIN ted.small_amount AS ted.amount CHECK (VALUE < 1000);
CREATE DOMAIN ted.code AS varchar(8) CONSTRAINT code_upper CHECK (VALUE = upper(VALUE)) CONSTRAINT code_len CHECK (length(VALUE) >= 2);
CREATE DOMAIN ted.intlist AS int[] CHECK (array_length(VALUE, 1) <= 5);
CREATE DOMAIN ted.happy_mood AS ted.mood CHECK (VALUE <> 'sad');

CREATE TABLE ted.people (
    id      int PRIMARY KEY,
    m       ted.mood,
    o       ted.odd,
    ms      ted.mood[],
    os      ted.odd[],
    hm      ted.happy_mood,
    n       ted.posint,
    e       ted.email,
    amt     ted.amount,
    small   ted.small_amount,
    c       ted.code,
    il      ted.intlist,
    emails  ted.email[]
);
INSERT INTO ted.people VALUES
    (1, 'sad',   'with space', '{sad,ok}',     '{"with space","quo''te"}',   'ok',    1,          'a@b',               0,          0,      'AB',       '{1,2,3}', '{a@b,c@d}'),
    (2, 'happy', 'quo''te',    '{}',           ARRAY['dq"'::ted.odd, ''],    'happy', 2147483647, 'x.y+z@example.com', 9999999999.99, 999.99, 'ABCDEFGH', '{}',    '{}'),
    (3, NULL,    '',           '{NULL}',       '{"",NULL,"NULL"}',           NULL,    NULL,       NULL,                12.345,     1.005,  NULL,       NULL,      NULL),
    (4, 'ok',    'NULL',       '{happy,happy}',ARRAY[U&'\+01F600'::ted.odd, 'a,b', '{x}'], 'ok', 42, U&'caf\00E9@ex.com', 1, 2, 'X1', '{5,4,3,2,1}', ARRAY[U&'\00FC@\00FC']),
    (5, 'ok',    E'back\\slash', '{ok}',       ARRAY[E'back\\slash'::ted.odd, 'UPPER', 'upper'], 'happy', 5, 'q"uote@x', 3.50, 3.5, 'Q"', '{-1}', ARRAY['a,b@c']);

-- enum and domain keys
CREATE TABLE ted.enumkey (
    k  ted.odd PRIMARY KEY,
    v  ted.posint NOT NULL
);
INSERT INTO ted.enumkey SELECT e, row_number() OVER () FROM unnest(enum_range(NULL::ted.odd)) e;

CREATE TABLE ted.domainkey (
    k  ted.code PRIMARY KEY,
    a  ted.amount
);
INSERT INTO ted.domainkey (k) VALUES ('AA'), ('BB'), ('CC');

-- @step add_values
ALTER TYPE ted.mood ADD VALUE 'ecstatic' AFTER 'happy';
ALTER TYPE ted.mood ADD VALUE 'miserable' BEFORE 'sad';
ALTER TYPE ted.mood ADD VALUE IF NOT EXISTS 'meh' BEFORE 'ok';
ALTER TYPE ted.odd ADD VALUE 'new value, with comma' BEFORE '';
UPDATE ted.people SET m = 'happy', ms = ms || 'sad'::ted.mood WHERE id IN (1, 3);
UPDATE ted.people SET amt = amt + 0.005, small = 0 WHERE id IN (3, 4);
UPDATE ted.people SET c = 'ZZ', e = 'new@e' WHERE id = 3;
UPDATE ted.enumkey SET v = v * 100 WHERE k IN ('', 'NULL', 'with space');
UPDATE ted.domainkey SET k = 'AAA', a = DEFAULT WHERE k = 'AA';

-- @step use_new_values
UPDATE ted.people SET m = 'ecstatic', ms = '{miserable,meh,ecstatic}' WHERE id = 1;
UPDATE ted.people SET o = 'new value, with comma', os = os || 'new value, with comma'::ted.odd WHERE id IN (2, 5);
INSERT INTO ted.people (id, m, o, ms, hm, n, amt, c, il)
SELECT 100 + g, (enum_range(NULL::ted.mood))[1 + g % 6], (enum_range(NULL::ted.odd))[1 + g % 13],
       (enum_range(NULL::ted.mood))[1:1 + g % 6], 'happy', g, g * 1.25, 'G' || g, ARRAY[g, g]
FROM generate_series(1, 150) g;
DELETE FROM ted.enumkey WHERE k = 'UPPER';
INSERT INTO ted.enumkey VALUES ('new value, with comma', 1000);
UPDATE ted.enumkey SET k = 'UPPER' WHERE k = 'upper';

-- @step domain_changes
ALTER DOMAIN ted.code DROP CONSTRAINT code_len;
ALTER DOMAIN ted.posint ADD CONSTRAINT posint_max CHECK (VALUE < 1000000000) NOT VALID;
ALTER DOMAIN ted.amount SET DEFAULT 1.5;
INSERT INTO ted.domainkey (k) VALUES ('D'), ('E');
INSERT INTO ted.people (id, c, amt) VALUES (300, 'Z', DEFAULT);
DELETE FROM ted.people WHERE id BETWEEN 120 AND 140;
