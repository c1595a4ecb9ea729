//! The rows of the bad-input table: every public function that takes text,
//! a number, a duration or JSON, with the field it must name when it
//! refuses. `src/auth/accounts.rs` (`link_oauth`, `unlink`, `find_user`,
//! `set_password`, `verify_password`) is covered by its own tests.

use std::time::Duration;

use saas_db::audit::AuditEntry;
use saas_db::auth::Client;
use saas_db::billing::{analytics, NewPayment, PlanChanges, ProviderSubscription};
use saas_db::content::{NewCategory, NewPost, PostChanges};
use saas_db::enums::{SubscriptionStatus, TeamRole, TokenKind};
use saas_db::tx::RetryPolicy;
use saas_db::users::{NewUser, ProfileChanges, UserChanges};
use saas_db::{Database, Error, PageRequest, Repos};

use super::table::{row, DurationCall, JsonCall, NumberCall, Row, TextCall};
use super::{new_payment, new_plan, World};

/// A fresh user for calls that change or need one of their own.
fn fresh_user(c: &mut diesel::PgConnection, w: &World) -> saas_db::Result<saas_db::users::User> {
    let email = w.unique("fresh").replace(' ', "") + "@example.com";
    c.users().create(&NewUser::new(&email, "Fresh"))
}

/// A pool on the world's database built with `configure`; a connection
/// error is the right answer for a URL that cannot connect.
fn build(
    w: &World,
    configure: impl FnOnce(saas_db::DatabaseBuilder) -> saas_db::DatabaseBuilder,
) -> saas_db::Result<()> {
    let builder = Database::builder(w.db.url())
        .run_migrations(false)
        .min_idle(Some(0));
    configure(builder).build().map(drop)
}

fn sat_u32(v: i64) -> u32 {
    v.clamp(0, i64::from(u32::MAX)) as u32
}

fn sat_i32(v: i64) -> i32 {
    v.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32
}

