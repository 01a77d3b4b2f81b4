-- type DDL while streaming: CREATE TYPE enum/composite/range/domain then tables using them, ALTER TYPE ADD VALUE (used in a later step), RENAME VALUE (existing rows print the new label), ADD/DROP/ALTER ATTRIBUTE ... CASCADE, RENAME TYPE, SET SCHEMA, ALTER DOMAIN
-- @setup
CREATE SCHEMA dty;
CREATE TYPE dty.status AS ENUM ('draft', 'live');
CREATE TABLE dty.posts (
    id      int PRIMARY KEY,
    status  dty.status NOT NULL DEFAULT 'draft',
    hist    dty.status[]
);
INSERT INTO dty.posts SELECT g, CASE WHEN g % 2 = 0 THEN 'live' ELSE 'draft' END::dty.status, ARRAY['draft'::dty.status] FROM generate_series(1, 60) g;

-- @step create_types
CREATE TYPE dty.color AS ENUM ('red', 'green', 'blue');
CREATE TYPE dty.dims AS (w numeric, h numeric, unit text);
CREATE TYPE dty.span AS RANGE (subtype = numeric);
CREATE DOMAIN dty.percent AS numeric(5,2) CHECK (VALUE BETWEEN 0 AND 100);
CREATE TYPE dty.pt AS (x int, y int, label text);
CREATE TABLE dty.typed_points OF dty.pt (PRIMARY KEY (x), label WITH OPTIONS DEFAULT 'pt');
INSERT INTO dty.typed_points (x, y) SELECT g, g * g FROM generate_series(1, 30) g;
CREATE TABLE dty.things (
    id     int PRIMARY KEY,
    color  dty.color,
    size   dty.dims,
    sizes  dty.dims[],
    rng    dty.span,
    pct    dty.percent
);
INSERT INTO dty.things SELECT g, (enum_range(NULL::dty.color))[1 + g % 3], ROW(g, g * 2, 'cm')::dty.dims, ARRAY[ROW(1, 1, 'm')::dty.dims], dty.span(g, g + 0.5), g % 101 FROM generate_series(1, 50) g;
ALTER TYPE dty.status ADD VALUE 'archived';
ALTER TYPE dty.status ADD VALUE 'review' BEFORE 'live';
ALTER TYPE dty.color ADD VALUE 'black' BEFORE 'red';

-- @step use_new_labels
UPDATE dty.posts SET status = 'archived', hist = hist || 'live'::dty.status WHERE id % 5 = 0;
UPDATE dty.posts SET status = 'review' WHERE id % 7 = 0;
INSERT INTO dty.things (id, color) VALUES (100, 'black');
ALTER TYPE dty.status RENAME VALUE 'draft' TO 'Draft (renamed)';
ALTER TYPE dty.color RENAME VALUE 'green' TO 'grün';
INSERT INTO dty.posts VALUES (100, 'Draft (renamed)', '{"Draft (renamed)",archived}');

-- @step alter_composites
ALTER TYPE dty.dims ADD ATTRIBUTE d numeric CASCADE;
UPDATE dty.things SET size.d = 3 WHERE id % 3 = 0;
ALTER TYPE dty.dims DROP ATTRIBUTE unit CASCADE;
INSERT INTO dty.things (id, size, sizes) VALUES (101, ROW(1, 2, 3), ARRAY[ROW(4, 5, 6)::dty.dims]);
ALTER TYPE dty.dims RENAME ATTRIBUTE h TO height CASCADE;
UPDATE dty.things SET size.w = (size).w / 3 WHERE id % 4 = 0;
ALTER TYPE dty.pt ADD ATTRIBUTE z numeric CASCADE;
ALTER TYPE dty.pt ALTER ATTRIBUTE y TYPE bigint CASCADE;
ALTER TYPE dty.pt DROP ATTRIBUTE label CASCADE;
UPDATE dty.typed_points SET y = y * 10000000000, z = x / 7.0 WHERE x % 2 = 0;
INSERT INTO dty.typed_points VALUES (100, -1, 0.5);
ALTER TYPE dty.dims RENAME TO dimensions;
CREATE SCHEMA dty_other;
ALTER TYPE dty.color SET SCHEMA dty_other;
INSERT INTO dty.things (id, color, size) VALUES (102, 'blue', ROW(0.1, 0.2, 0.3));

-- @step alter_domains
ALTER DOMAIN dty.percent ADD CONSTRAINT not_fifty CHECK (VALUE <> 50) NOT VALID;
UPDATE dty.things SET pct = 49.99 WHERE pct = 50;
ALTER DOMAIN dty.percent VALIDATE CONSTRAINT not_fifty;
ALTER DOMAIN dty.percent SET DEFAULT 1;
UPDATE dty.things SET pct = DEFAULT WHERE pct IS NULL;
ALTER DOMAIN dty.percent SET NOT NULL;
INSERT INTO dty.things (id) VALUES (103);
ALTER DOMAIN dty.percent RENAME TO pct_domain;
DELETE FROM dty.things WHERE id % 9 = 0;
