-- tsvector/tsquery: weights, positions, quoted lexemes with quotes/backslashes/spaces, empty tsvector, phrase/prefix/negation queries, generated tsvector column with GIN index
-- @setup
CREATE SCHEMA tts;

CREATE TABLE tts.docs (
    id    int PRIMARY KEY,
    body  text,
    tv    tsvector,
    tq    tsquery,
    tv_en tsvector GENERATED ALWAYS AS (to_tsvector('english', coalesce(body, ''))) STORED
);
CREATE INDEX docs_tv_en_gin ON tts.docs USING gin (tv_en);
INSERT INTO tts.docs (id, body, tv, tq) VALUES
    (1, 'The fat cats ate the fat rats',  'a:1A fat:2B,4C cat:5D',                 'fat & (rat | cat)'),
    (2, 'quoted',                         $$'quoted lexeme':1 'it''s':2 'back\\slash':3$$, $$'it''s' & 'quoted lexeme'$$),
    (3, '',                               '',                                       'a'),
    (4, NULL,                             NULL,                                     NULL),
    (5, 'phrase search',                  'phrase:1,3,16383 search:2A,16384',      'phrase <-> search'),
    (6, 'distance',                       'a:1 b:5',                                'a <4> b'),
    (7, 'prefix',                         'supernova:1 super:2*',                   'super:* & !nova'),
    (8, 'weights',                        'w:1A,2B,3C,4D x y z',                    'w:AB | x:C & !(y | z:*D)'),
    (9, U&'unicode caf\00E9 \+01F600',    U&'caf\00E9:1 \+01F600:2 \00FCber:3',     U&'caf\00E9:* <-> \+01F600'),
    (10, 'specials',                      $$'a:b':1 '&':2 '|':3 '!':4 '(':5 ')':6 '<->':7 'x y':8$$, $$'&' | '<->' | 'x y'$$),
    (11, 'dup positions',                 'dup:3,1,2,1,3',                          '!!a'),
    (12, 'many',                          (SELECT string_agg('w' || g || ':' || g, ' ') FROM generate_series(1, 300) g)::tsvector, 'w1 <300> w300');

-- @step update_vectors
UPDATE tts.docs SET tv = setweight(tv, 'A') WHERE id IN (1, 5, 6);
UPDATE tts.docs SET tv = tv || $$'new lexeme':9B$$::tsvector WHERE id IN (2, 3);
UPDATE tts.docs SET tq = tq && 'extra:*' WHERE id IN (1, 7, 8);
UPDATE tts.docs SET tq = !! tq WHERE id = 6;
UPDATE tts.docs SET body = 'Completely rewritten body about running runners who ran', tv = strip(tv) WHERE id = 12;
UPDATE tts.docs SET tv = ts_delete(tv, 'fat') WHERE id = 1;
INSERT INTO tts.docs (id, body, tv, tq)
SELECT 100 + g, 'document number ' || g || ' mentions ' || (ARRAY['postgres', 'replication', 'logical', 'decoding'])[1 + g % 4],
       to_tsvector('simple', 'token' || g || ' shared words ' || repeat('x', g % 5)),
       plainto_tsquery('simple', 'token' || g) || phraseto_tsquery('simple', 'shared words')
FROM generate_series(1, 200) g;

-- @step delete_and_null
UPDATE tts.docs SET tv = NULL, tq = NULL WHERE id = 10;
UPDATE tts.docs SET body = NULL WHERE id = 9;
UPDATE tts.docs SET tv = '', tq = websearch_to_tsquery('english', '"quoted phrase" -excluded or alternative') WHERE id = 4;
DELETE FROM tts.docs WHERE id BETWEEN 150 AND 170 OR id = 11;
