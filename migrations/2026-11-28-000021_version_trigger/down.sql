-- The Rust code of the release before this migration bumps the version itself.
DROP TRIGGER projects_version_bump ON projects;
DROP TRIGGER teams_version_bump ON teams;
DROP TRIGGER posts_version_bump ON posts;
DROP TRIGGER payments_version_bump ON payments;
DROP TRIGGER subscriptions_version_bump ON subscriptions;
DROP TRIGGER subscription_plans_version_bump ON subscription_plans;
DROP TRIGGER users_version_bump ON users;
DROP FUNCTION bump_version();

-- The comments migration 000020 gave these columns.
COMMENT ON COLUMN users.version IS 'Optimistic-lock version, bumped by every change made through the repository.';
COMMENT ON COLUMN subscription_plans.version IS 'Optimistic-lock version.';
COMMENT ON COLUMN subscriptions.version IS 'Optimistic-lock version.';
COMMENT ON COLUMN payments.version IS 'Optimistic-lock version.';
COMMENT ON COLUMN posts.version IS 'Optimistic-lock version.';
COMMENT ON COLUMN teams.version IS 'Optimistic-lock version.';
COMMENT ON COLUMN projects.version IS 'Optimistic-lock version.';
