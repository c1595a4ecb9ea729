//! Issue 13 item 7: every status change, also `renew`'s and
//! `sync_from_provider`'s, follows `billing::TRANSITIONS`, and concurrent
//! changes cannot skip it. The database logs every status change it sees
//! (a test-only trigger), so the check covers what was written, not what
//! the calls returned.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::Text;
use saas_db::billing::{
    NewSubscription, ProviderSubscription, Subscription, SyncOutcome, TRANSITIONS,
};
use saas_db::enums::{BillingInterval, SubscriptionStatus};
use saas_db::ids::{PlanId, SubscriptionId, UserId};
use saas_db::{Error, Repos};
use saas_db_testing::TestDatabase;

use super::{acting_as, force_status, is_invalid, label, plan, user};

#[derive(QueryableByName, Debug)]
struct Change {
    #[diesel(sql_type = Text)]
    from_status: String,
    #[diesel(sql_type = Text)]
    to_status: String,
}

/// Installs the trigger that logs every status change of `subscriptions`.
fn log_status_changes(conn: &mut PgConnection) {
    conn.batch_execute(
        "CREATE TABLE status_log (from_status text NOT NULL, to_status text NOT NULL);
         CREATE FUNCTION log_status_change() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN
             IF NEW.status IS DISTINCT FROM OLD.status THEN
                 INSERT INTO status_log VALUES (OLD.status::text, NEW.status::text);
             END IF;
             RETURN NEW;
         END $$;
         CREATE TRIGGER subscriptions_log_status AFTER UPDATE ON subscriptions
             FOR EACH ROW EXECUTE FUNCTION log_status_change();",
    )
    .unwrap();
}

/// The logged changes since the last call (and forgets them).
fn take_changes(conn: &mut PgConnection) -> Vec<(String, String)> {
    diesel::sql_query("DELETE FROM status_log RETURNING from_status, to_status")
        .load::<Change>(conn)
        .unwrap()
        .into_iter()
        .map(|c| (c.from_status, c.to_status))
        .collect()
}

/// The logged changes that `TRANSITIONS` does not allow.
fn illegal(changes: &[(String, String)]) -> Vec<(String, String)> {
    let legal: Vec<(String, String)> = TRANSITIONS
        .iter()
        .map(|(f, t)| (label(*f), label(*t)))
        .collect();
    changes
        .iter()
        .filter(|c| !legal.contains(c))
        .cloned()
        .collect()
}

fn delivery(
    user_id: UserId,
    plan_id: PlanId,
    status: SubscriptionStatus,
) -> ProviderSubscription<'static> {
    let t0 = chrono::DateTime::from_timestamp(1_790_000_000, 0).unwrap();
    ProviderSubscription {
        provider_subscription_id: "sub_transitions".into(),
        provider_customer_id: Some("cus_1".into()),
        user_id,
        plan_id,
        status,
        current_period_start: Some(t0),
        current_period_end: Some(t0 + chrono::Duration::days(30)),
        cancel_at_period_end: false,
        canceled_at: (status == SubscriptionStatus::Canceled).then_some(t0),
        trial_ends_at: (status == SubscriptionStatus::Trialing).then_some(t0),
    }
}

