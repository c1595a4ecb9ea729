//! The cached prepared statements (`src/prepared.rs`) on a warm pooled
//! connection when the ground moves: a host's migration adds a column or
//! an index or a CHECK (`schema_changes`), a backend dies or the server
//! restarts (`lost_backends`), a host runs `DEALLOCATE ALL`
//! (`deallocate`). [`Warm`] is one row of each table with a cached write,
//! and [`Warm::write_all`] runs every cached write once, checking the rows
//! that come back.

mod deallocate;
mod lost_backends;
mod schema_changes;

use diesel::prelude::*;
use diesel::sql_types::Text;
use saas_db::access::Actor;
use saas_db::audit::AuditEntry;
use saas_db::billing::{NewSubscription, PaymentChanges, Plan, PlanChanges, Subscription};
use saas_db::content::{NewPost, Post, PostChanges};
use saas_db::enums::{BillingInterval, PaymentStatus};
use saas_db::teams::Project;
use saas_db::users::{User, UserChanges};
use saas_db::{billing::Payment, Repos};

use crate::support::{actor, client, count_bound, new_payment, plan};

/// The tables with a cached write, each altered by the schema tests.
const TABLES: [&str; 8] = [
    "users",
    "posts",
    "payments",
    "subscription_plans",
    "subscriptions",
    "projects",
    "sessions",
    "audit_logs",
];

/// One row of each table a cached write changes, at its current version
/// (also the rows of `fast_writes`' versioned-update test).
pub(crate) struct Warm {
    pub owner: Actor,
    pub user: User,
    pub post: Post,
    pub payment: Payment,
    pub plans: [Plan; 2],
    pub subscription: Subscription,
    pub project: Project,
    /// How many times [`Warm::write_all`] ran: makes each round's values
    /// new.
    round: u32,
}

impl Warm {
    /// Creates the rows (the owner is the user, and owns the project's team).
    #[track_caller]
    pub(crate) fn new(conn: &mut PgConnection) -> Warm {
        let owner = actor(conn, "owner@example.com");
        let user = conn.users().get(owner.user_id).unwrap();
        let post = conn
            .posts()
            .create(&NewPost {
                author_id: user.id,
                title: "Hello".into(),
                content: "Body".into(),
                ..Default::default()
            })
            .unwrap();
        let (payment, _) = conn
            .payments()
            .record(&new_payment(user.id, 500, "USD", PaymentStatus::Pending))
            .unwrap();
        let plans = [
            plan(conn, "Basic", 1_000, BillingInterval::Month),
            plan(conn, "Pro", 2_000, BillingInterval::Month),
        ];
        let subscription = conn
            .subscriptions()
            .start(&NewSubscription::new(user.id, plans[0].id))
            .unwrap();
        let team = conn.teams().create(&owner, "Crew").unwrap();
        let project = conn.projects().create(&owner, team.id, "Plan").unwrap();
        Warm {
            owner,
            user,
            post,
            payment,
            plans,
            subscription,
            project,
            round: 0,
        }
    }

    /// Runs every cached write once on `conn` and checks what comes back:
    /// the user's update, `change_email`, `record_login`, the post's,
    /// payment's, plan's and project's updates, `change_plan`, a payment
    /// recorded, a session created and an audit entry recorded.
    #[track_caller]
    fn write_all(&mut self, conn: &mut PgConnection) -> saas_db::Result<()> {
        self.round += 1;
        let r = self.round;
        let name = format!("Name {r}");
        let user = conn.users().update(
            self.user.id,
            self.user.version,
            &UserChanges {
                name: Some(name.as_str().into()),
                ..Default::default()
            },
        )?;
        assert_eq!((user.id, &user.name), (self.user.id, &name));
        assert_eq!(user.version, self.user.version + 1);
        let email = format!("owner{r}@example.com");
        let user = conn.users().change_email(user.id, user.version, &email)?;
        assert_eq!((&user.email, &user.name), (&email, &name));
        conn.users().record_login(user.id)?;
        self.user = user;

        let title = format!("Title {r}");
        let post = conn.posts().update(
            self.post.id,
            self.post.version,
            &PostChanges {
                title: Some(title.as_str().into()),
                ..Default::default()
            },
        )?;
        assert_eq!(
            (post.id, &post.title, &post.content),
            (self.post.id, &title, &self.post.content)
        );
        self.post = post;

        let described = format!("Invoice {r}");
        let payment = conn.payments().update(
            self.payment.id,
            self.payment.version,
            &PaymentChanges {
                description: Some(Some(described.as_str().into())),
                ..Default::default()
            },
        )?;
        assert_eq!((payment.id, payment.amount_cents), (self.payment.id, 500));
        assert_eq!(payment.description.as_deref(), Some(described.as_str()));
        self.payment = payment;
        let provider_id = format!("pi_{r}");
        let mut new = new_payment(
            self.user.id,
            100 + i64::from(r),
            "EUR",
            PaymentStatus::Succeeded,
        );
        new.provider_payment_id = Some(provider_id.as_str().into());
        let (recorded, inserted) = conn.payments().record(&new)?;
        assert!(inserted);
        assert_eq!(
            (recorded.amount_cents, recorded.currency.as_str()),
            (100 + i64::from(r), "EUR")
        );
        assert_eq!(
            recorded.provider_payment_id.as_deref(),
            Some(provider_id.as_str())
        );

        let plan_name = format!("Basic {r}");
        let basic = conn.plans().update(
            self.plans[0].id,
            self.plans[0].version,
            &PlanChanges {
                name: Some(plan_name.as_str().into()),
                ..Default::default()
            },
        )?;
        assert_eq!(
            (basic.id, &basic.name, basic.price_cents),
            (self.plans[0].id, &plan_name, 1_000)
        );
        self.plans[0] = basic;
        let to = self.plans[r as usize % 2].id;
        let sub = conn.subscriptions().change_plan(
            self.subscription.id,
            self.subscription.version,
            to,
        )?;
        assert_eq!(
            (sub.id, sub.plan_id, sub.user_id),
            (self.subscription.id, to, self.user.id)
        );
        self.subscription = sub;

        let project_name = format!("Plan {r}");
        let project = conn.projects().rename(
            &self.owner,
            self.project.id,
            self.project.version,
            &project_name,
        )?;
        assert_eq!(
            (project.id, &project.name, project.team_id),
            (self.project.id, &project_name, self.project.team_id)
        );
        self.project = project;

        let (session, _token) = conn.sessions().create(self.user.id, client())?;
        assert_eq!(session.user_id, self.user.id);
        assert_eq!(session.user_agent.as_deref(), Some("saas-db-tests/1.0"));
        let action = format!("round_{r}");
        let entry = AuditEntry::new(&action, "user", Some(self.user.id.into())).by(self.user.id);
        let logged = conn.audit().record(&entry)?;
        assert_eq!(
            (logged.action.as_str(), logged.actor_id),
            (action.as_str(), Some(self.user.id))
        );
        Ok(())
    }

    /// Asserts the user's name and version are what the last round left (a
    /// failed write wrote nothing).
    #[track_caller]
    fn assert_user_unchanged(&self, conn: &mut PgConnection) {
        let user = conn.users().get(self.user.id).unwrap();
        assert_eq!(
            (&user.name, user.version),
            (&self.user.name, self.user.version),
            "nothing written"
        );
    }
}

/// How many statements prepared on `conn` match `like`.
#[track_caller]
fn prepared(conn: &mut PgConnection, like: &str) -> i64 {
    let sql = "SELECT count(*) AS n FROM pg_prepared_statements WHERE statement LIKE $1";
    count_bound::<Text, _>(conn, sql, like)
}
