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

DROP TABLE outbox_messages;
