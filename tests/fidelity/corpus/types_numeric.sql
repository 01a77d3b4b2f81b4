-- numeric edge values (NaN, +/-Infinity, 38+ digits, huge/tiny exponents, scale padding, negative zero, negative scale), int2/int4/int8 limits, money
-- @setup
CREATE SCHEMA tnum;

CREATE TABLE tnum.numerics (
    id        int PRIMARY KEY,
    label     text NOT NULL,
    n         numeric,
    n12_2     numeric(12,2),
    n38       numeric(38,0),
    n_neg     numeric(5,-2),
    n_frac    numeric(3,5),
    n_arr     numeric[]
);

INSERT INTO tnum.numerics VALUES
    (1,  'nan',            'NaN',       NULL,            NULL, NULL, NULL, '{NaN,1}'),
    (2,  'pos_inf',        'Infinity',  NULL,            NULL, NULL, NULL, '{Infinity,-Infinity}'),
    (3,  'neg_inf',        '-Infinity', NULL,            NULL, NULL, NULL, NULL),
    (4,  'zero',           0,           0,               0,    0,    0,    '{}'),
    (5,  'neg_zero',       '-0',        '-0.00',         '-0', '-0', '-0.00000', '{-0,-0.0}'),
    (6,  'neg_zero_scale', '-0.000000', '-0.001',        NULL, NULL, NULL, NULL),
    (7,  '38_digits',      99999999999999999999999999999999999999,
                                        9999999999.99,   99999999999999999999999999999999999999, 99900, 0.00999, NULL),
    (8,  '38_digits_neg',  -99999999999999999999999999999999999999,
                                        -9999999999.99,  -99999999999999999999999999999999999999, -99900, -0.00999, NULL),
    (9,  'long_fraction',  123456789012345678901234567890.123456789012345678901234567890,
                                        1.005,           12345678901234567890123456789012345678, 12345, 0.001234, NULL),
    (10, 'scale_pad',      1.10000,     1,               1,    1,    0.00001, '{1.0,1.00,1.000}'),
    (11, 'round_half',     2.5,         0.005,           '0.5', 49, 0.000005, NULL),
    (12, 'huge_exp',       '1e1000',    NULL,            NULL, NULL, NULL, NULL),
    (13, 'tiny_exp',       '1e-1000',   NULL,            NULL, NULL, NULL, NULL),
    (14, 'huge_neg_exp',   '-9.87654321e500', NULL,      NULL, NULL, NULL, NULL),
    (15, 'trailing_zeros', '100.000000000000000000000000000000', 100, 100, 100, NULL, NULL),
    (16, 'null_all',       NULL,        NULL,            NULL, NULL, NULL, '{NULL}'),
    (17, 'min_scale',      '1e-16383',  NULL,            NULL, NULL, NULL, NULL),
    (18, 'pow2_1000',      power(2::numeric, 1000), NULL, NULL, NULL, NULL, NULL);

CREATE TABLE tnum.ints (
    id   int PRIMARY KEY,
    i2   int2,
    i4   int4,
    i8   int8,
    m    money
);
INSERT INTO tnum.ints VALUES
    (1, -32768, -2147483648, -9223372036854775808, '-92233720368547758.08'),
    (2,  32767,  2147483647,  9223372036854775807,  '92233720368547758.07'),
    (3,  0,      0,           0,                    0),
    (4, -1,     -1,          -1,                    '-0.01'),
    (5,  NULL,   NULL,        NULL,                 NULL),
    (6,  1,      1,           1,                    '$1,234.56'),
    (7,  -0,     -0,          -0,                   '-0.00');

-- numeric primary key: 1.5, 1.50 and 1.500 are equal but print differently
CREATE TABLE tnum.numkey (
    k numeric PRIMARY KEY,
    v text
);
INSERT INTO tnum.numkey VALUES (1.5, 'one and a half'), (0, 'zero'), ('NaN', 'nan key'), ('Infinity', 'inf key'), (-2.000, 'minus two');

-- int8 key at the extremes
CREATE TABLE tnum.bigkey (
    k bigint PRIMARY KEY,
    v numeric(20,10)
);
INSERT INTO tnum.bigkey VALUES (-9223372036854775808, 0.0000000001), (9223372036854775807, 9999999999.9999999999), (0, -0.0);

-- @step update_specials
UPDATE tnum.numerics SET n = 'Infinity' WHERE label = 'nan';
UPDATE tnum.numerics SET n = 'NaN', n_arr = '{NaN,NaN,-Infinity}' WHERE label = 'pos_inf';
UPDATE tnum.numerics SET n12_2 = n12_2 + 0.001, n38 = n38 - 1 WHERE label = '38_digits';
UPDATE tnum.numerics SET n = n / 3 WHERE label = 'scale_pad';
UPDATE tnum.numerics SET n = sqrt(2::numeric) WHERE label = 'zero';
INSERT INTO tnum.numerics VALUES
    (19, 'one_third', 1::numeric / 3, 1::numeric / 3, 1::numeric / 3, 1::numeric / 3 * 1000, 1::numeric / 3 / 100, ARRAY[1::numeric / 7]),
    (20, 'exp_div',   '1e400'::numeric / '1e-400'::numeric, NULL, NULL, NULL, NULL, NULL),
    (21, 'neg_inf2',  '-inf', NULL, NULL, NULL, NULL, '{-inf,+inf,nan}');
UPDATE tnum.ints SET i8 = i8 + 1, m = m + '0.01'::money WHERE id = 1;
UPDATE tnum.ints SET i2 = -i2 - 1, i4 = -i4 - 1, i8 = -i8 - 1 WHERE id = 2;
UPDATE tnum.numkey SET k = 1.500 WHERE k = 1.5;
UPDATE tnum.numkey SET k = '0.000' WHERE k = 0;

-- @step keys_and_deletes
DELETE FROM tnum.numerics WHERE label IN ('huge_exp', 'neg_zero');
UPDATE tnum.numerics SET n = -n WHERE label = 'tiny_exp';
UPDATE tnum.numkey SET k = '-Infinity', v = 'was inf' WHERE k = 'Infinity';
UPDATE tnum.numkey SET k = 'Infinity', v = 'was nan' WHERE k = 'NaN';
UPDATE tnum.numkey SET k = 'NaN', v = 'was one and a half' WHERE k = 1.500;
DELETE FROM tnum.numkey WHERE k = -2;
INSERT INTO tnum.numkey VALUES (-2.0000, 'minus two again'), (1.50, 'one and a half again'), (1e-20, 'tiny'), (12345678901234567890123456789.123456789, 'long');
UPDATE tnum.bigkey SET k = k + 1 WHERE k = -9223372036854775808;
UPDATE tnum.bigkey SET v = -v WHERE k = 0;
DELETE FROM tnum.ints WHERE id = 5;
INSERT INTO tnum.ints VALUES (5, -32768, 2147483647, -9223372036854775807, '-0.01');

-- @step bulk_generated
INSERT INTO tnum.numerics
SELECT 100 + g, 'gen_' || g,
       (g::numeric ^ 7) / 13 * (CASE WHEN g % 2 = 0 THEN -1 ELSE 1 END),
       round(g::numeric / 7, 2),
       (10::numeric ^ (g % 38)) - 1,
       g * 100,
       NULL,
       ARRAY[g::numeric / 3, -g::numeric, 'NaN']
FROM generate_series(1, 300) g;
UPDATE tnum.numerics SET n12_2 = n12_2 * -1 WHERE id BETWEEN 100 AND 200;
DELETE FROM tnum.numerics WHERE id BETWEEN 250 AND 270;
