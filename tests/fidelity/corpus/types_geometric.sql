-- every geometric type (point, line, lseg, box, open/closed path, polygon, circle) incl. -0, NaN/Infinity coordinates, 17-digit coordinates, box normalisation, arrays of boxes (';' delimiter)
-- @setup
CREATE SCHEMA tgeo;

CREATE TABLE tgeo.shapes (
    id    int PRIMARY KEY,
    label text NOT NULL,
    p     point,
    l     line,
    s     lseg,
    b     box,
    pa    path,
    pg    polygon,
    c     circle
);
INSERT INTO tgeo.shapes VALUES
    (1, 'unit',       '(0,0)',            '{1,-1,0}',        '[(0,0),(1,1)]',          '(1,1),(0,0)',       '[(0,0),(1,1),(2,0)]',      '((0,0),(1,1),(1,0))',  '<(0,0),1>'),
    (2, 'normalise',  '( 1 , 2 )',        '[(0,0),(2,2)]',   '((0,0),(1,1))',          '(0,0),(1,1)',       '((0,0),(1,1),(2,0))',      '(0,0),(0,1),(1,1)',    '((1,1),2)'),
    (3, 'neg_zero',   '(-0,-0)',          '{0,1,-0}',        '[(-0,0),(0,-0)]',        '(-0,-0),(0,0)',     '[(-0,-0)]',                '((-0,0))',             '<(-0,-0),0>'),
    (4, 'precision',  point(0.1 + 0.2, 1::float8 / 3), '{0.1,0.2,0.30000000000000004}', lseg(point(pi(), exp(1::float8)), point(1e-300, 1e300)),
                      box(point(1e308, -1e308), point(0.1, 0.2)), '[(1.5,2.5),(1e-10,1e10)]', '((0.1,0.1),(0.2,0.3),(0.30000000000000004,0.1))', circle(point(1::float8 / 7, 2::float8 / 7), 1e-5)),
    (5, 'special',    '(NaN,Infinity)',   '{1,0,-Infinity}', '[(Infinity,-Infinity),(NaN,0)]', '(Infinity,Infinity),(-Infinity,-Infinity)', '[(NaN,NaN)]', '((Infinity,0),(0,-Infinity),(NaN,NaN))', '<(NaN,0),Infinity>'),
    (6, 'nulls',      NULL,               NULL,              NULL,                     NULL,                NULL,                       NULL,                   NULL),
    (7, 'big_path',   '(1,1)', '{0,-1,5}', '[(5,5),(5,5)]', '(5,5),(5,5)',
                      (SELECT ('[' || string_agg('(' || g || ',' || (g * g) || ')', ',') || ']')::path FROM generate_series(1, 200) g),
                      (SELECT ('(' || string_agg('(' || cos(g) || ',' || sin(g) || ')', ',' ORDER BY g) || ')')::polygon FROM generate_series(1, 100) g),
                      '<(1e10,-1e10),1e-10>');

CREATE TABLE tgeo.shape_arrays (
    id   int PRIMARY KEY,
    pts  point[],
    bxs  box[],
    cs   circle[]
);
INSERT INTO tgeo.shape_arrays VALUES
    (1, '{"(1,2)","(3,4)"}', '{(1,1),(0,0);(3,3),(2,2)}', '{"<(0,0),1>","<(1,1),2>"}'),
    (2, '{}', '{}', '{}'),
    (3, ARRAY[NULL, '(0,0)'::point], ARRAY['(2,2),(1,1)'::box, NULL], ARRAY[NULL::circle]);

-- @step move_shapes
UPDATE tgeo.shapes SET p = p + point '(10,20)', b = b * point '(2,0)', c = circle(center(c) + point '(1,1)', radius(c) * 2) WHERE label IN ('unit', 'normalise');
UPDATE tgeo.shapes SET p = p + point '(0.1,0.2)', c = circle(center(c) + point '(0.1,0.7)', radius(c) / 3) WHERE label = 'precision';
UPDATE tgeo.shapes SET pa = popen(pa) WHERE label = 'normalise';
UPDATE tgeo.shapes SET pa = pclose(pa) WHERE label = 'unit';
UPDATE tgeo.shapes SET label = label || '_renamed' WHERE label = 'big_path';
UPDATE tgeo.shapes SET pg = polygon(b), s = lseg(b) WHERE label = 'neg_zero';
UPDATE tgeo.shape_arrays SET bxs = bxs || '(9,9),(-9,-9)'::box WHERE id IN (1, 2);
INSERT INTO tgeo.shapes
SELECT 100 + g, 'gen_' || g,
       point(g / 3.0, -g / 7.0),
       line(point(g, 0), point(0, g + 1)),
       lseg(point(g, g), point(-g, g * 1.5)),
       box(point(g, g), point(g * 0.1, -g)),
       ('[(' || g || ',0),(0,' || g || '),(' || (g / 9.0) || ',' || (g / 11.0) || ')]')::path,
       polygon(4, circle(point(g, g), g)),
       circle(point(g, -g), g / 13.0)
FROM generate_series(1, 150) g;

-- @step replace_and_delete
UPDATE tgeo.shapes SET p = NULL, l = '{-1,1,0}', pg = '((0,0))' WHERE label = 'special';
UPDATE tgeo.shapes SET c = '<(0,0),0>', pa = '((0,0),(0,0))' WHERE label = 'nulls';
DELETE FROM tgeo.shapes WHERE id BETWEEN 120 AND 140;
DELETE FROM tgeo.shape_arrays WHERE id = 3;
INSERT INTO tgeo.shape_arrays VALUES (3, ARRAY['(-0,-0)'::point], '{(0,0),(0,0)}', '{"<(0,0),0>"}');
