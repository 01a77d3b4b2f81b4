-- partitioned tables published via the root (publish_via_partition_root = true): range/list/hash, default and sub-partitions, partitions with different column order and dropped columns, rows moving between partitions, attach/detach while streaming
-- @setup
CREATE SCHEMA pr;
CREATE SCHEMA pr_parts;

-- range partitioned, with a sub-partitioned (list) partition and a default partition
CREATE TABLE pr.events (
    id       int NOT NULL,
    at       date NOT NULL,
    region   text NOT NULL,
    payload  text,
    amount   numeric(10,2) DEFAULT 0,
    PRIMARY KEY (id, at, region)
) PARTITION BY RANGE (at);
CREATE TABLE pr_parts.events_2023 PARTITION OF pr.events FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');
CREATE TABLE pr.events_2024 PARTITION OF pr.events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01') PARTITION BY LIST (region);
CREATE TABLE pr.events_2024_eu PARTITION OF pr.events_2024 FOR VALUES IN ('eu', 'uk');
CREATE TABLE pr.events_2024_us PARTITION OF pr.events_2024 FOR VALUES IN ('us');
CREATE TABLE pr.events_2024_other PARTITION OF pr.events_2024 DEFAULT;
CREATE TABLE pr.events_default PARTITION OF pr.events DEFAULT;

-- a partition created standalone with a different column order and a dropped column, then attached
CREATE TABLE pr_parts.events_2022 (
    junk     int,
    payload  text,
    amount   numeric(10,2) DEFAULT 0,
    region   text NOT NULL,
    at       date NOT NULL,
    id       int NOT NULL
);
ALTER TABLE pr_parts.events_2022 DROP COLUMN junk;
ALTER TABLE pr.events ATTACH PARTITION pr_parts.events_2022 FOR VALUES FROM ('2022-01-01') TO ('2023-01-01');

INSERT INTO pr.events (id, at, region, payload, amount)
SELECT g, '2022-01-01'::date + (g * 5 % 1200), (ARRAY['eu', 'us', 'uk', 'apac'])[1 + g % 4], 'p' || g, g * 0.5
FROM generate_series(1, 600) g;

-- list partitioned
CREATE TABLE pr.accounts (
    kind    text NOT NULL,
    id      int NOT NULL,
    name    text,
    PRIMARY KEY (kind, id)
) PARTITION BY LIST (kind);
CREATE TABLE pr.accounts_person PARTITION OF pr.accounts FOR VALUES IN ('person');
CREATE TABLE pr.accounts_org PARTITION OF pr.accounts FOR VALUES IN ('org', 'ngo');
CREATE TABLE pr.accounts_null PARTITION OF pr.accounts FOR VALUES IN ('');
INSERT INTO pr.accounts SELECT (ARRAY['person', 'org', 'ngo', ''])[1 + g % 4], g, 'acct ' || g FROM generate_series(1, 200) g;

-- hash partitioned
CREATE TABLE pr.hashed (
    id    bigint PRIMARY KEY,
    val   text
) PARTITION BY HASH (id);
CREATE TABLE pr.hashed_0 PARTITION OF pr.hashed FOR VALUES WITH (MODULUS 3, REMAINDER 0);
CREATE TABLE pr.hashed_1 PARTITION OF pr.hashed FOR VALUES WITH (MODULUS 3, REMAINDER 1);
CREATE TABLE pr.hashed_2 PARTITION OF pr.hashed FOR VALUES WITH (MODULUS 3, REMAINDER 2);
INSERT INTO pr.hashed SELECT g, 'h' || g FROM generate_series(1, 300) g;

-- keyless partitioned table, FULL identity on the root and on every leaf
CREATE TABLE pr.keyless (
    k    int,
    v    text
) PARTITION BY RANGE (k);
CREATE TABLE pr.keyless_lo PARTITION OF pr.keyless FOR VALUES FROM (MINVALUE) TO (100);
CREATE TABLE pr.keyless_hi PARTITION OF pr.keyless FOR VALUES FROM (100) TO (MAXVALUE);
ALTER TABLE pr.keyless REPLICA IDENTITY FULL;
ALTER TABLE pr.keyless_lo REPLICA IDENTITY FULL;
ALTER TABLE pr.keyless_hi REPLICA IDENTITY FULL;
INSERT INTO pr.keyless SELECT g % 200, 'v' || (g % 7) FROM generate_series(1, 400) g;

