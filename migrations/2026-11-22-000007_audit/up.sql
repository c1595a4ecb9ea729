-- Append-only, partitioned by month so retention drops whole partitions
-- instead of deleting rows. actor_id and entity_id deliberately carry no
-- foreign key: the log records who did what even after that user or row is
-- gone, and an FK action would have to rewrite history.
CREATE TABLE audit_logs (
    id         uuid        NOT NULL DEFAULT gen_random_uuid(),
    actor_id   uuid,
    action     text        NOT NULL,
    entity     text        NOT NULL,
    entity_id  uuid,
    changes    jsonb       NOT NULL DEFAULT '{}',
    ip_address inet,
    user_agent text,
    metadata   jsonb       NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (id, created_at),
    CONSTRAINT audit_logs_action_length CHECK (length(action) BETWEEN 1 AND 100),
    CONSTRAINT audit_logs_entity_length CHECK (length(entity) BETWEEN 1 AND 100),
    CONSTRAINT audit_logs_user_agent_length CHECK (length(user_agent) <= 1024),
    CONSTRAINT audit_logs_changes_object CHECK (jsonb_typeof(changes) = 'object'),
    CONSTRAINT audit_logs_metadata_object CHECK (jsonb_typeof(metadata) = 'object')
) PARTITION BY RANGE (created_at);

CREATE INDEX audit_logs_entity_idx ON audit_logs (entity, entity_id, created_at, id);
CREATE INDEX audit_logs_actor_idx ON audit_logs (actor_id, created_at, id);

-- Rows outside every monthly partition land here rather than failing the
-- write they describe; ensure_partitions keeps it empty in normal operation.
CREATE TABLE audit_logs_default PARTITION OF audit_logs DEFAULT;

-- Creates the partitions for the current month and `months_ahead` more.
-- Partition names are derived from dates only, so format() here is safe.
CREATE FUNCTION audit_logs_ensure_partitions(months_ahead integer) RETURNS integer
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
            created := created + 1;
        END IF;
    END LOOP;
    RETURN created;
END
$$;

SELECT audit_logs_ensure_partitions(2);

-- Retention without DELETE: drops the monthly partitions that end on or
-- before `cutoff`, returning their names, oldest first. Rows in the default
-- partition are not touched (it is empty in normal operation).
CREATE FUNCTION audit_logs_drop_partitions_before(cutoff timestamptz) RETURNS SETOF text
LANGUAGE plpgsql
SET search_path FROM CURRENT
AS $$
DECLARE
    home text := (SELECT n.nspname FROM pg_class c
                    JOIN pg_namespace n ON n.oid = c.relnamespace
                   WHERE c.oid = 'audit_logs'::regclass);
    part record;
    month_end timestamptz;
BEGIN
    FOR part IN
        SELECT c.relname
          FROM pg_inherits i
          JOIN pg_class c ON c.oid = i.inhrelid
         WHERE i.inhparent = 'audit_logs'::regclass
           AND c.relname ~ '^audit_logs_p[0-9]{6}$'
         ORDER BY c.relname
    LOOP
        month_end := (to_date(substr(part.relname, 13), 'YYYYMM') + interval '1 month')::timestamp
                     AT TIME ZONE 'UTC';
        IF month_end <= cutoff THEN
            EXECUTE format('DROP TABLE %I.%I', home, part.relname);
            RETURN NEXT part.relname;
        END IF;
    END LOOP;
END
$$;

-- The log is append-only: history cannot be rewritten or quietly removed row
-- by row (retention drops whole partitions).
CREATE FUNCTION audit_logs_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_logs is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege',
              CONSTRAINT = 'audit_logs_append_only';
END
$$;

CREATE TRIGGER audit_logs_append_only BEFORE UPDATE OR DELETE ON audit_logs
    FOR EACH ROW EXECUTE FUNCTION audit_logs_refuse_change();
