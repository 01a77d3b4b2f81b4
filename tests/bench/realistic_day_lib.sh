# A realistic CRM day for the benchmarks: schema, base data and the day's workload, sized by SCALE
# (1.0: ~2 M base rows, ~1.3 M row changes; 0.1 for development). Source it after lib.sh; the
# functions take the database's conninfo as $1. 9 tables with FKs, secondary/partial/GIN indexes, two
# enums, jsonb, text[]/int[], numeric, timestamptz, bool, NULLs; tickets carry 6-8 kB bodies of md5 hex
# (pglz cannot shrink them: TOASTed); activities has no key and REPLICA IDENTITY FULL. The day: phase A
# (40 % of the small transactions, batch jobs), ALTER TABLE deals ADD COLUMN + CREATE INDEX, phase B
# (20 %), TRUNCATE exchange_rates + refill, phase C (40 %, duplicate activity rows), end of day
# (activities updates, deletes, de-duplication; a price list). All computed from the unit number i,
# so a day is the same at every run.
day_scale=${SCALE:-1.0}
day_tables="customers contacts products deals tickets activities orders order_lines exchange_rates"
day_sc() { awk -v s="$day_scale" -v n="$1" 'BEGIN { v = int(n * s + 0.5); print (v < 1 ? 1 : v) }'; }
day_sql() { psql -X -q -v ON_ERROR_STOP=1 -At "$1" "${@:2}"; }

# Sizes. Base: ~2 M rows. Day: U units of ~16 small transactions each, plus batch jobs of BATCH rows.
B_CUST=$(day_sc 100000) B_CONT=$(day_sc 250000) B_PROD=$(day_sc 5000) B_DEAL=$(day_sc 300000)
B_TICK=$(day_sc 20000) B_ACT=$(day_sc 600000) B_ORD=$(day_sc 250000)
U=$(day_sc 20000) BATCH=$(day_sc 10000)
A_UPD_TODAY=$(day_sc 2000) A_UPD_BASE=$(day_sc 2000) A_PURGE=$(day_sc 8000)
A_DEL_TODAY=$(day_sc 1000) A_DEL_BASE=$(day_sc 1000)
day_start="timestamptz '2025-03-03 07:00:00+00'"

day_schema() {
  day_sql "$1" <<'SQL'
CREATE TYPE deal_stage AS ENUM ('lead', 'qualified', 'proposal', 'negotiation', 'won', 'lost');
CREATE TYPE ticket_status AS ENUM ('new', 'open', 'pending', 'solved', 'closed');
CREATE TABLE customers (id bigserial PRIMARY KEY, name text NOT NULL, email text, phone text, country char(2),
  segment text, tags text[], attrs jsonb, credit_limit numeric(12,2), is_active bool NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL, updated_at timestamptz);
CREATE TABLE contacts (id bigserial PRIMARY KEY, customer_id bigint NOT NULL, first_name text, last_name text,
  email text, phone text, title text, scores int[], prefs jsonb, opted_in bool, created_at timestamptz NOT NULL);
CREATE TABLE products (id serial PRIMARY KEY, sku text NOT NULL UNIQUE, name text NOT NULL, price numeric(12,2) NOT NULL,
  categories text[], specs jsonb, active bool NOT NULL DEFAULT true, updated_at timestamptz);
CREATE TABLE deals (id bigserial PRIMARY KEY, customer_id bigint NOT NULL, owner text NOT NULL, title text NOT NULL,
  stage deal_stage NOT NULL DEFAULT 'lead', amount numeric(12,2), currency char(3), tags text[], custom jsonb,
  expected_close date, closed_at timestamptz, created_at timestamptz NOT NULL, updated_at timestamptz);
CREATE TABLE tickets (id bigserial PRIMARY KEY, customer_id bigint NOT NULL, contact_id bigint, subject text NOT NULL,
  body text NOT NULL, status ticket_status NOT NULL DEFAULT 'new', priority smallint, labels text[], meta jsonb,
  created_at timestamptz NOT NULL, updated_at timestamptz, resolved_at timestamptz);
CREATE TABLE activities (customer_id bigint NOT NULL, contact_id bigint, deal_id bigint, kind text NOT NULL,
  at timestamptz NOT NULL, duration_s int, subject text, notes text, payload jsonb, done bool);
ALTER TABLE activities REPLICA IDENTITY FULL;
CREATE TABLE orders (id bigserial PRIMARY KEY, customer_id bigint NOT NULL, deal_id bigint, status text NOT NULL,
  total numeric(12,2), currency char(3), ordered_at timestamptz NOT NULL, shipped_at timestamptz, shipping jsonb, notes text);
CREATE TABLE order_lines (order_id bigint NOT NULL, line_no int NOT NULL, product_id int NOT NULL, qty int NOT NULL,
  unit_price numeric(12,2) NOT NULL, discount numeric(5,2) DEFAULT 0, PRIMARY KEY (order_id, line_no));
CREATE TABLE exchange_rates (currency char(3) NOT NULL, day date NOT NULL, rate numeric(12,6) NOT NULL, source text,
  PRIMARY KEY (currency, day));
SQL
}