pub(crate) fn text_rows() -> Vec<Row<TextCall>> {
    vec![
        row("users.create name", "name", |c, _, s| {
            c.users()
                .create(&NewUser::new("t@example.com", s))
                .map(drop)
        }),
        row("users.create email", "email", |c, _, s| {
            c.users().create(&NewUser::new(s, "T")).map(drop)
        }),
        row("users.create username", "username", |c, _, s| {
            c.users()
                .create(&NewUser::new("t@example.com", "T").username(s))
                .map(drop)
        }),
        row("users.create locale", "locale", |c, _, s| {
            c.users()
                .create(&NewUser::new("t@example.com", "T").locale(s))
                .map(drop)
        }),
        row("users.create timezone", "timezone", |c, _, s| {
            c.users()
                .create(&NewUser::new("t@example.com", "T").timezone(s))
                .map(drop)
        }),
        row("users.create avatar_url", "avatar_url", |c, _, s| {
            c.users()
                .create(&NewUser::new("t@example.com", "T").avatar_url(s))
                .map(drop)
        }),
        row("users.find_by_email", "email", |c, _, s| {
            c.users().find_by_email(s).map(drop)
        }),
        row("users.find_by_username", "username", |c, _, s| {
            c.users().find_by_username(s).map(drop)
        }),
        row("users.update name", "name", |c, w, s| {
            let u = fresh_user(c, w)?;
            c.users()
                .update(
                    u.id,
                    u.version,
                    &UserChanges {
                        name: Some(s),
                        ..Default::default()
                    },
                )
                .map(drop)
        }),
        row("users.change_email", "email", |c, w, s| {
            let u = fresh_user(c, w)?;
            c.users().change_email(u.id, u.version, s).map(drop)
        }),
        row("users.ban reason", "ban_reason", |c, w, s| {
            let u = fresh_user(c, w)?;
            c.users().ban(u.id, None, Some(s)).map(drop)
        }),
        row("users.upsert_profile bio", "bio", |c, w, s| {
            c.users()
                .upsert_profile(
                    w.user.id,
                    &ProfileChanges {
                        bio: Some(Some(s)),
                        ..Default::default()
                    },
                )
                .map(drop)
        }),
        row("users.upsert_profile website", "website", |c, w, s| {
            c.users()
                .upsert_profile(
                    w.user.id,
                    &ProfileChanges {
                        website: Some(Some(s)),
                        ..Default::default()
                    },
                )
                .map(drop)
        }),
        row("users.upsert_profile location", "location", |c, w, s| {
            c.users()
                .upsert_profile(
                    w.user.id,
                    &ProfileChanges {
                        location: Some(Some(s)),
                        ..Default::default()
                    },
                )
                .map(drop)
        }),
        row("users.upsert_profile language", "language", |c, w, s| {
            c.users()
                .upsert_profile(
                    w.user.id,
                    &ProfileChanges {
                        language: Some(s),
                        ..Default::default()
                    },
                )
                .map(drop)
        }),
        row("users.import name", "users[0].name", |c, _, s| {
            c.users()
                .import(&[NewUser::new("i@example.com", s)])
                .map(drop)
        }),
        row("users.batch_update name", "updates[0].name", |c, w, s| {
            c.users()
                .batch_update(
                    &[(
                        w.user.id,
                        UserChanges {
                            name: Some(s),
                            ..Default::default()
                        },
                    )],
                    10,
                )
                .map(drop)
        }),
        row("sessions.create user_agent", "user_agent", |c, w, s| {
            c.sessions()
                .create(w.user.id, Duration::from_secs(60), None, Some(s))
                .map(drop)
        }),
        row("sessions.validate", "token", |c, _, s| {
            c.sessions().validate(s).map(drop)
        }),
        row("verification_tokens.issue email", "email", |c, _, s| {
            c.verification_tokens()
                .issue(TokenKind::MagicLink, s, None, Duration::from_secs(60))
                .map(drop)
        }),
        row("verification_tokens.consume", "token", |c, _, s| {
            c.verification_tokens()
                .consume(TokenKind::MagicLink, s)
                .map(drop)
        }),
        row("verification_tokens.recent_count", "email", |c, _, s| {
            c.verification_tokens()
                .recent_count(s, TokenKind::MagicLink, Duration::from_secs(60))
                .map(drop)
        }),
        row("auth.confirm_email", "token", |c, _, s| {
            c.auth().confirm_email(s).map(drop)
        }),
        row("auth.reset_password token", "token", |c, _, s| {
            c.auth().reset_password(s, "a good new password").map(drop)
        }),
        row("auth.reset_password password", "password", |c, w, s| {
            let (_, token) = c.verification_tokens().issue(
                TokenKind::PasswordReset,
                &w.user.email,
                Some(w.user.id),
                Duration::from_secs(60),
            )?;
            c.auth().reset_password(token.as_str(), s).map(drop)
        }),
        row("auth.sign_in_with_magic_link", "token", |c, _, s| {
            let client = Client {
                ttl: Duration::from_secs(60),
                ip: None,
                user_agent: None,
            };
            c.auth().sign_in_with_magic_link(s, client).map(drop)
        }),
        row("auth.sign_in_with_password email", "email", |c, w, s| {
            let client = Client {
                ttl: Duration::from_secs(60),
                ip: None,
                user_agent: None,
            };
            c.auth()
                .sign_in_with_password(s, w.password(), client)
                .map(drop)
        }),
        row(
            "auth.sign_in_with_password password",
            "password",
            |c, w, s| {
                let client = Client {
                    ttl: Duration::from_secs(60),
                    ip: None,
                    user_agent: None,
                };
                c.auth()
                    .sign_in_with_password(&w.user.email, s, client)
                    .map(drop)
            },
        ),
        row(
            "auth.sign_in_with_password user_agent",
            "user_agent",
            |c, w, s| {
                let client = Client {
                    ttl: Duration::from_secs(60),
                    ip: None,
                    user_agent: Some(s),
                };
                c.auth()
                    .sign_in_with_password(&w.user.email, w.password(), client)
                    .map(drop)
            },
        ),
        row("plans.create name", "name", |c, _, s| {
            c.plans().create(&new_plan(s)).map(drop)
        }),
        row("plans.create description", "description", |c, w, s| {
            c.plans()
                .create(&saas_db::billing::NewPlan {
                    description: Some(s),
                    ..new_plan(&w.unique("plan"))
                })
                .map(drop)
        }),
        row("plans.create currency", "currency", |c, w, s| {
            c.plans()
                .create(&saas_db::billing::NewPlan {
                    currency: s,
                    ..new_plan(&w.unique("plan"))
                })
                .map(drop)
        }),
        row("plans.create features", "features[0].feature", |c, w, s| {
            c.plans()
                .create(&saas_db::billing::NewPlan {
                    features: vec![s],
                    ..new_plan(&w.unique("plan"))
                })
                .map(drop)
        }),
        row("plans.update name", "name", |c, w, s| {
            let p = c.plans().create(&new_plan(&w.unique("plan")))?;
            c.plans()
                .update(
                    p.id,
                    p.version,
                    &PlanChanges {
                        name: Some(s),
                        ..Default::default()
                    },
                )
                .map(drop)
        }),
        row("payments.record currency", "currency", |c, w, s| {
            c.payments()
                .record(&NewPayment {
                    currency: s,
                    ..new_payment(w.user.id)
                })
                .map(drop)
        }),
        row(
            "payments.record provider_payment_id",
            "provider_payment_id",
            |c, w, s| {
                c.payments()
                    .record(&NewPayment {
                        provider_payment_id: Some(s),
                        ..new_payment(w.user.id)
                    })
                    .map(drop)
            },
        ),
        row("payments.record description", "description", |c, w, s| {
            c.payments()
                .record(&NewPayment {
                    description: Some(s),
                    ..new_payment(w.user.id)
                })
                .map(drop)
        }),
        row(
            "subscriptions.sync_from_provider id",
            "provider_subscription_id",
            |c, w, s| {
                let u = fresh_user(c, w)?;
                c.subscriptions()
                    .sync_from_provider(&provider_subscription(u.id, w.plan.id, s, None))
                    .map(drop)
            },
        ),
        row(
            "subscriptions.sync_from_provider customer",
            "provider_customer_id",
            |c, w, s| {
                let u = fresh_user(c, w)?;
                c.subscriptions()
                    .sync_from_provider(&provider_subscription(
                        u.id,
                        w.plan.id,
                        &w.unique("sub"),
                        Some(s),
                    ))
                    .map(drop)
            },
        ),
        row(
            "analytics::top_customers currency",
            "currency",
            |c, _, s| analytics::top_customers(c, s, 10).map(drop),
        ),
        row(
            "analytics::monthly_revenue currency",
            "currency",
            |c, _, s| analytics::monthly_revenue(c, s, 12).map(drop),
        ),
        row("posts.create title", "title", |c, w, s| {
            c.posts()
                .create(&NewPost {
                    author_id: w.user.id,
                    title: s,
                    ..Default::default()
                })
                .map(drop)
        }),
        row("posts.create content", "content", |c, w, s| {
            c.posts()
                .create(&NewPost {
                    author_id: w.user.id,
                    title: "T",
                    content: s,
                    ..Default::default()
                })
                .map(drop)
        }),
        row("posts.create excerpt", "excerpt", |c, w, s| {
            c.posts()
                .create(&NewPost {
                    author_id: w.user.id,
                    title: "T",
                    excerpt: Some(s),
                    ..Default::default()
                })
                .map(drop)
        }),
        row("posts.update title", "title", |c, w, s| {
            let p = c.posts().create(&NewPost {
                author_id: w.user.id,
                title: "T",
                ..Default::default()
            })?;
            c.posts()
                .update(
                    p.id,
                    p.version,
                    &PostChanges {
                        title: Some(s),
                        ..Default::default()
                    },
                )
                .map(drop)
        }),
        row("posts.get_by_slug", "slug", |c, _, s| {
            c.posts().get_by_slug(s).map(drop)
        }),
        row("posts.search", "text", |c, _, s| {
            c.posts().search(s, PageRequest::first(10)).map(drop)
        }),
        row("posts.set_tags", "tags[0].name", |c, w, s| {
            c.posts().set_tags(w.post.id, &[s]).map(drop)
        }),
        row("tags.create", "name", |c, _, s| {
            c.tags().create(s).map(drop)
        }),
        row("tags.get_by_slug", "slug", |c, _, s| {
            c.tags().get_by_slug(s).map(drop)
        }),
        row("categories.create name", "name", |c, _, s| {
            c.categories()
                .create(&NewCategory {
                    name: s,
                    ..Default::default()
                })
                .map(drop)
        }),
        row("categories.create description", "description", |c, w, s| {
            c.categories()
                .create(&NewCategory {
                    name: &w.unique("cat"),
                    description: Some(s),
                    ..Default::default()
                })
                .map(drop)
        }),
        row("categories.get_by_slug", "slug", |c, _, s| {
            c.categories().get_by_slug(s).map(drop)
        }),
        row("teams.create", "name", |c, w, s| {
            c.teams().create(&w.owner, s).map(drop)
        }),
        row("teams.invite email", "email", |c, w, s| {
            c.teams()
                .invite(
                    &w.owner,
                    w.team.id,
                    s,
                    TeamRole::Member,
                    Duration::from_secs(60),
                )
                .map(drop)
        }),
        row("teams.accept", "token", |c, w, s| {
            c.teams().accept(&w.owner, s).map(drop)
        }),
        row("projects.create", "name", |c, w, s| {
            c.projects().create(&w.owner, w.team.id, s).map(drop)
        }),
        row("audit.record action", "action", |c, _, s| {
            c.audit()
                .record(&AuditEntry::new(s, "thing", None))
                .map(drop)
        }),
        row("audit.record entity", "entity", |c, _, s| {
            c.audit().record(&AuditEntry::new("did", s, None)).map(drop)
        }),
        row("audit.record user_agent", "user_agent", |c, _, s| {
            c.audit()
                .record(&AuditEntry::new("did", "thing", None).client(None, Some(s)))
                .map(drop)
        }),
        row(
            "audit.record_many action",
            "entries[0].action",
            |c, _, s| {
                c.audit()
                    .record_many(&[AuditEntry::new(s, "thing", None)])
                    .map(drop)
            },
        ),
        row("audit.for_entity", "entity", |c, w, s| {
            c.audit()
                .for_entity(s, w.user.id, PageRequest::first(10))
                .map(drop)
        }),
        row("tenancy::grant_app_access", "role", |c, _, s| {
            saas_db::tenancy::grant_app_access(c, s)
        }),
        row(
            "Database::builder url",
            "url",
            |_, _, s| match Database::builder(s)
                .run_migrations(false)
                .min_idle(Some(0))
                .build()
            {
                // An unreachable or unparsable server address is the right answer.
                Err(Error::Connection(_)) => Ok(()),
                other => other.map(drop),
            },
        ),
        row("DatabaseBuilder::schema", "schema", |_, w, s| {
            build(w, |b| b.schema(s))
        }),
        row(
            "DatabaseBuilder::application_name",
            "application_name",
            |_, w, s| build(w, |b| b.application_name(s)),
        ),
    ]
}

