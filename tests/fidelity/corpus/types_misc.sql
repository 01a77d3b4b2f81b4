-- xml (documents and content fragments with whitespace, entities, CDATA, DOCTYPE), oid, pg_lsn, boolean, xid8, pg_snapshot, tid, cid-free misc scalar types
-- @setup
CREATE SCHEMA tmisc;

CREATE TABLE tmisc.xmls (
    id  int PRIMARY KEY,
    x   xml,
    xa  xml[]
);
INSERT INTO tmisc.xmls VALUES
    (1, XMLPARSE(DOCUMENT E'<?xml version="1.0"?><doc a="1" b=\'2\'>  <x>&amp;&lt;&gt;&quot;&apos;</x>\n</doc>'), NULL),
    (2, XMLPARSE(CONTENT 'text before <b>bold</b> text after  '), NULL),
    (3, '<a><![CDATA[ <not> & markup ]]></a><!-- a comment --><?pi target?>', NULL),
    (4, '<!DOCTYPE note><note>doctype</note>', NULL),
    (5, '', ARRAY[''::xml]),
    (6, NULL, ARRAY[NULL::xml, '<e/>'::xml]),
    (7, E'  \n\t<ws>   </ws>\n  ', NULL),
    (8, ('<u>&#x1F600; &#233; ' || U&'\00E9 \+01F600' || '</u>')::xml, ARRAY['<a x="1,2"/>'::xml, '<b>"q"</b>'::xml]),
    (9, '<ns:root xmlns:ns="urn:example" ns:attr="v"><ns:child/></ns:root>', NULL),
    (10, 'just text, no tags \ backslash', NULL),
    (11, xmlelement(name "item", xmlattributes(42 AS id, 'x&y' AS "name"), xmlelement(name sub, 'content <escaped>')), NULL),
    (12, xmlconcat('<a/>', '<b/>', NULL, 'tail'), NULL);

CREATE TABLE tmisc.scalars (
    id    int PRIMARY KEY,
    o     oid,
    lsn   pg_lsn,
    b     boolean,
    x8    xid8,
    snap  pg_snapshot,
    tv    tid,
    ch    "char",
    ba    boolean[]
);
INSERT INTO tmisc.scalars VALUES
    (1, 0,           '0/0',                 true,  '0',                    '10:20:10,14,15', '(0,0)',            'a', '{t,f,NULL}'),
    (2, 4294967295,  'FFFFFFFF/FFFFFFFF',   false, '18446744073709551615', '1:1:',          '(4294967295,65535)','z', '{}'),
    (3, 1,           '16/B374D848',         NULL,  '42',                   '100:200:',       '(1,1)',            NULL, NULL),
    (4, NULL,        NULL,                  't',   NULL,                   NULL,             NULL,               '', '{true,yes,on,1}'),
    (5, '00012345',  '0/1',                 'off', '9223372036854775808',  '5:5:',           '(12,34)',          '!', '{false,no,off,0}');

-- boolean and oid keys
CREATE TABLE tmisc.boolkey (k boolean PRIMARY KEY DEFERRABLE, v text);
ALTER TABLE tmisc.boolkey REPLICA IDENTITY FULL;  -- a deferrable primary key cannot serve as replica identity
INSERT INTO tmisc.boolkey VALUES (true, 'yes'), (false, 'no');
CREATE TABLE tmisc.lsnkey (k pg_lsn PRIMARY KEY, o oid NOT NULL UNIQUE);
INSERT INTO tmisc.lsnkey VALUES ('0/0', 0), ('0/10', 16), ('FFFFFFFF/FFFFFFFF', 4294967295);

-- @step modify
UPDATE tmisc.xmls SET x = xmlconcat(x, '<appended attr="&quot;"/>') WHERE id IN (2, 3, 7);
UPDATE tmisc.xmls SET xa = ARRAY[x, x] WHERE id IN (1, 9);
UPDATE tmisc.xmls SET x = NULL WHERE id = 5;
UPDATE tmisc.xmls SET x = '' WHERE id = 6;
UPDATE tmisc.scalars SET lsn = lsn - 1, o = (o::int8 - 1)::oid, b = NOT b, x8 = '1' WHERE id IN (2, 3);
UPDATE tmisc.scalars SET lsn = lsn + 16, snap = '10:30:10,11,12,29' WHERE id = 1;
UPDATE tmisc.boolkey SET k = NOT k;
UPDATE tmisc.lsnkey SET k = k + 1, o = (o::int8 + 1)::oid WHERE k = '0/10';
INSERT INTO tmisc.xmls
SELECT 100 + g, xmlelement(name row, xmlattributes(g AS n), xmlforest(g * 2 AS dbl, 'v' || g AS "text-value", NULL AS missing)), NULL
FROM generate_series(1, 100) g;

-- @step delete_reinsert
DELETE FROM tmisc.boolkey WHERE k;
INSERT INTO tmisc.boolkey VALUES ('yes', 'reinserted');
DELETE FROM tmisc.xmls WHERE id IN (4, 10) OR id BETWEEN 150 AND 160;
INSERT INTO tmisc.xmls VALUES (4, '<!DOCTYPE x [ <!ENTITY e "entity value"> ]><x>&e;</x>', NULL);
DELETE FROM tmisc.lsnkey WHERE o = 0;
INSERT INTO tmisc.scalars VALUES (6, 4294967294, 'ABCDEF01/23456789', true, '2', '3:7:3,4,5,6', '(7,8)', E'\\', '{t}');
