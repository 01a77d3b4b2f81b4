-- range and multirange types: int4/int8/num/ts/tstz/date ranges, empty, unbounded both sides, inclusive/exclusive, infinity bounds vs unbounded, canonicalisation, '{}' multiranges, a custom range type, range keys
-- @setup
CREATE SCHEMA trg;

CREATE TYPE trg.float8range AS RANGE (subtype = float8, subtype_diff = float8mi);

CREATE TABLE trg.ranges (
    id    int PRIMARY KEY,
    label text NOT NULL,
    r4    int4range,
    r8    int8range,
    rn    numrange,
    rts   tsrange,
    rtz   tstzrange,
    rd    daterange,
    rf    trg.float8range
);
INSERT INTO trg.ranges VALUES
    (1,  'empty',       'empty',    'empty',    'empty',     'empty',                               'empty',                                        'empty',                  'empty'),
    (2,  'unbounded',   '(,)',      '(,)',      '(,)',       '(,)',                                 '(,)',                                          '(,)',                    '(,)'),
    (3,  'inclusive',   '[1,10]',   '[1,10]',   '[1.5,2.5]', '[2000-01-01,2000-01-02]',              '[2000-01-01 00:00+00,2000-01-02 00:00+00]',    '[2000-01-01,2000-01-01]','[-0,0]'),
    (4,  'exclusive',   '(1,10)',   '(1,10)',   '(1.5,2.5)', '(2000-01-01,2000-01-02)',              '(2000-01-01 00:00+05,2000-01-02 00:00-05)',    '(2000-01-01,2000-01-03)','(0.1,0.30000000000000004)'),
    (5,  'half_open',   '[,5]',     '(5,]',     '[0,)',      '[,2000-01-01)',                        '(2000-01-01 00:00+00,]',                       '[,2000-01-01]',          '[1,)'),
    (6,  'infinity',    '[-2147483648,2147483647)', '[-9223372036854775808,9223372036854775807)', '[-Infinity,Infinity]', '[-infinity,infinity]', '(-infinity,infinity)', '[-infinity,infinity)', '[-Infinity,Infinity]'),
    (7,  'collapses',   '(1,2)',    '[5,5)',    '[1,1)',     '(2000-01-01,2000-01-01]',              '[2000-01-01 00:00+00,2000-01-01 00:00+00)',    '[2000-01-02,2000-01-02)','(1,1)'),
    (8,  'nan',         NULL,       NULL,       '[1,NaN]',   NULL,                                   NULL,                                           NULL,                     '[0,NaN]'),
    (9,  'precision',   '[0,1)',    '[0,1)',    '[0.10000,0.100000001)', '[2000-01-01 00:00:00.000001,2000-01-01 00:00:00.000002]', '["2000-01-01 01:00:00.5 Asia/Kolkata","2000-01-01 12:00 America/Los_Angeles"]', '[4713-01-01 BC,5874897-12-30]', '[1e-300,1e300]'),
    (10, 'nulls',       NULL,       NULL,       NULL,        NULL,                                   NULL,                                           NULL,                     NULL);

CREATE TABLE trg.multi (
    id  int PRIMARY KEY,
    m4  int4multirange,
    m8  int8multirange,
    mn  nummultirange,
    mts tsmultirange,
    mtz tstzmultirange,
    md  datemultirange,
    mf  trg.float8multirange,
    ra  int4range[]
);
INSERT INTO trg.multi VALUES
    (1, '{}',                         '{}',            '{}',                 '{}', '{}', '{}', '{}', '{}'),
    (2, '{[1,3), [5,7)}',             '{[1,3],(5,7]}', '{[1.1,2.2),[3.3,)}', '{[2000-01-01,2000-02-01),[2001-01-01,)}', '{(,2000-01-01 00:00+00),[2010-01-01 00:00+00,)}', '{[2000-01-01,2000-01-05],[2000-01-06,2000-01-09]}', '{[1,2),[3,4)}', '{"[1,2)","(,)",empty}'),
    (3, '{[1,3),[2,5),empty}',        '{(,)}',         '{[1,1],[1,1]}',      '{empty}', '{[-infinity,infinity]}', '{(,)}', '{(,)}', ARRAY['empty'::int4range, NULL]),
    (4, NULL,                         NULL,            NULL,                 NULL, NULL, NULL, NULL, NULL),
    (5, (SELECT range_agg(int4range(g * 10, g * 10 + 5)) FROM generate_series(1, 100) g), '{[0,1)}', '{[0,NaN]}', NULL, NULL, NULL, NULL, NULL);

