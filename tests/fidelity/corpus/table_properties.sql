-- table/column properties: comments (quotes, newlines, unicode), partial/expression/INCLUDE/GIN/BRIN/hash/DESC NULLS FIRST indexes, column collations (C, POSIX, ICU, nondeterministic ICU key), GRANT/REVOKE to PUBLIC incl. column grants, storage parameters, row level security, inheritance, NOT NULL and DEFAULTs
-- @setup
CREATE SCHEMA tp;
COMMENT ON SCHEMA tp IS 'schema comment';

CREATE COLLATION tp.ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
CREATE COLLATION tp.de_phonebook (provider = icu, locale = 'de-u-co-phonebk');

CREATE FUNCTION tp.normalize_sku(text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT upper(regexp_replace($1, '[^A-Za-z0-9]', '', 'g')) $$;

CREATE TABLE tp.products (
    id         int PRIMARY KEY,
    sku        text NOT NULL,
    name       text COLLATE "C" NOT NULL,
    name_posix text COLLATE "POSIX",
    name_icu   text COLLATE tp.de_phonebook,
    price      numeric(10,2) NOT NULL DEFAULT 9.99,
    tags       jsonb NOT NULL DEFAULT '{}',
    status     text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'retired')),
    sku_norm   text DEFAULT tp.normalize_sku('default-sku'),
    flags      int[] DEFAULT ARRAY[1, 2],
    owner      name DEFAULT CURRENT_USER,
    created    date DEFAULT '2000-01-01'
) WITH (fillfactor = 70, autovacuum_enabled = false);
COMMENT ON TABLE tp.products IS 'Products: it''s "quoted", has a
newline and unicode é 😀';
COMMENT ON COLUMN tp.products.sku IS 'stock keeping unit';
COMMENT ON COLUMN tp.products.name IS '';
CREATE UNIQUE INDEX products_sku_norm ON tp.products (tp.normalize_sku(sku));
CREATE INDEX products_active_price ON tp.products (price DESC NULLS FIRST) WHERE status = 'active';
CREATE INDEX products_lower_name ON tp.products (lower(name) text_pattern_ops);
CREATE INDEX products_tags ON tp.products USING gin (tags jsonb_path_ops);
CREATE INDEX products_created_brin ON tp.products USING brin (created) WITH (pages_per_range = 16);
CREATE INDEX products_status_hash ON tp.products USING hash (status);
CREATE INDEX products_incl ON tp.products (id) INCLUDE (name, price);
CREATE INDEX products_icu ON tp.products (name_icu COLLATE "C");
COMMENT ON INDEX tp.products_sku_norm IS 'normalised sku must be unique';
COMMENT ON CONSTRAINT products_status_check ON tp.products IS 'status domain';
GRANT SELECT ON tp.products TO PUBLIC;
GRANT UPDATE (price, tags) ON tp.products TO PUBLIC;
GRANT USAGE ON SCHEMA tp TO PUBLIC;

INSERT INTO tp.products (id, sku, name, name_posix, name_icu, price, tags, created)
SELECT g, 'sku-' || g, (ARRAY['apple', 'Apple', U&'\00C4pfel', 'banana', 'Zebra', U&'\00E9clair'])[1 + g % 6] || ' ' || g,
       'posix ' || g, (ARRAY[U&'M\00FCller', 'Mueller', 'Muller'])[1 + g % 3], g * 1.5, jsonb_build_object('g', g), '2000-01-01'::date + g
FROM generate_series(1, 150) g;
INSERT INTO tp.products (id, sku, name) VALUES (1000, 'defaults-only', 'all defaults');

-- a key under a nondeterministic collation: 'ABC' and 'abc' are the same key
CREATE TABLE tp.ci_keys (
    k   text COLLATE tp.ci PRIMARY KEY,
    v   int
);
INSERT INTO tp.ci_keys VALUES ('Alpha', 1), ('beta', 2), (U&'Stra\00DFe', 3), ('GAMMA', 4);

