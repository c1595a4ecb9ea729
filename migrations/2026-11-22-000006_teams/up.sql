CREATE TYPE team_kind AS ENUM ('personal', 'workspace');
CREATE TYPE team_role AS ENUM ('owner', 'admin', 'member');

CREATE TABLE teams (
    id         uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    name       text        NOT NULL,
    slug       text        COLLATE "C" NOT NULL,
    kind       team_kind   NOT NULL DEFAULT 'workspace',
    version    integer     NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT teams_slug_key UNIQUE (slug),
    CONSTRAINT teams_name_length CHECK (length(name) BETWEEN 1 AND 100),
    CONSTRAINT teams_slug_format CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(slug) <= 100),
    CONSTRAINT teams_version_positive CHECK (version >= 1)
);

CREATE TRIGGER teams_set_updated_at BEFORE UPDATE ON teams
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE team_members (
    team_id    uuid        NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role       team_role   NOT NULL DEFAULT 'member',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_user_id_idx ON team_members (user_id);

CREATE TRIGGER team_members_set_updated_at BEFORE UPDATE ON team_members
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE team_invitations (
    id          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    team_id     uuid        NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    email       text        NOT NULL,
    role        team_role   NOT NULL DEFAULT 'member',
    token_hash  bytea       NOT NULL,
    expires_at  timestamptz NOT NULL,
    accepted_at timestamptz,
    revoked_at  timestamptz,
    invited_by  uuid        REFERENCES users (id) ON DELETE SET NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT team_invitations_token_hash_key UNIQUE (token_hash),
    CONSTRAINT team_invitations_token_hash_sha256 CHECK (length(token_hash) = 32),
    CONSTRAINT team_invitations_email_format CHECK (
        email = lower(email) AND length(email) <= 254 AND email ~ '^[^@\s]+@[^@\s]+$'
    ),
    -- Ownership is handed over by a member change, never by an invitation.
    CONSTRAINT team_invitations_role_not_owner CHECK (role <> 'owner'),
    CONSTRAINT team_invitations_settled_once CHECK (accepted_at IS NULL OR revoked_at IS NULL)
);
CREATE INDEX team_invitations_team_created_idx ON team_invitations (team_id, created_at);
CREATE INDEX team_invitations_invited_by_idx ON team_invitations (invited_by);
CREATE INDEX team_invitations_email_idx ON team_invitations (email);
