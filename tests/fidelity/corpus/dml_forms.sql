-- DML forms: INSERT ... ON CONFLICT DO UPDATE / DO NOTHING (speculative inserts, incl. TOASTed values), MERGE (PG15) with insert/update/delete branches, UPDATE ... FROM, DELETE ... USING, writable CTEs, COPY FROM STDIN with escapes, INSERT ... SELECT from the same table, RETURNING
-- @setup
CREATE SCHEMA dml;
CREATE TABLE dml.stock (
    sku    text PRIMARY KEY,
    qty    int NOT NULL DEFAULT 0,
    note   text,
    big    text
);
INSERT INTO dml.stock SELECT 'sku' || g, g, NULL, NULL FROM generate_series(1, 100) g;
CREATE TABLE dml.incoming (
    id    int PRIMARY KEY,
    sku   text NOT NULL,
    delta int NOT NULL,
    op    text NOT NULL
);
INSERT INTO dml.incoming SELECT g, 'sku' || (g * 3), g % 7 - 3, (ARRAY['add', 'set', 'drop'])[1 + g % 3] FROM generate_series(1, 60) g;
CREATE TABLE dml.copied (
    id    int PRIMARY KEY,
    txt   text,
    n     numeric,
    arr   int[],
    j     jsonb
);

-- @step upserts
INSERT INTO dml.stock (sku, qty) SELECT 'sku' || g, g * 100 FROM generate_series(90, 110) g
ON CONFLICT (sku) DO UPDATE SET qty = dml.stock.qty + EXCLUDED.qty, note = 'upserted';
INSERT INTO dml.stock (sku, qty) VALUES ('sku1', -1), ('brand new', 1) ON CONFLICT DO NOTHING;
INSERT INTO dml.stock (sku, qty, big) VALUES ('toast-upsert', 1, (SELECT string_agg(md5(g::text), '') FROM generate_series(1, 200) g))
ON CONFLICT (sku) DO UPDATE SET big = EXCLUDED.big;
INSERT INTO dml.stock (sku, qty, big) VALUES ('toast-upsert', 2, (SELECT string_agg(md5((g + 1)::text), '') FROM generate_series(1, 200) g))
ON CONFLICT (sku) DO UPDATE SET qty = EXCLUDED.qty, big = EXCLUDED.big || dml.stock.big;
INSERT INTO dml.stock (sku, qty) VALUES ('toast-upsert', 3) ON CONFLICT (sku) DO UPDATE SET qty = EXCLUDED.qty WHERE dml.stock.qty < 3;
INSERT INTO dml.stock (sku, qty) VALUES ('sku2', 0) ON CONFLICT (sku) DO UPDATE SET qty = 0 WHERE false;

-- @step merge
MERGE INTO dml.stock s
USING dml.incoming i ON s.sku = i.sku
WHEN MATCHED AND i.op = 'drop' THEN DELETE
WHEN MATCHED AND i.op = 'set' THEN UPDATE SET qty = i.delta, note = 'merge set'
WHEN MATCHED THEN UPDATE SET qty = s.qty + i.delta, note = 'merge add'
WHEN NOT MATCHED AND i.op <> 'drop' THEN INSERT (sku, qty, note) VALUES (i.sku, i.delta, 'merge insert')
WHEN NOT MATCHED THEN DO NOTHING;
MERGE INTO dml.stock s
USING (VALUES ('sku5', 55), ('merge-new', 1)) AS v(sku, q) ON s.sku = v.sku
WHEN MATCHED THEN UPDATE SET qty = v.q
WHEN NOT MATCHED THEN INSERT VALUES (v.sku, v.q, 'from VALUES');

-- @step joins_and_ctes
UPDATE dml.stock s SET qty = s.qty * 2, note = coalesce(s.note, '') || ' joined' FROM dml.incoming i WHERE i.sku = s.sku AND i.delta > 0;
DELETE FROM dml.stock s USING dml.incoming i WHERE i.sku = s.sku AND i.delta = 0;
WITH moved AS (
    DELETE FROM dml.stock WHERE qty < 0 RETURNING sku, qty
), logged AS (
    INSERT INTO dml.incoming (id, sku, delta, op) SELECT 1000 + row_number() OVER (ORDER BY sku), sku, qty, 'moved' FROM moved RETURNING id
)
UPDATE dml.stock SET note = 'cte saw ' || (SELECT count(*) FROM logged) WHERE sku = 'sku10';
INSERT INTO dml.stock (sku, qty, note) SELECT sku || '-copy', qty, 'self insert' FROM dml.stock WHERE sku LIKE 'sku1%' AND sku NOT LIKE '%-copy';

-- @step copy_from_stdin
COPY dml.copied (id, txt, n, arr, j) FROM STDIN;
1	plain	1.5	{1,2}	{"a": 1}
2	tab\there	-0	{}	[]
3	newline\nhere	NaN	{NULL}	null
4	\\N is a backslash N	1e10	\N	\N
5	\N	\N	{-1}	{"k": "v\\u00e9"}
6	carriage\rreturn	0.000	{{1,2},{3,4}}	"str"
7	unicode é 😀	12345678901234567890	[0:1]={7,8}	{"nested": {"x": [1, 2]}}
\.
COPY dml.copied FROM STDIN (FORMAT csv, NULL 'NULL', HEADER true);
id,txt,n,arr,j
8,"comma, quote "" and
newline",2,"{3}","{""csv"": true}"
9,NULL,NULL,NULL,NULL
10,"",0,{},{}
11,"\N",1,{1},[]
\.
UPDATE dml.copied SET txt = txt || ' (updated)' WHERE id IN (2, 8);
