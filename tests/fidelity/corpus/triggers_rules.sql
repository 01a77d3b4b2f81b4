-- triggers and rules on the source whose effects are already in the change stream (a restore must not fire them again): BEFORE triggers rewriting NEW, AFTER audit triggers, ENABLE ALWAYS / ENABLE REPLICA / disabled triggers, statement triggers, a DO ALSO rule, a constraint trigger, DDL run under session_replication_role = replica
-- @setup
CREATE SCHEMA trg_src;

CREATE TABLE trg_src.accounts (
    id       int PRIMARY KEY,
    name     text NOT NULL,
    balance  numeric(12,2) NOT NULL DEFAULT 0,
    version  int NOT NULL DEFAULT 0,
    name_uc  text
);
CREATE TABLE trg_src.audit (
    id      bigserial PRIMARY KEY,
    op      text NOT NULL,
    row_id  int,
    detail  text
);
CREATE TABLE trg_src.counters (
    name  text PRIMARY KEY,
    n     bigint NOT NULL
);
INSERT INTO trg_src.counters VALUES ('statements', 0), ('always', 0), ('replica', 0), ('rule', 0);

CREATE FUNCTION trg_src.before_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.version := CASE WHEN TG_OP = 'INSERT' THEN 1 ELSE OLD.version + 1 END;
    NEW.name_uc := upper(NEW.name);
    RETURN NEW;
END $$;
CREATE FUNCTION trg_src.after_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO trg_src.audit (op, row_id, detail)
    VALUES (TG_OP, CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END, TG_NAME);
    RETURN NULL;
END $$;
CREATE FUNCTION trg_src.bump(counter text) RETURNS void LANGUAGE sql AS $$
    UPDATE trg_src.counters SET n = n + 1 WHERE name = counter
$$;
CREATE FUNCTION trg_src.after_stmt() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM trg_src.bump(TG_ARGV[0]);
    RETURN NULL;
END $$;

CREATE TRIGGER a_before BEFORE INSERT OR UPDATE ON trg_src.accounts FOR EACH ROW EXECUTE FUNCTION trg_src.before_row();
CREATE TRIGGER b_after AFTER INSERT OR UPDATE OR DELETE ON trg_src.accounts FOR EACH ROW EXECUTE FUNCTION trg_src.after_row();
CREATE TRIGGER c_stmt AFTER INSERT OR UPDATE OR DELETE ON trg_src.accounts FOR EACH STATEMENT EXECUTE FUNCTION trg_src.after_stmt('statements');
CREATE TRIGGER d_always AFTER UPDATE ON trg_src.accounts FOR EACH STATEMENT EXECUTE FUNCTION trg_src.after_stmt('always');
ALTER TABLE trg_src.accounts ENABLE ALWAYS TRIGGER d_always;
CREATE TRIGGER e_replica AFTER UPDATE ON trg_src.accounts FOR EACH STATEMENT EXECUTE FUNCTION trg_src.after_stmt('replica');
ALTER TABLE trg_src.accounts ENABLE REPLICA TRIGGER e_replica;
CREATE TRIGGER f_disabled BEFORE INSERT ON trg_src.accounts FOR EACH ROW EXECUTE FUNCTION trg_src.before_row();
ALTER TABLE trg_src.accounts DISABLE TRIGGER f_disabled;
CREATE TRIGGER g_when AFTER UPDATE OF balance ON trg_src.accounts FOR EACH ROW WHEN (NEW.balance < 0) EXECUTE FUNCTION trg_src.after_row();

CREATE FUNCTION trg_src.check_balance() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.balance < -1000 THEN RAISE EXCEPTION 'overdrawn'; END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER h_constraint AFTER INSERT OR UPDATE ON trg_src.accounts DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION trg_src.check_balance();

-- a rule that writes into another table
CREATE TABLE trg_src.notes (
    id    int PRIMARY KEY,
    body  text
);
CREATE TABLE trg_src.notes_log (
    id       bigserial PRIMARY KEY,
    note_id  int,
    body     text
);
CREATE RULE notes_also_log AS ON INSERT TO trg_src.notes DO ALSO INSERT INTO trg_src.notes_log (note_id, body) VALUES (NEW.id, NEW.body);

INSERT INTO trg_src.accounts (id, name, balance) SELECT g, 'acct ' || g, g * 10 FROM generate_series(1, 50) g;
INSERT INTO trg_src.notes VALUES (1, 'first note'), (2, 'second note');

-- @step fire_triggers
UPDATE trg_src.accounts SET balance = balance - 100 WHERE id <= 20;
UPDATE trg_src.accounts SET name = 'renamed ' || id WHERE id % 5 = 0;
DELETE FROM trg_src.accounts WHERE id > 45;
INSERT INTO trg_src.accounts (id, name) VALUES (100, 'inserted in step');
INSERT INTO trg_src.notes SELECT 10 + g, 'note ' || g FROM generate_series(1, 10) g;

-- @step change_triggers
ALTER TABLE trg_src.accounts DISABLE TRIGGER b_after;
UPDATE trg_src.accounts SET balance = balance + 1 WHERE id <= 10;
ALTER TABLE trg_src.accounts ENABLE TRIGGER b_after;
ALTER TABLE trg_src.accounts ENABLE TRIGGER f_disabled;
DROP TRIGGER c_stmt ON trg_src.accounts;
CREATE OR REPLACE FUNCTION trg_src.before_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.version := CASE WHEN TG_OP = 'INSERT' THEN 100 ELSE OLD.version + 100 END;
    NEW.name_uc := lower(NEW.name);
    RETURN NEW;
END $$;
UPDATE trg_src.accounts SET balance = balance * 2 WHERE id % 2 = 0;
INSERT INTO trg_src.accounts (id, name) VALUES (101, 'after trigger change');
DROP RULE notes_also_log ON trg_src.notes;
INSERT INTO trg_src.notes VALUES (99, 'no rule any more');

-- @step session_replication_role
SET session_replication_role = replica;
UPDATE trg_src.accounts SET name = 'written as replica' WHERE id = 1;
INSERT INTO trg_src.accounts (id, name, version) VALUES (200, 'replica-mode insert', 7);
-- DDL under session_replication_role = replica (event triggers not ENABLE ALWAYS do not fire here)
ALTER TABLE trg_src.notes ADD COLUMN added_in_replica_mode text DEFAULT 'r';
INSERT INTO trg_src.notes VALUES (100, 'after replica-mode DDL', 'explicit');
CREATE TABLE trg_src.created_in_replica_mode (id int PRIMARY KEY, v text);
INSERT INTO trg_src.created_in_replica_mode VALUES (1, 'one');
RESET session_replication_role;
UPDATE trg_src.accounts SET balance = 0 WHERE id = 2;
