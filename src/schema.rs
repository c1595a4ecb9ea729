// @generated automatically by Diesel CLI.

pub mod sql_types {
    #[derive(diesel::query_builder::QueryId, Clone, diesel::sql_types::SqlType)]
    #[diesel(postgres_type(name = "billing_interval"))]
    pub struct BillingInterval;

    #[derive(diesel::query_builder::QueryId, Clone, diesel::sql_types::SqlType)]
    #[diesel(postgres_type(name = "payment_status"))]
    pub struct PaymentStatus;

    #[derive(diesel::query_builder::QueryId, Clone, diesel::sql_types::SqlType)]
    #[diesel(postgres_type(name = "post_status"))]
    pub struct PostStatus;

    #[derive(diesel::query_builder::QueryId, Clone, diesel::sql_types::SqlType)]
    #[diesel(postgres_type(name = "subscription_status"))]
    pub struct SubscriptionStatus;

    #[derive(diesel::query_builder::QueryId, Clone, diesel::sql_types::SqlType)]
    #[diesel(postgres_type(name = "team_kind"))]
    pub struct TeamKind;

    #[derive(diesel::query_builder::QueryId, Clone, diesel::sql_types::SqlType)]
    #[diesel(postgres_type(name = "team_role"))]
    pub struct TeamRole;

    #[derive(diesel::query_builder::QueryId, Clone, diesel::sql_types::SqlType)]
    #[diesel(postgres_type(name = "theme"))]
    pub struct Theme;

    #[derive(diesel::query_builder::QueryId, Clone, diesel::sql_types::SqlType)]
    #[diesel(postgres_type(name = "token_kind"))]
    pub struct TokenKind;

    #[derive(diesel::query_builder::QueryId, Clone, diesel::sql_types::SqlType)]
    #[diesel(postgres_type(name = "user_role"))]
    pub struct UserRole;

    #[derive(diesel::query_builder::QueryId, Clone, diesel::sql_types::SqlType)]
    #[diesel(postgres_type(name = "xid8", schema = "pg_catalog"))]
    pub struct Xid8;
}

