-- Documentation in the catalog (issue 16): a comment on every table and
-- column, so `diesel print-schema` (with_docs in diesel.toml) writes them
-- into src/schema.rs as doc comments, and psql's \d+ shows them. Short and
-- true; a catalog test (tests/it/schema_docs.rs) fails for a table or column
-- without one. users.email_skeleton has had its comment since
-- 2026-11-27-000012_identity_skeletons.

COMMENT ON TABLE users IS 'User accounts; soft-deleted rows keep deleted_at set.';
COMMENT ON COLUMN users.id IS 'UUIDv7 primary key.';
COMMENT ON COLUMN users.email IS 'Normalised email address (NFKC, trimmed, lower case, domain in ASCII); unique.';
COMMENT ON COLUMN users.name IS 'Display name.';
COMMENT ON COLUMN users.username IS 'Optional handle (ASCII after NFKC), unique regardless of case.';
COMMENT ON COLUMN users.avatar_url IS 'Avatar image URL.';
COMMENT ON COLUMN users.role IS 'Site-wide role.';
COMMENT ON COLUMN users.email_verified_at IS 'When the email address was confirmed.';
COMMENT ON COLUMN users.is_active IS 'Host-controlled activation flag.';
COMMENT ON COLUMN users.banned_at IS 'When the user was banned; NULL means not banned.';
COMMENT ON COLUMN users.ban_reason IS 'Why the user was banned.';
COMMENT ON COLUMN users.ban_expires_at IS 'When the ban ends; NULL with banned_at set means permanent.';
COMMENT ON COLUMN users.locale IS 'Language tag, e.g. en or pt-BR.';
COMMENT ON COLUMN users.timezone IS 'IANA time zone name, e.g. Europe/Paris.';
COMMENT ON COLUMN users.onboarding_complete IS 'Whether onboarding was finished.';
COMMENT ON COLUMN users.last_login_at IS 'Last successful sign-in.';
COMMENT ON COLUMN users.deleted_at IS 'Soft-delete mark; such users are hidden unless asked for.';
COMMENT ON COLUMN users.version IS 'Optimistic-lock version, bumped by every change made through the repository.';
COMMENT ON COLUMN users.created_at IS 'Creation time.';
COMMENT ON COLUMN users.updated_at IS 'Last change (maintained by a trigger).';

COMMENT ON TABLE user_profiles IS 'One optional profile per user: presentation and preferences.';
COMMENT ON COLUMN user_profiles.user_id IS 'The user (primary key).';
COMMENT ON COLUMN user_profiles.bio IS 'Free text about the user.';
COMMENT ON COLUMN user_profiles.website IS 'Personal website.';
COMMENT ON COLUMN user_profiles.location IS 'Where the user is.';
COMMENT ON COLUMN user_profiles.theme IS 'Colour scheme.';
COMMENT ON COLUMN user_profiles.language IS 'Interface language.';
COMMENT ON COLUMN user_profiles.email_notifications IS 'Whether to send product emails.';
COMMENT ON COLUMN user_profiles.marketing_emails IS 'Whether to send marketing emails.';
COMMENT ON COLUMN user_profiles.created_at IS 'Creation time.';
COMMENT ON COLUMN user_profiles.updated_at IS 'Last change (maintained by a trigger).';

