-- Tenant isolation in the database itself: Row-Level Security on the team
-- tables and on team-scoped data (projects), keyed by the per-transaction
-- setting app.user_id (set by Database::as_user with set_config(.., true),
-- so it ends with the transaction and never leaks into the next use of a
-- pooled connection).
--
-- Who is subject to these policies: any role that is neither the tables'
-- owner nor a superuser nor BYPASSRLS. Run migrations as the owner and let
-- the application connect as a separate role (see grant_app_access); the
-- owner and superusers bypass RLS, since the tables are not FORCEd.

-- Team-scoped data: a team's projects (the ShipKit seed's multi-tenant shape).
CREATE TABLE projects (
    id         uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    team_id    uuid        NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    name       text        NOT NULL,
    created_by uuid        REFERENCES users (id) ON DELETE SET NULL,
    version    integer     NOT NULL DEFAULT 1,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT projects_name_length CHECK (length(name) BETWEEN 1 AND 100),
    CONSTRAINT projects_version_positive CHECK (version >= 1)
);
CREATE INDEX projects_team_created_idx ON projects (team_id, created_at, id);
CREATE INDEX projects_created_by_idx ON projects (created_by);

CREATE TRIGGER projects_set_updated_at BEFORE UPDATE ON projects
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- The signed-in user of this transaction, NULL when none is set ('' is what
-- a transaction-local setting reverts to).
CREATE FUNCTION app_user_id() RETURNS uuid
LANGUAGE sql STABLE
AS $$ SELECT nullif(current_setting('app.user_id', true), '')::uuid $$;

-- The helpers below read membership on the policies' behalf. They are
-- SECURITY DEFINER (run as the owner, who bypasses RLS) because a policy on
-- team_members that queried team_members would recurse; their search_path
-- is pinned so a caller cannot substitute tables.
CREATE FUNCTION app_is_admin() RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT
AS $$
    SELECT EXISTS (SELECT 1 FROM users
                    WHERE id = app_user_id() AND role = 'admin' AND deleted_at IS NULL)
$$;

CREATE FUNCTION app_team_role(team uuid) RETURNS team_role
LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT
AS $$ SELECT role FROM team_members WHERE team_id = team AND user_id = app_user_id() $$;

CREATE FUNCTION app_user_email() RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT
AS $$ SELECT email FROM users WHERE id = app_user_id() AND deleted_at IS NULL $$;

-- A team nobody belongs to yet: only true inside the transaction creating it.
CREATE FUNCTION app_team_is_empty(team uuid) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT
AS $$ SELECT NOT EXISTS (SELECT 1 FROM team_members WHERE team_id = team) $$;

-- The current user accepted an invitation to `team` with role `r` in this
-- very transaction (accepted_at = now(), the transaction's start time).
CREATE FUNCTION app_just_accepted(team uuid, r team_role) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT
AS $$
    SELECT EXISTS (SELECT 1 FROM team_invitations
                    WHERE team_id = team AND role = r AND email = app_user_email()
                      AND accepted_at = now())
$$;

ALTER TABLE teams ENABLE ROW LEVEL SECURITY;
CREATE POLICY teams_read ON teams FOR SELECT
    USING (app_team_role(id) IS NOT NULL OR app_is_admin());
CREATE POLICY teams_create ON teams FOR INSERT
    WITH CHECK (app_user_id() IS NOT NULL);
CREATE POLICY teams_update ON teams FOR UPDATE
    USING (app_team_role(id) IN ('owner', 'admin') OR app_is_admin());
CREATE POLICY teams_delete ON teams FOR DELETE
    USING (app_team_role(id) = 'owner' OR app_is_admin());

ALTER TABLE team_members ENABLE ROW LEVEL SECURITY;
CREATE POLICY team_members_read ON team_members FOR SELECT
    USING (app_team_role(team_id) IS NOT NULL OR app_is_admin());
CREATE POLICY team_members_add ON team_members FOR INSERT
    WITH CHECK (
        app_team_role(team_id) IN ('owner', 'admin') OR app_is_admin()
        -- the creator becomes the first owner
        OR (user_id = app_user_id() AND role = 'owner' AND app_team_is_empty(team_id))
        -- an invitee joins with the invitation's role
        OR (user_id = app_user_id() AND app_just_accepted(team_id, role))
    );
CREATE POLICY team_members_update ON team_members FOR UPDATE
    USING (app_team_role(team_id) IN ('owner', 'admin') OR app_is_admin());
CREATE POLICY team_members_remove ON team_members FOR DELETE
    USING (app_team_role(team_id) IN ('owner', 'admin') OR user_id = app_user_id()
           OR app_is_admin());

ALTER TABLE team_invitations ENABLE ROW LEVEL SECURITY;
CREATE POLICY team_invitations_read ON team_invitations FOR SELECT
    USING (app_team_role(team_id) IN ('owner', 'admin') OR email = app_user_email()
           OR app_is_admin());
CREATE POLICY team_invitations_create ON team_invitations FOR INSERT
    WITH CHECK (app_team_role(team_id) IN ('owner', 'admin') OR app_is_admin());
CREATE POLICY team_invitations_settle ON team_invitations FOR UPDATE
    USING (app_team_role(team_id) IN ('owner', 'admin') OR email = app_user_email()
           OR app_is_admin());

ALTER TABLE projects ENABLE ROW LEVEL SECURITY;
CREATE POLICY projects_read ON projects FOR SELECT
    USING (app_team_role(team_id) IS NOT NULL OR app_is_admin());
CREATE POLICY projects_create ON projects FOR INSERT
    WITH CHECK (app_team_role(team_id) IN ('owner', 'admin') OR app_is_admin());
CREATE POLICY projects_update ON projects FOR UPDATE
    USING (app_team_role(team_id) IN ('owner', 'admin') OR app_is_admin());
CREATE POLICY projects_delete ON projects FOR DELETE
    USING (app_team_role(team_id) IN ('owner', 'admin') OR app_is_admin());

-- Grants an application role what it needs on this schema: read and write
-- on the data layer's tables (and only those: a host's own tables in the
-- same schema are its business), read and append on the audit log (its
-- partitions are reached through the parent, so they get no grant), read on
-- the migrations table (for the health check). The host runs it once as
-- the owner (tenancy::grant_app_access). The role name is quoted with %I.
CREATE FUNCTION app_grant_access(app_role text) RETURNS void
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $$
DECLARE
    home text := (SELECT n.nspname FROM pg_class c
                    JOIN pg_namespace n ON n.oid = c.relnamespace
                   WHERE c.oid = 'teams'::regclass);
    tbl text;
BEGIN
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I', home, app_role);
    FOREACH tbl IN ARRAY ARRAY[
        'users', 'user_profiles', 'accounts', 'sessions', 'verification_tokens',
        'subscription_plans', 'subscriptions', 'payments',
        'categories', 'tags', 'posts', 'post_tags',
        'teams', 'team_members', 'team_invitations', 'projects'
    ] LOOP
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I.%I TO %I', home, tbl, app_role);
    END LOOP;
    EXECUTE format('GRANT SELECT, INSERT ON %I.audit_logs TO %I', home, app_role);
    IF to_regclass(format('%I.__diesel_schema_migrations', home)) IS NOT NULL THEN
        EXECUTE format('GRANT SELECT ON %I.__diesel_schema_migrations TO %I', home, app_role);
    END IF;
END
$$;
