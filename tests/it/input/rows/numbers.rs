//! Number rows: money, versions, limits, batch and pool sizes.

use saas_db::billing::{NewPayment, NewSubscription, PlanChanges};
use saas_db::content::{NewCategory, PostChanges};
use saas_db::tx::RetryPolicy;
use saas_db::users::UserChanges;
use saas_db::{PageRequest, Repos};

use super::super::table::{row, NumberCall, Row};
use super::super::{valid_payment, valid_plan};
use super::{build, fresh_user, sat_i32, sat_u32};

pub(crate) fn number_rows() -> Vec<Row<NumberCall>> {
    vec![
        row("payments.refund", "amount_cents", |c, w, n| {
            c.payments().refund(w.payment.id, n).map(drop)
        }),
        row("payments.record amount_cents", "amount_cents", |c, w, n| {
            c.payments()
                .record(&NewPayment {
                    amount_cents: n,
                    ..valid_payment(w.user.id)
                })
                .map(drop)
        }),
        row("plans.create price_cents", "price_cents", |c, w, n| {
            c.plans()
                .create(&saas_db::billing::NewPlan {
                    price_cents: n,
                    ..valid_plan(&w.unique("plan"))
                })
                .map(drop)
        }),
        row("plans.create sort_order", "sort_order", |c, w, n| {
            c.plans()
                .create(&saas_db::billing::NewPlan {
                    sort_order: sat_i32(n),
                    ..valid_plan(&w.unique("plan"))
                })
                .map(drop)
        }),
        row("plans.update price_cents", "price_cents", |c, w, n| {
            let p = c.plans().create(&valid_plan(&w.unique("plan")))?;
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
            let p = c.plans().create(&valid_plan(&w.unique("plan")))?;
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
                    name: w.unique("cat").into(),
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
                let s = c
                    .subscriptions()
                    .start(&NewSubscription::new(u.id, w.plan.id))?;
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
            c.analytics().top_customers("USD", n).map(drop)
        }),
        row("analytics::monthly_revenue months", "months", |c, _, n| {
            c.analytics().monthly_revenue("USD", sat_i32(n)).map(drop)
        }),
        row(
            "analytics::users_with_recent_payments days",
            "days",
            |c, _, n| {
                c.analytics()
                    .users_with_recent_payments(sat_u32(n))
                    .map(drop)
            },
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
        row("PasswordHasher::new iterations", "iterations", |_, _, n| {
            saas_db::auth::PasswordHasher::new(19_456, sat_u32(n), 1).map(drop)
        }),
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