-- range as primary key: canonical forms collide ('[1,2]' = '[1,3)')
CREATE TABLE trg.rangekey (
    k int4range PRIMARY KEY,
    v text
);
INSERT INTO trg.rangekey VALUES ('empty', 'empty'), ('(,)', 'all'), ('[1,2]', 'one-two'), ('(,0]', 'neg'), ('[100,)', 'big');

-- exclusion constraint over a range
CREATE TABLE trg.bookings (
    id    int PRIMARY KEY,
    room  int NOT NULL,
    during tsrange NOT NULL,
    EXCLUDE USING gist (during WITH &&)
);
INSERT INTO trg.bookings VALUES (1, 1, '[2024-01-01 10:00,2024-01-01 11:00)'), (2, 1, '[2024-01-01 11:00,2024-01-01 12:00)'), (3, 2, 'empty');

-- @step range_ops
UPDATE trg.ranges SET r4 = r4 * '[3,20)', r8 = r8 + '[10,20)', rn = rn * '[2,3)' WHERE label IN ('inclusive', 'exclusive');
UPDATE trg.ranges SET r4 = 'empty', rd = '(,)' WHERE label = 'unbounded';
UPDATE trg.ranges SET rts = tsrange(lower(rts), upper(rts) + '1 us', '(]') WHERE label IN ('inclusive', 'precision');
UPDATE trg.ranges SET rtz = tstzrange('2000-01-01 00:00 Pacific/Auckland', NULL, '[]') WHERE label = 'half_open';
UPDATE trg.multi SET m4 = m4 + '{[100,200)}', mn = mn - '{[1.5,1.7)}' WHERE id IN (1, 2, 3);
UPDATE trg.multi SET m4 = '{}' WHERE id = 5;
UPDATE trg.rangekey SET k = '[1,3)', v = 'one-two same key, canonical' WHERE k = '[1,2]';
UPDATE trg.rangekey SET k = '[-5,-4)' WHERE k = 'empty';
UPDATE trg.bookings SET during = '[2024-01-01 09:00,2024-01-01 10:00)' WHERE id = 2;
INSERT INTO trg.bookings VALUES (4, 3, '[2024-01-01 11:00,2024-01-01 12:00)');
INSERT INTO trg.ranges
SELECT 100 + g, 'gen_' || g, int4range(g, g * 2), int8range(-g, NULL), numrange(g / 3.0, g / 2.0, '(]'),
       tsrange('2000-01-01'::timestamp + g * '1 day'::interval, NULL), tstzrange(NULL, '2000-01-01 00:00+00'::timestamptz + g * '1 hour'::interval),
       daterange('2000-01-01'::date + g, '2000-01-01'::date + g * 2, '[]'), trg.float8range(g::float8 / 7, g::float8 / 6)
FROM generate_series(1, 200) g;

-- @step key_churn
DELETE FROM trg.rangekey WHERE k = '(,)';
INSERT INTO trg.rangekey VALUES ('empty', 'empty again'), ('[1,2)', 'one'), ('[2,3)', 'two');
DELETE FROM trg.ranges WHERE id BETWEEN 150 AND 200 OR label = 'nan';
UPDATE trg.multi SET ra = ra || int4range(NULL, NULL), md = md * '{[2000-01-03,2000-01-07)}' WHERE id = 2;
DELETE FROM trg.bookings WHERE id = 1;
INSERT INTO trg.bookings VALUES (1, 4, '(2024-01-01 10:00,2024-01-01 11:00)');