-- row level security (superuser bypasses it, a restore applying as another role would not)
CREATE TABLE tp.secrets (
    id     int PRIMARY KEY,
    owner  text NOT NULL,
    secret text
);
ALTER TABLE tp.secrets ENABLE ROW LEVEL SECURITY;
ALTER TABLE tp.secrets FORCE ROW LEVEL SECURITY;
CREATE POLICY only_public ON tp.secrets FOR ALL TO PUBLIC USING (owner = 'public') WITH CHECK (owner = 'public');
INSERT INTO tp.secrets VALUES (1, 'public', 'visible'), (2, 'hidden', 'hidden by policy');

-- inheritance
CREATE TABLE tp.vehicles (
    id     int PRIMARY KEY,
    wheels int NOT NULL DEFAULT 4,
    name   text
);
CREATE TABLE tp.trucks (
    payload numeric
) INHERITS (tp.vehicles);
ALTER TABLE tp.trucks ADD PRIMARY KEY (id);
CREATE TABLE tp.bikes () INHERITS (tp.vehicles);
ALTER TABLE tp.bikes ALTER COLUMN wheels SET DEFAULT 2;
ALTER TABLE tp.bikes REPLICA IDENTITY FULL;
INSERT INTO tp.vehicles VALUES (1, 4, 'car');
INSERT INTO tp.trucks VALUES (2, 6, 'truck', 1000), (3, 18, 'semi', 20000);
INSERT INTO tp.bikes (id, name) VALUES (4, 'bike'), (4, 'same id, no key');

-- @step change_properties
COMMENT ON TABLE tp.products IS 'comment replaced';
COMMENT ON COLUMN tp.products.name IS NULL;
COMMENT ON COLUMN tp.products.price IS 'price in €';
REVOKE UPDATE (tags) ON tp.products FROM PUBLIC;
GRANT INSERT, DELETE ON tp.products TO PUBLIC;
ALTER TABLE tp.products SET (fillfactor = 90);
ALTER TABLE tp.products RESET (autovacuum_enabled);
ALTER TABLE tp.products ALTER COLUMN price SET DEFAULT 0;
ALTER TABLE tp.products ALTER COLUMN created DROP DEFAULT;
UPDATE tp.products SET name_posix = 'filled' WHERE name_posix IS NULL;
ALTER TABLE tp.products ALTER COLUMN name_posix SET NOT NULL;
ALTER TABLE tp.products ALTER COLUMN name_icu SET STATISTICS 500;
INSERT INTO tp.products (id, sku, name, name_posix) VALUES (1001, 'after default change', 'x', 'p');
UPDATE tp.products SET price = price * 2, tags = tags || '{"doubled":true}' WHERE id % 4 = 0;
UPDATE tp.products SET status = 'retired' WHERE id % 9 = 0;
UPDATE tp.ci_keys SET k = 'ALPHA' WHERE k = 'alpha';
UPDATE tp.ci_keys SET k = 'strasse' WHERE k = U&'STRA\00DFE';
UPDATE tp.ci_keys SET v = v * 10 WHERE k = 'gamma';
UPDATE tp.secrets SET secret = 'changed hidden' WHERE owner = 'hidden';
INSERT INTO tp.secrets VALUES (3, 'hidden', 'inserted hidden');
UPDATE tp.vehicles SET name = upper(name);
UPDATE tp.bikes SET wheels = 3 WHERE ctid = (SELECT ctid FROM tp.bikes LIMIT 1);

-- @step policy_and_inheritance_changes
DROP POLICY only_public ON tp.secrets;
CREATE POLICY by_owner ON tp.secrets FOR SELECT TO PUBLIC USING (owner = current_user);
ALTER TABLE tp.secrets DISABLE ROW LEVEL SECURITY;
DELETE FROM tp.secrets WHERE id = 2;
ALTER TABLE tp.bikes NO INHERIT tp.vehicles;
INSERT INTO tp.bikes (id, wheels, name) VALUES (5, 2, 'after no inherit');
DELETE FROM tp.vehicles WHERE id = 2;
CREATE INDEX products_name_posix ON tp.products (name_posix COLLATE "C" DESC);
DROP INDEX tp.products_status_hash;
DELETE FROM tp.products WHERE id % 13 = 0;
