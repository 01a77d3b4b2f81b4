-- awkward identifiers: schema with a space, names with embedded double quotes, spaces, dots, capitals, reserved words, non-ASCII, 63-byte names, walship-lookalike schema names; FK and indexes between them; renames to other awkward names
-- @setup
CREATE SCHEMA "crm data";
CREATE SCHEMA "Schema""Quote";
CREATE SCHEMA "UPPER";
CREATE SCHEMA upper;
CREATE SCHEMA walship_data;
CREATE SCHEMA "Walship";
CREATE SCHEMA "schéma.ünï";

CREATE TABLE "crm data"."a""b" (
    "id"          int PRIMARY KEY,
    "col umn"     text,
    "CamelCase"   int,
    "camelcase"   int,
    "select"      text,
    "order"       int,
    "user"        text,
    "clé"         text,
    "名前"        text,
    "x""y"        text,
    "a.b"         text,
    "$dollar"     text,
    "back\slash"  text,
    "it's"        text,
    "1st"         int,
    " lead"       text,
    "trail "      text,
    "😀"          text
);
CREATE TABLE "crm data"."CamelCase" (
    "Id"      int PRIMARY KEY,
    "a""b_id" int REFERENCES "crm data"."a""b" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    "group"   text NOT NULL DEFAULT 'grp',
    "Value"   numeric
);
CREATE INDEX "idx with space" ON "crm data"."a""b" ("名前", "clé");
CREATE UNIQUE INDEX "Idx""Quote" ON "crm data"."CamelCase" ("a""b_id", "group");
CREATE INDEX "idx_expr" ON "crm data"."a""b" (lower("col umn")) WHERE "order" > 0;

CREATE TABLE "Schema""Quote"."order" (
    "user"  int,
    "group" text,
    "table" text,
    PRIMARY KEY ("user", "group")
);
CREATE TABLE "UPPER"."T" ("K" int PRIMARY KEY, "v" text);
CREATE TABLE upper.t (k int PRIMARY KEY, "V" text);
CREATE TABLE "UPPER".t (k int PRIMARY KEY, v text);
CREATE TABLE walship_data.events (id int PRIMARY KEY, payload text);
CREATE TABLE "Walship"."Events" (id int PRIMARY KEY, payload text);
CREATE TABLE public.walship (id int PRIMARY KEY, note text);
-- columns named like the table (a "SELECT t::text FROM t" compares the column, not the row)
CREATE TABLE "crm data".t (t text PRIMARY KEY, "T" int, row text);
CREATE TABLE public."select" ("from" int PRIMARY KEY, "where" text, "null" text);
CREATE TABLE "schéma.ünï"."tâble.with.dots" ("çol" int PRIMARY KEY, "ß" text);
CREATE TABLE "crm data".abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijk (
    abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijk int PRIMARY KEY,
    "ééééééééééééééééééééééééééééééé" text
);

INSERT INTO "crm data"."a""b" VALUES
    (1, 'Row One', 1, 10, 'sel', 1, 'usr', 'clé1', '名前1', 'x"y', 'a.b', '$', E'\\', '''', 1, ' l', 't ', '😀'),
    (2, 'ROW TWO', 2, 20, NULL, -1, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 2, NULL, NULL, NULL),
    (3, NULL, NULL, NULL, 'select', 0, 'user', 'é', '名', '"', '.', '$$', '\N', 'it''s', 3, '', '', '');
INSERT INTO "crm data"."CamelCase" VALUES (10, 1, 'g1', 1.5), (11, 1, 'g2', NULL), (12, 2, DEFAULT, 0), (13, 3, 'g1', -1);
INSERT INTO "Schema""Quote"."order" VALUES (1, 'a', 't1'), (1, 'b', 't2'), (2, 'a', NULL);
INSERT INTO "UPPER"."T" VALUES (1, 'upper T');
INSERT INTO upper.t VALUES (1, 'lower t');
INSERT INTO "UPPER".t VALUES (1, 'UPPER schema, lower t');
INSERT INTO walship_data.events VALUES (1, 'not the tool schema');
INSERT INTO "Walship"."Events" VALUES (1, 'capitalised lookalike');
INSERT INTO public.walship VALUES (1, 'table named walship');
INSERT INTO "crm data".t VALUES ('k1', 1, 'r1'), ('k2', 2, NULL);
INSERT INTO public."select" VALUES (1, 'where', 'null'), (2, NULL, NULL);
INSERT INTO "schéma.ünï"."tâble.with.dots" VALUES (1, 'ß');
INSERT INTO "crm data".abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijk VALUES (1, 'long');

-- @step dml
UPDATE "crm data"."a""b" SET "select" = 'updated', "user" = 'u2', "x""y" = 'x""y' WHERE "id" = 2;
UPDATE "crm data"."a""b" SET "id" = 30 WHERE "id" = 3;
UPDATE "crm data"."CamelCase" SET "a""b_id" = 30 WHERE "a""b_id" IS NULL OR "Id" = 13;
DELETE FROM "crm data"."a""b" WHERE "id" = 2;
UPDATE "Schema""Quote"."order" SET "group" = 'c' WHERE "user" = 1 AND "group" = 'b';
UPDATE "UPPER"."T" SET "v" = 'T changed';
DELETE FROM upper.t;
INSERT INTO upper.t VALUES (2, 'lower t again');
UPDATE walship_data.events SET payload = payload || ' (updated)';
INSERT INTO "Walship"."Events" VALUES (2, 'second');
UPDATE public.walship SET note = 'updated';
UPDATE "crm data".t SET "T" = -"T", row = 'changed' WHERE t = 'k2';
UPDATE public."select" SET "from" = 3 WHERE "from" = 2;
UPDATE "schéma.ünï"."tâble.with.dots" SET "çol" = 2, "ß" = 'SS';
INSERT INTO "crm data"."a""b" ("id", "col umn", "名前", "😀")
SELECT 100 + g, 'gen ' || g, '名前' || g, repeat('😀', g % 5) FROM generate_series(1, 100) g;

-- @step rename_to_awkward
ALTER TABLE "crm data"."a""b" RENAME COLUMN "col umn" TO "Col ""Umn""";
ALTER TABLE "crm data"."a""b" RENAME COLUMN "名前" TO "名 前";
ALTER TABLE "crm data"."CamelCase" RENAME TO "camelCase ""renamed""";
ALTER TABLE "UPPER".t RENAME TO "t ";
ALTER TABLE "crm data"."a""b" ADD COLUMN "new
line" text DEFAULT 'nl col';
ALTER TABLE "crm data"."a""b" ADD COLUMN "tab	col" int;
UPDATE "crm data"."a""b" SET "Col ""Umn""" = 'renamed col', "名 前" = 'renamed 名', "new
line" = 'set', "tab	col" = 7 WHERE "id" IN (1, 30, 101);
INSERT INTO "crm data"."camelCase ""renamed""" VALUES (14, 101, 'g"1', 4.5);
INSERT INTO "UPPER"."t " VALUES (2, 'renamed table with trailing space');
ALTER SCHEMA "Schema""Quote" RENAME TO "Schema ""Renamed""";
INSERT INTO "Schema ""Renamed"""."order" VALUES (3, 'z', 'after schema rename');

-- @step cascade_delete
DELETE FROM "crm data"."a""b" WHERE "id" = 1;
UPDATE "crm data"."a""b" SET "Col ""Umn""" = upper("Col ""Umn""") WHERE "id" BETWEEN 100 AND 150;
DELETE FROM "crm data"."a""b" WHERE "id" BETWEEN 180 AND 200;