# The base rows, then the foreign keys and secondary indexes (faster than row by row), the
# publication, VACUUM ANALYZE and a checkpoint.
day_base() {
  day_sql "$1" <<SQL
SET synchronous_commit = off;
INSERT INTO customers (name, email, phone, country, segment, tags, attrs, credit_limit, is_active, created_at, updated_at)
SELECT 'Customer ' || g, 'customer' || g || '@example.com',
  CASE WHEN g % 7 = 0 THEN NULL ELSE '+1-555-' || lpad((g % 10000)::text, 4, '0') END,
  (ARRAY['US','DE','FR','GB','JP','BR','IN','CA'])[1 + g % 8], (ARRAY['smb','mid','enterprise'])[1 + g % 3],
  CASE WHEN g % 5 = 0 THEN NULL ELSE ARRAY['tag' || (g % 13), 'tag' || (g % 17)] END, jsonb_build_object('source',
    (ARRAY['web','referral','event','partner'])[1 + g % 4], 'employees', g % 5000, 'vip', g % 97 = 0, 'note', CASE WHEN g % 3 > 0 THEN 'n' || g END),
  (g % 1000) * 100.5, g % 50 <> 0, timestamptz '2020-01-01 00:00:00+00' + g * interval '13 minutes',
  CASE WHEN g % 4 = 0 THEN NULL ELSE timestamptz '2024-01-01+00' + g * interval '1 minute' END
FROM generate_series(1, $B_CUST) g;
INSERT INTO contacts (customer_id, first_name, last_name, email, phone, title, scores, prefs, opted_in, created_at)
SELECT 1 + g % $B_CUST, (ARRAY['Ann','Bob','Carla','Dev','Eva','Finn','Gus','Hana'])[1 + g % 8], 'Surname' || (g % 997),
  'contact' || g || '@example.org', CASE WHEN g % 3 = 0 THEN NULL ELSE '+44-20-' || g END,
  (ARRAY['CEO','CTO','Buyer','Engineer',NULL])[1 + g % 5], ARRAY[g % 100, (g * 7) % 100, (g * 13) % 100],
  jsonb_build_object('lang', (ARRAY['en','de','fr'])[1 + g % 3], 'newsletter', g % 2 = 0),
  CASE WHEN g % 11 = 0 THEN NULL ELSE g % 2 = 0 END, timestamptz '2020-06-01+00' + g * interval '5 minutes'
FROM generate_series(1, $B_CONT) g;
INSERT INTO products (sku, name, price, categories, specs, active)
SELECT 'SKU-' || lpad(g::text, 7, '0'), 'Product ' || g, 5 + (g % 500) * 3.99, ARRAY['cat' || (g % 20)],
  jsonb_build_object('weight_g', g % 3000, 'color', (ARRAY['red','green','blue'])[1 + g % 3]), g % 40 <> 0
FROM generate_series(1, $B_PROD) g;
INSERT INTO deals (customer_id, owner, title, stage, amount, currency, tags, custom, expected_close, closed_at, created_at)
SELECT 1 + g % $B_CUST, 'rep' || (g % 50), 'Deal ' || g, (enum_range(NULL::deal_stage))[1 + g % 6],
  (g % 100000) * 10.25, (ARRAY['USD','EUR','GBP'])[1 + g % 3], CASE WHEN g % 4 = 0 THEN '{}'::text[] ELSE ARRAY['q' || (1 + g % 4)] END,
  CASE WHEN g % 6 > 0 THEN jsonb_build_object('source', 'inbound', 'score', g % 100, 'competitors', jsonb_build_array('acme', 'globex')) END,
  date '2025-01-01' + (g % 365), CASE WHEN g % 6 IN (4, 5) THEN timestamptz '2024-06-01+00' + g * interval '1 minute' END, timestamptz '2021-01-01+00' + g * interval '3 minutes'
FROM generate_series(1, $B_DEAL) g;
INSERT INTO tickets (customer_id, contact_id, subject, body, status, priority, labels, meta, created_at, resolved_at)
SELECT 1 + g % $B_CUST, CASE WHEN g % 4 = 0 THEN NULL ELSE 1 + (g * 7) % $B_CONT END, 'Ticket ' || g || ': cannot log in',
  (SELECT string_agg(md5(g || ':0:' || i), '') FROM generate_series(1, 190 + g % 60) i),
  (enum_range(NULL::ticket_status))[1 + g % 5], (g % 4)::smallint, ARRAY['l' || (g % 9)],
  jsonb_build_object('channel', 'email', 'sla_h', 4 + g % 20), timestamptz '2023-01-01+00' + g * interval '30 minutes',
  CASE WHEN g % 5 >= 3 THEN timestamptz '2024-01-01+00' + g * interval '1 minute' END
FROM generate_series(1, $B_TICK) g;
INSERT INTO activities (customer_id, contact_id, deal_id, kind, at, duration_s, subject, notes, payload, done)
SELECT 1 + g % $B_CUST, CASE WHEN g % 3 = 0 THEN NULL ELSE 1 + (g * 3) % $B_CONT END,
  CASE WHEN g % 2 = 0 THEN 1 + (g * 5) % $B_DEAL END, (ARRAY['call','email','meeting','note','task'])[1 + g % 5],
  timestamptz '2022-01-01+00' + g * interval '2 minutes', CASE WHEN g % 5 IN (0, 2) THEN 60 + g % 3600 END,
  'Activity ' || g, CASE WHEN g % 4 = 0 THEN NULL ELSE repeat('lorem ipsum ', 1 + g % 8) END,
  jsonb_build_object('via', 'crm', 'n', g % 10), g % 3 <> 0
FROM generate_series(1, $B_ACT) g;
-- 100 rows entered twice (identical: the table has no key)
INSERT INTO activities SELECT a.* FROM activities a JOIN generate_series(101, 200) d ON a.subject = 'Activity ' || (d * ($B_ACT / 200));
INSERT INTO orders (customer_id, deal_id, status, total, currency, ordered_at, shipped_at, shipping, notes)
SELECT 1 + g % $B_CUST, CASE WHEN g % 3 = 0 THEN 1 + (g * 11) % $B_DEAL END,
  (ARRAY['new','paid','shipped','delivered'])[1 + g % 4], (g % 5000) * 3.5, (ARRAY['USD','EUR','GBP'])[1 + g % 3],
  timestamptz '2022-01-01+00' + g * interval '4 minutes', CASE WHEN g % 4 >= 2 THEN timestamptz '2022-01-02+00' + g * interval '4 minutes' END,
  jsonb_build_object('carrier', (ARRAY['ups','dhl','fedex'])[1 + g % 3], 'address',
    jsonb_build_object('city', 'City ' || (g % 300), 'zip', lpad((g % 99999)::text, 5, '0'))), CASE WHEN g % 10 = 0 THEN 'gift wrap' END
FROM generate_series(1, $B_ORD) g;
INSERT INTO order_lines (order_id, line_no, product_id, qty, unit_price, discount)
SELECT o, l, 1 + (o * 7 + l) % $B_PROD, 1 + (o + l) % 5, 5 + ((o + l) % 500) * 3.99, CASE WHEN (o + l) % 7 = 0 THEN 10.00 ELSE 0 END
FROM generate_series(1, $B_ORD) o, generate_series(1, 1 + (o % 3)::int) l;
INSERT INTO exchange_rates SELECT c, date '2025-02-20' + d, 0.5 + (ascii(c) % 7) * 0.13 + d * 0.001, 'ecb'
FROM unnest(ARRAY['EUR','GBP','JPY','CHF','CAD','AUD','SEK','NOK','DKK','PLN','CZK','HUF','BRL','INR','CNY','KRW','MXN','ZAR','SGD',
  'NZD']) c, generate_series(1, 10) d;
SQL
  day_sql "$1" <<'SQL'
ALTER TABLE contacts ADD FOREIGN KEY (customer_id) REFERENCES customers (id);
ALTER TABLE deals ADD FOREIGN KEY (customer_id) REFERENCES customers (id);
ALTER TABLE tickets ADD FOREIGN KEY (customer_id) REFERENCES customers (id),
  ADD FOREIGN KEY (contact_id) REFERENCES contacts (id) ON DELETE SET NULL;
ALTER TABLE activities ADD FOREIGN KEY (customer_id) REFERENCES customers (id);
ALTER TABLE orders ADD FOREIGN KEY (customer_id) REFERENCES customers (id),
  ADD FOREIGN KEY (deal_id) REFERENCES deals (id) ON DELETE SET NULL;
ALTER TABLE order_lines ADD FOREIGN KEY (order_id) REFERENCES orders (id) ON DELETE CASCADE,
  ADD FOREIGN KEY (product_id) REFERENCES products (id);
CREATE UNIQUE INDEX customers_email ON customers (email); CREATE INDEX customers_country ON customers (country, segment);
CREATE INDEX customers_tags ON customers USING gin (tags); CREATE INDEX contacts_customer ON contacts (customer_id);
CREATE INDEX contacts_email ON contacts (lower(email)); CREATE INDEX deals_customer ON deals (customer_id);
CREATE INDEX deals_stage ON deals (stage, owner); CREATE INDEX tickets_customer ON tickets (customer_id);
CREATE INDEX tickets_contact ON tickets (contact_id); CREATE INDEX tickets_open ON tickets (status) WHERE status <> 'closed';
CREATE INDEX activities_customer_at ON activities (customer_id, at); CREATE INDEX activities_deal ON activities (deal_id);
CREATE INDEX orders_customer ON orders (customer_id); CREATE INDEX orders_deal ON orders (deal_id);
CREATE INDEX order_lines_product ON order_lines (product_id);
CREATE PUBLICATION walship FOR ALL TABLES; VACUUM ANALYZE; CHECKPOINT;
SQL
}

