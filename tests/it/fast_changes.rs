//! The single-purpose changes (publish, verify_email, set_role, ban,
//! soft_delete, session touch and revoke, token consume, subscription
//! status changes, payment settle and refund, ...) are cached statements: on a warmed connection each
//! is in `pg_prepared_statements` exactly once after repeated calls, so the
//! server parses and plans it once per connection. Each used to be a
//! query-builder `UPDATE` (or, for `renew`, a `sql_query`), which Diesel
//! never caches: `pg_prepared_statements` held no entry for it, and these
//! tests failed with "one prepared statement, reused" (0 != 1).

use std::cell::Cell;
use std::time::Duration;

use diesel::prelude::*;
use saas_db::billing::{NewPayment, NewSubscription};
use saas_db::enums::{BillingInterval, PaymentStatus, TokenKind, UserRole};
use saas_db::{Error, Repos};
use saas_db_testing::TestDatabase;

use crate::budget::Counted;
use crate::fast_writes::{assert_one_prepared, one_cached_statement};
use crate::support::{client, plan, site_admin, user};

const HOUR: Duration = Duration::from_secs(3600);

/// Runs `write(conn, i)` for i in 0..4 on one connection (the first call
/// warms it), then asserts each of `likes` matches exactly one prepared
/// statement. For the audited changes, which send more than one statement
/// (transaction, lock, audit insert).
fn prepared_once(
    db: &TestDatabase,
    likes: &[&str],
    mut write: impl FnMut(&mut PgConnection, usize),
) {
    let mut counted = Counted::connect(db.url());
    for i in 0..4 {
        write(&mut counted.conn, i);
    }
    for like in likes {
        assert_one_prepared(&mut counted.conn, like);
    }
}

/// The next call's index, for closures that alternate between two calls.
fn next(i: &Cell<usize>) -> usize {
    i.replace(i.get() + 1)
}

/// Posts: publish, unpublish, archive, soft_delete and increment_views,
/// each one statement, prepared once.
#[test]
fn post_changes_are_prepared_once_and_reused() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let author = user(&mut conn, "author@example.com").id;
    let new_post = |conn: &mut PgConnection, title: &str| {
        let new = saas_db::content::NewPost {
            author_id: author,
            title: title.into(),
            content: "Body".into(),
            ..Default::default()
        };
        conn.posts().create(&new).unwrap()
    };
    let post = new_post(&mut conn, "Hello");
    let doomed: Vec<_> = (0..4)
        .map(|i| new_post(&mut conn, &format!("Doomed {i}")).id)
        .collect();
    drop(conn);
    one_cached_statement(&db, "%UPDATE posts SET status = 'published'%", |c| {
        assert!(c.posts().publish(post.id).unwrap().published_at.is_some());
    });
    let i = Cell::new(0);
    one_cached_statement(&db, "%UPDATE posts SET status = $1%", |c| {
        let p = if next(&i) % 2 == 0 {
            c.posts().unpublish(post.id)
        } else {
            c.posts().archive(post.id)
        };
        p.unwrap();
    });
    let views = Cell::new(0);
    one_cached_statement(&db, "%UPDATE posts SET view_count%", |c| {
        views.set(c.posts().increment_views(post.id).unwrap());
    });
    assert_eq!(views.get(), 4);
    let i = Cell::new(0);
    one_cached_statement(&db, "%UPDATE posts SET deleted_at%", |c| {
        c.posts().soft_delete(doomed[next(&i)]).unwrap();
    });
    // A deleted post is NotFound, in the same one statement.
    let mut counted = Counted::connect(db.url());
    let (gone, trips) = counted.trips(|c| c.posts().publish(doomed[0]));
    assert!(
        matches!(gone, Err(Error::NotFound { entity: "post" })),
        "{gone:?}"
    );
    assert_eq!(trips.len(), 2, "PREPARE and the statement: {trips:?}");
}

/// Users: verify_email and restore (one statement), and the audited
/// set_role, ban, unban and soft_delete, each prepared once.
#[test]
fn user_changes_are_prepared_once_and_reused() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let admin = site_admin(&mut conn, "admin@example.com");
    let bob = user(&mut conn, "bob@example.com").id;
    drop(conn);
    one_cached_statement(&db, "%UPDATE users SET email_verified_at%", |c| {
        assert!(c
            .users()
            .verify_email(bob)
            .unwrap()
            .email_verified_at
            .is_some());
    });
    prepared_once(&db, &["%UPDATE users SET role = $1%"], |c, i| {
        let role = if i % 2 == 0 {
            UserRole::Admin
        } else {
            UserRole::User
        };
        assert_eq!(c.users().set_role(&admin, bob, role).unwrap().role, role);
    });
    let likes = [
        "%UPDATE users SET banned_at = now()%",
        "%UPDATE users SET banned_at = NULL%",
    ];
    prepared_once(&db, &likes, |c, i| {
        let user = if i % 2 == 0 {
            c.users().ban(&admin, bob, None, Some("spam"))
        } else {
            c.users().unban(&admin, bob)
        };
        assert_eq!(user.unwrap().banned_at.is_some(), i % 2 == 0);
    });
    let likes = [
        "%UPDATE users SET deleted_at = now()%",
        "%UPDATE users SET deleted_at = NULL%",
    ];
    prepared_once(&db, &likes, |c, i| {
        if i % 2 == 0 {
            c.users().soft_delete(&admin, bob).unwrap();
        } else {
            c.users().restore(bob).unwrap();
        }
    });
    // Restoring a user who is not deleted is NotFound, as before.
    let missing = db.conn().unwrap().users().restore(bob);
    assert!(
        matches!(
            missing,
            Err(Error::NotFound {
                entity: "deleted user"
            })
        ),
        "{missing:?}"
    );
}

