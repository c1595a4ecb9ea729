//! Text rows: billing, content, teams, the audit log and the pool.

use std::time::Duration;

use saas_db::audit::AuditEntry;
use saas_db::billing::{NewPayment, PlanChanges, ProviderSubscription};
use saas_db::content::{NewCategory, NewPost, PostChanges};
use saas_db::enums::{SubscriptionStatus, TeamRole};
use saas_db::ids::{PlanId, UserId};
use saas_db::{Database, Error, PageRequest, Repos};

use super::super::table::{row, Row, TextCall};
use super::super::{valid_payment, valid_plan};
use super::{build, fresh_user};

pub(crate) fn text_rows() -> Vec<Row<TextCall>> {
    vec![
        row("plans.create name", "name", |c, _, s| {
            c.plans().create(&valid_plan(s)).map(drop)
        }),
        row("plans.create description", "description", |c, w, s| {
            c.plans()
                .create(&saas_db::billing::NewPlan {
                    description: Some(s.into()),
                    ..valid_plan(&w.unique("plan"))
                })
                .map(drop)
        }),
        row("plans.create currency", "currency", |c, w, s| {
            c.plans()
                .create(&saas_db::billing::NewPlan {
                    currency: s.into(),
                    ..valid_plan(&w.unique("plan"))
                })
                .map(drop)
        }),
        row("plans.create features", "features[0].feature", |c, w, s| {
            c.plans()
                .create(&saas_db::billing::NewPlan {
                    features: vec![s.into()],
                    ..valid_plan(&w.unique("plan"))
                })
                .map(drop)
        }),
        row("plans.update name", "name", |c, w, s| {
            let p = c.plans().create(&valid_plan(&w.unique("plan")))?;
            c.plans()
                .update(
                    p.id,
                    p.version,
                    &PlanChanges {
                        name: Some(s.into()),
                        ..Default::default()
                    },
                )
                .map(drop)
        }),
        row("payments.record currency", "currency", |c, w, s| {
            c.payments()
                .record(&NewPayment {
                    currency: s.into(),
                    ..valid_payment(w.user.id)
                })
                .map(drop)
        }),
        row(
            "payments.record provider_payment_id",
            "provider_payment_id",
            |c, w, s| {
                c.payments()
                    .record(&NewPayment {
                        provider_payment_id: Some(s.into()),
                        ..valid_payment(w.user.id)
                    })
                    .map(drop)
            },
        ),
        row("payments.record description", "description", |c, w, s| {
            c.payments()
                .record(&NewPayment {
                    description: Some(s.into()),
                    ..valid_payment(w.user.id)
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
            |c, _, s| c.analytics().top_customers(s, 10).map(drop),
        ),
        row(
            "analytics::monthly_revenue currency",
            "currency",
            |c, _, s| c.analytics().monthly_revenue(s, 12).map(drop),
        ),
        row("posts.create title", "title", |c, w, s| {
            c.posts()
                .create(&NewPost {
                    author_id: w.user.id,
                    title: s.into(),
                    ..Default::default()
                })
                .map(drop)
        }),
        row("posts.create content", "content", |c, w, s| {
            c.posts()
                .create(&NewPost {
                    author_id: w.user.id,
                    title: "T".into(),
                    content: s.into(),
                    ..Default::default()
                })
                .map(drop)
        }),
        row("posts.create excerpt", "excerpt", |c, w, s| {
            c.posts()
                .create(&NewPost {
                    author_id: w.user.id,
                    title: "T".into(),
                    excerpt: Some(s.into()),
                    ..Default::default()
                })
                .map(drop)
        }),
        row("posts.update title", "title", |c, w, s| {
            let p = c.posts().create(&NewPost {
                author_id: w.user.id,
                title: "T".into(),
                ..Default::default()
            })?;
            c.posts()
                .update(
                    p.id,
                    p.version,
                    &PostChanges {
                        title: Some(s.into()),
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
                    name: s.into(),
                    ..Default::default()
                })
                .map(drop)
        }),
        row("categories.create description", "description", |c, w, s| {
            c.categories()
                .create(&NewCategory {
                    name: w.unique("cat").into(),
                    description: Some(s.into()),
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

pub(crate) fn provider_subscription<'a>(
    user_id: UserId,
    plan_id: PlanId,
    id: &'a str,
    customer: Option<&'a str>,
) -> ProviderSubscription<'a> {
    ProviderSubscription {
        provider_subscription_id: id.into(),
        provider_customer_id: customer.map(Into::into),
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
