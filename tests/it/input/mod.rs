//! The trust boundary under hostile input (issue 12 items 8, 11-14 and the
//! bad-input table): every public function that takes text, numbers,
//! durations or JSON, called with NUL bytes, 1 MB strings, empty and blank
//! text, integer extremes, `Duration::MAX` and JSON 10,000 levels deep,
//! answers with `Invalid` (or a correct result), never `Database`, never a
//! panic, and leaves its connection usable. Refusals by grants come back as
//! `Forbidden`.

mod durations;
mod json;
mod lookups;
mod numbers;
mod privileges;
mod rows;
mod table;

use std::cell::Cell;
use std::fmt::Debug;
use std::panic::{catch_unwind, AssertUnwindSafe};

pub(crate) use crate::support::{acting_as, assert_invalid, short};
use diesel::prelude::*;
use diesel::sql_types::Integer;
use saas_db::access::Actor;
use saas_db::auth::SessionOptions;
use saas_db::billing::{NewPayment, NewPlan, Payment, Plan};
use saas_db::content::{NewPost, Post};
use saas_db::enums::{BillingInterval, PaymentStatus, UserRole};
use saas_db::ids::{SessionId, UserId};
use saas_db::teams::Team;
use saas_db::users::{NewUser, User};
use saas_db::{Error, Repos};
use saas_db_testing::TestDatabase;

/// The password of [`World::user`].
const PASSWORD: &str = "correct horse battery staple";

/// One of everything the table's calls need, made through the public API.
pub(crate) struct World {
    pub db: TestDatabase,
    /// Has a password, a post, a succeeded payment and a team.
    pub user: User,
    pub owner: Actor,
    pub post: Post,
    pub plan: Plan,
    /// Succeeded, 10,000 cents, nothing refunded.
    pub payment: Payment,
    pub team: Team,
    pub session_id: SessionId,
    seq: Cell<u32>,
}

impl World {
    pub fn new() -> World {
        let db = TestDatabase::new();
        let mut conn = db.conn().unwrap();
        let user = conn
            .users()
            .create(&NewUser::new("world@example.com", "World").username("world"))
            .unwrap();
        let user = conn
            .users()
            .set_role(&acting_as(user.id), user.id, UserRole::Admin)
            .unwrap();
        conn.accounts().set_password(user.id, PASSWORD).unwrap();
        let owner = Actor::from(&user);
        let post = conn
            .posts()
            .create(&NewPost {
                author_id: user.id,
                title: "Hello world".into(),
                content: "Some words to search for.".into(),
                ..Default::default()
            })
            .unwrap();
        conn.posts().publish(post.id).unwrap();
        let plan = conn.plans().create(&valid_plan("World plan")).unwrap();
        let (payment, _) = conn.payments().record(&valid_payment(user.id)).unwrap();
        let payment = conn.payments().mark_succeeded(payment.id).unwrap();
        let team = conn.teams().create(&owner, "World team").unwrap();
        let (session, _) = conn
            .sessions()
            .create(
                user.id,
                SessionOptions::new(std::time::Duration::from_secs(3600)),
            )
            .unwrap();
        drop(conn);
        World {
            db,
            user,
            owner,
            post,
            plan,
            payment,
            team,
            session_id: session.id,
            seq: Cell::new(0),
        }
    }

    /// `prefix` with a number never handed out before: names of things
    /// that must be unique.
    pub fn unique(&self, prefix: &str) -> String {
        self.seq.set(self.seq.get() + 1);
        format!("{prefix} {}", self.seq.get())
    }

    pub fn password(&self) -> &'static str {
        PASSWORD
    }
}

/// A valid monthly USD plan of 1,000 cents.
pub(crate) fn valid_plan(name: &str) -> NewPlan<'_> {
    crate::support::new_plan(name, 1_000, BillingInterval::Month)
}

/// A valid pending payment of 10,000 cents.
pub(crate) fn valid_payment(user_id: UserId) -> NewPayment<'static> {
    crate::support::new_payment(user_id, 10_000, "USD", PaymentStatus::Pending)
}

#[derive(QueryableByName)]
struct One {
    #[diesel(sql_type = Integer)]
    one: i32,
}

/// `SELECT 1` on the connection, and a transaction on it: what a refused
/// call must leave working.
pub(crate) fn still_usable(conn: &mut PgConnection) -> Result<(), String> {
    let select = |c: &mut PgConnection| {
        diesel::sql_query("SELECT 1 AS one")
            .get_result::<One>(c)
            .map(|r| r.one)
    };
    match select(conn) {
        Ok(1) => {}
        other => return Err(format!("SELECT 1 on the same connection gave {other:?}")),
    }
    match conn.transaction(|c| select(c)) {
        Ok(1) => Ok(()),
        other => Err(format!(
            "a transaction on the same connection gave {other:?}"
        )),
    }
}

/// What a call with bad input may answer: a correct result, or `Invalid`
/// naming `field`. Lookups may also find nothing, a token may be unknown,
/// a version may be stale, and a server feature may be missing: those are
/// correct results too. Anything else (`Database` above all) is a defect.
pub(crate) fn acceptable<T>(result: &saas_db::Result<T>, field: &str) -> bool {
    match result {
        Ok(_) => true,
        Err(Error::Invalid { field: f, .. }) => f == field,
        Err(
            Error::NotFound { .. }
            | Error::Unauthorized
            | Error::Stale { .. }
            | Error::NotAvailable(_),
        ) => true,
        Err(_) => false,
    }
}

/// Runs one call of the table and returns what was wrong with it, if
/// anything: a panic, an unacceptable result, or a connection left broken.
pub(crate) fn check_call<T: Debug>(
    conn: &mut PgConnection,
    field: &str,
    call: impl FnOnce(&mut PgConnection) -> saas_db::Result<T>,
) -> Option<String> {
    let result = catch_unwind(AssertUnwindSafe(|| call(&mut *conn)));
    let problem = match &result {
        Err(panic) => Some(format!(
            "panicked: {}",
            panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("?")
        )),
        Ok(r) if !acceptable(r, field) => Some(format!(
            "expected Ok or Invalid {{ field: {field:?} }}, got {}",
            short(r)
        )),
        Ok(_) => None,
    };
    let usable = still_usable(conn).err();
    match (problem, usable) {
        (None, None) => None,
        (p, u) => Some([p, u].into_iter().flatten().collect::<Vec<_>>().join("; ")),
    }
}
