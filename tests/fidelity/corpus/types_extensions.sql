-- extension types: citext (case-differing values, citext key updated to a case-variant of itself) and hstore installed in its own schema (NULL values, quotes, =>, empty keys, arrays)
-- @setup
CREATE EXTENSION citext;
CREATE SCHEMA ext;
CREATE EXTENSION hstore SCHEMA ext;
CREATE SCHEMA text_ext;

CREATE TABLE text_ext.users (
    email  citext PRIMARY KEY,
    nick   citext UNIQUE,
    tags   citext[],
    attrs  ext.hstore,
    hs     ext.hstore[]
);
INSERT INTO text_ext.users VALUES
    ('Alice@Example.com', 'Alice', '{Admin,ADMIN,admin}', 'a=>1, b=>NULL, "quo\"te"=>"x,y", ""=>"", "NULL"=>NULL', ARRAY['k=>v'::ext.hstore, ''::ext.hstore]),
    ('bob@example.com',   'BOB',   '{}',                  '',                                                     '{}'),
    ('Carol@EXAMPLE.COM', NULL,    NULL,                  NULL,                                                   NULL),
    (U&'\00C9lise@ex.com', U&'\00C9LISE', ARRAY[U&'\00E9', U&'\00C9'], '"key with => arrow"=>"value with => arrow", "back\\slash"=>"\\\\", "tab\tk"=>"nl\nv"', NULL),
    ('dup@ex.com',        'dup',   '{a}',                 'k=>first, k=>second, K=>upper',                       ARRAY[NULL::ext.hstore]),
    ('spaces@ex.com',     ' sp ',  '{" x "}',             '" spaced key "=>" spaced value ", unq=>unquoted',    NULL);

-- @step case_changes
UPDATE text_ext.users SET email = 'ALICE@EXAMPLE.COM' WHERE email = 'alice@example.com';
UPDATE text_ext.users SET nick = 'bob' WHERE email = 'BOB@EXAMPLE.COM';
UPDATE text_ext.users SET tags = tags || 'NEW'::citext WHERE nick = 'alice';
SET search_path = ext, public;
UPDATE text_ext.users SET attrs = attrs || 'c=>3, a=>NULL'::hstore WHERE nick = 'alice';
UPDATE text_ext.users SET attrs = delete(attrs, 'k') WHERE nick = 'dup';
UPDATE text_ext.users SET attrs = hstore(ARRAY['x', 'y'], ARRAY[NULL, '"']) WHERE email = 'bob@example.com';
UPDATE text_ext.users SET hs = ARRAY[attrs, slice(attrs, ARRAY['a'])] WHERE nick = 'alice';
INSERT INTO text_ext.users (email, nick, attrs)
SELECT 'User' || g || '@Example.COM', 'Nick' || g, hstore('n', g::text) || hstore('case', CASE WHEN g % 2 = 0 THEN 'UPPER' ELSE 'lower' END)
FROM generate_series(1, 150) g;

-- @step delete_reinsert_case
DELETE FROM text_ext.users WHERE email = 'CAROL@example.com';
INSERT INTO text_ext.users (email, nick) VALUES ('carol@example.com', 'carol lower');
DELETE FROM text_ext.users WHERE email LIKE 'user1%@example.com';
UPDATE text_ext.users SET email = lower(email::text) WHERE nick IN ('Nick2', 'NICK3');
UPDATE text_ext.users SET attrs = NULL WHERE nick = ' SP ';
