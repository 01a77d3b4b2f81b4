-- the three failures users reported: a partitioned table with a stored generated column, a serial table created mid-stream, a column rename
-- @setup
CREATE TABLE leads (
  id bigint PRIMARY KEY,
  name text NOT NULL,
  notes text,
  score int DEFAULT 0
);
INSERT INTO leads SELECT g, 'lead ' || g, 'note ' || g, g % 7 FROM generate_series(1, 50) g;
CREATE TABLE deals (
  id bigint NOT NULL,
  region text NOT NULL,
  amount numeric(12,2) NOT NULL,
  amount_with_tax numeric(12,2) GENERATED ALWAYS AS (amount * 1.2) STORED,
  PRIMARY KEY (id, region)
) PARTITION BY LIST (region);
CREATE TABLE deals_eu PARTITION OF deals FOR VALUES IN ('eu');
CREATE TABLE deals_us PARTITION OF deals FOR VALUES IN ('us');
INSERT INTO deals (id, region, amount) SELECT g, CASE WHEN g % 2 = 0 THEN 'eu' ELSE 'us' END, g * 10.5 FROM generate_series(1, 40) g;
-- @step serial_table_created
CREATE TABLE campaigns (id serial PRIMARY KEY, title text NOT NULL, budget numeric DEFAULT 100);
INSERT INTO campaigns (title) VALUES ('spring'), ('summer');
INSERT INTO deals (id, region, amount) VALUES (100, 'eu', 1.01);
-- @step rename_column
ALTER TABLE leads RENAME COLUMN notes TO remarks;
UPDATE leads SET remarks = remarks || ' (renamed)' WHERE id <= 5;
INSERT INTO leads (id, name, remarks) VALUES (1000, 'after rename', 'kept');
-- @step add_and_drop_columns
ALTER TABLE leads ADD COLUMN source text DEFAULT 'web';
ALTER TABLE leads DROP COLUMN score;
INSERT INTO leads (id, name, remarks, source) VALUES (1001, 'new shape', 'x', 'phone');
UPDATE deals SET amount = amount + 1 WHERE id % 5 = 0;
INSERT INTO campaigns (title, budget) VALUES ('autumn', 5);
