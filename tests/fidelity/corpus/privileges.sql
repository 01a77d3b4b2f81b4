-- privileges: table, column, schema, sequence, function and type grants (WITH GRANT OPTION, grants by a non-owner grantor), REVOKE, default privileges, row-level security policies naming roles; GRANT/REVOKE and new tables with grants while streaming
-- @setup
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'fid_reader') THEN CREATE ROLE fid_reader; END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'fid writer') THEN CREATE ROLE "fid writer" LOGIN; END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'fid_auditor') THEN CREATE ROLE fid_auditor NOINHERIT; END IF;
END $$;
CREATE SCHEMA sales;
GRANT USAGE ON SCHEMA sales TO fid_reader, "fid writer", fid_auditor;
CREATE TABLE sales.accounts (id int PRIMARY KEY, name text, salary numeric, owner_role text);
INSERT INTO sales.accounts SELECT g, 'acct ' || g, g * 1000, CASE WHEN g % 2 = 0 THEN 'fid_reader' ELSE 'fid writer' END FROM generate_series(1, 40) g;
GRANT SELECT ON sales.accounts TO fid_reader;
GRANT SELECT (id, name), UPDATE (name) ON sales.accounts TO "fid writer";
GRANT ALL ON sales.accounts TO fid_auditor WITH GRANT OPTION;
REVOKE DELETE ON sales.accounts FROM fid_auditor;
CREATE SEQUENCE sales.invoice_no;
GRANT USAGE, SELECT ON SEQUENCE sales.invoice_no TO "fid writer";
CREATE FUNCTION sales.fee(numeric) RETURNS numeric LANGUAGE sql IMMUTABLE AS 'SELECT $1 * 0.02';
REVOKE EXECUTE ON FUNCTION sales.fee(numeric) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION sales.fee(numeric) TO fid_reader;
CREATE TYPE sales.tier AS ENUM ('bronze', 'silver', 'gold');
REVOKE USAGE ON TYPE sales.tier FROM PUBLIC;
GRANT USAGE ON TYPE sales.tier TO "fid writer";
ALTER TABLE sales.accounts ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_rows ON sales.accounts FOR SELECT TO fid_reader, "fid writer" USING (owner_role = current_user);
ALTER DEFAULT PRIVILEGES IN SCHEMA sales GRANT SELECT ON TABLES TO fid_reader;
SET ROLE fid_auditor;
GRANT SELECT ON sales.accounts TO "fid writer";
RESET ROLE;
CREATE TABLE public.notes (id int PRIMARY KEY, body text);
INSERT INTO public.notes SELECT g, 'note ' || g FROM generate_series(1, 10) g;
-- @step grant and revoke while streaming
GRANT INSERT ON sales.accounts TO "fid writer";
REVOKE SELECT (name) ON sales.accounts FROM "fid writer";
GRANT SELECT, INSERT ON public.notes TO fid_reader;
INSERT INTO sales.accounts VALUES (41, 'acct 41', 1, 'fid_reader');
-- @step a new table under default privileges, then grants on it
CREATE TABLE sales.refunds (id int PRIMARY KEY, account_id int REFERENCES sales.accounts (id), amount numeric);
GRANT INSERT ON sales.refunds TO "fid writer";
INSERT INTO sales.refunds SELECT g, g, g * 1.5 FROM generate_series(1, 5) g;
-- @step revoke all, a new policy, default privileges changed
REVOKE ALL ON public.notes FROM fid_reader;
CREATE POLICY writers_insert ON sales.accounts FOR INSERT TO "fid writer" WITH CHECK (true);
ALTER DEFAULT PRIVILEGES IN SCHEMA sales REVOKE SELECT ON TABLES FROM fid_reader;
UPDATE sales.accounts SET salary = salary + 1 WHERE id <= 5;
