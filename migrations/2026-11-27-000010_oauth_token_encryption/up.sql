-- OAuth provider tokens are stored encrypted (XChaCha20-Poly1305 under a key
-- the host application holds; see saas_db::auth::Keyring), never as text.
--
-- Existing plaintext tokens cannot be encrypted here (the database never
-- sees the key), so they are discarded: the column changes type with
-- `USING NULL`, which rewrites the table, so the plaintext also leaves the
-- table's files (it stays in WAL and in backups taken before). Users whose
-- tokens were dropped link their provider again, or the app obtains fresh
-- tokens on their next sign-in. The column keeps its position, renamed to
-- say what it holds.
ALTER TABLE accounts
    ALTER COLUMN access_token TYPE bytea USING NULL,
    ALTER COLUMN refresh_token TYPE bytea USING NULL,
    ALTER COLUMN id_token TYPE bytea USING NULL;
ALTER TABLE accounts RENAME COLUMN access_token TO access_token_enc;
ALTER TABLE accounts RENAME COLUMN refresh_token TO refresh_token_enc;
ALTER TABLE accounts RENAME COLUMN id_token TO id_token_enc;

-- What a sealed value looks like: format byte 1, a 2-byte key id, a 24-byte
-- nonce and at least the 16-byte tag. Text written by another client lands
-- here only if it looks like that, and then fails to decrypt.
ALTER TABLE accounts
    ADD CONSTRAINT accounts_access_token_sealed CHECK (
        octet_length(access_token_enc) >= 43
        AND substring(access_token_enc FROM 1 FOR 1) = '\x01'::bytea),
    ADD CONSTRAINT accounts_refresh_token_sealed CHECK (
        octet_length(refresh_token_enc) >= 43
        AND substring(refresh_token_enc FROM 1 FOR 1) = '\x01'::bytea),
    ADD CONSTRAINT accounts_id_token_sealed CHECK (
        octet_length(id_token_enc) >= 43
        AND substring(id_token_enc FROM 1 FOR 1) = '\x01'::bytea);