COMMENT ON TABLE accounts IS 'Sign-in methods of a user: OAuth provider links and the password credential.';
COMMENT ON COLUMN accounts.id IS 'UUIDv7 primary key.';
COMMENT ON COLUMN accounts.user_id IS 'Owning user.';
COMMENT ON COLUMN accounts.provider IS 'Provider name (github, google, ...) or credential for the password.';
COMMENT ON COLUMN accounts.provider_account_id IS 'The user''s id at the provider.';
COMMENT ON COLUMN accounts.password_hash IS 'Argon2id hash (PHC string), for the credential account only.';
COMMENT ON COLUMN accounts.access_token_enc IS 'Provider access token, AEAD-encrypted under a host key (never plaintext).';
COMMENT ON COLUMN accounts.refresh_token_enc IS 'Provider refresh token, AEAD-encrypted under a host key (never plaintext).';
COMMENT ON COLUMN accounts.id_token_enc IS 'Provider id token, AEAD-encrypted under a host key (never plaintext).';
COMMENT ON COLUMN accounts.token_type IS 'Token type, e.g. bearer.';
COMMENT ON COLUMN accounts.expires_at IS 'When the access token expires.';
COMMENT ON COLUMN accounts.scope IS 'Granted scopes.';
COMMENT ON COLUMN accounts.created_at IS 'When the account was linked.';
COMMENT ON COLUMN accounts.updated_at IS 'Last change (maintained by a trigger).';

COMMENT ON TABLE sessions IS 'Sign-in sessions; the token itself is never stored, only its SHA-256.';
COMMENT ON COLUMN sessions.id IS 'UUIDv7 primary key.';
COMMENT ON COLUMN sessions.user_id IS 'Whose session.';
COMMENT ON COLUMN sessions.token_hash IS 'SHA-256 of the session token.';
COMMENT ON COLUMN sessions.expires_at IS 'When it stops validating (moved forward by touch).';
COMMENT ON COLUMN sessions.last_seen_at IS 'Last activity recorded by touch.';
COMMENT ON COLUMN sessions.ip_address IS 'Client address at creation.';
COMMENT ON COLUMN sessions.user_agent IS 'Client user agent at creation.';
COMMENT ON COLUMN sessions.revoked_at IS 'When it was revoked (sign-out, password reset).';
COMMENT ON COLUMN sessions.created_at IS 'Creation time.';

COMMENT ON TABLE verification_tokens IS 'Single-use tokens (email verification, password reset, magic link), stored as SHA-256.';
COMMENT ON COLUMN verification_tokens.id IS 'UUIDv7 primary key.';
COMMENT ON COLUMN verification_tokens.kind IS 'What the token is for.';
COMMENT ON COLUMN verification_tokens.email IS 'The normalised address it was sent to.';
COMMENT ON COLUMN verification_tokens.user_id IS 'The user it is for, if known when issued.';
COMMENT ON COLUMN verification_tokens.token_hash IS 'SHA-256 of the token.';
COMMENT ON COLUMN verification_tokens.expires_at IS 'When it stops working.';
COMMENT ON COLUMN verification_tokens.used_at IS 'When it was redeemed.';
COMMENT ON COLUMN verification_tokens.created_at IS 'When it was issued.';

COMMENT ON TABLE subscription_plans IS 'Plans offered for subscription.';
COMMENT ON COLUMN subscription_plans.id IS 'UUIDv7 primary key.';
COMMENT ON COLUMN subscription_plans.name IS 'Unique display name.';
COMMENT ON COLUMN subscription_plans.description IS 'Marketing text.';
COMMENT ON COLUMN subscription_plans.price_cents IS 'Price per interval, in the currency''s minor unit.';
COMMENT ON COLUMN subscription_plans.currency IS 'ISO 4217 code, e.g. USD.';
COMMENT ON COLUMN subscription_plans.interval IS 'Billing period.';
COMMENT ON COLUMN subscription_plans.features IS 'Feature list shown on the pricing page (no NULL elements).';
COMMENT ON COLUMN subscription_plans.is_active IS 'Offered to new subscribers.';
COMMENT ON COLUMN subscription_plans.sort_order IS 'Position on the pricing page.';
COMMENT ON COLUMN subscription_plans.version IS 'Optimistic-lock version.';
COMMENT ON COLUMN subscription_plans.created_at IS 'Creation time.';
COMMENT ON COLUMN subscription_plans.updated_at IS 'Last change (maintained by a trigger).';

