CREATE TYPE billing_interval AS ENUM ('month', 'year');
CREATE TYPE subscription_status AS ENUM ('trialing', 'active', 'past_due', 'canceled', 'unpaid', 'incomplete');
CREATE TYPE payment_status AS ENUM ('pending', 'succeeded', 'failed', 'canceled', 'refunded');

CREATE TABLE subscription_plans (
    id          uuid             PRIMARY KEY DEFAULT gen_random_uuid(),
    name        text             NOT NULL,
    description text,
    price_cents bigint           NOT NULL,
    currency    text             NOT NULL DEFAULT 'USD',
    interval    billing_interval NOT NULL,
    features    text[]           NOT NULL DEFAULT '{}',
    is_active   boolean          NOT NULL DEFAULT true,
    sort_order  integer          NOT NULL DEFAULT 0,
    version     integer          NOT NULL DEFAULT 1,
    created_at  timestamptz      NOT NULL DEFAULT now(),
    updated_at  timestamptz      NOT NULL DEFAULT now(),
    CONSTRAINT subscription_plans_name_key UNIQUE (name),
    CONSTRAINT subscription_plans_name_length CHECK (length(name) BETWEEN 1 AND 100),
    CONSTRAINT subscription_plans_description_length CHECK (length(description) <= 2000),
    CONSTRAINT subscription_plans_price_nonnegative CHECK (price_cents >= 0),
    CONSTRAINT subscription_plans_currency_format CHECK (currency ~ '^[A-Z]{3}$'),
    CONSTRAINT subscription_plans_features_no_nulls CHECK (array_position(features, NULL) IS NULL),
    CONSTRAINT subscription_plans_version_positive CHECK (version >= 1)
);
CREATE INDEX subscription_plans_active_sort_idx ON subscription_plans (sort_order, id) WHERE is_active;

CREATE TRIGGER subscription_plans_set_updated_at BEFORE UPDATE ON subscription_plans
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Financial rows are never cascaded away: deleting a user or plan that has
-- subscriptions or payments is refused (RESTRICT); soft-delete the user instead.
CREATE TABLE subscriptions (
    id                       uuid                PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id                  uuid                NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
    plan_id                  uuid                NOT NULL REFERENCES subscription_plans (id) ON DELETE RESTRICT,
    status                   subscription_status NOT NULL,
    provider_customer_id     text,
    provider_subscription_id text,
    current_period_start     timestamptz,
    current_period_end       timestamptz,
    cancel_at_period_end     boolean             NOT NULL DEFAULT false,
    canceled_at              timestamptz,
    trial_ends_at            timestamptz,
    version                  integer             NOT NULL DEFAULT 1,
    created_at               timestamptz         NOT NULL DEFAULT now(),
    updated_at               timestamptz         NOT NULL DEFAULT now(),
    CONSTRAINT subscriptions_provider_subscription_id_key UNIQUE (provider_subscription_id),
    CONSTRAINT subscriptions_period_order CHECK (current_period_end > current_period_start),
    CONSTRAINT subscriptions_canceled_has_timestamp CHECK (status <> 'canceled' OR canceled_at IS NOT NULL),
    CONSTRAINT subscriptions_trialing_has_end CHECK (status <> 'trialing' OR trial_ends_at IS NOT NULL),
    CONSTRAINT subscriptions_version_positive CHECK (version >= 1)
);
-- At most one live subscription per user.
CREATE UNIQUE INDEX subscriptions_one_live_per_user ON subscriptions (user_id)
    WHERE status IN ('trialing', 'active', 'past_due');
CREATE INDEX subscriptions_user_created_idx ON subscriptions (user_id, created_at);
CREATE INDEX subscriptions_plan_id_idx ON subscriptions (plan_id);
CREATE INDEX subscriptions_provider_customer_idx ON subscriptions (provider_customer_id);

CREATE TRIGGER subscriptions_set_updated_at BEFORE UPDATE ON subscriptions
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE payments (
    id                  uuid           PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id             uuid           NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
    subscription_id     uuid           REFERENCES subscriptions (id) ON DELETE RESTRICT,
    amount_cents        bigint         NOT NULL,
    refunded_cents      bigint         NOT NULL DEFAULT 0,
    currency            text           NOT NULL,
    status              payment_status NOT NULL DEFAULT 'pending',
    provider_payment_id text,
    description         text,
    metadata            jsonb          NOT NULL DEFAULT '{}',
    created_at          timestamptz    NOT NULL DEFAULT now(),
    updated_at          timestamptz    NOT NULL DEFAULT now(),
    CONSTRAINT payments_provider_payment_id_key UNIQUE (provider_payment_id),
    CONSTRAINT payments_amount_nonnegative CHECK (amount_cents >= 0),
    CONSTRAINT payments_refund_within_amount CHECK (refunded_cents >= 0 AND refunded_cents <= amount_cents),
    CONSTRAINT payments_currency_format CHECK (currency ~ '^[A-Z]{3}$'),
    CONSTRAINT payments_description_length CHECK (length(description) <= 1000),
    CONSTRAINT payments_metadata_object CHECK (jsonb_typeof(metadata) = 'object')
);
-- list_for_user pages newest first by (created_at, id).
CREATE INDEX payments_user_created_idx ON payments (user_id, created_at, id);
CREATE INDEX payments_subscription_id_idx ON payments (subscription_id);
-- Revenue analytics only look at succeeded payments by month.
CREATE INDEX payments_succeeded_created_idx ON payments (created_at) WHERE status = 'succeeded';

CREATE TRIGGER payments_set_updated_at BEFORE UPDATE ON payments
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