CREATE PUBLICATION fidelity_pub FOR ALL TABLES WITH (publish_via_partition_root = true);

-- @step move_rows
UPDATE pr.events SET at = at + 365 WHERE id % 10 = 0;
UPDATE pr.events SET region = 'us' WHERE region = 'apac' AND id % 3 = 0;
UPDATE pr.events SET region = 'mars', payload = 'to default sub-partition' WHERE id % 17 = 0 AND at >= '2024-01-01' AND at < '2025-01-01';
UPDATE pr.events SET at = '1999-12-31', payload = 'to top-level default' WHERE id % 23 = 0;
UPDATE pr.events SET amount = amount * 2 WHERE id % 5 = 1;
DELETE FROM pr.events WHERE id % 11 = 0;
UPDATE pr.accounts SET kind = 'org' WHERE kind = 'person' AND id % 2 = 1;
UPDATE pr.accounts SET kind = '', name = NULL WHERE kind = 'ngo' AND id < 50;
UPDATE pr.hashed SET id = id + 1000 WHERE id % 4 = 0;
UPDATE pr.keyless SET k = k + 100 WHERE ctid IN (SELECT ctid FROM pr.keyless_lo WHERE v = 'v1' LIMIT 5);
DELETE FROM pr.keyless WHERE ctid = (SELECT ctid FROM pr.keyless_hi WHERE v = 'v2' LIMIT 1);

-- @step write_leaves_directly
INSERT INTO pr.events_2024_eu (id, at, region, payload) VALUES (5000, '2024-06-01', 'uk', 'inserted into the leaf');
UPDATE pr_parts.events_2022 SET payload = 'leaf update: ' || payload WHERE id % 7 = 0;
DELETE FROM pr.events_default WHERE id % 2 = 0;
UPDATE pr.accounts_org SET name = upper(name);
INSERT INTO pr.hashed_1 SELECT g, 'direct' FROM generate_series(2001, 2100) g WHERE satisfies_hash_partition('pr.hashed'::regclass, 3, 1, g::bigint);

-- @step detach
ALTER TABLE pr.events DETACH PARTITION pr_parts.events_2023;
UPDATE pr_parts.events_2023 SET payload = 'detached: ' || coalesce(payload, '') WHERE id % 3 = 0;
INSERT INTO pr_parts.events_2023 (id, at, region, payload) VALUES (9000, '2023-05-05', 'eu', 'written while detached');
DELETE FROM pr_parts.events_2023 WHERE id % 3 = 1;
DELETE FROM pr.events WHERE at >= '2025-01-01';
CREATE TABLE pr_parts.events_2025 (LIKE pr.events INCLUDING DEFAULTS);
ALTER TABLE pr_parts.events_2025 ADD PRIMARY KEY (id, at, region);
INSERT INTO pr_parts.events_2025 (id, at, region, payload) SELECT g, '2025-01-01'::date + g, 'eu', 'pre-attach ' || g FROM generate_series(1, 50) g;
ALTER TABLE pr.hashed DETACH PARTITION pr.hashed_2;
UPDATE pr.hashed_2 SET val = 'orphaned hash partition';

-- @step attach
ALTER TABLE pr.events ATTACH PARTITION pr_parts.events_2025 FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
ALTER TABLE pr.events ATTACH PARTITION pr_parts.events_2023 FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');
INSERT INTO pr.events (id, at, region, payload) VALUES (9001, '2025-12-31', 'us', 'routed into attached 2025'), (9002, '2023-12-31', 'eu', 'routed into re-attached 2023');
UPDATE pr.events SET at = at + 365 WHERE id BETWEEN 1 AND 20 AND at >= '2024-01-01' AND at < '2025-01-01';
UPDATE pr.events SET payload = 'after attach' WHERE at >= '2025-01-01';
ALTER TABLE pr.hashed ATTACH PARTITION pr.hashed_2 FOR VALUES WITH (MODULUS 3, REMAINDER 2);
UPDATE pr.hashed SET val = val || ' (back)' WHERE val LIKE 'orphaned%';
