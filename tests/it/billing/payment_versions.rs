//! Issue 13 items 5 and 8: payments are versioned (every change bumps
//! `version`; `update` is an optimistic-lock write), and
//! `TransferOptions::default()` moves the payments.

use diesel::prelude::*;
use saas_db::billing::PaymentChanges;
use saas_db::enums::{PaymentStatus, Theme};
use saas_db::ids::PaymentId;
use saas_db::users::{TransferOptions, TransferReport};
use saas_db::{Error, Repos};
use saas_db_testing::TestDatabase;
use serde_json::json;

use super::{is_invalid, pay, profile, user};

/// Payments used to change through `mark_*` and `refund` with no version
/// at all (the column did not exist). Now each change bumps it, and an
/// editor holding an older version gets `Stale` instead of overwriting.
#[test]
fn every_payment_change_bumps_its_version() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let (ann, bob) = (
        user(&mut conn, "ann@example.com").id,
        user(&mut conn, "bob@example.com").id,
    );
    let p = pay(&mut conn, ann, 1_000, "USD", PaymentStatus::Pending);
    assert_eq!(p.version, 1);
    let p = conn.payments().mark_succeeded(p.id).unwrap();
    assert_eq!(p.version, 2);
    let p = conn.payments().refund(p.id, 100).unwrap();
    assert_eq!(p.version, 3);
    let note = PaymentChanges {
        description: Some(Some("Pro, monthly".into())),
        ..Default::default()
    };
    let p = conn.payments().update(p.id, 3, &note).unwrap();
    assert_eq!(
        (p.version, p.description.as_deref()),
        (4, Some("Pro, monthly"))
    );
    conn.users()
        .transfer_data(ann, bob, TransferOptions::default())
        .unwrap();
    let p = conn.payments().get(p.id).unwrap();
    assert_eq!((p.user_id, p.version), (bob, 5));

    let failed = pay(&mut conn, ann, 500, "USD", PaymentStatus::Pending);
    assert_eq!(conn.payments().mark_failed(failed.id).unwrap().version, 2);

    // An editor still at version 3 (before the edit and the transfer).
    let err = conn.payments().update(p.id, 3, &note).unwrap_err();
    assert!(
        matches!(err, Error::Stale { entity: "payment", id, expected: 3, actual: 5 } if id == p.id.uuid()),
        "{err:?}"
    );
    let err = conn
        .payments()
        .update(PaymentId(uuid::Uuid::now_v7()), 1, &note)
        .unwrap_err();
    assert!(
        matches!(err, Error::NotFound { entity: "payment" }),
        "{err:?}"
    );
    // Bad input is refused before the database; the connection stays usable.
    let long = "x".repeat(1_001);
    let err = conn
        .payments()
        .update(
            p.id,
            5,
            &PaymentChanges {
                description: Some(Some(long.as_str().into())),
                ..Default::default()
            },
        )
        .unwrap_err();
    assert!(is_invalid(&err, "description"), "{err:?}");
    let err = conn
        .payments()
        .update(
            p.id,
            5,
            &PaymentChanges {
                metadata: Some(json!([1, 2])),
                ..Default::default()
            },
        )
        .unwrap_err();
    assert!(is_invalid(&err, "metadata"), "{err:?}");
    assert_eq!(conn.payments().get(p.id).unwrap().version, 5);
}