# A contact / deal id for new rows that skips the ids the day deletes (contacts = 1 mod 10,
# deals = 9 mod 10), so foreign keys always hold.
day_pick() { echo "((1 + ($1) % $2) + ((1 + ($1) % $2) % 10 = $3)::int)"; }

# day_units FROM TO AFTER_ALTER DUPLICATES: one DO block of units FROM..TO, each unit ~16 small
# transactions (COMMIT inside the block) over every table.
day_units() {
  local from=$1 to=$2 alter=$3 dups=$4 pcol="" pval="" pset=""
  [[ $alter == 1 ]] && pcol=", probability" pval=", (0.15 * j)::numeric(5,2)" pset=", probability = ((i % 20) * 0.05)::numeric(5,2)"
  local contact deal; contact=$(day_pick "(i * 3 + j) * 7" nct 1) deal=$(day_pick "(i * 8 + k) * 11" nd 9)
  cat <<SQL
DO \$u\$
DECLARE
  i bigint := $from; c bigint; o bigint; t bigint; ts timestamptz; prev timestamptz; nc bigint := $B_CUST;
  nct bigint := $B_CONT; nd bigint := $B_DEAL; nt bigint := $B_TICK; np bigint := $B_PROD; nord bigint := $B_ORD;
BEGIN
  WHILE i <= $to LOOP
    ts := $day_start + (i * 43200.0 / $U) * interval '1 second';
    prev := $day_start + ((i - 1) * 43200.0 / $U) * interval '1 second';
    -- sign-up: a customer and two contacts
    INSERT INTO customers (name, email, phone, country, segment, tags, attrs, credit_limit, is_active, created_at)
    VALUES ('New customer ' || i, 'new' || i || '@example.net', CASE WHEN i % 3 = 0 THEN NULL ELSE '+49-30-' || i END,
      (ARRAY['US','DE','FR','GB'])[1 + i % 4], 'smb', ARRAY['new', 'q1'],
      jsonb_build_object('source', 'web', 'utm', jsonb_build_object('campaign', 'c' || (i % 30))), 1000.00, true, ts)
    RETURNING id INTO c;
    INSERT INTO contacts (customer_id, first_name, last_name, email, phone, title, scores, prefs, opted_in, created_at)
    SELECT c, 'First' || j, 'Last' || i, 'p' || i || '.' || j || '@example.net', NULL, CASE WHEN j = 1 THEN 'Owner' END,
      ARRAY[(i % 100)::int, j], jsonb_build_object('lang', 'en'), j = 1, ts FROM generate_series(1, 2) j;
    COMMIT;
    -- sales: three new deals and a stage change
    INSERT INTO deals (customer_id, owner, title, stage, amount, currency, tags, custom, expected_close, created_at, updated_at$pcol)
    SELECT 1 + ((i * 3 + j) * 7919) % nc, 'rep' || (i % 50), 'New deal ' || i || '/' || j, 'lead',
      (i % 1000) * 25.50 + j, 'EUR', ARRAY['inbound'], jsonb_build_object('source', 'day', 'items', jsonb_build_array(j, i % 7)),
      date '2025-06-30', ts, ts$pval FROM generate_series(1, 3) j;
    UPDATE deals SET stage = (enum_range(NULL::deal_stage))[1 + i % 6], updated_at = ts,
      closed_at = CASE WHEN i % 6 >= 4 THEN ts END$pset WHERE id = 1 + (i * 7919) % nd;
    COMMIT;
    -- profile edits
    UPDATE customers SET attrs = attrs || jsonb_build_object('last_seen', ts), updated_at = ts,
      tags = array_append(tags, 'seen') WHERE id = 1 + (i * 104729) % nc;
    IF i % 4 = 0 THEN UPDATE contacts SET phone = '+1-202-' || i, prefs = prefs || '{"newsletter": false}',
      opted_in = NOT coalesce(opted_in, false) WHERE id = 1 + (i * 31) % nct; END IF;
    COMMIT;
    -- activity log: two transactions of five
    FOR k IN 0..1 LOOP
      INSERT INTO activities (customer_id, contact_id, deal_id, kind, at, duration_s, subject, notes, payload, done)
      SELECT 1 + ((i * 10 + j) * 7) % nc, CASE WHEN j % 3 = 0 THEN NULL ELSE 1 + ((i * 10 + j) * 13) % nct END,
        CASE WHEN j % 2 = 0 THEN 1 + ((i * 10 + j) * 17) % nd END, (ARRAY['call','email','meeting','note','task'])[1 + j % 5],
        ts + j * interval '1 second', CASE WHEN j % 5 IN (0, 2) THEN 30 * j END, 'Day activity ' || i || '/' || j,
        CASE WHEN j % 4 = 0 THEN NULL ELSE 'spoke about renewal ' || i END, jsonb_build_object('via', 'app', 'j', j), false
      FROM generate_series(k * 5 + 1, k * 5 + 5) j;
      COMMIT;
    END LOOP;
    IF i % 20 = 0 THEN  -- a call of the unit before is done: one row of a table without a key
      UPDATE activities SET done = true, duration_s = 300
      WHERE ctid = (SELECT ctid FROM activities WHERE customer_id = 1 + (((i - 1) * 10 + 3) * 7) % nc
                    AND at = prev + interval '3 seconds' AND subject = 'Day activity ' || (i - 1) || '/3' LIMIT 1);
      COMMIT;
    END IF;
    IF $dups = 1 AND i % 100 = 50 THEN  -- a web form submitted twice (three times every 500 units)
      INSERT INTO activities (customer_id, kind, at, subject, notes, payload, done)
      SELECT 1 + i % nc, 'form', ts, 'web form submitted', 'double click', jsonb_build_object('form', 'demo'), false
      FROM generate_series(1, CASE WHEN i % 500 = 250 THEN 3 ELSE 2 END);
      COMMIT;
    END IF;
    -- support: two or three tickets with 6-8 kB bodies, a status change, every 4th unit a new body
    INSERT INTO tickets (customer_id, contact_id, subject, body, status, priority, labels, meta, created_at, updated_at)
    SELECT 1 + ((i * 3 + j) * 104729) % nc, CASE WHEN j = 1 THEN NULL ELSE $contact END, 'Day ticket ' || i || '/' || j,
      (SELECT string_agg(md5(i || '/' || j || ':0:' || g), '') FROM generate_series(1, 190 + (i + j) % 60) g),
      'new', (j % 4)::smallint, ARRAY['day', 'p' || j], jsonb_build_object('channel', 'chat', 'sla_h', 8), ts, ts
    FROM generate_series(1, 2 + (i % 2)::int) j;
    COMMIT;
    t := currval('tickets_id_seq');
    UPDATE tickets SET status = (ARRAY['open','pending','solved']::ticket_status[])[1 + i % 3], updated_at = ts,
      resolved_at = CASE WHEN i % 3 = 2 THEN ts END, labels = labels || 'triaged'::text
    WHERE id = CASE WHEN i % 3 = 0 THEN 1 + (i * 7919) % nt ELSE t - (i % 40) END;
    COMMIT;
    IF i % 4 = 0 THEN
      UPDATE tickets SET body = (SELECT string_agg(md5('reply ' || i || ':' || g), '') FROM generate_series(1, 200 + i % 50) g),
        updated_at = ts, status = 'open'
      WHERE id = CASE WHEN i % 8 = 0 THEN t - (i % 25) ELSE 1 + (i * 15485863) % nt END;
      COMMIT;
    END IF;
    -- orders: seven or eight, each with 1-6 lines, in its own transaction; a status change
    FOR k IN 1..(7 + i % 2)::int LOOP
      INSERT INTO orders (customer_id, deal_id, status, total, currency, ordered_at, shipping, notes)
      VALUES (1 + ((i * 8 + k) * 7919) % nc, CASE WHEN k = 1 THEN $deal END, 'new', ((i * 8 + k) % 900) * 9.99, 'USD',
        ts + k * interval '1 second', jsonb_build_object('carrier', 'ups', 'address', jsonb_build_object('city',
        'City ' || (i % 300), 'lines', jsonb_build_array('Street ' || k, NULL))), CASE WHEN k = 3 THEN 'call before delivery' END)
      RETURNING id INTO o;
      INSERT INTO order_lines (order_id, line_no, product_id, qty, unit_price, discount)
      SELECT o, l, 1 + (o * 7 + l) % np, 1 + (o + l) % 5, 5 + ((o + l) % 500) * 3.99, CASE WHEN l = 2 THEN 5.00 ELSE 0 END
      FROM generate_series(1, 1 + (o % 6)::int) l;
      COMMIT;
    END LOOP;
    IF i % 2 = 1 THEN
      UPDATE orders SET status = 'paid', notes = coalesce(notes, '') || ' paid ' || i
      WHERE id = CASE WHEN i % 4 = 1 THEN 1 + (i * 7919) % nord ELSE o - (i % 30) END;
      COMMIT;
    END IF;
    -- deletions: a cancelled order (its lines cascade), a removed line, a contact, a deal, a spam ticket
    IF i % 4 = 1 THEN DELETE FROM orders WHERE id = 10 * (i / 4) + 7; COMMIT; END IF;
    IF i % 4 = 3 THEN DELETE FROM order_lines WHERE order_id = 10 * (i / 4) + 3 AND line_no = 1; COMMIT; END IF;
    IF i % 5 = 2 THEN DELETE FROM contacts WHERE id = 10 * (i / 5) + 1; COMMIT; END IF;
    IF i % 5 = 3 THEN DELETE FROM deals WHERE id = 10 * (i / 5) + 9; COMMIT; END IF;
    IF i % 10 = 4 THEN DELETE FROM tickets WHERE id = 10 * ((i / 10) % (nt / 10 + 1)) + 5; COMMIT; END IF;
    i := i + 1;
  END LOOP;
END
\$u\$;
SQL
}

