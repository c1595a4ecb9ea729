-- The audit log's two remaining holes (see the README's audit section):
--  * TRUNCATE bypassed the append-only row trigger. A statement-level guard
--    now refuses it on the log and on every partition (TRUNCATE of a
--    partition does not fire the parent's trigger), including the ones
--    audit_logs_ensure_partitions creates from now on. Retention stays
--    possible through audit_logs_drop_partitions_before only.
--  * The application role could insert entries with any created_at. It now
--    gets INSERT on every column except created_at (app_grant_access), so
--    the server assigns it. Hosts re-run grant_app_access after upgrading.
CREATE TRIGGER audit_logs_no_truncate BEFORE TRUNCATE ON audit_logs
    FOR EACH STATEMENT EXECUTE FUNCTION audit_logs_refuse_change();

DO $$
DECLARE
    part regclass;
BEGIN
    FOR part IN SELECT inhrelid::regclass FROM pg_inherits WHERE inhparent = 'audit_logs'::regclass LOOP
        EXECUTE format(
            'CREATE TRIGGER audit_logs_no_truncate BEFORE TRUNCATE ON %s '
            'FOR EACH STATEMENT EXECUTE FUNCTION audit_logs_refuse_change()',
            part
        );
    END LOOP;
END
$$;

CREATE OR REPLACE FUNCTION audit_logs_ensure_partitions(months_ahead integer) RETURNS integer
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $$
DECLARE
    first_month date := date_trunc('month', now() AT TIME ZONE 'UTC')::date;
    -- The schema audit_logs lives in (resolved through the search_path
    -- captured at creation), so partitions of another schema's copy are
    -- neither mistaken for ours nor created in the wrong place.
    home        text := (SELECT n.nspname FROM pg_class c
                           JOIN pg_namespace n ON n.oid = c.relnamespace
                          WHERE c.oid = 'audit_logs'::regclass);
    month_start date;
    part_name   text;
    created     integer := 0;
BEGIN
    IF months_ahead < 0 OR months_ahead > 120 THEN
        RAISE EXCEPTION 'months_ahead must be between 0 and 120, got %', months_ahead
            USING ERRCODE = 'check_violation';
    END IF;
    FOR i IN 0..months_ahead LOOP
        month_start := first_month + make_interval(months => i);
        part_name := 'audit_logs_p' || to_char(month_start, 'YYYYMM');
        IF to_regclass(format('%I.%I', home, part_name)) IS NOT NULL THEN
            CONTINUE;
        END IF;
        -- Entries of this month already in the default partition (the job
        -- fell behind) would violate the new partition's bounds: leave this
        -- month to the default partition and go on with the others.
        IF EXISTS (SELECT 1 FROM audit_logs_default
                    WHERE created_at >= month_start::timestamp AT TIME ZONE 'UTC'
                      AND created_at < (month_start + interval '1 month')::timestamp AT TIME ZONE 'UTC')
        THEN
            RAISE WARNING 'audit_logs: % skipped, the default partition holds entries of that month',
                part_name;
        ELSE
            EXECUTE format(
                'CREATE TABLE %I.%I PARTITION OF %I.audit_logs FOR VALUES FROM (%L) TO (%L)',
                home,
                part_name,
                home,
                month_start::timestamp AT TIME ZONE 'UTC',
                (month_start + interval '1 month')::timestamp AT TIME ZONE 'UTC'
            );
            EXECUTE format(
                'CREATE TRIGGER audit_logs_no_truncate BEFORE TRUNCATE ON %I.%I '
                'FOR EACH STATEMENT EXECUTE FUNCTION audit_logs_refuse_change()',
                home,
                part_name
            );
            created := created + 1;
        END IF;
    END LOOP;
    RETURN created;
END
$$;

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
    IF to_regclass(format('%I.__diesel_schema_migrations', home)) IS NOT NULL THEN
        EXECUTE format('GRANT SELECT ON %I.__diesel_schema_migrations TO %I', home, app_role);
    END IF;
END
$$;
