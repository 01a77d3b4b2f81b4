-- large transactions streamed in chunks (logical_decoding_work_mem = 64kB): ~30k changes with a rolled-back savepoint inside, a large aborted transaction, many subtransactions with some aborted after streaming began
-- @setup
CREATE SCHEMA tl;

CREATE TABLE tl.ledger (
    id      int PRIMARY KEY,
    account int NOT NULL,
    amount  numeric(12,2) NOT NULL,
    memo    text
);
INSERT INTO tl.ledger SELECT g, g % 100, g * 0.01, 'seed ' || g FROM generate_series(1, 8000) g;

CREATE TABLE tl.audit (
    id   bigserial PRIMARY KEY,
    msg  text
);

-- @step big_with_savepoint
BEGIN;
INSERT INTO tl.ledger SELECT g, g % 100, g * 0.02, 'bulk ' || g FROM generate_series(10001, 18000) g;
UPDATE tl.ledger SET amount = amount + 1 WHERE id <= 8000;
SAVEPOINT before_damage;
UPDATE tl.ledger SET memo = 'should be rolled back' WHERE id > 10000;
DELETE FROM tl.ledger WHERE id % 2 = 0;
INSERT INTO tl.audit (msg) SELECT 'rolled back ' || g FROM generate_series(1, 2000) g;
ROLLBACK TO SAVEPOINT before_damage;
UPDATE tl.ledger SET memo = 'kept ' || id WHERE id % 3 = 0;
DELETE FROM tl.ledger WHERE id % 10 = 7;
INSERT INTO tl.audit (msg) SELECT 'kept ' || g FROM generate_series(1, 500) g;
COMMIT;

-- @step big_aborted
BEGIN;
UPDATE tl.ledger SET amount = 0, memo = 'aborted' WHERE id % 2 = 1;
DELETE FROM tl.ledger WHERE id % 2 = 0;
INSERT INTO tl.ledger SELECT g, 0, 0, 'aborted insert' FROM generate_series(20001, 26000) g;
ROLLBACK;
INSERT INTO tl.audit (msg) VALUES ('after the aborted transaction');

-- @step many_subxacts
BEGIN;
UPDATE tl.ledger SET memo = 'outer ' || id WHERE id % 50 = 1;
DO $$
BEGIN
    FOR i IN 1..200 LOOP
        BEGIN
            UPDATE tl.ledger SET amount = amount + i WHERE account = i % 100 AND id % 7 = 0;
            INSERT INTO tl.audit (msg) VALUES ('subxact ' || i);
            IF i % 3 = 0 THEN
                RAISE EXCEPTION 'abort subxact %', i;
            END IF;
        EXCEPTION WHEN raise_exception THEN
            NULL;
        END;
    END LOOP;
END
$$;
SAVEPOINT s1;
INSERT INTO tl.ledger SELECT g, 1, 1, 's1' FROM generate_series(30001, 33000) g;
SAVEPOINT s2;
DELETE FROM tl.ledger WHERE id BETWEEN 30001 AND 31000;
RELEASE SAVEPOINT s2;
SAVEPOINT s3;
UPDATE tl.ledger SET memo = 's3 rolled back' WHERE id > 30000;
ROLLBACK TO SAVEPOINT s3;
COMMIT;

-- @step many_small_transactions
DO $$
BEGIN
    FOR i IN 1..300 LOOP
        UPDATE tl.ledger SET amount = amount - 0.01 WHERE id = i * 3 + 1;
        COMMIT;
    END LOOP;
END
$$;
DELETE FROM tl.audit WHERE id % 4 = 0;
