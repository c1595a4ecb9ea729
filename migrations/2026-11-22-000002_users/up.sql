CREATE TYPE user_role AS ENUM ('admin', 'user');
CREATE TYPE theme AS ENUM ('light', 'dark', 'system');

CREATE TABLE users (
    id                  uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    email               text        NOT NULL,
    name                text        NOT NULL,
    username            text,
    avatar_url          text,
    role                user_role   NOT NULL DEFAULT 'user',
    email_verified_at   timestamptz,
    is_active           boolean     NOT NULL DEFAULT true,
    banned_at           timestamptz,
    ban_reason          text,
    ban_expires_at      timestamptz,
    locale              text        NOT NULL DEFAULT 'en',
    timezone            text        NOT NULL DEFAULT 'UTC',
    onboarding_complete boolean     NOT NULL DEFAULT false,
    last_login_at       timestamptz,
    deleted_at          timestamptz,
    version             integer     NOT NULL DEFAULT 1,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_email_key UNIQUE (email),
    -- Emails are stored normalised (lower case), so equality is case-insensitive.
    CONSTRAINT users_email_format CHECK (
        email = lower(email)
        AND length(email) <= 254
        AND email ~ '^[^@\s]+@[^@\s]+$'
    ),
    CONSTRAINT users_name_length CHECK (length(name) BETWEEN 1 AND 200),
    CONSTRAINT users_username_format CHECK (username ~ '^[A-Za-z0-9_.-]{3,40}$'),
    CONSTRAINT users_avatar_url_length CHECK (length(avatar_url) <= 2048),
    CONSTRAINT users_ban_reason_length CHECK (length(ban_reason) <= 1000),
    -- A ban reason or expiry without a ban is a half-written ban.
    CONSTRAINT users_ban_consistent CHECK (
        banned_at IS NOT NULL OR (ban_reason IS NULL AND ban_expires_at IS NULL)
    ),
    CONSTRAINT users_locale_format CHECK (locale ~ '^[A-Za-z]{2,3}([_-][A-Za-z0-9]{2,8})*$'),
    CONSTRAINT users_timezone_length CHECK (length(timezone) BETWEEN 1 AND 64),
    CONSTRAINT users_version_positive CHECK (version >= 1)
);

-- Usernames are unique regardless of case, but keep the case the user chose.
CREATE UNIQUE INDEX users_username_lower_key ON users (lower(username));
-- Keyset listing of live users by (created_at, id), the default order.
CREATE INDEX users_live_created_idx ON users (created_at, id) WHERE deleted_at IS NULL;
-- list_by_role pages by (created_at, id) within a role.
CREATE INDEX users_role_created_idx ON users (role, created_at, id) WHERE deleted_at IS NULL;
-- Reminder jobs look for unverified accounts; admins are a tiny subset.
CREATE INDEX users_unverified_idx ON users (created_at) WHERE email_verified_at IS NULL;
CREATE INDEX users_admins_idx ON users (id) WHERE role = 'admin';

CREATE TRIGGER users_set_updated_at BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE user_profiles (
    user_id             uuid        PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    bio                 text,
    website             text,
    location            text,
    theme               theme       NOT NULL DEFAULT 'system',
    language            text        NOT NULL DEFAULT 'en',
    email_notifications boolean     NOT NULL DEFAULT true,
    marketing_emails    boolean     NOT NULL DEFAULT false,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT user_profiles_bio_length CHECK (length(bio) <= 2000),
    CONSTRAINT user_profiles_website_format CHECK (
        length(website) <= 2048 AND website ~ '^https?://[^\s]+$'
    ),
    CONSTRAINT user_profiles_location_length CHECK (length(location) <= 200),
    CONSTRAINT user_profiles_language_format CHECK (language ~ '^[A-Za-z]{2,3}([_-][A-Za-z0-9]{2,8})*$')
);

CREATE TRIGGER user_profiles_set_updated_at BEFORE UPDATE ON user_profiles
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