/// Sessions: touch, revoke and revoke_all_for_user (with and without a
/// session kept: one statement for both).
#[test]
fn session_changes_are_prepared_once_and_reused() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let ada = user(&mut conn, "ada@example.com").id;
    let (session, _) = conn.sessions().create(ada, client()).unwrap();
    drop(conn);
    one_cached_statement(&db, "%UPDATE sessions SET last_seen_at%", |c| {
        // Written at creation, so within TOUCH_INTERVAL: no write.
        assert!(!c.sessions().touch(session.id, HOUR).unwrap());
    });
    one_cached_statement(&db, "%UPDATE sessions SET revoked_at = coalesce%", |c| {
        c.sessions().revoke(session.id).unwrap();
    });
    let i = Cell::new(0);
    one_cached_statement(&db, "%UPDATE sessions SET revoked_at = now()%", |c| {
        let keep = (next(&i) % 2 == 0).then_some(session.id);
        c.sessions().revoke_all_for_user(ada, keep).unwrap();
    });
}

/// Verification tokens: consume (one statement) and the expiry of older
/// tokens inside issue, for a user and for an email, and the advisory lock
/// issue takes (`sql::advisory_xact_lock`, shared with teams and
/// subscriptions; it was a `sql_query`).
#[test]
fn token_changes_are_prepared_once_and_reused() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let ada = user(&mut conn, "ada@example.com");
    let kind = TokenKind::EmailVerification;
    let (_, token) = conn
        .verification_tokens()
        .issue(kind, &ada.email, Some(ada.id), HOUR)
        .unwrap();
    drop(conn);
    let i = Cell::new(0);
    one_cached_statement(&db, "%UPDATE verification_tokens SET used_at%", |c| {
        let used = c.verification_tokens().consume(kind, token.as_str());
        if next(&i) == 0 {
            assert_eq!(used.unwrap().user_id, Some(ada.id));
        } else {
            assert!(matches!(used, Err(Error::Unauthorized)), "{used:?}");
        }
    });
    let likes = [
        "%SET expires_at = now()%AND user_id = $2",
        "%user_id IS NULL AND email = $2",
        "%pg_advisory_xact_lock(hashtextextended($1, 0))%",
    ];
    prepared_once(&db, &likes, |c, i| {
        let user_id = (i % 2 == 0).then_some(ada.id);
        let issued = c
            .verification_tokens()
            .issue(kind, "guest@example.com", user_id, HOUR);
        issued.unwrap();
    });
}

/// Subscriptions: the status transitions (mark_past_due, reactivate, ...
/// one statement for all), renew, and the audited cancel at period end.
#[test]
fn subscription_changes_are_prepared_once_and_reused() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let admin = site_admin(&mut conn, "admin@example.com");
    let ada = user(&mut conn, "ada@example.com").id;
    let basic = plan(&mut conn, "Basic", 1_000, BillingInterval::Month);
    let sub = conn
        .subscriptions()
        .start(&NewSubscription::new(ada, basic.id))
        .unwrap();
    drop(conn);
    let i = Cell::new(0);
    one_cached_statement(&db, "%UPDATE subscriptions%SET status = $1%", |c| {
        if next(&i) % 2 == 0 {
            c.subscriptions().mark_past_due(sub.id).unwrap();
        } else {
            c.subscriptions().reactivate(sub.id).unwrap();
        }
    });
    one_cached_statement(&db, "%FROM subscription_plans p%", |c| {
        c.subscriptions().renew(sub.id).unwrap();
    });
    prepared_once(&db, &["%SET cancel_at_period_end = true%"], |c, _| {
        let s = c.subscriptions().cancel(&admin, sub.id, true).unwrap();
        assert!(s.cancel_at_period_end);
    });
    let renewed = db.conn().unwrap().subscriptions().renew(sub.id).unwrap();
    assert_eq!(renewed.status, saas_db::enums::SubscriptionStatus::Canceled);
}