COMMENT ON TABLE subscriptions IS 'A user''s subscription to a plan; at most one live subscription per user.';
COMMENT ON COLUMN subscriptions.id IS 'UUIDv7 primary key.';
COMMENT ON COLUMN subscriptions.user_id IS 'Subscriber.';
COMMENT ON COLUMN subscriptions.plan_id IS 'Plan.';
COMMENT ON COLUMN subscriptions.status IS 'Life-cycle state.';
COMMENT ON COLUMN subscriptions.provider_customer_id IS 'Customer id at the payment provider.';
COMMENT ON COLUMN subscriptions.provider_subscription_id IS 'Subscription id at the payment provider (unique).';
COMMENT ON COLUMN subscriptions.current_period_start IS 'Current billing period start.';
COMMENT ON COLUMN subscriptions.current_period_end IS 'Current billing period end.';
COMMENT ON COLUMN subscriptions.cancel_at_period_end IS 'Ends at the period end instead of renewing.';
COMMENT ON COLUMN subscriptions.canceled_at IS 'When it was canceled.';
COMMENT ON COLUMN subscriptions.trial_ends_at IS 'When the trial ends.';
COMMENT ON COLUMN subscriptions.version IS 'Optimistic-lock version.';
COMMENT ON COLUMN subscriptions.created_at IS 'Creation time.';
COMMENT ON COLUMN subscriptions.updated_at IS 'Last change (maintained by a trigger).';

COMMENT ON TABLE payments IS 'Payments received from users, with refunds.';
COMMENT ON COLUMN payments.id IS 'UUIDv7 primary key.';
COMMENT ON COLUMN payments.user_id IS 'Payer.';
COMMENT ON COLUMN payments.subscription_id IS 'The subscription it pays for, if any.';
COMMENT ON COLUMN payments.amount_cents IS 'Amount in the currency''s minor unit.';
COMMENT ON COLUMN payments.refunded_cents IS 'Refunded so far, never above amount_cents.';
COMMENT ON COLUMN payments.currency IS 'ISO 4217 code.';
COMMENT ON COLUMN payments.status IS 'Payment state.';
COMMENT ON COLUMN payments.provider_payment_id IS 'The provider''s payment id; the idempotency key of recording a payment.';
COMMENT ON COLUMN payments.description IS 'What it was for.';
COMMENT ON COLUMN payments.metadata IS 'Extra data (a JSON object).';
COMMENT ON COLUMN payments.version IS 'Optimistic-lock version.';
COMMENT ON COLUMN payments.created_at IS 'Creation time.';
COMMENT ON COLUMN payments.updated_at IS 'Last change (maintained by a trigger).';

COMMENT ON TABLE categories IS 'Post categories.';
COMMENT ON COLUMN categories.id IS 'UUIDv7 primary key.';
COMMENT ON COLUMN categories.name IS 'Unique name.';
COMMENT ON COLUMN categories.slug IS 'Unique URL slug.';
COMMENT ON COLUMN categories.description IS 'Description.';
COMMENT ON COLUMN categories.sort_order IS 'Position in menus.';
COMMENT ON COLUMN categories.created_at IS 'Creation time.';
COMMENT ON COLUMN categories.updated_at IS 'Last change (maintained by a trigger).';

COMMENT ON TABLE posts IS 'Posts written by users; soft-deleted rows keep deleted_at set.';
COMMENT ON COLUMN posts.id IS 'UUIDv7 primary key.';
COMMENT ON COLUMN posts.author_id IS 'Author.';
COMMENT ON COLUMN posts.category_id IS 'Category, if any.';
COMMENT ON COLUMN posts.title IS 'Title.';
COMMENT ON COLUMN posts.slug IS 'Unique URL slug, derived from the first title and kept stable.';
COMMENT ON COLUMN posts.excerpt IS 'Teaser.';
COMMENT ON COLUMN posts.content IS 'Body.';
COMMENT ON COLUMN posts.status IS 'Draft, published or archived.';
COMMENT ON COLUMN posts.featured IS 'Shown in the featured listing.';
COMMENT ON COLUMN posts.view_count IS 'Views, counted atomically.';
COMMENT ON COLUMN posts.published_at IS 'First publication time (kept when unpublished and republished).';
COMMENT ON COLUMN posts.deleted_at IS 'Soft-delete mark.';
COMMENT ON COLUMN posts.search IS 'Full-text search vector (English), generated from the title (weight A) and body (weight B).';
COMMENT ON COLUMN posts.version IS 'Optimistic-lock version.';
COMMENT ON COLUMN posts.created_at IS 'Creation time.';
COMMENT ON COLUMN posts.updated_at IS 'Last edit (maintained by a trigger; views do not count).';

