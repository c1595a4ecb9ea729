-- Transactional outbox: a side effect (an email, a webhook) is recorded as a
-- row in the same transaction as the business write, so it exists if and
-- only if that write committed; workers claim rows with FOR UPDATE SKIP
-- LOCKED under a lease and settle them fenced by the lease token.
--
-- A message is, by its columns:
--   ready      delivered_at, dead_at NULL; available_at <= now(); no live lease
--   scheduled  as ready, but available_at in the future (a retry's backoff)
--   leased     lease_token set and leased_until in the future
--   delivered  delivered_at set (kept for the dedupe window, then purged)
--   dead       dead_at set (a dead letter; requeue clears it)
-- Payloads hold ids and what a sender needs, never a secret in plaintext.
CREATE TABLE outbox_messages (
    id           uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    topic        text        NOT NULL,
    payload      jsonb       NOT NULL,
    dedupe_key   text,
    attempts     integer     NOT NULL DEFAULT 0,
    max_attempts integer     NOT NULL DEFAULT 8,
    available_at timestamptz NOT NULL DEFAULT now(),
    lease_token  uuid,
    leased_until timestamptz,
    last_error   text,
    dead_at      timestamptz,
    delivered_at timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT outbox_messages_topic_format CHECK (topic ~ '^[A-Za-z0-9._:-]{1,100}$'),
    CONSTRAINT outbox_messages_payload_object CHECK (jsonb_typeof(payload) = 'object'),
    -- Every number fits an f64, so a worker can read the payload back:
    -- one unreadable row (`{"n": 1e400}`, written by hand) would fail
    -- every claim of its topic and burn the attempts of its batch.
    CONSTRAINT outbox_messages_payload_numbers CHECK (NOT jsonb_path_exists(payload,
        'strict $.** ? (@.type() == "number" && (@ > 1.7976931348623157e308
                                               || @ < -1.7976931348623157e308))')),
    CONSTRAINT outbox_messages_dedupe_key_length CHECK (length(dedupe_key) BETWEEN 1 AND 200),
    CONSTRAINT outbox_messages_max_attempts_range CHECK (max_attempts BETWEEN 1 AND 100),
    CONSTRAINT outbox_messages_attempts_range CHECK (attempts BETWEEN 0 AND max_attempts),
    CONSTRAINT outbox_messages_lease_pair CHECK ((lease_token IS NULL) = (leased_until IS NULL)),
    CONSTRAINT outbox_messages_settled_once CHECK (dead_at IS NULL OR delivered_at IS NULL),
    CONSTRAINT outbox_messages_settled_unleased
        CHECK ((dead_at IS NULL AND delivered_at IS NULL) OR lease_token IS NULL),
    CONSTRAINT outbox_messages_last_error_length CHECK (length(last_error) <= 2000),
    -- Re-enqueueing the same effect is a no-op while the first message is
    -- kept (pending, leased, dead, or delivered until purged); NULL keys
    -- never collide.
    CONSTRAINT outbox_messages_dedupe_key UNIQUE (topic, dedupe_key)
);

-- The claim query: a topic's unsettled messages in (available_at, id) order;
-- settled ones, which are most rows once traffic runs, stay out of it.
CREATE INDEX outbox_messages_claim_idx ON outbox_messages (topic, available_at, id)
    WHERE delivered_at IS NULL AND dead_at IS NULL;
-- Listing a topic's dead letters, oldest first.
CREATE INDEX outbox_messages_dead_idx ON outbox_messages (topic, dead_at, id)
    WHERE dead_at IS NOT NULL;
-- Purging delivered messages once the dedupe window has passed.
CREATE INDEX outbox_messages_delivered_idx ON outbox_messages (delivered_at)
    WHERE delivered_at IS NOT NULL;

-- The application role: it enqueues in any transaction, including one
-- acting for a user (Database::as_user), but reads and settles messages
-- only outside a user's context (workers run with no app.user_id): payloads
-- carry users' email addresses, and a query bug in user-scoped code must not
-- show one user another's. New rows must be fresh (no attempts, lease or
-- settlement, not back-dated), so an enqueue cannot forge a delivered or
-- leased message, or jump the queue (claims take the oldest available_at
-- first) and skew the lag metric with a back-dated one.
ALTER TABLE outbox_messages ENABLE ROW LEVEL SECURITY;
CREATE POLICY outbox_messages_enqueue ON outbox_messages FOR INSERT
    WITH CHECK (attempts = 0 AND lease_token IS NULL AND dead_at IS NULL
                AND delivered_at IS NULL AND available_at >= now()
                AND created_at >= now());
CREATE POLICY outbox_messages_read ON outbox_messages FOR SELECT
    USING (app_user_id() IS NULL);
CREATE POLICY outbox_messages_work ON outbox_messages FOR UPDATE
    USING (app_user_id() IS NULL) WITH CHECK (app_user_id() IS NULL);
CREATE POLICY outbox_messages_purge ON outbox_messages FOR DELETE
    USING (app_user_id() IS NULL);

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
        'teams', 'team_members', 'team_invitations', 'projects',
        'outbox_messages'
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