/// Payments: settling (mark_succeeded / mark_failed, one statement) and
/// refund, each prepared once. Both were query-builder UPDATEs, which
/// Diesel never caches. Behaviour (refused transitions, over-refunds, the
/// concurrent refund race) is tested in `billing::payments`.
#[test]
fn payment_changes_are_prepared_once_and_reused() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let ada = user(&mut conn, "ada@example.com").id;
    let mut pay = |cents| {
        let new = NewPayment {
            user_id: ada,
            amount_cents: cents,
            currency: "USD".into(),
            ..Default::default()
        };
        conn.payments().record(&new).unwrap().0.id
    };
    let pending: Vec<_> = (0..4).map(|_| pay(500)).collect();
    let paid = pay(1_000);
    drop(conn);
    db.conn().unwrap().payments().mark_succeeded(paid).unwrap();
    let i = Cell::new(0);
    one_cached_statement(&db, "%UPDATE payments SET status = $1%", |c| {
        let n = next(&i);
        let settled = if n % 2 == 0 {
            c.payments().mark_succeeded(pending[n]).unwrap()
        } else {
            c.payments().mark_failed(pending[n]).unwrap()
        };
        assert_eq!(settled.id, pending[n]);
    });
    one_cached_statement(&db, "%SET refunded_cents = refunded_cents + $1%", |c| {
        c.payments().refund(paid, 100).unwrap();
    });
    let left = db.conn().unwrap().payments().get(paid).unwrap();
    assert_eq!(
        (left.refunded_cents, left.status),
        (400, PaymentStatus::Succeeded)
    );
    let refunded = db.conn().unwrap().payments().refund(paid, 600).unwrap();
    assert_eq!(refunded.status, PaymentStatus::Refunded);
}

/// The outbox worker's claim, ack, batch ack and fail (on its pooled
/// connection, as the application role): each prepared once and reused.
/// `claim` and `ack_all` were `sql_query`s, which Diesel never caches.
#[test]
fn outbox_settling_is_prepared_once_and_reused() {
    let db = TestDatabase::new();
    let mut owner = db.conn().unwrap();
    for i in 0..10 {
        let payload = serde_json::json!({ "n": i });
        owner.outbox().enqueue("mail", &payload, None).unwrap();
    }
    drop(owner);
    let app = crate::support::app_database(&db);
    let worker = app.outbox("mail");
    for _ in 0..3 {
        let claimed = worker.claim(2, HOUR).unwrap();
        worker.ack(&claimed[0]).unwrap();
        let failed = worker.fail(&claimed[1], "mail server down").unwrap();
        assert!(
            matches!(failed, saas_db::outbox::Failed::Retry(_)),
            "{failed:?}"
        );
        // Settled once: a second ack or fail finds the lease gone.
        let again = worker.ack(&claimed[1]);
        assert!(matches!(again, Err(Error::LeaseLost { .. })), "{again:?}");
    }
    for _ in 0..2 {
        let claimed = worker.claim(2, HOUR).unwrap();
        assert_eq!(worker.ack_all(&claimed).unwrap(), vec![]);
    }
    let mut conn = app.conn().unwrap();
    for like in [
        "%picked AS (%",
        "%SET delivered_at = now()%WHERE id = $1%",
        "%FROM unnest($1::uuid[], $2::uuid[])%",
        "%SET dead_at = CASE WHEN $1%",
    ] {
        assert_one_prepared(&mut conn, like);
    }
}

/// What the transaction helpers send every time: `as_user`'s
/// `set_config('app.user_id', ..)` (`tenancy::set_user`) and a retry
/// policy's local statement timeout, now one `set_config` statement
/// (`sql::set_local`). Both were `sql_query`s, which Diesel never caches.
#[test]
fn transaction_helpers_are_prepared_once_and_reused() {
    let db = TestDatabase::new();
    let ada = user(&mut db.conn().unwrap(), "ada@example.com").id;
    // One statement for both settings (`sql::set_local`): the name is bound.
    let likes = ["SELECT set_config($1, $2, true)"];
    prepared_once(&db, &likes, |c, _| {
        saas_db::tx::run_transaction(c, |tx| {
            saas_db::tenancy::set_user(tx, ada)?;
            saas_db::tx::set_local_statement_timeout(tx, HOUR)
        })
        .unwrap();
    });
}

/// Deletes stay on the query builder: Diesel caches a DELETE whose parts
/// have a static query id (unlike an UPDATE), so `set_tags`' unlinking
/// DELETE and `remove_member`-style deletes by key are prepared once
/// already. This pins that down for the hottest one.
#[test]
fn query_builder_deletes_are_already_cached() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let author = user(&mut conn, "author@example.com").id;
    let new = saas_db::content::NewPost {
        author_id: author,
        title: "Tagged".into(),
        content: "Body".into(),
        ..Default::default()
    };
    let post = conn.posts().create(&new).unwrap().id;
    drop(conn);
    let i = Cell::new(0);
    prepared_once(&db, &["DELETE FROM \"post_tags\"%"], |c, _| {
        let tags = [["rust", "sql"], ["sql", "web"]][next(&i) % 2];
        c.posts().set_tags(post, &tags).unwrap();
    });
}
