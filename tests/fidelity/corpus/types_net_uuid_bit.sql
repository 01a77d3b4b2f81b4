-- uuid (non-canonical input forms, nil/max), inet/cidr v4+v6 with masks, macaddr/macaddr8 input forms, bit(n)/varbit incl. empty varbit, with uuid/inet/bit keys
-- @setup
CREATE SCHEMA tnet;

CREATE TABLE tnet.addrs (
    id    int PRIMARY KEY,
    u     uuid,
    ip    inet,
    net   cidr,
    mac   macaddr,
    mac8  macaddr8,
    ips   inet[]
);
INSERT INTO tnet.addrs VALUES
    (1, '00000000-0000-0000-0000-000000000000', '0.0.0.0',          '0.0.0.0/0',        '00:00:00:00:00:00', '00:00:00:00:00:00:00:00', '{}'),
    (2, 'ffffffff-ffff-ffff-ffff-ffffffffffff', '255.255.255.255',  '255.255.255.255/32','ff:ff:ff:ff:ff:ff', 'ff:ff:ff:ff:ff:ff:ff:ff', '{255.255.255.255/0}'),
    (3, '{A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11}', '192.168.1.5/24', '192.168.0.0/16', '08-00-2B-01-02-03', '08:00:2b:01:02:03', '{192.168.1.5/24,10.0.0.1}'),
    (4, 'a0eebc999c0b4ef8bb6d6bb9bd380a12',     '::1',              '::/0',             '0800.2b01.0204',    '0800.2b01.0203.0405',     '{::1,::}'),
    (5, 'A0EE-BC99-9C0B-4EF8-BB6D-6BB9-BD38-0A13', '2001:db8::1/64', '2001:db8::/32',  '0800-2b01-0205',    '08-00-2b-01-02-03-04-05', '{2001:db8::1/128}'),
    (6, 'a0eebc99-9c0b4ef8-bb6d6bb9-bd380a14',  '::ffff:1.2.3.4',   '::ffff:1.2.3.0/120','08002b:010206',    '08002b01:02030406',       '{::ffff:1.2.3.4/96}'),
    (7, NULL,                                   '10.1.2.3/8',       '10/8',             '08002b010207',      '08002b0102030407',        '{NULL,10.0.0.0/8}'),
    (8, 'de305d54-75b4-431b-adb2-eb6b9e546014', 'fe80::1/10',      '2001:db8:0:0:0:0:0:0/128','08:00:2b:01:02:08','08:00:2b:ff:fe:01:02:08', NULL),
    (9, 'de305d54-75b4-431b-adb2-eb6b9e546015', '1.2.3.4/32',       '192.168/24',       NULL,                NULL,                      '{1.2.3.4/32,1.2.3.4/31}');

CREATE TABLE tnet.bits (
    id  int PRIMARY KEY,
    b1  bit(1),
    b8  bit(8),
    vb  bit varying,
    vb5 varbit(5),
    vba varbit[]
);
INSERT INTO tnet.bits VALUES
    (1, B'0', B'00000000', B'',          B'',      '{""}'),
    (2, B'1', B'11111111', B'1',         B'11111', ARRAY[B'', B'1', B'0']),
    (3, '1',  X'A5',       X'DEADBEEF',  B'101',   NULL),
    (4, NULL, '10101010',  repeat('10', 500)::varbit, '0', '{NULL,1,01}'),
    (5, B'0', B'00000001', B'0000000000000000000000000000000000000000000000000000000000000000000000001', B'00000', '{}');

-- keys of these types
CREATE TABLE tnet.uuidkey (k uuid PRIMARY KEY, v int);
INSERT INTO tnet.uuidkey SELECT ('00000000-0000-0000-0000-' || lpad(to_hex(g), 12, '0'))::uuid, g FROM generate_series(1, 50) g;
CREATE TABLE tnet.inetkey (k inet PRIMARY KEY, v text);
INSERT INTO tnet.inetkey VALUES ('10.0.0.1/8', 'a'), ('10.0.0.1/32', 'b'), ('10.0.0.2', 'c'), ('::1/128', 'd'), ('::1/64', 'e');
CREATE TABLE tnet.bitkey (k varbit PRIMARY KEY, v int);
INSERT INTO tnet.bitkey VALUES (B'', 0), (B'0', 1), (B'00', 2), (B'1', 3), (B'10', 4);

-- @step modify
UPDATE tnet.addrs SET ip = set_masklen(ip, 16), net = set_masklen(net, 12) WHERE id IN (3, 7);
UPDATE tnet.addrs SET ip = ip - 1 WHERE id = 2;
UPDATE tnet.addrs SET ip = ip - 1, mac = trunc(mac), mac8 = macaddr8_set7bit(mac8) WHERE id IN (3, 5, 6);
UPDATE tnet.addrs SET u = 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a99', ips = ips || '::ffff:0.0.0.1'::inet WHERE id = 7;
UPDATE tnet.bits SET vb = vb || B'0', b8 = ~b8, vb5 = substring(vb5 || B'11111' FROM 1 FOR 5) WHERE id IN (1, 2, 3);
UPDATE tnet.bits SET vb = B'' WHERE id = 4;
UPDATE tnet.uuidkey SET k = ('ffffffff-0000-0000-0000-' || lpad(to_hex(v), 12, '0'))::uuid WHERE v % 5 = 0;
UPDATE tnet.inetkey SET k = '10.0.0.1/16' WHERE k = '10.0.0.1/8';
UPDATE tnet.bitkey SET k = B'000' WHERE k = B'00';

-- @step bulk_and_delete
INSERT INTO tnet.addrs
SELECT 100 + g,
       ('00000000-0000-4000-8000-' || lpad(to_hex(g * 7919), 12, '0'))::uuid,
       ('10.' || g || '.' || (g * 3 % 256) || '.' || (g * 7 % 256) || '/' || (8 + g % 25))::inet,
       set_masklen(('172.16.' || g || '.0')::cidr, 24),
       ('08:00:2b:00:00:' || lpad(to_hex(g), 2, '0'))::macaddr,
       ('08:00:2b:00:00:00:00:' || lpad(to_hex(g), 2, '0'))::macaddr8,
       ARRAY[('2001:db8::' || to_hex(g))::inet, ('fe80::' || to_hex(g) || '/10')::inet]
FROM generate_series(1, 200) g;
DELETE FROM tnet.addrs WHERE id IN (1, 8) OR id BETWEEN 180 AND 199;
DELETE FROM tnet.uuidkey WHERE v BETWEEN 20 AND 30;
INSERT INTO tnet.inetkey VALUES ('10.0.0.1/8', 'a again'), ('0.0.0.0/0', 'any');
DELETE FROM tnet.bitkey WHERE k = B'';
INSERT INTO tnet.bitkey VALUES (B'', 100), (B'0000000000000000000000000000000000000000000000000000000000000000000000000000', 101);
