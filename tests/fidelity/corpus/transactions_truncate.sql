-- TRUNCATE: plain, several tables at once, CASCADE over foreign keys, RESTART IDENTITY (serial and identity) followed by inserts, inside a rolled-back savepoint, inside a rolled-back transaction, TRUNCATE then insert in one transaction, partitioned root and ONLY on an inheritance parent
-- @setup
CREATE SCHEMA ttr;

CREATE TABLE ttr.plain (id int PRIMARY KEY, v text);
INSERT INTO ttr.plain SELECT g, 'v' || g FROM generate_series(1, 100) g;

CREATE TABLE ttr.parent (id int PRIMARY KEY, name text);
CREATE TABLE ttr.child (id int PRIMARY KEY, parent_id int REFERENCES ttr.parent (id), v text);
CREATE TABLE ttr.grandchild (id int PRIMARY KEY, child_id int REFERENCES ttr.child (id) ON DELETE CASCADE);
INSERT INTO ttr.parent SELECT g, 'p' || g FROM generate_series(1, 20) g;
INSERT INTO ttr.child SELECT g, g % 20 + 1, 'c' || g FROM generate_series(1, 60) g;
INSERT INTO ttr.grandchild SELECT g, g % 60 + 1 FROM generate_series(1, 120) g;

CREATE TABLE ttr.with_serial (id serial PRIMARY KEY, v text);
INSERT INTO ttr.with_serial (v) SELECT 's' || g FROM generate_series(1, 30) g;
CREATE TABLE ttr.with_identity (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, v text);
INSERT INTO ttr.with_identity (v) SELECT 'i' || g FROM generate_series(1, 30) g;

CREATE TABLE ttr.a (id int PRIMARY KEY);
CREATE TABLE ttr.b (id int PRIMARY KEY);
INSERT INTO ttr.a SELECT generate_series(1, 10);
INSERT INTO ttr.b SELECT generate_series(1, 10);

CREATE TABLE ttr.parted (id int, k int, PRIMARY KEY (id, k)) PARTITION BY LIST (k);
CREATE TABLE ttr.parted_1 PARTITION OF ttr.parted FOR VALUES IN (1);
CREATE TABLE ttr.parted_2 PARTITION OF ttr.parted FOR VALUES IN (2);
INSERT INTO ttr.parted SELECT g, 1 + g % 2 FROM generate_series(1, 50) g;

CREATE TABLE ttr.inh_parent (id int PRIMARY KEY, v text);
CREATE TABLE ttr.inh_child (extra text) INHERITS (ttr.inh_parent);
ALTER TABLE ttr.inh_child ADD PRIMARY KEY (id);
INSERT INTO ttr.inh_parent SELECT g, 'parent row' FROM generate_series(1, 10) g;
INSERT INTO ttr.inh_child SELECT g, 'child row', 'x' FROM generate_series(11, 20) g;

-- @step truncate_basic
TRUNCATE ttr.plain;
INSERT INTO ttr.plain VALUES (1, 'after truncate');
TRUNCATE ttr.a, ttr.b;
INSERT INTO ttr.b VALUES (42);
TRUNCATE ttr.parent CASCADE;
INSERT INTO ttr.parent VALUES (1, 'new parent');
INSERT INTO ttr.child VALUES (1, 1, 'new child');

-- @step restart_identity
TRUNCATE ttr.with_serial, ttr.with_identity RESTART IDENTITY;
INSERT INTO ttr.with_serial (v) VALUES ('first after restart'), ('second after restart');
INSERT INTO ttr.with_identity (v) VALUES ('first after restart'), ('second after restart');
TRUNCATE ttr.with_serial CONTINUE IDENTITY;
INSERT INTO ttr.with_serial (v) VALUES ('continued');

-- @step truncate_in_transactions
BEGIN;
INSERT INTO ttr.plain VALUES (2, 'before savepoint');
SAVEPOINT s;
TRUNCATE ttr.plain;
INSERT INTO ttr.plain VALUES (3, 'rolled back with truncate');
ROLLBACK TO SAVEPOINT s;
INSERT INTO ttr.plain VALUES (4, 'after rollback to savepoint');
COMMIT;
BEGIN;
TRUNCATE ttr.b;
ROLLBACK;
BEGIN;
DELETE FROM ttr.a;
INSERT INTO ttr.a VALUES (1), (2);
TRUNCATE ttr.a;
INSERT INTO ttr.a VALUES (3);
UPDATE ttr.a SET id = 4;
COMMIT;
BEGIN;
CREATE TABLE ttr.created_and_truncated (id int PRIMARY KEY);
INSERT INTO ttr.created_and_truncated VALUES (1), (2);
TRUNCATE ttr.created_and_truncated;
INSERT INTO ttr.created_and_truncated VALUES (3);
COMMIT;

-- @step truncate_partitions_inheritance
TRUNCATE ttr.parted_1;
INSERT INTO ttr.parted VALUES (1000, 1), (1001, 2);
TRUNCATE ONLY ttr.inh_parent;
INSERT INTO ttr.inh_parent VALUES (100, 'after truncate only');
UPDATE ttr.inh_parent SET v = v || '*';
TRUNCATE ttr.parted;
INSERT INTO ttr.parted VALUES (1, 1);