fn provider_subscription<'a>(
    user_id: uuid::Uuid,
    plan_id: uuid::Uuid,
    id: &'a str,
    customer: Option<&'a str>,
) -> ProviderSubscription<'a> {
    ProviderSubscription {
        provider_subscription_id: id,
        provider_customer_id: customer,
        user_id,
        plan_id,
        status: SubscriptionStatus::Active,
        current_period_start: None,
        current_period_end: None,
        cancel_at_period_end: false,
        canceled_at: None,
        trial_ends_at: None,
    }
}

pub(crate) fn number_rows() -> Vec<Row<NumberCall>> {
    vec![
        row("payments.refund", "amount_cents", |c, w, n| {
            c.payments().refund(w.payment.id, n).map(drop)
        }),
        row("payments.record amount_cents", "amount_cents", |c, w, n| {
            c.payments()
                .record(&NewPayment {
                    amount_cents: n,
                    ..new_payment(w.user.id)
                })
                .map(drop)
        }),
        row("plans.create price_cents", "price_cents", |c, w, n| {
            c.plans()
                .create(&saas_db::billing::NewPlan {
                    price_cents: n,
                    ..new_plan(&w.unique("plan"))
                })
                .map(drop)
        }),
        row("plans.create sort_order", "sort_order", |c, w, n| {
            c.plans()
                .create(&saas_db::billing::NewPlan {
                    sort_order: sat_i32(n),
                    ..new_plan(&w.unique("plan"))
                })
                .map(drop)
        }),
        row("plans.update price_cents", "price_cents", |c, w, n| {
            let p = c.plans().create(&new_plan(&w.unique("plan")))?;
            c.plans()
                .update(
                    p.id,
                    p.version,
                    &PlanChanges {
                        price_cents: Some(n),
                        ..Default::default()
                    },
                )
                .map(drop)
        }),
        row("plans.update sort_order", "sort_order", |c, w, n| {
            let p = c.plans().create(&new_plan(&w.unique("plan")))?;
            c.plans()
                .update(
                    p.id,
                    p.version,
                    &PlanChanges {
                        sort_order: Some(sat_i32(n)),
                        ..Default::default()
                    },
                )
                .map(drop)
        }),
        row(
            "plans.update expected_version",
            "expected_version",
            |c, w, n| {
                c.plans()
                    .update(w.plan.id, sat_i32(n), &PlanChanges::default())
                    .map(drop)
            },
        ),
        row("categories.create sort_order", "sort_order", |c, w, n| {
            c.categories()
                .create(&NewCategory {
                    name: &w.unique("cat"),
                    sort_order: sat_i32(n),
                    ..Default::default()
                })
                .map(drop)
        }),
        row(
            "users.update expected_version",
            "expected_version",
            |c, w, n| {
                c.users()
                    .update(w.user.id, sat_i32(n), &UserChanges::default())
                    .map(drop)
            },
        ),
        row(
            "users.change_email expected_version",
            "expected_version",
            |c, w, n| {
                c.users()
                    .change_email(w.user.id, sat_i32(n), "other@example.com")
                    .map(drop)
            },
        ),
        row(
            "posts.update expected_version",
            "expected_version",
            |c, w, n| {
                c.posts()
                    .update(w.post.id, sat_i32(n), &PostChanges::default())
                    .map(drop)
            },
        ),
        row(
            "subscriptions.change_plan expected_version",
            "expected_version",
            |c, w, n| {
                let u = fresh_user(c, w)?;
                let s = c.subscriptions().start(u.id, w.plan.id, None)?;
                c.subscriptions()
                    .change_plan(s.id, sat_i32(n), w.plan.id)
                    .map(drop)
            },
        ),
        row("sessions.purge_expired", "batch", |c, _, n| {
            c.sessions().purge_expired(n).map(drop)
        }),
        row("verification_tokens.purge_expired", "batch", |c, _, n| {
            c.verification_tokens().purge_expired(n).map(drop)
        }),
        row("tags.popular", "limit", |c, _, n| {
            c.tags().popular(sat_u32(n)).map(drop)
        }),
        row("PageRequest limit (users.list)", "limit", |c, _, n| {
            c.users().list(PageRequest::first(sat_u32(n))).map(drop)
        }),
        row("analytics::top_customers limit", "limit", |c, _, n| {
            analytics::top_customers(c, "USD", n).map(drop)
        }),
        row("analytics::monthly_revenue months", "months", |c, _, n| {
            analytics::monthly_revenue(c, "USD", sat_i32(n)).map(drop)
        }),
        row(
            "analytics::users_with_recent_payments days",
            "days",
            |c, _, n| analytics::users_with_recent_payments(c, sat_u32(n)).map(drop),
        ),
        row("audit.ensure_partitions", "months_ahead", |c, _, n| {
            c.audit().ensure_partitions(sat_u32(n)).map(drop)
        }),
        row("Database::slow_queries", "n", |_, w, n| {
            w.db.slow_queries(n).map(drop)
        }),
        row("users.batch_update chunk_size", "chunk_size", |c, w, n| {
            c.users()
                .batch_update(
                    &[(w.user.id, UserChanges::default())],
                    n.clamp(0, i64::MAX) as usize,
                )
                .map(drop)
        }),
        row("PasswordHasher::new memory", "memory_kib", |_, _, n| {
            saas_db::auth::PasswordHasher::new(sat_u32(n), 2, 1).map(drop)
        }),
        row(
            "PasswordHasher::new iterations",
            "iterations",
            |_, _, n| saas_db::auth::PasswordHasher::new(19_456, sat_u32(n), 1).map(drop),
        ),
        row("PasswordHasher::new lanes", "lanes", |_, _, n| {
            saas_db::auth::PasswordHasher::new(19_456, 2, sat_u32(n)).map(drop)
        }),
        row("RetryPolicy::attempts", "attempts", |_, w, n| {
            w.db.transaction_with_retry(&RetryPolicy::new().attempts(sat_u32(n)), |_| Ok(()))
        }),
        row("DatabaseBuilder::max_size", "max_size", |_, w, n| {
            build(w, |b| b.max_size(sat_u32(n)))
        }),
        row("DatabaseBuilder::min_idle", "min_idle", |_, w, n| {
            build(w, |b| b.max_size(2).min_idle(Some(sat_u32(n))))
        }),
    ]
}

