-- column DDL while streaming: ADD COLUMN (no default, DEFAULT, NOT NULL DEFAULT; old rows keep the add-time default after SET DEFAULT), DROP COLUMN, RENAME COLUMN with data, ALTER TYPE (int->bigint, text->varchar(20), int->text USING, timestamp->timestamptz USING, numeric precision), SET/DROP DEFAULT, SET/DROP NOT NULL
-- @setup
CREATE SCHEMA dcol;

CREATE TABLE dcol.people (
    id        int PRIMARY KEY,
    name      text NOT NULL,
    age       int,
    score     int,
    city      text,
    born_at   timestamp,
    balance   numeric(10,2),
    nickname  text
);
INSERT INTO dcol.people
SELECT g, 'person ' || g, 20 + g % 50, g * 3, (ARRAY['Paris', 'Oslo', NULL])[1 + g % 3], '2000-01-01 12:00'::timestamp + g * interval '1 day 1 hour', g * 1.25, 'nick' || g
FROM generate_series(1, 300) g;

-- @step add_columns
ALTER TABLE dcol.people ADD COLUMN plain_new text;
ALTER TABLE dcol.people ADD COLUMN with_default int DEFAULT 5;
ALTER TABLE dcol.people ADD COLUMN not_null_default text NOT NULL DEFAULT 'nn default';
ALTER TABLE dcol.people ADD COLUMN default_expr numeric DEFAULT 1.0 / 3;
ALTER TABLE dcol.people ADD COLUMN default_array text[] DEFAULT '{a,"b c"}';
-- old rows keep 5 (the add-time "missing" value); new rows get 7
ALTER TABLE dcol.people ALTER COLUMN with_default SET DEFAULT 7;
UPDATE dcol.people SET plain_new = 'touched ' || id WHERE id % 10 = 0;
INSERT INTO dcol.people (id, name) VALUES (1001, 'after add columns');
INSERT INTO dcol.people (id, name, with_default, not_null_default, plain_new) VALUES (1002, 'explicit values', NULL, '', 'p');

-- @step rename_and_defaults
ALTER TABLE dcol.people RENAME COLUMN city TO town;
ALTER TABLE dcol.people RENAME COLUMN nickname TO "Nick Name";
UPDATE dcol.people SET town = upper(town) WHERE id % 4 = 0;
UPDATE dcol.people SET "Nick Name" = NULL WHERE id % 5 = 0;
ALTER TABLE dcol.people ALTER COLUMN with_default DROP DEFAULT;
ALTER TABLE dcol.people ALTER COLUMN age SET DEFAULT 18;
UPDATE dcol.people SET age = 0 WHERE age IS NULL;
ALTER TABLE dcol.people ALTER COLUMN age SET NOT NULL;
ALTER TABLE dcol.people ALTER COLUMN name DROP NOT NULL;
INSERT INTO dcol.people (id, name, town) VALUES (1003, NULL, 'Rome');
ALTER TABLE dcol.people ADD COLUMN added_then_renamed int DEFAULT 42;
ALTER TABLE dcol.people RENAME COLUMN added_then_renamed TO renamed_after_add;
INSERT INTO dcol.people (id, renamed_after_add) VALUES (1004, 43);

-- @step alter_types
ALTER TABLE dcol.people ALTER COLUMN score TYPE bigint;
UPDATE dcol.people SET score = score * 10000000000 WHERE id % 7 = 0;
ALTER TABLE dcol.people ALTER COLUMN town TYPE varchar(20);
ALTER TABLE dcol.people ALTER COLUMN age TYPE text USING (age * 2)::text || ' years';
ALTER TABLE dcol.people ALTER COLUMN born_at TYPE timestamptz USING born_at AT TIME ZONE 'Asia/Tokyo';
ALTER TABLE dcol.people ALTER COLUMN balance TYPE numeric(14,4);
ALTER TABLE dcol.people ALTER COLUMN default_expr TYPE float8;
INSERT INTO dcol.people (id, name, score, town, age, born_at, balance) VALUES (1005, 'new types', 9223372036854775807, 'twenty chars exactly', 'ageless', '2020-02-02 02:02:02+02', 1.2345);
UPDATE dcol.people SET balance = balance / 3 WHERE id % 9 = 0;

-- @step drop_columns
ALTER TABLE dcol.people DROP COLUMN plain_new;
ALTER TABLE dcol.people DROP COLUMN "Nick Name";
INSERT INTO dcol.people (id, name) VALUES (1006, 'after drops');
UPDATE dcol.people SET name = name || '.' WHERE id % 11 = 0;
ALTER TABLE dcol.people ADD COLUMN plain_new jsonb DEFAULT '{"re": "added"}';
ALTER TABLE dcol.people ALTER COLUMN not_null_default DROP NOT NULL;
UPDATE dcol.people SET not_null_default = NULL, plain_new = NULL WHERE id % 13 = 0;
DELETE FROM dcol.people WHERE id % 17 = 0;
