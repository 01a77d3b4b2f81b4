-- constraints: FKs with ON DELETE CASCADE / SET NULL / SET DEFAULT / SET NULL (column list), ON UPDATE CASCADE, MATCH FULL, self-referencing and circular deferrable FKs, CHECK (incl. NOT VALID), UNIQUE NULLS NOT DISTINCT, deferrable UNIQUE, exclusion constraint on a range
-- @setup
CREATE SCHEMA con;

CREATE TABLE con.customers (
    id     int PRIMARY KEY,
    email  text UNIQUE,
    region text NOT NULL DEFAULT 'none',
    CONSTRAINT email_has_at CHECK (email IS NULL OR position('@' IN email) > 1)
);
CREATE TABLE con.regions (code text PRIMARY KEY);
INSERT INTO con.regions VALUES ('none'), ('eu'), ('us');
ALTER TABLE con.customers ADD CONSTRAINT customers_region_fk FOREIGN KEY (region) REFERENCES con.regions (code) ON UPDATE CASCADE ON DELETE SET DEFAULT;
INSERT INTO con.customers SELECT g, 'c' || g || '@x', (ARRAY['none', 'eu', 'us'])[1 + g % 3] FROM generate_series(1, 60) g;

CREATE TABLE con.orders (
    id          int PRIMARY KEY,
    customer_id int REFERENCES con.customers (id) ON DELETE CASCADE ON UPDATE CASCADE,
    referrer_id int REFERENCES con.customers (id) ON DELETE SET NULL ON UPDATE SET NULL,
    email       text REFERENCES con.customers (email) ON UPDATE CASCADE ON DELETE SET NULL,
    qty         int CHECK (qty > 0),
    CONSTRAINT qty_small CHECK (qty < 1000) NOT VALID
);
INSERT INTO con.orders SELECT g, 1 + g % 60, 1 + (g * 7) % 60, 'c' || (1 + g % 60) || '@x', g FROM generate_series(1, 240) g;

CREATE TABLE con.order_lines (
    order_id  int NOT NULL REFERENCES con.orders (id) ON DELETE CASCADE,
    line      int NOT NULL,
    tenant    int,
    product   int,
    PRIMARY KEY (order_id, line)
);
CREATE TABLE con.products (tenant int NOT NULL, id int NOT NULL, PRIMARY KEY (tenant, id));
INSERT INTO con.products SELECT t, p FROM generate_series(1, 3) t, generate_series(1, 10) p;
-- PG15: SET NULL on a subset of the FK columns; MATCH FULL
ALTER TABLE con.order_lines ADD CONSTRAINT order_lines_product_fk FOREIGN KEY (tenant, product) REFERENCES con.products (tenant, id) MATCH FULL ON DELETE SET NULL;
CREATE TABLE con.order_lines_partial_null (
    id      int PRIMARY KEY,
    tenant  int NOT NULL,
    product int,
    FOREIGN KEY (tenant, product) REFERENCES con.products (tenant, id) ON DELETE SET NULL (product)
);
INSERT INTO con.order_lines SELECT o, l, 1 + o % 3, 1 + (o + l) % 10 FROM generate_series(1, 240) o, generate_series(1, 3) l;
INSERT INTO con.order_lines_partial_null SELECT g, 1 + g % 3, 1 + g % 10 FROM generate_series(1, 60) g;

-- self-referencing tree with cascade
CREATE TABLE con.tree (
    id      int PRIMARY KEY,
    parent  int REFERENCES con.tree (id) ON DELETE CASCADE,
    label   text
);
INSERT INTO con.tree VALUES (1, NULL, 'root');
INSERT INTO con.tree SELECT g, g / 2, 'node ' || g FROM generate_series(2, 127) g;

-- circular deferrable foreign keys
CREATE TABLE con.husband (id int PRIMARY KEY, wife_id int);
CREATE TABLE con.wife (id int PRIMARY KEY, husband_id int REFERENCES con.husband (id) DEFERRABLE INITIALLY DEFERRED);
ALTER TABLE con.husband ADD CONSTRAINT husband_wife_fk FOREIGN KEY (wife_id) REFERENCES con.wife (id) DEFERRABLE INITIALLY DEFERRED;
BEGIN;
INSERT INTO con.husband VALUES (1, 1), (2, 2);
INSERT INTO con.wife VALUES (1, 1), (2, 2);
COMMIT;

-- UNIQUE NULLS NOT DISTINCT (PG15) and a deferrable UNIQUE; exclusion constraint
CREATE TABLE con.uniq (
    id    int PRIMARY KEY,
    a     int,
    b     int,
    rank  int,
    CONSTRAINT uniq_ab UNIQUE NULLS NOT DISTINCT (a, b),
    CONSTRAINT uniq_rank UNIQUE (rank) DEFERRABLE INITIALLY IMMEDIATE
);
INSERT INTO con.uniq VALUES (1, NULL, NULL, 1), (2, 1, NULL, 2), (3, 1, 1, 3), (4, NULL, 1, 4);
CREATE TABLE con.reservations (
    id     int PRIMARY KEY,
    room   int NOT NULL,
    during int4range NOT NULL,
    EXCLUDE USING gist (during WITH &&)
);
INSERT INTO con.reservations SELECT g, g % 5, int4range(g * 10, g * 10 + 10) FROM generate_series(1, 50) g;

-- @step cascades
DELETE FROM con.customers WHERE id % 10 = 0;
UPDATE con.customers SET id = id + 1000 WHERE id % 10 = 1;
UPDATE con.customers SET email = upper(email) WHERE id % 10 = 2;
DELETE FROM con.customers WHERE id % 10 = 3 AND id < 30;
UPDATE con.regions SET code = 'EU' WHERE code = 'eu';
DELETE FROM con.regions WHERE code = 'us';
DELETE FROM con.products WHERE id = 5;
DELETE FROM con.tree WHERE id IN (2, 7);

-- @step deferred_and_swaps
BEGIN;
INSERT INTO con.wife VALUES (3, 3);
INSERT INTO con.husband VALUES (3, 3);
UPDATE con.uniq SET rank = 5 - rank;
COMMIT;
BEGIN;
SET CONSTRAINTS con.uniq_rank DEFERRED;
UPDATE con.uniq SET rank = rank + 1;
UPDATE con.uniq SET rank = 1 WHERE rank = 5;
COMMIT;
UPDATE con.uniq SET a = NULL, b = 2 WHERE id = 3;
INSERT INTO con.uniq VALUES (5, 2, 2, 10);
UPDATE con.reservations SET during = int4range(lower(during) + 5, upper(during) - 5) WHERE id % 2 = 0;
DELETE FROM con.reservations WHERE id % 3 = 0;
INSERT INTO con.reservations SELECT 100 + g, 9, int4range(g * 30, g * 30 + 5) FROM generate_series(1, 10) g WHERE g % 3 = 0;

-- @step validate_and_violations_avoided
ALTER TABLE con.orders VALIDATE CONSTRAINT qty_small;
UPDATE con.orders SET qty = 999 WHERE id % 50 = 0;
ALTER TABLE con.order_lines DROP CONSTRAINT order_lines_product_fk;
INSERT INTO con.order_lines VALUES (1, 99, 9, 99);
DELETE FROM con.orders WHERE id BETWEEN 100 AND 120;
