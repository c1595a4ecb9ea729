//! Audited repository changes: only changed fields are recorded, refused changes leave no entry.

use super::*;
use saas_db::ids::{AuditLogId, SubscriptionId, UserId};

#[test]
fn ban_and_unban_record_only_the_changed_fields() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let admin = site_admin(&mut conn, "admin@example.com");
    let target = user(&mut conn, "target@example.com");
    // The admin's promotion (by hand-written SQL) recorded nothing. (Calls
    // without an actor, unaudited, are gone: bans always take one.)
    assert!(all_entries(&mut conn).is_empty());

    // Failed bans record nothing.
    let err = conn
        .users()
        .ban(
            &admin,
            target.id,
            Some(Utc::now() - Duration::hours(1)),
            Some("x"),
        )
        .unwrap_err();
    assert!(err.field() == Some("until"), "{err:?}");
    let err = conn
        .users()
        .ban(&admin, UserId(Uuid::now_v7()), None, Some("x"))
        .unwrap_err();
    assert!(matches!(err, Error::NotFound { entity: "user" }), "{err:?}");
    let err = conn
        .users()
        .ban(&admin, target.id, None, Some(""))
        .unwrap_err();
    assert!(err.field() == Some("ban_reason"), "{err:?}");
    assert!(all_entries(&mut conn).is_empty());
    assert!(conn.users().get(target.id).unwrap().banned_at.is_none());

    let banned = conn
        .users()
        .ban(&admin, target.id, None, Some("spam"))
        .unwrap();
    let log = all_entries(&mut conn);
    assert_eq!(log.len(), 1, "{log:?}");
    let entry = &log[0];
    assert_eq!(
        (
            entry.action.as_str(),
            entry.entity.as_str(),
            entry.entity_id,
            entry.actor_id
        ),
        (
            "banned",
            "user",
            Some(target.id.into()),
            Some(admin.user_id)
        )
    );
    assert!(banned.banned_at.is_some());
    // Only what changed: no ban_expires_at (null before and after), no
    // version or updated_at.
    assert_eq!(
        entry.changes,
        json!({
            "banned_at": { "before": null, "after": banned.banned_at },
            "ban_reason": { "before": null, "after": "spam" },
        })
    );

    let unbanned = conn.users().unban(&admin, target.id).unwrap();
    assert!(unbanned.banned_at.is_none());
    let log = entries_about(&mut conn, target.id);
    assert_eq!(log.len(), 2);
    assert_eq!(log[1].action, "unbanned");
    assert_eq!(
        log[1].changes,
        json!({
            "banned_at": { "before": banned.banned_at, "after": null },
            "ban_reason": { "before": "spam", "after": null },
        })
    );

    // A timed ban records its expiry too.
    let until = Utc::now() + Duration::days(1);
    let timed = conn
        .users()
        .ban(&admin, target.id, Some(until), None)
        .unwrap();
    let log = entries_about(&mut conn, target.id);
    assert_eq!(log.len(), 3);
    assert_eq!(
        log[2].changes,
        json!({
            "banned_at": { "before": null, "after": timed.banned_at },
            "ban_expires_at": { "before": null, "after": timed.ban_expires_at },
        })
    );
    // The admin's own listing holds exactly these.
    let mine = conn
        .audit()
        .for_actor(admin.user_id, PageRequest::first(10))
        .unwrap();
    let ids: Vec<AuditLogId> = mine.items.iter().rev().map(|e| e.id).collect();
    assert_eq!(ids, log.iter().map(|e| e.id).collect::<Vec<_>>());
}

#[test]
fn set_role_and_soft_delete_are_audited() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let admin = site_admin(&mut conn, "admin@example.com");
    let target = user(&mut conn, "target@example.com");

    assert!(all_entries(&mut conn).is_empty());
    let err = conn
        .users()
        .set_role(&admin, UserId(Uuid::now_v7()), UserRole::Admin)
        .unwrap_err();
    assert!(matches!(err, Error::NotFound { entity: "user" }), "{err:?}");
    assert!(all_entries(&mut conn).is_empty());

    let promoted = conn
        .users()
        .set_role(&admin, target.id, UserRole::Admin)
        .unwrap();
    assert_eq!(promoted.role, UserRole::Admin);
    let log = all_entries(&mut conn);
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(
        (
            log[0].action.as_str(),
            log[0].entity.as_str(),
            log[0].entity_id,
            log[0].actor_id
        ),
        (
            "role_changed",
            "user",
            Some(target.id.into()),
            Some(admin.user_id)
        )
    );
    assert_eq!(
        log[0].changes,
        json!({ "role": { "before": "user", "after": "admin" } })
    );

    let deleted = conn.users().soft_delete(&admin, target.id).unwrap();
    let log = entries_about(&mut conn, target.id);
    assert_eq!(log.len(), 2);
    assert_eq!(log[1].action, "deleted");
    assert_eq!(
        log[1].changes,
        json!({ "deleted_at": { "before": null, "after": deleted.deleted_at } })
    );
    // Already deleted: NotFound, nothing recorded.
    let err = conn.users().soft_delete(&admin, target.id).unwrap_err();
    assert!(matches!(err, Error::NotFound { entity: "user" }), "{err:?}");
    assert_eq!(all_entries(&mut conn).len(), 2);
}

