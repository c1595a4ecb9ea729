//! [`UNIQUE_FIELDS`]: which input field a unique constraint is about.

/// The input field each unique constraint or unique index of the crate is
/// about: what [`Error::field`](super::Error::field) reports for an
/// [`Error::Conflict`](super::Error::Conflict) on it.
/// A catalog test (`tests/it/catalog/unique_fields.rs`) checks that every
/// unique index of the crate's tables has exactly one entry.
pub const UNIQUE_FIELDS: &[(&str, &str)] = &[
    // Primary keys of generated ids: only a caller-chosen id can collide.
    ("accounts_pkey", "id"),
    ("audit_logs_pkey", "id"),
    ("categories_pkey", "id"),
    ("changes_pkey", "id"),
    ("outbox_messages_pkey", "id"),
    ("payments_pkey", "id"),
    ("posts_pkey", "id"),
    ("projects_pkey", "id"),
    ("sessions_pkey", "id"),
    ("subscription_plans_pkey", "id"),
    ("subscriptions_pkey", "id"),
    ("tags_pkey", "id"),
    ("team_invitations_pkey", "id"),
    ("teams_pkey", "id"),
    ("users_pkey", "id"),
    ("verification_tokens_pkey", "id"),
    // Keys made of what the caller sent. A slug is derived from a name or
    // title, so a taken slug is that field's fault.
    ("accounts_provider_account_key", "provider_account_id"),
    ("categories_name_key", "name"),
    ("categories_slug_key", "name"),
    ("outbox_messages_dedupe_key", "dedupe_key"),
    ("payments_provider_payment_id_key", "provider_payment_id"),
    ("post_tags_pkey", "tag_id"),
    ("posts_slug_key", "title"),
    ("subscription_plans_name_key", "name"),
    ("subscriptions_one_live_per_user", "user_id"),
    (
        "subscriptions_provider_subscription_id_key",
        "provider_subscription_id",
    ),
    ("tags_name_key", "name"),
    ("tags_slug_key", "name"),
    ("team_members_pkey", "user_id"),
    ("teams_slug_key", "name"),
    ("user_profiles_pkey", "user_id"),
    ("users_email_key", "email"),
    ("users_email_skeleton_key", "email"),
    ("users_username_lower_key", "username"),
    // Hashes of generated tokens.
    ("sessions_token_hash_key", "token"),
    ("team_invitations_token_hash_key", "token"),
    ("verification_tokens_token_hash_key", "token"),
];
