// The CRM schema and workload used by the integration tests.
#include "tests/integration/crm_workload.h"

namespace walship::testing {

const char* CrmSchemaSql() {
  return R"sql(
CREATE TYPE deal_stage AS ENUM ('lead', 'qualified', 'won', 'lost');
CREATE TABLE customers (
  id bigserial PRIMARY KEY,
  name text NOT NULL,
  email text,
  tier char(4),
  credit numeric(14,2),
  score real,
  ratio double precision,
  signed_up date,
  created_at timestamptz,
  tags text[],
  meta jsonb,
  notes text,
  avatar bytea,
  ext_id uuid,
  last_ip inet,
  flags bit(8),
  mask varbit(16)
);
CREATE TABLE deals (
  id bigserial PRIMARY KEY,
  customer_id bigint,
  stage deal_stage,
  amount numeric,
  closes_at timestamptz,
  call_window timetz,
  duration interval,
  payload json,
  scores int[]
);
CREATE TABLE deal_contacts (
  deal_id bigint,
  contact_no int,
  role text,
  PRIMARY KEY (deal_id, contact_no)
);
CREATE TABLE activity_log (at timestamptz, actor text, action text, detail jsonb);
ALTER TABLE activity_log REPLICA IDENTITY FULL;
)sql";
}

std::vector<WorkloadStep> CrmWorkload() {
  return {
      {"seed customers", R"sql(
INSERT INTO customers (name, email, tier, credit, score, ratio, signed_up, created_at, tags,
                       meta, notes, avatar, ext_id, last_ip, flags, mask)
SELECT 'Customer ' || g,
       CASE WHEN g % 7 = 0 THEN NULL WHEN g % 11 = 0 THEN '' ELSE 'c' || g || '@example.com' END,
       CASE WHEN g % 3 = 0 THEN 'gold' ELSE 'std' END,
       (g * 1234.5)::numeric(14,2),
       (g / 3.0)::real,
       CASE WHEN g = 1 THEN 'NaN'::float8 WHEN g = 2 THEN '-0'::float8 WHEN g = 3 THEN 1e-300
            WHEN g = 4 THEN 'Infinity' ELSE g * 0.1 END,
       DATE '2020-01-01' + g,
       CASE WHEN g = 5 THEN 'infinity'::timestamptz
            ELSE TIMESTAMPTZ '2024-02-29 23:59:59.123456+05:30' + g * INTERVAL '1 hour' END,
       ARRAY['vip', NULL, 'quote"s', 'back\slash', 'a,b'],
       jsonb_build_object('n', g, 'nested', jsonb_build_object('ok', g % 2 = 0), 'u', 'ünï©ødé'),
       CASE WHEN g % 10 = 0 THEN (SELECT string_agg(md5((g * 10000 + i)::text), '')
                                  FROM generate_series(1, 3000) i)
            ELSE E'line1\nline2\ttab ''quoted''' END,
       decode(md5(g::text), 'hex'),
       md5(g::text)::uuid,
       ('10.0.' || (g % 256) || '.1/24')::inet,
       (g % 256)::bit(8),
       B'1011'
FROM generate_series(1, 120) g;
INSERT INTO deals (customer_id, stage, amount, closes_at, call_window, duration, payload, scores)
SELECT g % 120 + 1, (ARRAY['lead','qualified','won','lost'])[g % 4 + 1]::deal_stage,
       CASE WHEN g = 1 THEN 'NaN'::numeric WHEN g = 2 THEN 1.000 ELSE g * 99.990 END,
       TIMESTAMPTZ '2025-06-01 12:00:00+00' + g * INTERVAL '1 day',
       TIMETZ '09:30:00+02',
       make_interval(days => g, hours => g % 24, secs => g * 1.5),
       json_build_object('k', g, 'spaces', '  keep  '),
       ARRAY[g, NULL, -g]
FROM generate_series(1, 300) g;
INSERT INTO deal_contacts SELECT d, c, 'role ' || c FROM generate_series(1, 50) d, generate_series(1, 3) c;
INSERT INTO activity_log VALUES
  ('2025-01-01 00:00:00+00', 'dup', 'login', '{"a": 1}'),
  ('2025-01-01 00:00:00+00', 'dup', 'login', '{"a": 1}'),
  ('2025-01-02 00:00:00+00', 'ann', 'call', NULL),
  ('2025-01-03 00:00:00+00', NULL, '', '[]');
)sql"},
      {"updates", R"sql(
BEGIN;
UPDATE customers SET credit = credit + 0.01, score = score * 2 WHERE id % 5 = 0;
UPDATE customers SET email = NULL WHERE id = 1;
UPDATE customers SET tier = 'plat' WHERE id % 10 = 0;
UPDATE deals SET id = id + 100000 WHERE id = 7;
UPDATE deal_contacts SET role = 'owner' WHERE contact_no = 1;
UPDATE activity_log SET action = 'logout' WHERE actor = 'ann';
COMMIT;
)sql"},
      {"deletes", R"sql(
BEGIN;
DELETE FROM customers WHERE id IN (3, 4, 50);
DELETE FROM deals WHERE id BETWEEN 20 AND 29;
DELETE FROM activity_log WHERE ctid = (SELECT ctid FROM activity_log WHERE actor = 'dup' LIMIT 1);
DELETE FROM deal_contacts WHERE deal_id = 2 AND contact_no = 3;
COMMIT;
)sql"},
      {"large transaction with a rolled-back savepoint", R"sql(
BEGIN;
INSERT INTO deals (customer_id, stage, amount, payload)
SELECT g % 100 + 1, 'lead', g, json_build_object('bulk', g) FROM generate_series(1, 6000) g;
SAVEPOINT s1;
INSERT INTO deals (customer_id, stage, amount) SELECT 1, 'lost', g FROM generate_series(1, 3000) g;
UPDATE customers SET name = 'never' WHERE id < 100;
ROLLBACK TO SAVEPOINT s1;
UPDATE deals SET stage = 'won' WHERE payload->>'bulk' LIKE '%000';
COMMIT;
)sql"},
      {"truncate and refill", R"sql(
TRUNCATE deal_contacts;
INSERT INTO deal_contacts SELECT d, 1, 'refill' FROM generate_series(1, 20) d;
)sql"},
      {"column added mid-stream", R"sql(
BEGIN;
ALTER TABLE customers ADD COLUMN region text;
UPDATE customers SET region = CASE WHEN id % 2 = 0 THEN 'emea' ELSE NULL END;
COMMIT;
)sql"},
      {"more changes and a mark", R"sql(
BEGIN;
INSERT INTO customers (name, region, meta) VALUES ('Late Corp', 'apac', '{"late": true}');
UPDATE customers SET name = name || ' (renamed)' WHERE id = 10;
SELECT pg_logical_emit_message(true, 'walship', 'mark:after-late-corp');
COMMIT;
)sql"},
  };
}

}  // namespace walship::testing