diesel::table! {
    accounts (id) {
        id -> Uuid,
        user_id -> Uuid,
        provider -> Text,
        provider_account_id -> Text,
        password_hash -> Nullable<Text>,
        access_token_enc -> Nullable<Bytea>,
        refresh_token_enc -> Nullable<Bytea>,
        id_token_enc -> Nullable<Bytea>,
        token_type -> Nullable<Text>,
        expires_at -> Nullable<Timestamptz>,
        scope -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    audit_logs (id, created_at) {
        id -> Uuid,
        actor_id -> Nullable<Uuid>,
        action -> Text,
        entity -> Text,
        entity_id -> Nullable<Uuid>,
        changes -> Jsonb,
        ip_address -> Nullable<Inet>,
        user_agent -> Nullable<Text>,
        metadata -> Jsonb,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    categories (id) {
        id -> Uuid,
        name -> Text,
        slug -> Text,
        description -> Nullable<Text>,
        sort_order -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::Xid8;

    changes (id) {
        id -> Int8,
        xid -> Xid8,
        table_name -> Text,
        row_id -> Uuid,
        op -> Text,
        team_id -> Nullable<Uuid>,
        user_id -> Nullable<Uuid>,
        at -> Timestamptz,
    }
}

diesel::table! {
    outbox_messages (id) {
        id -> Uuid,
        topic -> Text,
        payload -> Jsonb,
        dedupe_key -> Nullable<Text>,
        attempts -> Int4,
        max_attempts -> Int4,
        available_at -> Timestamptz,
        lease_token -> Nullable<Uuid>,
        leased_until -> Nullable<Timestamptz>,
        last_error -> Nullable<Text>,
        dead_at -> Nullable<Timestamptz>,
        delivered_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::PaymentStatus;

    payments (id) {
        id -> Uuid,
        user_id -> Uuid,
        subscription_id -> Nullable<Uuid>,
        amount_cents -> Int8,
        refunded_cents -> Int8,
        currency -> Text,
        status -> PaymentStatus,
        provider_payment_id -> Nullable<Text>,
        description -> Nullable<Text>,
        metadata -> Jsonb,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        version -> Int4,
    }
}

diesel::table! {
    post_tags (post_id, tag_id) {
        post_id -> Uuid,
        tag_id -> Uuid,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::PostStatus;
    use diesel_full_text_search::TsVector;

    posts (id) {
        id -> Uuid,
        author_id -> Uuid,
        category_id -> Nullable<Uuid>,
        title -> Text,
        slug -> Text,
        excerpt -> Nullable<Text>,
        content -> Text,
        status -> PostStatus,
        featured -> Bool,
        view_count -> Int8,
        published_at -> Nullable<Timestamptz>,
        deleted_at -> Nullable<Timestamptz>,
        search -> TsVector,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    projects (id) {
        id -> Uuid,
        team_id -> Uuid,
        name -> Text,
        created_by -> Nullable<Uuid>,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    sessions (id) {
        id -> Uuid,
        user_id -> Uuid,
        token_hash -> Bytea,
        expires_at -> Timestamptz,
        last_seen_at -> Timestamptz,
        ip_address -> Nullable<Inet>,
        user_agent -> Nullable<Text>,
        revoked_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::BillingInterval;

    subscription_plans (id) {
        id -> Uuid,
        name -> Text,
        description -> Nullable<Text>,
        price_cents -> Int8,
        currency -> Text,
        interval -> BillingInterval,
        features -> Array<Text>,
        is_active -> Bool,
        sort_order -> Int4,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::SubscriptionStatus;

    subscriptions (id) {
        id -> Uuid,
        user_id -> Uuid,
        plan_id -> Uuid,
        status -> SubscriptionStatus,
        provider_customer_id -> Nullable<Text>,
        provider_subscription_id -> Nullable<Text>,
        current_period_start -> Nullable<Timestamptz>,
        current_period_end -> Nullable<Timestamptz>,
        cancel_at_period_end -> Bool,
        canceled_at -> Nullable<Timestamptz>,
        trial_ends_at -> Nullable<Timestamptz>,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    tags (id) {
        id -> Uuid,
        name -> Text,
        slug -> Text,
        usage_count -> Int4,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::TeamRole;

    team_invitations (id) {
        id -> Uuid,
        team_id -> Uuid,
        email -> Text,
        role -> TeamRole,
        token_hash -> Bytea,
        expires_at -> Timestamptz,
        accepted_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
        invited_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::TeamRole;

    team_members (team_id, user_id) {
        team_id -> Uuid,
        user_id -> Uuid,
        role -> TeamRole,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::TeamKind;

    teams (id) {
        id -> Uuid,
        name -> Text,
        slug -> Text,
        kind -> TeamKind,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        created_txid -> Int8,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::Theme;

    user_profiles (user_id) {
        user_id -> Uuid,
        bio -> Nullable<Text>,
        website -> Nullable<Text>,
        location -> Nullable<Text>,
        theme -> Theme,
        language -> Text,
        email_notifications -> Bool,
        marketing_emails -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::UserRole;

    users (id) {
        id -> Uuid,
        email -> Text,
        name -> Text,
        username -> Nullable<Text>,
        avatar_url -> Nullable<Text>,
        role -> UserRole,
        email_verified_at -> Nullable<Timestamptz>,
        is_active -> Bool,
        banned_at -> Nullable<Timestamptz>,
        ban_reason -> Nullable<Text>,
        ban_expires_at -> Nullable<Timestamptz>,
        locale -> Text,
        timezone -> Text,
        onboarding_complete -> Bool,
        last_login_at -> Nullable<Timestamptz>,
        deleted_at -> Nullable<Timestamptz>,
        version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        email_skeleton -> Nullable<Text>,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::TokenKind;

    verification_tokens (id) {
        id -> Uuid,
        kind -> TokenKind,
        email -> Text,
        user_id -> Nullable<Uuid>,
        token_hash -> Bytea,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::joinable!(accounts -> users (user_id));
diesel::joinable!(payments -> subscriptions (subscription_id));
diesel::joinable!(payments -> users (user_id));
diesel::joinable!(post_tags -> posts (post_id));
diesel::joinable!(post_tags -> tags (tag_id));
diesel::joinable!(posts -> categories (category_id));
diesel::joinable!(posts -> users (author_id));
diesel::joinable!(projects -> teams (team_id));
diesel::joinable!(projects -> users (created_by));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(subscriptions -> subscription_plans (plan_id));
diesel::joinable!(subscriptions -> users (user_id));
diesel::joinable!(team_invitations -> teams (team_id));
diesel::joinable!(team_invitations -> users (invited_by));
diesel::joinable!(team_members -> teams (team_id));
diesel::joinable!(team_members -> users (user_id));
diesel::joinable!(user_profiles -> users (user_id));
diesel::joinable!(verification_tokens -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(
    accounts,
    audit_logs,
    categories,
    changes,
    outbox_messages,
    payments,
    post_tags,
    posts,
    projects,
    sessions,
    subscription_plans,
    subscriptions,
    tags,
    team_invitations,
    team_members,
    teams,
    user_profiles,
    users,
    verification_tokens,
);
