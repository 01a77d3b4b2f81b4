-- partitioned tables published per leaf (publish_via_partition_root off, the default): three-level tree, expression partition key, leaves in another schema with different column order/dropped columns, row movement across levels, attach/detach, TRUNCATE of a leaf, DROP of a populated partition
-- @setup
CREATE SCHEMA pl;
CREATE SCHEMA pl_leaves;

-- three levels: range on created -> list on status -> hash on customer
CREATE TABLE pl.orders (
    id        bigint NOT NULL,
    created   timestamptz NOT NULL,
    status    text NOT NULL,
    customer  int NOT NULL,
    total     numeric(12,2),
    notes     text,
    PRIMARY KEY (id, created, status, customer)
) PARTITION BY RANGE (created);
CREATE TABLE pl_leaves.orders_2023 PARTITION OF pl.orders FOR VALUES FROM ('2023-01-01 00:00+00') TO ('2024-01-01 00:00+00');
CREATE TABLE pl.orders_2024 PARTITION OF pl.orders FOR VALUES FROM ('2024-01-01 00:00+00') TO ('2025-01-01 00:00+00') PARTITION BY LIST (status);
CREATE TABLE pl.orders_2024_closed PARTITION OF pl.orders_2024 FOR VALUES IN ('closed', 'cancelled');
CREATE TABLE pl.orders_2024_open PARTITION OF pl.orders_2024 FOR VALUES IN ('open', 'pending') PARTITION BY HASH (customer);
CREATE TABLE pl_leaves."orders_2024_open_h0" PARTITION OF pl.orders_2024_open FOR VALUES WITH (MODULUS 2, REMAINDER 0);

-- the second hash leaf has a different physical column order and a dropped column
CREATE TABLE pl_leaves."orders_2024_open_h1" (
    notes     text,
    dropme    jsonb,
    total     numeric(12,2),
    customer  int NOT NULL,
    status    text NOT NULL,
    created   timestamptz NOT NULL,
    id        bigint NOT NULL
);
ALTER TABLE pl_leaves."orders_2024_open_h1" DROP COLUMN dropme;
ALTER TABLE pl.orders_2024_open ATTACH PARTITION pl_leaves."orders_2024_open_h1" FOR VALUES WITH (MODULUS 2, REMAINDER 1);
CREATE TABLE pl.orders_2024_other PARTITION OF pl.orders_2024 DEFAULT;
CREATE TABLE pl.orders_default PARTITION OF pl.orders DEFAULT;
CREATE INDEX orders_2024_closed_total ON pl.orders_2024_closed (total) WHERE total > 100;

INSERT INTO pl.orders
SELECT g, '2023-01-01 00:00+00'::timestamptz + (g * 2 % 900) * interval '1 day' + g * interval '1 minute',
       (ARRAY['open', 'pending', 'closed', 'cancelled', 'weird'])[1 + g % 5], g % 37, g * 1.25, CASE WHEN g % 9 = 0 THEN NULL ELSE 'n' || g END
FROM generate_series(1, 800) g;

-- partition key is an expression (so no primary key is possible: FULL identity on every level)
CREATE TABLE pl.tags (
    name   text NOT NULL,
    id     int NOT NULL
) PARTITION BY LIST (lower(left(name, 1)));
CREATE TABLE pl.tags_a PARTITION OF pl.tags FOR VALUES IN ('a');
CREATE TABLE pl.tags_b PARTITION OF pl.tags FOR VALUES IN ('b');
CREATE TABLE pl.tags_rest PARTITION OF pl.tags DEFAULT;
ALTER TABLE pl.tags REPLICA IDENTITY FULL;
ALTER TABLE pl.tags_a REPLICA IDENTITY FULL;
ALTER TABLE pl.tags_b REPLICA IDENTITY FULL;
ALTER TABLE pl.tags_rest REPLICA IDENTITY FULL;
INSERT INTO pl.tags SELECT (ARRAY['Apple', 'apricot', 'Banana', 'berry', 'cherry', ''])[1 + g % 6] || g, g FROM generate_series(1, 120) g;

