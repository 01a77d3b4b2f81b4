-- date/time edges: +/-infinity, BC dates, max timestamp/date, 24:00, timetz +/-15:59, interval extremes and mixed signs, non-UTC timestamptz input, session TimeZone/DateStyle changes
-- @setup
CREATE SCHEMA tdt;

CREATE TABLE tdt.moments (
    id     int PRIMARY KEY,
    label  text NOT NULL,
    d      date,
    tm     time,
    ttz    timetz,
    ts     timestamp,
    tstz   timestamptz,
    iv     interval
);
INSERT INTO tdt.moments VALUES
    (1,  'infinity',   'infinity',        '00:00:00',        '00:00:00+00',          'infinity',                           'infinity',                              '178000000 years'),
    (2,  '-infinity',  '-infinity',       '24:00:00',        '24:00:00-15:59',       '-infinity',                          '-infinity',                             '-178000000 years'),
    (3,  'ides',       '0044-03-15 BC',   '12:00:00',        '12:00:00+15:59',       '0044-03-15 12:00:00 BC',             '0044-03-15 12:00:00+01 BC',             '1 mon -1 day'),
    (4,  'max',        '5874897-12-31',   '23:59:59.999999', '23:59:59.999999-15:59','294276-12-31 23:59:59.999999',       '294276-12-31 23:59:59.999999+00',       '2562047788:00:54.775807'),
    (5,  'min',        '4713-01-01 BC',   '00:00:00.000001', '00:00+15:59',          '4713-01-01 00:00:00 BC',             '4713-01-01 00:00:00+00 BC',             '-2562047788:00:54.775807'),
    (6,  'micro',      '2000-02-29',      '00:00:00.000001', '00:00:00.000001+05:30','2000-02-29 23:59:59.999999',         '2000-02-29 23:59:59.999999+14',         '1 microsecond'),
    (7,  'neg_micro',  '1999-12-31',      '13:37:00',        '13:37:00-09:30',       '1999-12-31 23:59:59.999999',         '1999-12-31 23:59:59.999999-12',         '-1 microsecond'),
    (8,  'mixed_sign', '1970-01-01',      '01:02:03.456789', '01:02:03.456789+01:02:03', 'epoch',                          'epoch',                                 '1 year -2 mons 3 days -04:05:06.789'),
    (9,  'nyc_dst',    '2024-03-10',      '02:30:00',        '02:30:00-05',          '2024-03-10 02:30:00',                '2024-03-10 02:30:00 America/New_York',  '@ 3 days 4 hours ago'),
    (10, 'kathmandu',  '2024-11-03',      '01:30:00',        '01:30:00+05:45',       '2024-11-03 01:30:00',                '2024-11-03 01:30:00 Asia/Kathmandu',    'P1Y2M3DT4H5M6.5S'),
    (11, 'lmt_offset', '1883-11-18',      '12:00:00',        '12:00:00-04:56:02',    '1883-11-18 12:00:00',                '1883-11-18 12:00:00 America/New_York',  '-1 mons +1 day -00:00:00.000001'),
    (12, 'gregorian',  '1582-10-04',      '23:59:59',        '23:59:59+00',          '1582-10-15 00:00:00',                '1582-10-15 00:00:00+00',                '0'),
    (13, 'nulls',      NULL,              NULL,              NULL,                   NULL,                                 NULL,                                    NULL),
    (14, 'huge_months','2038-01-19',      '03:14:07',        '03:14:07+00',          '2038-01-19 03:14:07',                '2038-01-19 03:14:07+00',                '178956970 years 7 mons'),
    (15, 'min_months', '1901-12-13',      '20:45:52',        '20:45:52+00',          '1901-12-13 20:45:52',                '1901-12-13 20:45:52+00',                '-178956970 years -8 mons'),
    (16, 'huge_days',  '0001-01-01',      '00:00:00',        '00:00:00+00',          '0001-01-01 00:00:00',                '0001-01-01 00:00:00+00',                '2147483647 days -2147483648 hours');

-- precision-limited and field-restricted variants
CREATE TABLE tdt.precise (
    id     int PRIMARY KEY,
    ts0    timestamp(0),
    ts3    timestamptz(3),
    t2     time(2),
    ttz1   timetz(1),
    iv_ds  interval day to second(2),
    iv_ym  interval year to month,
    iv_h   interval hour
);
INSERT INTO tdt.precise VALUES
    (1, '2001-02-03 04:05:06.5', '2001-02-03 04:05:06.99951+00', '23:59:59.999', '23:59:59.96+01', '1 day 02:03:04.567', '3 years 14 months 5 days', '25 hours 59 minutes'),
    (2, '2001-02-03 04:05:06.4999', '2001-02-03 04:05:06.0005 Europe/Paris', '00:00:00.005', '00:00:00.04-01', '-1 day +00:00:00.005', '-1 month', '-1 hour'),
    (3, 'infinity', '-infinity', '24:00', '24:00+00', '0', '0', '0');