# Batch jobs of BATCH rows, one transaction each. N numbers the job (its own rows).
day_email_sync() {  # activities imported from a mailbox
  echo "INSERT INTO activities (customer_id, contact_id, kind, at, subject, payload, done)
    SELECT 1 + (g * 7 + $1) % $B_CUST, 1 + (g * 11 + $1) % $B_CONT, 'email', $day_start + g * interval '10 ms' + interval '$1 hours',
      'Synced mail $1/' || g, jsonb_build_object('thread', 'T$1-' || (g / 5), 'attachments', g % 3), true
    FROM generate_series(1, $BATCH) g;"
}
day_pipeline_review() {  # N AFTER_ALTER
  local pset="" lo=$((B_DEAL / 2 + ($1 - 1) * BATCH))
  [[ $2 == 1 ]] && pset=", probability = least(0.95, coalesce(probability, 0) + 0.2)"
  echo "UPDATE deals SET stage = CASE WHEN stage = 'lead' THEN 'qualified' ELSE stage END,
    updated_at = $day_start + interval '$1 hours'$pset WHERE id BETWEEN $lo AND $((lo + BATCH - 1));"
}
day_edi_import() {  # order lines line_no 10+N added to a fixed range of orders
  local lo=$((B_ORD / 2 + 1))
  echo "INSERT INTO order_lines SELECT o, 10 + $1, 1 + (o * 3 + $1) % $B_PROD, 1 + o % 9, 12.50, 0
    FROM generate_series($lo, $((lo + BATCH - 1))) o;"
}
day_shipping_run() {  # N ROWS
  local lo=$((B_ORD * 6 / 10 + ($1 - 1) * BATCH))
  echo "UPDATE orders SET status = 'shipped', shipped_at = $day_start + interval '$1 hours',
    shipping = shipping || jsonb_build_object('tracking', 'TRK' || id) WHERE id BETWEEN $lo AND $((lo + $2 - 1));"
}

