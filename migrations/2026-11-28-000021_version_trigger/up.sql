-- The optimistic-lock version is kept by PostgreSQL, one way for every
-- versioned table (users, subscription_plans, subscriptions, payments, posts,
-- teams, projects), instead of `version = version + 1` in each Rust update.
--
-- When it bumps: every UPDATE of a row moves its version to exactly the old
-- version + 1, whatever the statement wrote into `version` (a writer cannot
-- set 1000, or go back to an old value and so revive a stale optimistic
-- write). That includes an UPDATE that rewrites the same values (a "touch",
-- as transfer_user_data does to both users) and changes by writers outside
-- the crate or by ON DELETE SET NULL actions (posts.category_id,
-- projects.created_by), which edit the row too.
--
-- The one exception: an UPDATE that changes only the columns named as
-- trigger arguments keeps the version. Those are bookkeeping, not edits:
-- posts.view_count (a view) and users.last_login_at (a sign-in), exactly the
-- writes that did not bump before. A generated column (posts.search) reads
-- NULL in a BEFORE trigger, so it is named too and a NULL there never counts
-- as a change.
--
-- It runs after set_updated_at (BEFORE triggers fire in name order:
-- *_set_updated_at < *_version_bump), so set_updated_at still sees the row
-- as the writer left it: an UPDATE that changes nothing bumps the version
-- but leaves updated_at alone, as before.
CREATE FUNCTION bump_version() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    new_row jsonb;
    old_row jsonb;
BEGIN
    IF TG_NARGS > 0 THEN
        new_row := to_jsonb(NEW) - 'version' - 'updated_at';
        old_row := to_jsonb(OLD) - 'version' - 'updated_at';
        IF (new_row - TG_ARGV) = (old_row - TG_ARGV) AND EXISTS (
            SELECT FROM unnest(TG_ARGV) AS exempt(col)
             WHERE new_row -> exempt.col <> 'null'::jsonb
               AND new_row -> exempt.col IS DISTINCT FROM old_row -> exempt.col
        ) THEN
            NEW.version := OLD.version;
            RETURN NEW;
        END IF;
    END IF;
    NEW.version := OLD.version + 1;
    RETURN NEW;
END
$$;

CREATE TRIGGER users_version_bump BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION bump_version('last_login_at');
CREATE TRIGGER subscription_plans_version_bump BEFORE UPDATE ON subscription_plans
    FOR EACH ROW EXECUTE FUNCTION bump_version();
CREATE TRIGGER subscriptions_version_bump BEFORE UPDATE ON subscriptions
    FOR EACH ROW EXECUTE FUNCTION bump_version();
CREATE TRIGGER payments_version_bump BEFORE UPDATE ON payments
    FOR EACH ROW EXECUTE FUNCTION bump_version();
CREATE TRIGGER posts_version_bump BEFORE UPDATE ON posts
    FOR EACH ROW EXECUTE FUNCTION bump_version('view_count', 'search');
CREATE TRIGGER teams_version_bump BEFORE UPDATE ON teams
    FOR EACH ROW EXECUTE FUNCTION bump_version();
CREATE TRIGGER projects_version_bump BEFORE UPDATE ON projects
    FOR EACH ROW EXECUTE FUNCTION bump_version();

COMMENT ON FUNCTION bump_version() IS
    'BEFORE UPDATE: version := old version + 1, unless only the argument columns (counters, bookkeeping) changed.';
COMMENT ON COLUMN users.version IS 'Optimistic-lock version: old + 1 on every UPDATE (trigger users_version_bump), sign-ins (last_login_at) aside.';
COMMENT ON COLUMN subscription_plans.version IS 'Optimistic-lock version: old + 1 on every UPDATE (trigger subscription_plans_version_bump).';
COMMENT ON COLUMN subscriptions.version IS 'Optimistic-lock version: old + 1 on every UPDATE (trigger subscriptions_version_bump).';
COMMENT ON COLUMN payments.version IS 'Optimistic-lock version: old + 1 on every UPDATE (trigger payments_version_bump).';
COMMENT ON COLUMN posts.version IS 'Optimistic-lock version: old + 1 on every UPDATE (trigger posts_version_bump), view counts aside.';
COMMENT ON COLUMN teams.version IS 'Optimistic-lock version: old + 1 on every UPDATE (trigger teams_version_bump).';
COMMENT ON COLUMN projects.version IS 'Optimistic-lock version: old + 1 on every UPDATE (trigger projects_version_bump).';
