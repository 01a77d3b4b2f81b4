-- two-phase commit: PREPARE TRANSACTION + COMMIT PREPARED / ROLLBACK PREPARED, other transactions committing between PREPARE and COMMIT PREPARED, large (streamed) prepared transactions, savepoints and DDL inside prepared transactions, odd GIDs
-- @setup
CREATE SCHEMA t2pc;

CREATE TABLE t2pc.orders (
    id     int PRIMARY KEY,
    state  text NOT NULL,
    amount numeric(10,2)
);
INSERT INTO t2pc.orders SELECT g, 'new', g FROM generate_series(1, 200) g;

CREATE TABLE t2pc.events (
    id   int PRIMARY KEY,
    msg  text
);

-- @step commit_and_rollback_prepared
BEGIN;
UPDATE t2pc.orders SET state = 'paid' WHERE id <= 10;
INSERT INTO t2pc.events VALUES (1, 'p1 committed');
PREPARE TRANSACTION 'p1';
COMMIT PREPARED 'p1';
BEGIN;
UPDATE t2pc.orders SET state = 'cancelled' WHERE id BETWEEN 11 AND 20;
DELETE FROM t2pc.orders WHERE id = 200;
INSERT INTO t2pc.events VALUES (2, 'p2 rolled back');
PREPARE TRANSACTION 'p2';
ROLLBACK PREPARED 'p2';

-- @step interleaved
BEGIN;
UPDATE t2pc.orders SET state = 'shipped', amount = amount + 1 WHERE id BETWEEN 21 AND 30;
INSERT INTO t2pc.events VALUES (10, 'prepared first, committed last');
PREPARE TRANSACTION 'p3 with spaces and ''quote''';
UPDATE t2pc.orders SET state = 'touched meanwhile' WHERE id BETWEEN 31 AND 40;
INSERT INTO t2pc.events VALUES (11, 'autocommit between prepare and commit prepared');
BEGIN;
INSERT INTO t2pc.events VALUES (12, 'second prepared, rolled back');
UPDATE t2pc.orders SET amount = 0 WHERE id BETWEEN 41 AND 50;
PREPARE TRANSACTION 'p4';
INSERT INTO t2pc.events VALUES (13, 'between the two finishes');
ROLLBACK PREPARED 'p4';
COMMIT PREPARED 'p3 with spaces and ''quote''';

-- @step large_prepared
BEGIN;
INSERT INTO t2pc.orders SELECT g, 'bulk', g / 10.0 FROM generate_series(1001, 5000) g;
UPDATE t2pc.orders SET amount = amount * 2 WHERE id > 1000;
SAVEPOINT s;
DELETE FROM t2pc.orders WHERE id > 1000;
ROLLBACK TO SAVEPOINT s;
DELETE FROM t2pc.orders WHERE id > 4500;
PREPARE TRANSACTION 'big commit';
COMMIT PREPARED 'big commit';
BEGIN;
UPDATE t2pc.orders SET state = 'big rollback' WHERE id > 1000;
INSERT INTO t2pc.orders SELECT g, 'bulk rb', 0 FROM generate_series(6001, 9000) g;
PREPARE TRANSACTION 'big rollback';
ROLLBACK PREPARED 'big rollback';

-- @step ddl_prepared
BEGIN;
CREATE TABLE t2pc.created_in_2pc (id int PRIMARY KEY, v text DEFAULT 'd');
INSERT INTO t2pc.created_in_2pc (id) SELECT generate_series(1, 20);
ALTER TABLE t2pc.orders ADD COLUMN note text DEFAULT 'added in 2pc';
UPDATE t2pc.orders SET note = 'explicit' WHERE id % 100 = 0;
PREPARE TRANSACTION 'ddl commit';
COMMIT PREPARED 'ddl commit';
BEGIN;
CREATE TABLE t2pc.never_created (id int PRIMARY KEY);
ALTER TABLE t2pc.events ADD COLUMN never_added int;
INSERT INTO t2pc.events VALUES (99, 'never', 1);
PREPARE TRANSACTION 'ddl rollback';
ROLLBACK PREPARED 'ddl rollback';
INSERT INTO t2pc.events VALUES (100, 'events keeps its old shape');