# day_phase NAME: runs that part of the day (one psql session each); prints its time.
day_phase() {
  local conn=$1 name=$2 t0 a=$((U * 4 / 10)) b=$((U * 6 / 10)) half=$((BATCH / 2))
  t0=$(now_s)
  {
    echo "SET synchronous_commit = off;"
    case $name in
      A) day_units 1 $((a / 2)) 0 0; day_email_sync 1; day_edi_import 1; day_pipeline_review 1 0
         echo "UPDATE exchange_rates SET rate = rate * 1.001, source = 'ecb-fix' WHERE day = date '2025-03-02';"
         day_units $((a / 2 + 1)) "$a" 0 0; day_email_sync 2; day_edi_import 2 ;;
      DDL) echo "ALTER TABLE deals ADD COLUMN probability numeric(5,2) DEFAULT 0.1;"
           echo "CREATE INDEX deals_probability ON deals (probability) WHERE probability > 0.5;" ;;
      B) day_units $((a + 1)) "$b" 1 0; day_shipping_run 1 "$BATCH"; day_edi_import 3; day_email_sync 3 ;;
      TRUNCATE) echo "TRUNCATE exchange_rates;"
        echo "INSERT INTO exchange_rates SELECT c, date '2025-03-03', 0.6 + (ascii(c) % 5) * 0.21, 'ecb-reload'
          FROM unnest(ARRAY['EUR','GBP','JPY','CHF','CAD','AUD','SEK','NOK','DKK','PLN']) c;" ;;
      C) day_units $((b + 1)) $(((b + U) / 2)) 1 1; day_pipeline_review 2 1; day_edi_import 4
         echo "INSERT INTO products (sku, name, price, categories, specs) SELECT 'NEW-' || g, 'New product ' || g,
           19.99 + g, ARRAY['new'], jsonb_build_object('launch', true) FROM generate_series(1, $((B_PROD / 10))) g;"
         day_units $(((b + U) / 2 + 1)) "$U" 1 1; day_edi_import 5; day_shipping_run 2 "$half"
         day_email_sync 4; day_email_sync 5 ;;
      EOD) cat <<SQL
