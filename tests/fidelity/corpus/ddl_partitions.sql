-- partition DDL while streaming: CREATE a partitioned table with partitions (incl. default and sub-partitions) mid-stream, ATTACH a pre-filled table, DETACH, move rows out of the default to add a partition, ADD/DROP COLUMN on the parent, index on the parent, DROP a partition with rows
-- @setup
CREATE SCHEMA dpt;
CREATE TABLE dpt.seed (id int PRIMARY KEY, v text);
INSERT INTO dpt.seed SELECT g, 'seed ' || g FROM generate_series(1, 10) g;

-- @step create_partitioned
CREATE TABLE dpt.sales (
    id      int NOT NULL,
    sold    date NOT NULL,
    region  text NOT NULL,
    amount  numeric(10,2),
    PRIMARY KEY (id, sold, region)
) PARTITION BY RANGE (sold);
CREATE TABLE dpt.sales_2023 PARTITION OF dpt.sales FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');
CREATE TABLE dpt.sales_2024 PARTITION OF dpt.sales FOR VALUES FROM ('2024-01-01') TO ('2025-01-01') PARTITION BY LIST (region);
CREATE TABLE dpt.sales_2024_eu PARTITION OF dpt.sales_2024 FOR VALUES IN ('eu');
CREATE TABLE dpt.sales_2024_rest PARTITION OF dpt.sales_2024 DEFAULT;
CREATE TABLE dpt.sales_default PARTITION OF dpt.sales DEFAULT;
INSERT INTO dpt.sales SELECT g, '2023-01-01'::date + (g * 3 % 900), (ARRAY['eu', 'us', 'apac'])[1 + g % 3], g * 2.5 FROM generate_series(1, 600) g;
CREATE INDEX sales_amount ON dpt.sales (amount);
UPDATE dpt.sales SET sold = sold + 200 WHERE id % 10 = 0;

-- @step attach_prefilled
CREATE TABLE dpt.sales_2022 (LIKE dpt.sales INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
INSERT INTO dpt.sales_2022 SELECT 5000 + g, '2022-01-01'::date + g, 'eu', g FROM generate_series(1, 100) g;
ALTER TABLE dpt.sales_2022 ADD PRIMARY KEY (id, sold, region);
ALTER TABLE dpt.sales ATTACH PARTITION dpt.sales_2022 FOR VALUES FROM ('2022-01-01') TO ('2023-01-01');
UPDATE dpt.sales SET amount = -amount WHERE id BETWEEN 5001 AND 5010;
-- carve 2025 out of the default partition
CREATE TABLE dpt.sales_2025 (LIKE dpt.sales INCLUDING DEFAULTS);
INSERT INTO dpt.sales_2025 SELECT * FROM dpt.sales_default WHERE sold >= '2025-01-01' AND sold < '2026-01-01';
DELETE FROM dpt.sales_default WHERE sold >= '2025-01-01' AND sold < '2026-01-01';
ALTER TABLE dpt.sales_2025 ADD PRIMARY KEY (id, sold, region);
ALTER TABLE dpt.sales ATTACH PARTITION dpt.sales_2025 FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
INSERT INTO dpt.sales VALUES (9000, '2025-06-30', 'us', 1);

-- @step alter_parent
ALTER TABLE dpt.sales ADD COLUMN channel text DEFAULT 'web';
UPDATE dpt.sales SET channel = 'store' WHERE id % 4 = 0;
ALTER TABLE dpt.sales ALTER COLUMN amount TYPE numeric(14,2);
INSERT INTO dpt.sales VALUES (9001, '2024-02-02', 'eu', 123456789.99, 'phone');
ALTER TABLE dpt.sales DROP COLUMN channel;
ALTER TABLE dpt.sales DETACH PARTITION dpt.sales_2023;
UPDATE dpt.sales_2023 SET amount = 0 WHERE id % 2 = 0;
ALTER TABLE dpt.sales_2023 RENAME TO sales_2023_archive;

-- @step drop_partition
DROP TABLE dpt.sales_2024_rest;
INSERT INTO dpt.sales VALUES (9002, '2024-03-03', 'eu', 3);
DROP TABLE dpt.sales_2022;
UPDATE dpt.sales SET region = 'eu' WHERE sold >= '2025-01-01' AND id % 3 = 0;
DELETE FROM dpt.sales_2023_archive WHERE id % 5 = 0;
