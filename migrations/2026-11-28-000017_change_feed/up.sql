-- Change capture for live UIs (issue 15): every insert, update and delete
-- on the tables a live UI watches leaves one row here, written by an AFTER
-- row trigger in the same transaction, so a change exists if and only if
-- its write committed. A consumer (saas_db::live::ChangeFeed) reads
-- `WHERE (xid, id) > cursor AND xid < pg_snapshot_xmin(pg_current_snapshot())
-- ORDER BY xid, id`: only transactions that can no longer commit later are
-- read, so a cursor never moves past a change that appears afterwards (a
-- bigserial id alone does: ids are taken in statement order, rows appear
-- in commit order).
--
-- Rows carry ids only, never row contents or secrets: the consumer reads
-- the current row itself (and treats a missing one as deleted).
--
-- No foreign keys to the captured rows: a deleted row's change must
-- outlive it (and a user's or team's deletion must not cascade into, or be
-- refused by, its history). So the FK-index rule has nothing to check here.
--
-- `table_name` and `op` are checked text, not Postgres enums: the set of
-- captured tables grows with the schema, and a CHECK is replaced in one
-- statement where an enum label cannot be removed.
CREATE TABLE changes (
    id         bigserial   NOT NULL,
    -- The writing transaction's top-level id (epoch-extended, never wraps).
    xid        xid8        NOT NULL DEFAULT pg_current_xact_id(),
    table_name text        NOT NULL,
    row_id     uuid        NOT NULL,
    op         text        NOT NULL,
    team_id    uuid,
    user_id    uuid,
    at         timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT changes_pkey PRIMARY KEY (id),
    CONSTRAINT changes_table_name_known CHECK (table_name IN (
        'users', 'user_profiles', 'posts', 'post_tags', 'subscriptions', 'payments',
        'teams', 'team_members', 'team_invitations', 'projects')),
    CONSTRAINT changes_op_known CHECK (op IN ('insert', 'update', 'delete'))
);

-- The feed's scan and its cursor: (xid, id) order, resumed by row comparison.
CREATE INDEX changes_xid_id_idx ON changes (xid, id);
-- A team's feed (`team_id = $` then the cursor), without reading other teams' rows.
CREATE INDEX changes_team_xid_idx ON changes (team_id, xid, id) WHERE team_id IS NOT NULL;
-- A user's feed, likewise.
CREATE INDEX changes_user_xid_idx ON changes (user_id, xid, id) WHERE user_id IS NOT NULL;
-- Retention deletes by age; rows arrive in time order, so a BRIN index
-- (a few pages, nearly free to maintain) finds the old ones.
CREATE INDEX changes_at_brin ON changes USING brin (at);

-- Readable under Row-Level Security: a team's changes by its members, a
-- user's own changes by that user, everything by site admins (the owner
-- and a BYPASSRLS role read everything, as on the other tables). No write
-- policy and no write grant: only the trigger below, running as the owner,
-- writes here, so the application cannot forge changes.
ALTER TABLE changes ENABLE ROW LEVEL SECURITY;
CREATE POLICY changes_read ON changes FOR SELECT
    USING ((team_id IS NOT NULL AND app_team_role(team_id) IS NOT NULL)
           OR user_id = app_user_id()
           OR app_is_admin());