-- keyless partitioned table with FULL identity on every level
CREATE TABLE pl.metrics (
    bucket  int,
    val     float8
) PARTITION BY LIST (bucket);
CREATE TABLE pl.metrics_0 PARTITION OF pl.metrics FOR VALUES IN (0);
CREATE TABLE pl.metrics_1 PARTITION OF pl.metrics FOR VALUES IN (1, NULL);
ALTER TABLE pl.metrics REPLICA IDENTITY FULL;
ALTER TABLE pl.metrics_0 REPLICA IDENTITY FULL;
ALTER TABLE pl.metrics_1 REPLICA IDENTITY FULL;
INSERT INTO pl.metrics SELECT CASE WHEN g % 10 = 0 THEN NULL ELSE g % 2 END, g / 4.0 FROM generate_series(1, 100) g;

-- @step move_across_levels
UPDATE pl.orders SET status = 'closed' WHERE status = 'open' AND id % 3 = 0 AND created >= '2024-01-01 00:00+00';
UPDATE pl.orders SET customer = customer + 1 WHERE status = 'pending' AND id % 4 = 0 AND created >= '2024-01-01 00:00+00';
UPDATE pl.orders SET created = created + interval '1 year' WHERE id % 13 = 0;
UPDATE pl.orders SET created = '2030-01-01 00:00+00', notes = 'to default' WHERE id % 29 = 0;
UPDATE pl.orders SET status = 'weird', notes = 'to sub-default' WHERE id % 31 = 0 AND created >= '2024-01-01 00:00+00' AND created < '2025-01-01 00:00+00';
UPDATE pl.orders SET total = total * -1 WHERE id % 7 = 0;
DELETE FROM pl.orders WHERE id % 19 = 0;
UPDATE pl.tags SET name = 'b' || name WHERE id % 5 = 0;
UPDATE pl.tags SET name = upper(name) WHERE id % 5 = 1;
UPDATE pl.metrics SET bucket = 1 - bucket WHERE ctid IN (SELECT ctid FROM pl.metrics_0 LIMIT 3);
UPDATE pl.metrics SET bucket = NULL WHERE ctid = (SELECT ctid FROM pl.metrics_1 WHERE bucket = 1 LIMIT 1);

-- @step attach_detach
ALTER TABLE pl.orders DETACH PARTITION pl_leaves.orders_2023;
UPDATE pl_leaves.orders_2023 SET notes = 'detached' WHERE id % 2 = 0;
CREATE TABLE pl_leaves.orders_2022 (
    total     numeric(12,2),
    id        bigint NOT NULL,
    status    text NOT NULL,
    created   timestamptz NOT NULL,
    customer  int NOT NULL,
    notes     text
);
INSERT INTO pl_leaves.orders_2022 SELECT g * 1.5, 10000 + g, 'closed', '2022-06-01 12:00+00'::timestamptz + g * interval '1 day', g, 'pre-attach' FROM generate_series(1, 60) g;
ALTER TABLE pl.orders ATTACH PARTITION pl_leaves.orders_2022 FOR VALUES FROM ('2022-01-01 00:00+00') TO ('2023-01-01 00:00+00');
INSERT INTO pl.orders VALUES (20000, '2022-12-31 23:59:59.999999+00', 'open', 1, 1, 'routed to attached 2022');
UPDATE pl.orders SET created = created - interval '1 year' WHERE id BETWEEN 10001 AND 10005;

-- @step truncate_and_drop
TRUNCATE pl.orders_2024_closed;
INSERT INTO pl.orders VALUES (30000, '2024-07-01 00:00+00', 'closed', 5, 99.99, 'after truncate');
DROP TABLE pl_leaves.orders_2023;
DROP TABLE pl_leaves.orders_2022;
DROP TABLE pl.tags_b;
INSERT INTO pl.tags VALUES ('bravo', 1000);
ALTER TABLE pl.orders_2024_open DETACH PARTITION pl_leaves."orders_2024_open_h1";
DROP TABLE pl_leaves."orders_2024_open_h1";
CREATE TABLE pl_leaves."orders_2024_open_h1" PARTITION OF pl.orders_2024_open FOR VALUES WITH (MODULUS 2, REMAINDER 1);
INSERT INTO pl.orders SELECT 40000 + g, '2024-03-03 03:03+00', 'open', g, g, 'refilled h1' FROM generate_series(1, 20) g;