-- timestamptz and date as keys
CREATE TABLE tdt.tskey (
    k    timestamptz PRIMARY KEY,
    d    date UNIQUE,
    note text
);
INSERT INTO tdt.tskey VALUES
    ('infinity', 'infinity', 'pos'),
    ('-infinity', '-infinity', 'neg'),
    ('2000-01-01 00:00:00+00', '2000-01-01', 'y2k'),
    ('2000-01-01 00:00:00.000001+00', '2000-01-02', 'y2k + 1us'),
    ('0001-01-01 00:00:00+00 BC', '0001-12-31 BC', 'year 0');

-- @step arithmetic
UPDATE tdt.moments SET ts = ts + iv, tstz = tstz + iv WHERE label IN ('micro', 'neg_micro', 'mixed_sign', 'nyc_dst', 'kathmandu');
UPDATE tdt.moments SET iv = iv * 2 WHERE label IN ('mixed_sign', 'micro');
UPDATE tdt.moments SET iv = -iv WHERE label IN ('infinity', 'huge_days');
UPDATE tdt.moments SET d = d + 365000, ttz = ttz + '23 hours'::interval WHERE label = 'ides';
UPDATE tdt.moments SET tm = tm - '00:00:00.000001'::interval WHERE label = '-infinity';
INSERT INTO tdt.moments
SELECT 100 + g, 'gen_' || g,
       '2000-01-01'::date + g * 37,
       '00:00'::time + g * '17 minutes 3.000007 seconds'::interval,
       ('00:00'::time + g * '1 minute'::interval)::timetz,
       '2000-01-01'::timestamp + g * '1 day 1 hour 1 minute 1.000001 second'::interval,
       '2000-01-01 00:00:00+00'::timestamptz + g * '1 mon 1 day 00:00:00.123456'::interval,
       g * '1 mon -1 day 1 hour -1 minute'::interval
FROM generate_series(1, 300) g;
UPDATE tdt.tskey SET k = k - interval '1 microsecond', d = d - 1, note = note || ' moved' WHERE note = 'y2k';

-- @step session_timezone
SET TIME ZONE 'Pacific/Chatham';
SET DateStyle = 'SQL, DMY';
SET IntervalStyle = 'sql_standard';
INSERT INTO tdt.moments VALUES
    (20, 'chatham_local', '03/04/2005', '12:45', '12:45', '03/04/2005 12:45:00', '03/04/2005 12:45:00', '1-2 3 4:05:06'),
    (21, 'chatham_dst',   '27/09/2020', '02:45', '02:45', '27/09/2020 02:45:00', '27/09/2020 02:45:00', '-1-2 +3 -4:05:06.7');
UPDATE tdt.moments SET tstz = '01/01/2030 00:00:00', ts = tstz::timestamp WHERE label = 'gregorian';
INSERT INTO tdt.tskey VALUES ('31/12/1999 23:59:59.999999', '30/12/1999', 'chatham eve');
SET TIME ZONE 'America/St_Johns';
SET DateStyle = 'German';
INSERT INTO tdt.precise VALUES (4, '31.12.1999 23:59:59.5', '31.12.1999 23:59:59.9996', '12:00:00.125', '12:00:00.15', '1 12:00:00.125', '1-11', '100:00:00');
UPDATE tdt.moments SET tstz = '15.08.1947 00:00:00' WHERE label = 'lmt_offset';
RESET ALL;

-- @step deletes_and_infinity_swaps
DELETE FROM tdt.moments WHERE id BETWEEN 150 AND 200;
DELETE FROM tdt.moments WHERE label = 'min';
UPDATE tdt.moments SET d = '-infinity', ts = '-infinity', tstz = '-infinity' WHERE label = 'infinity';
UPDATE tdt.moments SET d = 'infinity', ts = 'infinity', tstz = 'infinity' WHERE label = '-infinity';
INSERT INTO tdt.moments VALUES (5, 'min_again', '4713-01-01 BC', '24:00', '24:00+15:59', '4713-01-01 00:00:00 BC', '4713-01-01 00:00:00+00 BC', '-178000000 years -1 microsecond');
UPDATE tdt.tskey SET k = '294276-12-31 23:59:59.999999+00', d = '5874897-12-31' WHERE note = 'year 0';
DELETE FROM tdt.tskey WHERE k = 'infinity';
UPDATE tdt.precise SET ts0 = '294276-12-31 23:59:59', iv_ym = '-178000000 years', iv_h = '-2562047788 hours' WHERE id = 3;