/// Two editors add a key each to a payment's metadata. The naive way (read,
/// modify, write without a version) loses the first editor's key; with
/// `update(id, version, ..)` the second editor gets `Stale`, re-reads and
/// keeps both. Then eight threads do it at once, retrying on `Stale` (at
/// most 50 tries each): all eight keys survive.
#[test]
fn concurrent_payment_editors_cannot_lose_an_update() {
    let db = TestDatabase::with_builder(|b| b.max_size(12)).unwrap();
    let mut conn = db.conn().unwrap();
    let ann = user(&mut conn, "ann@example.com").id;
    let p = pay(&mut conn, ann, 1_000, "USD", PaymentStatus::Succeeded);
    let with_key = |meta: &serde_json::Value, key: &str| {
        let mut meta = meta.clone();
        meta[key] = json!(true);
        meta
    };

    // Control: both read version 1, both write unconditionally.
    let (a, b) = (
        conn.payments().get(p.id).unwrap(),
        conn.payments().get(p.id).unwrap(),
    );
    for (seen, key) in [(&a, "a"), (&b, "b")] {
        diesel::update(saas_db::schema::payments::table.find(p.id))
            .set(saas_db::schema::payments::metadata.eq(with_key(&seen.metadata, key)))
            .execute(&mut conn)
            .unwrap();
    }
    assert_eq!(
        conn.payments().get(p.id).unwrap().metadata,
        json!({"b": true}),
        "control: a's key is lost"
    );

    // Versioned: the second editor is told.
    let version = conn.payments().get(p.id).unwrap().version;
    let p = conn
        .payments()
        .update(
            p.id,
            version,
            &PaymentChanges {
                metadata: Some(json!({})),
                ..Default::default()
            },
        )
        .unwrap();
    let (a, b) = (p.clone(), p.clone());
    let meta_a = with_key(&a.metadata, "a");
    conn.payments()
        .update(
            p.id,
            a.version,
            &PaymentChanges {
                metadata: Some(meta_a),
                ..Default::default()
            },
        )
        .unwrap();
    let meta_b = with_key(&b.metadata, "b");
    let err = conn
        .payments()
        .update(
            p.id,
            b.version,
            &PaymentChanges {
                metadata: Some(meta_b),
                ..Default::default()
            },
        )
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Stale {
                entity: "payment",
                ..
            }
        ),
        "{err:?}"
    );
    let fresh = conn.payments().get(p.id).unwrap();
    let meta_b = with_key(&fresh.metadata, "b");
    let done = conn
        .payments()
        .update(
            p.id,
            fresh.version,
            &PaymentChanges {
                metadata: Some(meta_b),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(done.metadata, json!({"a": true, "b": true}));

    let tries = crate::support::race(8, |i, barrier| {
        let mut c = db.conn().unwrap();
        barrier.wait();
        for attempt in 1..=50 {
            let seen = c.payments().get(p.id).unwrap();
            let meta = with_key(&seen.metadata, &format!("t{i}"));
            let changes = PaymentChanges {
                metadata: Some(meta),
                ..Default::default()
            };
            match c.payments().update(p.id, seen.version, &changes) {
                Ok(_) => return attempt,
                Err(Error::Stale { .. }) => continue,
                Err(e) => panic!("{e:?}"),
            }
        }
        panic!("thread {i}: still stale after 50 tries");
    });
    let meta = conn.payments().get(p.id).unwrap().metadata;
    for i in 0..8 {
        assert_eq!(meta[format!("t{i}")], json!(true), "{meta} after {tries:?}");
    }
}

/// Issue 13 item 8: `TransferOptions::default()` used to move nothing
/// (both flags false) while the README says the transfer moves payments
/// and optionally the profile. The default now moves the payments and
/// leaves the profile.
#[test]
fn transfer_with_default_options_moves_payments_not_the_profile() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let (ann, bob) = (
        user(&mut conn, "ann@example.com").id,
        user(&mut conn, "bob@example.com").id,
    );
    pay(&mut conn, ann, 1_000, "USD", PaymentStatus::Succeeded);
    pay(&mut conn, ann, 2_000, "EUR", PaymentStatus::Pending);
    conn.users()
        .upsert_profile(ann, &profile(Theme::Dark, "ann's"))
        .unwrap();
    let report = conn
        .users()
        .transfer_data(ann, bob, TransferOptions::default())
        .unwrap();
    assert_eq!(
        report,
        TransferReport {
            payments_moved: 2,
            profile_moved: false
        }
    );
    assert_eq!(super::count_payments_of(&mut conn, bob), 2);
    assert_eq!(super::count_payments_of(&mut conn, ann), 0);
    assert!(conn.users().find_profile(ann).unwrap().is_some());
    assert!(conn.users().find_profile(bob).unwrap().is_none());
}