pub(crate) fn duration_rows() -> Vec<Row<DurationCall>> {
    vec![
        row("sessions.create ttl", "ttl", |c, w, d| {
            c.sessions().create(w.user.id, d, None, None).map(drop)
        }),
        row("sessions.touch ttl", "ttl", |c, w, d| {
            c.sessions().touch(w.session_id, d).map(drop)
        }),
        row("verification_tokens.issue ttl", "ttl", |c, _, d| {
            c.verification_tokens()
                .issue(TokenKind::MagicLink, "ttl@example.com", None, d)
                .map(drop)
        }),
        row(
            "verification_tokens.recent_count window",
            "window",
            |c, _, d| {
                c.verification_tokens()
                    .recent_count("ttl@example.com", TokenKind::MagicLink, d)
                    .map(drop)
            },
        ),
        row("subscriptions.start trial", "trial", |c, w, d| {
            let u = fresh_user(c, w)?;
            c.subscriptions().start(u.id, w.plan.id, Some(d)).map(drop)
        }),
        row("teams.invite ttl", "ttl", |c, w, d| {
            c.teams()
                .invite(
                    &w.owner,
                    w.team.id,
                    "guest@example.com",
                    TeamRole::Member,
                    d,
                )
                .map(drop)
        }),
        row("auth.sign_in_with_password ttl", "ttl", |c, w, d| {
            let client = Client {
                ttl: d,
                ip: None,
                user_agent: None,
            };
            c.auth()
                .sign_in_with_password(&w.user.email, w.password(), client)
                .map(drop)
        }),
        row("auth.sign_in_with_magic_link ttl", "ttl", |c, w, d| {
            let (_, token) = c.verification_tokens().issue(
                TokenKind::MagicLink,
                &w.user.email,
                Some(w.user.id),
                Duration::from_secs(60),
            )?;
            let client = Client {
                ttl: d,
                ip: None,
                user_agent: None,
            };
            c.auth()
                .sign_in_with_magic_link(token.as_str(), client)
                .map(drop)
        }),
        row(
            "tx::set_local_statement_timeout",
            "statement_timeout",
            |c, _, d| {
                diesel::Connection::transaction(c, |tx| {
                    saas_db::tx::set_local_statement_timeout(tx, d)
                })
            },
        ),
        row(
            "RetryPolicy::statement_timeout",
            "statement_timeout",
            |_, w, d| {
                w.db.transaction_with_retry(&RetryPolicy::new().statement_timeout(d), |_| Ok(()))
            },
        ),
        row("Database::health_within", "deadline", |_, w, d| {
            let started = std::time::Instant::now();
            drop(w.db.health_within(d));
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "health_within did not return"
            );
            Ok(())
        }),
        row(
            "DatabaseBuilder::connection_timeout",
            "connection_timeout",
            |_, w, d| build(w, |b| b.connection_timeout(d)),
        ),
        row(
            "DatabaseBuilder::statement_timeout",
            "statement_timeout",
            |_, w, d| build(w, |b| b.statement_timeout(d)),
        ),
        row(
            "DatabaseBuilder::recheck_after",
            "recheck_after",
            |_, w, d| build(w, |b| b.recheck_after(d)),
        ),
    ]
}

