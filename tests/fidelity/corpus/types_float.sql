-- float4/float8 edges: -0, NaN, +/-Infinity, denormals, max/min, 17-significant-digit values, float keys where 0 = -0
-- @setup
CREATE SCHEMA tflt;

CREATE TABLE tflt.floats (
    id    int PRIMARY KEY,
    label text NOT NULL,
    f4    real,
    f8    double precision,
    f4a   real[],
    f8a   float8[]
);
INSERT INTO tflt.floats VALUES
    (1,  'zero',        0,                 0,                         '{0,-0}',        '{0,-0}'),
    (2,  'neg_zero',    '-0',              '-0',                      '{-0}',          '{-0,-0.0}'),
    (3,  'nan',         'NaN',             'NaN',                     '{NaN}',         '{NaN,nan}'),
    (4,  'pos_inf',     'Infinity',        'Infinity',                '{inf}',         '{Infinity,+inf}'),
    (5,  'neg_inf',     '-Infinity',       '-Infinity',               '{-inf}',        '{-Infinity}'),
    (6,  'denormal',    '1.4e-45',         '4.9e-324',                '{1e-45}',       '{5e-324,2.2250738585072009e-308}'),
    (7,  'min_normal',  '1.17549435e-38',  '2.2250738585072014e-308', NULL,            NULL),
    (8,  'max',         '3.4028235e38',    '1.7976931348623157e308',  '{3.4028235e38}','{1.7976931348623157e308,-1.7976931348623157e308}'),
    (9,  'seventeen',   '0.1',             0.1::float8 + 0.2::float8, NULL,            ARRAY[0.1::float8 * 3, 1::float8 / 3, 2::float8 / 3]),
    (10, 'pi',          pi(),              pi(),                      NULL,            ARRAY[pi(), exp(1::float8)]),
    (11, 'long_digits', '16777217',        '9007199254740993',        '{16777216,16777217}', '{9007199254740992,9007199254740993}'),
    (12, 'tiny_neg',    '-1.401298e-45',   '-4.9406564584124654e-324', NULL,           NULL),
    (13, 'exp_form',    '1e10',            '1e22',                    '{1e-10}',       '{1e23,1e-7,123456789012345680000}'),
    (14, 'nulls',       NULL,              NULL,                      '{NULL,1}',      '{NULL}'),
    (15, 'precise',     '0.30000001',      '0.30000000000000004',     NULL,            '{0.1,0.2,0.30000000000000004}');

-- float8 primary key: '-0' and '0' are equal keys but print differently
CREATE TABLE tflt.floatkey (
    k float8 PRIMARY KEY,
    v text
);
INSERT INTO tflt.floatkey VALUES ('-0', 'negative zero'), ('NaN', 'nan'), ('Infinity', 'inf'), ('4.9e-324', 'denormal'), (0.1, 'point one');

CREATE TABLE tflt.realkey (
    k real PRIMARY KEY,
    v double precision
);
INSERT INTO tflt.realkey VALUES (0, '-0'), ('-Infinity', 'NaN'), (1.4e-45, 1.4e-45), (16777216, 16777217);

-- @step arithmetic
UPDATE tflt.floats SET f8 = f8 * -1, f4 = f4 * -1 WHERE label IN ('zero', 'denormal', 'max', 'seventeen');
UPDATE tflt.floats SET f8 = f8 / 2, f4 = f4 / 2 WHERE label = 'min_normal';
UPDATE tflt.floats SET f8 = f8 * 3, f4 = f4 * 3 WHERE label = 'tiny_neg';
UPDATE tflt.floats SET f8a = f8a || ARRAY['-0'::float8, 'NaN'] WHERE label = 'zero';
INSERT INTO tflt.floats
SELECT 100 + g, 'gen_' || g, 1::real / g, 1::float8 / g, ARRAY[(g::real) / 7], ARRAY[sqrt(g::float8), ln(g::float8 + 1), g::float8 ^ 15]
FROM generate_series(1, 200) g;
UPDATE tflt.floatkey SET k = 0, v = 'positive zero now' WHERE k = '-0';
UPDATE tflt.floatkey SET k = '-Infinity' WHERE k = 'Infinity';
UPDATE tflt.realkey SET k = '-0' WHERE k = 0;

-- @step specials_swap
UPDATE tflt.floats SET f8 = 'NaN', f4 = '-0' WHERE label = 'pos_inf';
UPDATE tflt.floats SET f8 = '-0', f4 = 'NaN' WHERE label = 'nan';
DELETE FROM tflt.floats WHERE label = 'neg_zero';
INSERT INTO tflt.floats VALUES (2, 'neg_zero_again', '-0', '-0', '{-0,0,-0}', '{-0}');
DELETE FROM tflt.floatkey WHERE k = 'NaN';
INSERT INTO tflt.floatkey VALUES ('NaN', 'nan again'), ('-4.9e-324', 'neg denormal'), (1.7976931348623157e308, 'max');
UPDATE tflt.floatkey SET v = 'zero, touched' WHERE k = '-0';
DELETE FROM tflt.realkey WHERE k = 1.4e-45;
UPDATE tflt.realkey SET v = '-Infinity' WHERE k = 16777216;
DELETE FROM tflt.floats WHERE id BETWEEN 150 AND 180;
