-- savepoints (rolled back, released, nested, reused names), aborted transactions, plpgsql exception blocks, the same row changed many times in one transaction, delete-and-reinsert of a key, multi-table transactions
-- @setup
CREATE SCHEMA tsp;

CREATE TABLE tsp.accounts (
    id       int PRIMARY KEY,
    owner    text NOT NULL,
    balance  numeric(12,2) NOT NULL DEFAULT 0
);
INSERT INTO tsp.accounts SELECT g, 'owner ' || g, 100 FROM generate_series(1, 50) g;

CREATE TABLE tsp.transfers (
    id     serial PRIMARY KEY,
    src    int REFERENCES tsp.accounts (id),
    dst    int REFERENCES tsp.accounts (id),
    amount numeric(12,2)
);

CREATE TABLE tsp.log (
    seq   int PRIMARY KEY,
    note  text
);

-- @step savepoints
BEGIN;
INSERT INTO tsp.transfers (src, dst, amount) VALUES (1, 2, 10);
UPDATE tsp.accounts SET balance = balance - 10 WHERE id = 1;
UPDATE tsp.accounts SET balance = balance + 10 WHERE id = 2;
SAVEPOINT a;
INSERT INTO tsp.transfers (src, dst, amount) VALUES (3, 4, 999);
UPDATE tsp.accounts SET balance = balance - 999 WHERE id = 3;
DELETE FROM tsp.log;
ROLLBACK TO SAVEPOINT a;
INSERT INTO tsp.log VALUES (1, 'after rollback to a');
SAVEPOINT b;
UPDATE tsp.accounts SET owner = 'kept via release' WHERE id = 5;
SAVEPOINT c;
UPDATE tsp.accounts SET owner = 'nested rolled back' WHERE id = 6;
ROLLBACK TO SAVEPOINT c;
RELEASE SAVEPOINT b;
SAVEPOINT a;
INSERT INTO tsp.log VALUES (2, 'reused savepoint name a, kept');
SAVEPOINT a;
INSERT INTO tsp.log VALUES (3, 'inner a, rolled back');
ROLLBACK TO SAVEPOINT a;
RELEASE SAVEPOINT a;
COMMIT;
BEGIN;
SAVEPOINT lone;
INSERT INTO tsp.log VALUES (4, 'rolled back, then whole transaction committed');
ROLLBACK TO SAVEPOINT lone;
COMMIT;

-- @step aborted
BEGIN;
UPDATE tsp.accounts SET balance = 0;
DELETE FROM tsp.transfers;
INSERT INTO tsp.log VALUES (100, 'never visible');
ROLLBACK;
BEGIN;
INSERT INTO tsp.log VALUES (101, 'never visible either');
SAVEPOINT x;
INSERT INTO tsp.log VALUES (102, 'nor this');
RELEASE SAVEPOINT x;
ABORT;
DO $$
BEGIN
    INSERT INTO tsp.log VALUES (10, 'kept: before the failing block');
    BEGIN
        INSERT INTO tsp.log VALUES (11, 'discarded by exception');
        UPDATE tsp.accounts SET balance = balance / 0 WHERE id = 1;
    EXCEPTION WHEN division_by_zero THEN
        INSERT INTO tsp.log VALUES (12, 'kept: from the exception handler');
    END;
    BEGIN
        INSERT INTO tsp.log VALUES (10, 'duplicate key -> discarded');
    EXCEPTION WHEN unique_violation THEN
        UPDATE tsp.log SET note = note || ' (dup caught)' WHERE seq = 10;
    END;
END
$$;

-- @step churn_same_rows
BEGIN;
UPDATE tsp.accounts SET balance = balance + 1 WHERE id = 7;
UPDATE tsp.accounts SET balance = balance + 1 WHERE id = 7;
UPDATE tsp.accounts SET balance = balance + 1 WHERE id = 7;
DELETE FROM tsp.accounts WHERE id = 8;
INSERT INTO tsp.accounts VALUES (8, 'reinserted 8', 8);
UPDATE tsp.accounts SET owner = 'reinserted then updated' WHERE id = 8;
INSERT INTO tsp.accounts VALUES (51, 'inserted then deleted', 0);
DELETE FROM tsp.accounts WHERE id = 51;
INSERT INTO tsp.accounts VALUES (52, 'inserted, updated, key changed', 0);
UPDATE tsp.accounts SET id = 53 WHERE id = 52;
UPDATE tsp.accounts SET balance = 53 WHERE id = 53;
COMMIT;
DO $$
BEGIN
    FOR i IN 1..100 LOOP
        UPDATE tsp.accounts SET balance = balance + 0.01 WHERE id = 9;
    END LOOP;
END
$$;

-- @step mixed_tables
BEGIN;
INSERT INTO tsp.transfers (src, dst, amount) SELECT g, 51 - g, g FROM generate_series(1, 50) g WHERE g <> 8 AND g <> 43;
UPDATE tsp.accounts a SET balance = a.balance - t.amount FROM tsp.transfers t WHERE t.src = a.id AND t.id > 1;
SAVEPOINT s;
DELETE FROM tsp.transfers WHERE amount > 25;
ROLLBACK TO s;
DELETE FROM tsp.transfers WHERE amount > 45;
INSERT INTO tsp.log SELECT 200 + g, 'batch ' || g FROM generate_series(1, 20) g;
COMMIT;