COMMENT ON TABLE tags IS 'Post tags, unique by slug.';
COMMENT ON COLUMN tags.id IS 'UUIDv7 primary key.';
COMMENT ON COLUMN tags.name IS 'Display name.';
COMMENT ON COLUMN tags.slug IS 'Unique slug (Rust and rust are one tag).';
COMMENT ON COLUMN tags.usage_count IS 'Posts carrying the tag, kept exact by a trigger on post_tags.';
COMMENT ON COLUMN tags.created_at IS 'Creation time.';

COMMENT ON TABLE post_tags IS 'Which tags a post carries.';
COMMENT ON COLUMN post_tags.post_id IS 'The post.';
COMMENT ON COLUMN post_tags.tag_id IS 'The tag.';
COMMENT ON COLUMN post_tags.created_at IS 'When the tag was attached.';

COMMENT ON TABLE teams IS 'Teams (personal or shared workspaces); rows visible through Row-Level Security by membership.';
COMMENT ON COLUMN teams.id IS 'UUIDv7 primary key.';
COMMENT ON COLUMN teams.name IS 'Display name.';
COMMENT ON COLUMN teams.slug IS 'Unique slug, derived from the first name.';
COMMENT ON COLUMN teams.kind IS 'Personal or shared workspace.';
COMMENT ON COLUMN teams.version IS 'Optimistic-lock version.';
COMMENT ON COLUMN teams.created_at IS 'Creation time.';
COMMENT ON COLUMN teams.updated_at IS 'Last change (maintained by a trigger).';
COMMENT ON COLUMN teams.created_txid IS 'Id of the creating transaction; lets that transaction add the first owner.';

COMMENT ON TABLE team_members IS 'Who belongs to a team, with which role; a team keeps an owner.';
COMMENT ON COLUMN team_members.team_id IS 'The team.';
COMMENT ON COLUMN team_members.user_id IS 'The member.';
COMMENT ON COLUMN team_members.role IS 'Their role in the team.';
COMMENT ON COLUMN team_members.created_at IS 'When they joined.';
COMMENT ON COLUMN team_members.updated_at IS 'Last role change (maintained by a trigger).';

COMMENT ON TABLE team_invitations IS 'Invitations to join a team; the token is stored as SHA-256.';
COMMENT ON COLUMN team_invitations.id IS 'UUIDv7 primary key.';
COMMENT ON COLUMN team_invitations.team_id IS 'The team.';
COMMENT ON COLUMN team_invitations.email IS 'Who is invited (normalised email).';
COMMENT ON COLUMN team_invitations.role IS 'The role they get (never owner).';
COMMENT ON COLUMN team_invitations.token_hash IS 'SHA-256 of the invitation token.';
COMMENT ON COLUMN team_invitations.expires_at IS 'Unusable after this.';
COMMENT ON COLUMN team_invitations.accepted_at IS 'When it was accepted.';
COMMENT ON COLUMN team_invitations.revoked_at IS 'When it was revoked.';
COMMENT ON COLUMN team_invitations.invited_by IS 'Who invited.';
COMMENT ON COLUMN team_invitations.created_at IS 'Creation time.';

