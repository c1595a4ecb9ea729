-- Back to text columns. The ciphertexts cannot be decrypted in SQL and are
-- never turned back into plaintext: the tokens are discarded.
ALTER TABLE accounts
    DROP CONSTRAINT accounts_access_token_sealed,
    DROP CONSTRAINT accounts_refresh_token_sealed,
    DROP CONSTRAINT accounts_id_token_sealed;
ALTER TABLE accounts RENAME COLUMN access_token_enc TO access_token;
ALTER TABLE accounts RENAME COLUMN refresh_token_enc TO refresh_token;
ALTER TABLE accounts RENAME COLUMN id_token_enc TO id_token;
ALTER TABLE accounts
    ALTER COLUMN access_token TYPE text USING NULL,
    ALTER COLUMN refresh_token TYPE text USING NULL,
    ALTER COLUMN id_token TYPE text USING NULL;