UPDATE products SET price = round(price * 1.05, 2), updated_at = $day_start + interval '12 hours';
UPDATE activities SET done = true, notes = coalesce(notes, '') || ' [closed]' WHERE ctid IN (SELECT ctid FROM activities
  WHERE at >= $day_start AND kind = 'task' AND NOT done ORDER BY at LIMIT $A_UPD_TODAY);
UPDATE activities SET payload = payload || '{"reviewed": true}' WHERE at >= timestamptz '2022-01-01+00'
  + $((B_ACT / 2)) * interval '2 minutes' AND at < timestamptz '2022-01-01+00' + $((B_ACT / 2 + A_UPD_BASE)) * interval '2 minutes';
DELETE FROM activities WHERE at < timestamptz '2022-01-01+00' + $A_PURGE * interval '2 minutes';
DELETE FROM activities WHERE ctid IN (SELECT ctid FROM activities WHERE at >= $day_start AND kind = 'note'
  ORDER BY at DESC LIMIT $A_DEL_TODAY);
DELETE FROM activities WHERE at >= timestamptz '2022-01-01+00' + $((B_ACT / 4)) * interval '2 minutes'
  AND at < timestamptz '2022-01-01+00' + $((B_ACT / 4 + A_DEL_BASE)) * interval '2 minutes';