#[test]
fn cancel_is_audited_and_a_refused_cancel_is_not() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let admin = site_admin(&mut conn, "admin@example.com");
    let plan_id = plan(&mut conn, "Pro", 900, BillingInterval::Month).id;
    let sub = subscription(&mut conn, "payer@example.com", plan_id);
    assert_eq!(
        serde_json::to_value(sub.status).unwrap(),
        json!("active"),
        "a subscription without a trial starts active"
    );

    // Provider-driven changes have no actor and record nothing (cancel
    // always has one: it used to record nothing unless `.acting(..)`).
    let quiet = subscription(&mut conn, "quiet@example.com", plan_id);
    conn.subscriptions().mark_past_due(quiet.id).unwrap();
    conn.subscriptions().renew(quiet.id).unwrap();
    assert!(all_entries(&mut conn).is_empty());

    let canceled = conn.subscriptions().cancel(&admin, sub.id, false).unwrap();
    let log = all_entries(&mut conn);
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(
        (
            log[0].action.as_str(),
            log[0].entity.as_str(),
            log[0].entity_id,
            log[0].actor_id
        ),
        (
            "canceled",
            "subscription",
            Some(sub.id.into()),
            Some(admin.user_id)
        )
    );
    assert!(canceled.canceled_at.is_some());
    assert_eq!(
        log[0].changes,
        json!({
            "status": { "before": "active", "after": "canceled" },
            "canceled_at": { "before": null, "after": canceled.canceled_at },
        })
    );

    // Refused (already canceled) or unknown: nothing more recorded.
    for at_period_end in [false, true] {
        let err = conn
            .subscriptions()
            .cancel(&admin, sub.id, at_period_end)
            .unwrap_err();
        assert!(err.field() == Some("status"), "{err:?}");
    }
    let err = conn
        .subscriptions()
        .cancel(&admin, SubscriptionId(Uuid::now_v7()), false)
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::NotFound {
                entity: "subscription"
            }
        ),
        "{err:?}"
    );
    assert_eq!(all_entries(&mut conn).len(), 1);

    // Cancel at period end: only the flag changes.
    let later = subscription(&mut conn, "later@example.com", plan_id);
    conn.subscriptions().cancel(&admin, later.id, true).unwrap();
    let log = entries_about(&mut conn, later.id);
    assert_eq!(log.len(), 1);
    assert_eq!(
        log[0].changes,
        json!({ "cancel_at_period_end": { "before": false, "after": true } })
    );
}

#[test]
fn a_failed_bigger_transaction_leaves_no_entry() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let admin = site_admin(&mut conn, "admin@example.com");
    let target = user(&mut conn, "target@example.com").id;

    let err = db
        .transaction(|tx| {
            tx.users().ban(&admin, target, None, Some("spam"))?;
            assert_eq!(entries_about(tx, target).len(), 1);
            Err::<(), _>(Error::invalid("x", "y"))
        })
        .unwrap_err();
    assert!(err.field() == Some("x"), "{err:?}");
    assert!(all_entries(&mut conn).is_empty());
    assert!(conn.users().get(target).unwrap().banned_at.is_none());

    // A failed audited change inside a transaction that goes on: its
    // savepoint is rolled back, the rest commits with one entry.
    db.transaction(|tx| {
        let err = tx
            .users()
            .ban(&admin, UserId(Uuid::now_v7()), None, None)
            .unwrap_err();
        assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
        tx.users().ban(&admin, target, None, Some("spam"))
    })
    .unwrap();
    let log = all_entries(&mut conn);
    assert_eq!(log.len(), 1);
    assert_eq!(
        (log[0].action.as_str(), log[0].entity_id),
        ("banned", Some(target.into()))
    );
    assert!(conn.users().get(target).unwrap().banned_at.is_some());
}