-- One function for every captured table. The row id and the owning team /
-- user are read by name per table in a CASE on TG_TABLE_NAME: PL/pgSQL
-- compiles a trigger function once per table, so each branch is plain
-- field access (no dynamic SQL, no to_jsonb(NEW) of the whole row, and no
-- copy of NEW or OLD into a record variable, which would cost in
-- proportion to a post's content). The mapping is written once for NEW and
-- once for OLD. Row ids:
--   user_profiles, team_members: the user (the member's team is team_id);
--   post_tags: the post (its author is looked up; a tag added or removed
--   is a change of the post's tags; when the post itself is being deleted
--   the author is gone and user_id is NULL, the post's own change has it).
-- An UPDATE that moves a row to another owner, or changes its row id (a
-- tag moved to another post: `post_tags.post_id`), is also recorded under
-- the old owner and old row id, so the old team's feed learns that the row
-- left and the old post that its tags changed.
--
-- SECURITY DEFINER so that an application role under RLS, which may not
-- write `changes`, still records its own writes. The search_path is pinned
-- here and ends in pg_temp (below), as every such function's must.
--
-- pg_notify has a constant channel and payload: identical notifications
-- in one transaction are delivered once, so a burst wakes a consumer once
-- and the payload never carries data.
CREATE FUNCTION changes_capture() RETURNS trigger
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path FROM CURRENT
AS $$
DECLARE
    rid uuid;
    tid uuid;
    uid uuid;
    old_tid uuid;
    old_uid uuid;
    new_rid uuid;
BEGIN
    IF TG_OP <> 'DELETE' THEN
        CASE TG_TABLE_NAME
            WHEN 'users' THEN rid := NEW.id; uid := NEW.id;
            WHEN 'user_profiles' THEN rid := NEW.user_id; uid := NEW.user_id;
            WHEN 'posts' THEN rid := NEW.id; uid := NEW.author_id;
            WHEN 'post_tags' THEN
                rid := NEW.post_id;
                uid := (SELECT p.author_id FROM posts p WHERE p.id = NEW.post_id);
            WHEN 'subscriptions' THEN rid := NEW.id; uid := NEW.user_id;
            WHEN 'payments' THEN rid := NEW.id; uid := NEW.user_id;
            WHEN 'teams' THEN rid := NEW.id; tid := NEW.id;
            WHEN 'team_members' THEN rid := NEW.user_id; tid := NEW.team_id; uid := NEW.user_id;
            WHEN 'team_invitations' THEN rid := NEW.id; tid := NEW.team_id;
            WHEN 'projects' THEN rid := NEW.id; tid := NEW.team_id;
        END CASE;
        INSERT INTO changes (table_name, row_id, op, team_id, user_id)
        VALUES (TG_TABLE_NAME, rid, lower(TG_OP), tid, uid);
        new_rid := rid;
    END IF;
    IF TG_OP <> 'INSERT' THEN
        CASE TG_TABLE_NAME
            WHEN 'users' THEN rid := OLD.id; old_uid := OLD.id;
            WHEN 'user_profiles' THEN rid := OLD.user_id; old_uid := OLD.user_id;
            WHEN 'posts' THEN rid := OLD.id; old_uid := OLD.author_id;
            WHEN 'post_tags' THEN
                rid := OLD.post_id;
                old_uid := (SELECT p.author_id FROM posts p WHERE p.id = OLD.post_id);
            WHEN 'subscriptions' THEN rid := OLD.id; old_uid := OLD.user_id;
            WHEN 'payments' THEN rid := OLD.id; old_uid := OLD.user_id;
            WHEN 'teams' THEN rid := OLD.id; old_tid := OLD.id;
            WHEN 'team_members' THEN rid := OLD.user_id; old_tid := OLD.team_id; old_uid := OLD.user_id;
            WHEN 'team_invitations' THEN rid := OLD.id; old_tid := OLD.team_id;
            WHEN 'projects' THEN rid := OLD.id; old_tid := OLD.team_id;
        END CASE;
        IF TG_OP = 'DELETE' OR old_tid IS DISTINCT FROM tid OR old_uid IS DISTINCT FROM uid
           OR rid IS DISTINCT FROM new_rid THEN
            INSERT INTO changes (table_name, row_id, op, team_id, user_id)
            VALUES (TG_TABLE_NAME, rid, lower(TG_OP), old_tid, old_uid);
        END IF;
    END IF;
    PERFORM pg_notify('saas_db_changes', '');
    RETURN NULL;
END
$$;

-- FROM CURRENT captured the migration's search_path; pg_temp goes last
-- (see 2026-11-27-000014_security_definer_pg_temp).
DO $$
DECLARE
    path text := (SELECT substr(c, length('search_path=') + 1)
                    FROM pg_proc p, unnest(p.proconfig) AS c
                   WHERE p.oid = 'changes_capture()'::regprocedure
                     AND c LIKE 'search_path=%');
BEGIN
    EXECUTE format('ALTER FUNCTION changes_capture() SET search_path TO %s, pg_temp', path);
END
$$;

-- Functions are executable by PUBLIC by default, and EXECUTE is all that
-- CREATE TRIGGER asks of a function: any role owning a table (a temporary
-- one is enough) could attach this owner-run function to a table it names
-- `projects` and write a change for any team. Triggers do not check EXECUTE
-- when they fire, so the captured tables' triggers still run for everyone.
REVOKE EXECUTE ON FUNCTION changes_capture() FROM PUBLIC;

CREATE TRIGGER users_capture_changes AFTER INSERT OR UPDATE OR DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION changes_capture();
CREATE TRIGGER user_profiles_capture_changes AFTER INSERT OR UPDATE OR DELETE ON user_profiles
    FOR EACH ROW EXECUTE FUNCTION changes_capture();
CREATE TRIGGER posts_capture_changes AFTER INSERT OR UPDATE OR DELETE ON posts
    FOR EACH ROW EXECUTE FUNCTION changes_capture();
CREATE TRIGGER post_tags_capture_changes AFTER INSERT OR UPDATE OR DELETE ON post_tags
    FOR EACH ROW EXECUTE FUNCTION changes_capture();
CREATE TRIGGER subscriptions_capture_changes AFTER INSERT OR UPDATE OR DELETE ON subscriptions
    FOR EACH ROW EXECUTE FUNCTION changes_capture();
CREATE TRIGGER payments_capture_changes AFTER INSERT OR UPDATE OR DELETE ON payments
    FOR EACH ROW EXECUTE FUNCTION changes_capture();
CREATE TRIGGER teams_capture_changes AFTER INSERT OR UPDATE OR DELETE ON teams
    FOR EACH ROW EXECUTE FUNCTION changes_capture();
CREATE TRIGGER team_members_capture_changes AFTER INSERT OR UPDATE OR DELETE ON team_members
    FOR EACH ROW EXECUTE FUNCTION changes_capture();
CREATE TRIGGER team_invitations_capture_changes AFTER INSERT OR UPDATE OR DELETE ON team_invitations
    FOR EACH ROW EXECUTE FUNCTION changes_capture();
CREATE TRIGGER projects_capture_changes AFTER INSERT OR UPDATE OR DELETE ON projects
    FOR EACH ROW EXECUTE FUNCTION changes_capture();

-- The application role reads changes (under the policy above) and never
-- writes them: app_grant_access as in 2026-11-27-000013_audit_guards, plus
-- SELECT on changes.
CREATE OR REPLACE FUNCTION app_grant_access(app_role text) RETURNS void
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
    -- INSERT on every column but created_at, which the server assigns: the
    -- application cannot back- or post-date an entry. A table-wide INSERT
    -- granted by an earlier version is taken back first.
    EXECUTE format('REVOKE INSERT ON %I.audit_logs FROM %I', home, app_role);
    EXECUTE format(
        'GRANT SELECT, INSERT (id, actor_id, action, entity, entity_id, changes, ip_address, '
        'user_agent, metadata) ON %I.audit_logs TO %I',
        home,
        app_role
    );
    -- Read only: rows are written by changes_capture() as the owner.
    EXECUTE format('GRANT SELECT ON %I.changes TO %I', home, app_role);
    IF to_regclass(format('%I.__diesel_schema_migrations', home)) IS NOT NULL THEN
        EXECUTE format('GRANT SELECT ON %I.__diesel_schema_migrations TO %I', home, app_role);
    END IF;
END
$$;