/// `sync_from_provider` used to write whatever status the provider sent
/// (`canceled` to `past_due`, `active` to `incomplete`, ...). Now, from every
/// status to every status, it changes the status exactly when the table
/// allows it (or the status stays), and otherwise refuses with
/// `Invalid { field: "status" }` and writes nothing.
#[test]
fn sync_from_provider_changes_status_only_along_the_table() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let pro = plan(&mut conn, "Pro", 1_000, BillingInterval::Month);
    let alice = user(&mut conn, "alice@example.com").id;
    let (sub, outcome) = conn
        .subscriptions()
        .sync_from_provider(&delivery(alice, pro.id, SubscriptionStatus::Incomplete))
        .unwrap();
    assert_eq!(outcome, SyncOutcome::Inserted);
    let (mut applied, mut refused) = (0, 0);
    for &from in SubscriptionStatus::ALL {
        for &to in SubscriptionStatus::ALL {
            force_status(&mut conn, sub.id, from);
            let before = conn.subscriptions().get(sub.id).unwrap();
            let result = conn
                .subscriptions()
                .sync_from_provider(&delivery(alice, pro.id, to));
            let legal = from == to || TRANSITIONS.contains(&(from, to));
            match result {
                Ok((after, _)) => {
                    assert!(legal, "{from:?} -> {to:?} was written: {after:?}");
                    assert_eq!(after.status, to);
                    applied += 1;
                }
                Err(err) => {
                    assert!(!legal, "{from:?} -> {to:?} refused: {err:?}");
                    assert!(
                        matches!(&err, Error::Invalid { field, reason } if field == "status"
                            && reason.contains(&format!("{from:?}")) && reason.contains(&format!("{to:?}"))),
                        "{err:?}"
                    );
                    assert_eq!(conn.subscriptions().get(sub.id).unwrap(), before);
                    refused += 1;
                }
            }
        }
    }
    let n = SubscriptionStatus::ALL.len();
    assert_eq!(applied, TRANSITIONS.len() + n);
    assert_eq!(applied + refused, n * n);
}

/// The provider's legitimate jump: a first payment that never went through
/// (`incomplete`, then Stripe's `incomplete_expired`) ends `canceled`; one
/// that did goes `incomplete` to `active`.
#[test]
fn provider_jumps_from_incomplete_are_transitions() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let pro = plan(&mut conn, "Pro", 1_000, BillingInterval::Month);
    for (email, end) in [
        ("expired@example.com", SubscriptionStatus::Canceled),
        ("paid@example.com", SubscriptionStatus::Active),
    ] {
        let who = user(&mut conn, email).id;
        let id = format!("sub_{email}");
        let first = ProviderSubscription {
            provider_subscription_id: id.as_str().into(),
            ..delivery(who, pro.id, SubscriptionStatus::Incomplete)
        };
        let (sub, _) = conn.subscriptions().sync_from_provider(&first).unwrap();
        assert_eq!(sub.status, SubscriptionStatus::Incomplete);
        let (sub, outcome) = conn
            .subscriptions()
            .sync_from_provider(&ProviderSubscription {
                provider_subscription_id: id.as_str().into(),
                ..delivery(who, pro.id, end)
            })
            .unwrap();
        assert_eq!((sub.status, outcome), (end, SyncOutcome::Updated));
        assert!(TRANSITIONS.contains(&(SubscriptionStatus::Incomplete, end)));
    }
}

/// `renew` used to hard-code its source statuses; it now takes them from
/// the table: from every status it renews exactly the live ones (to
/// `active`, or to `canceled` when set to cancel at period end).
#[test]
fn renew_changes_status_only_along_the_table() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let pro = plan(&mut conn, "Pro", 1_000, BillingInterval::Month);
    let alice = user(&mut conn, "alice@example.com").id;
    let sub = conn
        .subscriptions()
        .start(&NewSubscription::new(alice, pro.id))
        .unwrap();
    for at_period_end in [false, true] {
        for &from in SubscriptionStatus::ALL {
            force_status(&mut conn, sub.id, from);
            diesel::sql_query("UPDATE subscriptions SET cancel_at_period_end = $1 WHERE id = $2")
                .bind::<diesel::sql_types::Bool, _>(at_period_end)
                .bind::<diesel::sql_types::Uuid, _>(sub.id)
                .execute(&mut conn)
                .unwrap();
            let to = if at_period_end {
                SubscriptionStatus::Canceled
            } else {
                SubscriptionStatus::Active
            };
            let live = saas_db::billing::is_live(from);
            let legal = live && (from == to || TRANSITIONS.contains(&(from, to)));
            match conn.subscriptions().renew(sub.id) {
                Ok(after) => {
                    assert!(legal, "renew from {from:?} wrote {after:?}");
                    assert_eq!(after.status, to);
                }
                Err(err) => {
                    assert!(!legal, "renew from {from:?}: {err:?}");
                    assert!(is_invalid(&err, "status"), "{err:?}");
                }
            }
        }
    }
}