COMMENT ON TABLE projects IS 'Projects owned by a team.';
COMMENT ON COLUMN projects.id IS 'UUIDv7 primary key.';
COMMENT ON COLUMN projects.team_id IS 'Owning team.';
COMMENT ON COLUMN projects.name IS 'Name.';
COMMENT ON COLUMN projects.created_by IS 'Creator.';
COMMENT ON COLUMN projects.version IS 'Optimistic-lock version.';
COMMENT ON COLUMN projects.created_at IS 'Creation time.';
COMMENT ON COLUMN projects.updated_at IS 'Last change (maintained by a trigger).';

COMMENT ON TABLE audit_logs IS 'Append-only audit log, partitioned by month of created_at.';
COMMENT ON COLUMN audit_logs.id IS 'UUIDv7 id.';
COMMENT ON COLUMN audit_logs.actor_id IS 'Who did it (NULL: the system). No foreign key: the log outlives users.';
COMMENT ON COLUMN audit_logs.action IS 'What was done, e.g. created, role_changed.';
COMMENT ON COLUMN audit_logs.entity IS 'What kind of thing it was done to, e.g. user.';
COMMENT ON COLUMN audit_logs.entity_id IS 'Which one.';
COMMENT ON COLUMN audit_logs.changes IS 'The fields that changed, {"field": {"before": .., "after": ..}}.';
COMMENT ON COLUMN audit_logs.ip_address IS 'Where the request came from.';
COMMENT ON COLUMN audit_logs.user_agent IS 'The client''s user agent.';
COMMENT ON COLUMN audit_logs.metadata IS 'Anything else worth keeping.';
COMMENT ON COLUMN audit_logs.created_at IS 'When (partition key).';

COMMENT ON TABLE changes IS 'Change feed for live UIs: one row per captured write, ids only, never row contents.';
COMMENT ON COLUMN changes.id IS 'Bigserial; orders the changes within one transaction (xid orders transactions).';
COMMENT ON COLUMN changes.xid IS 'The writing transaction''s top-level id (epoch-extended, never wraps).';
COMMENT ON COLUMN changes.table_name IS 'The table written.';
COMMENT ON COLUMN changes.row_id IS 'The row''s id (for post_tags the post''s, for user_profiles and team_members the user''s).';
COMMENT ON COLUMN changes.op IS 'insert, update or delete.';
COMMENT ON COLUMN changes.team_id IS 'The owning team, for team-scoped tables.';
COMMENT ON COLUMN changes.user_id IS 'The owning user, for user-scoped tables.';
COMMENT ON COLUMN changes.at IS 'The writing transaction''s start time.';

COMMENT ON TABLE outbox_messages IS 'Transactional outbox: messages enqueued with the write that causes them, delivered at least once.';
COMMENT ON COLUMN outbox_messages.id IS 'UUIDv7 id; also an idempotency key for the receiving side.';
COMMENT ON COLUMN outbox_messages.topic IS 'Topic.';
COMMENT ON COLUMN outbox_messages.payload IS 'What the sender needs (ids, an address); never a secret.';
COMMENT ON COLUMN outbox_messages.dedupe_key IS 'The key that makes re-enqueueing a no-op, if any.';
COMMENT ON COLUMN outbox_messages.attempts IS 'Deliveries started (claims), counting ones whose lease ran out.';
COMMENT ON COLUMN outbox_messages.max_attempts IS 'Attempts after which the message is dead-lettered.';
COMMENT ON COLUMN outbox_messages.available_at IS 'Not claimable before this (a retry''s backoff).';
COMMENT ON COLUMN outbox_messages.lease_token IS 'The current lease: only its holder can settle the message.';
COMMENT ON COLUMN outbox_messages.leased_until IS 'When the lease runs out and the message becomes claimable again.';
COMMENT ON COLUMN outbox_messages.last_error IS 'The last failure''s text.';
COMMENT ON COLUMN outbox_messages.dead_at IS 'When it was dead-lettered.';
COMMENT ON COLUMN outbox_messages.delivered_at IS 'When it was acked.';
COMMENT ON COLUMN outbox_messages.created_at IS 'Enqueued at (the enqueueing transaction''s start).';
