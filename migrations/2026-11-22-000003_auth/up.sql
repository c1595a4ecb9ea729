CREATE TYPE token_kind AS ENUM ('email_verification', 'password_reset', 'magic_link');

-- OAuth identities and the credential (password) account of a user.
CREATE TABLE accounts (
    id                  uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id             uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider            text        NOT NULL,
    provider_account_id text        NOT NULL,
    -- Only credential accounts carry a password hash (PHC string, never plaintext).
    password_hash       text,
    access_token        text,
    refresh_token       text,
    id_token            text,
    token_type          text,
    expires_at          timestamptz,
    scope               text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT accounts_provider_account_key UNIQUE (provider, provider_account_id),
    CONSTRAINT accounts_provider_format CHECK (provider ~ '^[a-z0-9_-]{1,50}$'),
    CONSTRAINT accounts_provider_account_id_length CHECK (length(provider_account_id) BETWEEN 1 AND 255),
    CONSTRAINT accounts_password_only_credential CHECK (password_hash IS NULL OR provider = 'credential'),
    CONSTRAINT accounts_scope_length CHECK (length(scope) <= 2000)
);
CREATE INDEX accounts_user_id_idx ON accounts (user_id);

CREATE TRIGGER accounts_set_updated_at BEFORE UPDATE ON accounts
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Sessions store SHA-256 of a 256-bit random token; the token itself is
-- handed to the client once and never stored.
CREATE TABLE sessions (
    id           uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id      uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash   bytea       NOT NULL,
    expires_at   timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    ip_address   inet,
    user_agent   text,
    revoked_at   timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT sessions_token_hash_key UNIQUE (token_hash),
    CONSTRAINT sessions_token_hash_sha256 CHECK (length(token_hash) = 32),
    CONSTRAINT sessions_user_agent_length CHECK (length(user_agent) <= 1024),
    CONSTRAINT sessions_expiry_after_creation CHECK (expires_at > created_at)
);
CREATE INDEX sessions_user_created_idx ON sessions (user_id, created_at);
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);

CREATE TABLE verification_tokens (
    id         uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    kind       token_kind  NOT NULL,
    email      text        NOT NULL,
    user_id    uuid        REFERENCES users (id) ON DELETE CASCADE,
    token_hash bytea       NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT verification_tokens_token_hash_key UNIQUE (token_hash),
    CONSTRAINT verification_tokens_token_hash_sha256 CHECK (length(token_hash) = 32),
    CONSTRAINT verification_tokens_email_format CHECK (
        email = lower(email) AND length(email) <= 254 AND email ~ '^[^@\s]+@[^@\s]+$'
    )
);
CREATE INDEX verification_tokens_user_kind_idx ON verification_tokens (user_id, kind);
-- recent_count(email, kind, window) for throttling.
CREATE INDEX verification_tokens_email_kind_created_idx ON verification_tokens (email, kind, created_at);
CREATE INDEX verification_tokens_expires_at_idx ON verification_tokens (expires_at);
