-- constraint and index DDL while streaming: CREATE/DROP INDEX (unique, partial, expression), ADD/DROP CONSTRAINT check/unique/FK (NOT VALID + VALIDATE), ADD PRIMARY KEY to a FULL-identity table, UNIQUE USING INDEX, RENAME CONSTRAINT, ALTER CONSTRAINT deferrable, identity switched to a new index
-- @setup
CREATE SCHEMA dci;
CREATE TABLE dci.parents (
    id    int PRIMARY KEY,
    code  text NOT NULL
);
INSERT INTO dci.parents SELECT g, 'P' || g FROM generate_series(1, 50) g;
CREATE TABLE dci.children (
    id         int,
    parent_id  int,
    email      text,
    qty        int
);
ALTER TABLE dci.children REPLICA IDENTITY FULL;
INSERT INTO dci.children SELECT g, 1 + g % 50, 'e' || g || '@x', g FROM generate_series(1, 200) g;

-- @step add_constraints
CREATE UNIQUE INDEX parents_code ON dci.parents (code);
ALTER TABLE dci.children ADD PRIMARY KEY (id);
ALTER TABLE dci.children REPLICA IDENTITY DEFAULT;
ALTER TABLE dci.children ADD CONSTRAINT children_parent_fk FOREIGN KEY (parent_id) REFERENCES dci.parents (id) ON DELETE CASCADE NOT VALID;
ALTER TABLE dci.children VALIDATE CONSTRAINT children_parent_fk;
ALTER TABLE dci.children ADD CONSTRAINT qty_positive CHECK (qty > 0);
CREATE UNIQUE INDEX children_email_idx ON dci.children (lower(email));
CREATE UNIQUE INDEX children_email_plain ON dci.children (email);
ALTER TABLE dci.children ADD CONSTRAINT children_email_key UNIQUE USING INDEX children_email_plain;
CREATE INDEX children_big_qty ON dci.children (qty) WHERE qty > 100;
UPDATE dci.children SET qty = qty + 1 WHERE id % 3 = 0;
UPDATE dci.children SET id = id + 1000 WHERE id % 10 = 0;
DELETE FROM dci.parents WHERE id = 50;

-- @step change_constraints
ALTER TABLE dci.children DROP CONSTRAINT qty_positive;
INSERT INTO dci.children VALUES (5000, 1, 'neg@x', -5);
ALTER TABLE dci.children RENAME CONSTRAINT children_email_key TO children_email_unique;
ALTER TABLE dci.children ALTER CONSTRAINT children_parent_fk DEFERRABLE INITIALLY DEFERRED;
BEGIN;
INSERT INTO dci.children VALUES (5001, 51, 'deferred@x', 1);
INSERT INTO dci.parents VALUES (51, 'P51');
COMMIT;
DROP INDEX dci.children_big_qty;
ALTER TABLE dci.parents ADD CONSTRAINT parents_code_format CHECK (code ~ '^P[0-9]+$');
ALTER TABLE dci.parents ADD CONSTRAINT parents_code_key UNIQUE (code);
DROP INDEX dci.parents_code;

-- @step switch_identity_index
ALTER TABLE dci.parents ALTER COLUMN code SET NOT NULL;
ALTER TABLE dci.parents REPLICA IDENTITY USING INDEX parents_code_key;
UPDATE dci.parents SET code = 'P' || (id + 1000) WHERE id % 4 = 0;
DELETE FROM dci.parents WHERE id % 9 = 0;
ALTER TABLE dci.children DROP CONSTRAINT children_pkey;
ALTER TABLE dci.children REPLICA IDENTITY FULL;
UPDATE dci.children SET qty = 0 WHERE id % 8 = 0;
ALTER TABLE dci.children DROP CONSTRAINT children_parent_fk;
INSERT INTO dci.children VALUES (6000, 999, 'orphan@x', 1), (6000, 999, 'dup-id@x', 1);