type Op = fn(&mut PgConnection, SubscriptionId, UserId, PlanId) -> saas_db::Result<Subscription>;

/// The operations racing on one subscription.
const OPS: [Op; 8] = [
    |c, id, u, _| c.subscriptions().cancel(&acting_as(u), id, false),
    |c, id, _, _| c.subscriptions().renew(id),
    |c, id, _, _| c.subscriptions().mark_past_due(id),
    |c, id, _, _| c.subscriptions().mark_unpaid(id),
    |c, id, _, _| c.subscriptions().reactivate(id),
    |c, _, u, p| sync(c, u, p, SubscriptionStatus::PastDue),
    |c, _, u, p| sync(c, u, p, SubscriptionStatus::Active),
    |c, _, u, p| sync(c, u, p, SubscriptionStatus::Unpaid),
];

fn sync(
    c: &mut PgConnection,
    u: UserId,
    p: PlanId,
    status: SubscriptionStatus,
) -> saas_db::Result<Subscription> {
    Ok(c.subscriptions()
        .sync_from_provider(&delivery(u, p, status))?
        .0)
}

/// Guarantee: threads racing cancel / renew / mark_* / reactivate /
/// sync_from_provider on one subscription never write a status change the
/// table does not allow (every change is checked inside its own statement).
/// Control: the naive way (read the status, check it in Rust, write) writes
/// `canceled` -> `past_due` when a cancel lands between the read and the write.
#[test]
fn racing_status_changes_cannot_skip_the_table() {
    let db = TestDatabase::with_builder(|b| b.max_size(12)).unwrap();
    let mut conn = db.conn().unwrap();
    log_status_changes(&mut conn);
    let pro = plan(&mut conn, "Pro", 1_000, BillingInterval::Month);
    let alice = user(&mut conn, "alice@example.com").id;
    let (sub, _) = conn
        .subscriptions()
        .sync_from_provider(&delivery(alice, pro.id, SubscriptionStatus::Active))
        .unwrap();

    // Control, interleaved by hand on two connections.
    let mut other = db.conn().unwrap();
    let seen = conn.subscriptions().get(sub.id).unwrap().status;
    assert!(TRANSITIONS.contains(&(seen, SubscriptionStatus::PastDue)));
    other
        .subscriptions()
        .cancel(&acting_as(sub.user_id), sub.id, false)
        .unwrap();
    diesel::sql_query("UPDATE subscriptions SET status = 'past_due' WHERE id = $1")
        .bind::<diesel::sql_types::Uuid, _>(sub.id)
        .execute(&mut conn)
        .unwrap();
    let naive = take_changes(&mut conn);
    assert_eq!(
        illegal(&naive),
        vec![("canceled".to_owned(), "past_due".to_owned())],
        "the control must catch the naive way skipping the table"
    );

    let (mut written, mut refused) = (0, 0);
    for round in 0..15 {
        let start = [SubscriptionStatus::Active, SubscriptionStatus::PastDue][round % 2];
        force_status(&mut conn, sub.id, start);
        take_changes(&mut conn);
        let results = crate::support::race(OPS.len(), |i, barrier| {
            let mut c = db.conn().unwrap();
            barrier.wait();
            OPS[i](&mut c, sub.id, alice, pro.id)
        });
        for (op, r) in results.into_iter().enumerate() {
            match r {
                Ok(_) => written += 1,
                Err(e) if is_invalid(&e, "status") => refused += 1,
                Err(e) => panic!("round {round}, operation {op}: {e:?}"),
            }
        }
        let changes = take_changes(&mut conn);
        assert_eq!(illegal(&changes), vec![], "round {round}: {changes:?}");
    }
    assert!(
        written > 0 && refused > 0,
        "{written} written, {refused} refused"
    );
}