-- clean-up: one copy of the first 50 base duplicates, the double-submitted forms; one of each triple done
DELETE FROM activities WHERE ctid IN (SELECT ctid FROM (SELECT ctid, row_number() OVER (PARTITION BY subject ORDER BY ctid) rn
  FROM activities WHERE subject IN (SELECT 'Activity ' || (d * ($B_ACT / 200)) FROM generate_series(101, 150) d)) s WHERE rn = 2);
DELETE FROM activities WHERE ctid IN (SELECT ctid FROM (SELECT ctid, count(*) OVER (PARTITION BY customer_id, at) n,
  row_number() OVER (PARTITION BY customer_id, at ORDER BY ctid) rn FROM activities WHERE kind = 'form') s WHERE n = 2 AND rn = 2);
UPDATE activities SET done = true WHERE ctid IN (SELECT ctid FROM (SELECT ctid, count(*) OVER (PARTITION BY customer_id, at) n,
  row_number() OVER (PARTITION BY customer_id, at ORDER BY ctid) rn FROM activities WHERE kind = 'form') s WHERE n = 3 AND rn = 1);
SQL
      ;;
    esac
  } | day_sql "$conn"
  echo "  day phase $name: $(elapsed "$t0" "$(now_s)") s"
}

day_workload() { local p; for p in A DDL B TRUNCATE C EOD; do day_phase "$1" "$p"; done; }