pub(crate) fn json_rows() -> Vec<Row<JsonCall>> {
    vec![
        row("payments.record metadata", "metadata", |c, w, json| {
            let payment = NewPayment {
                metadata: std::mem::take(json),
                ..new_payment(w.user.id)
            };
            let result = c.payments().record(&payment).map(drop);
            *json = payment.metadata;
            result
        }),
        row("audit.record changes", "changes", |c, _, json| {
            let entry = AuditEntry::new("did", "thing", None).changes(std::mem::take(json));
            let result = c.audit().record(&entry).map(drop);
            *json = entry.changes;
            result
        }),
        row("audit.record metadata", "metadata", |c, _, json| {
            let entry = AuditEntry::new("did", "thing", None).metadata(std::mem::take(json));
            let result = c.audit().record(&entry).map(drop);
            *json = entry.metadata;
            result
        }),
        row(
            "audit.record_many metadata",
            "entries[0].metadata",
            |c, _, json| {
                let entries =
                    [AuditEntry::new("did", "thing", None).metadata(std::mem::take(json))];
                let result = c.audit().record_many(&entries).map(drop);
                let [entry] = entries;
                *json = entry.metadata;
                result
            },
        ),
        row("validate::json_object", "field", |_, _, json| {
            saas_db::validate::json_object("field", json)
        }),
    ]
}
