//! The write targets of issue 18, each interleaved call by call against a
//! prepared statement on the raw `postgres` client (see `pair`): the
//! optimistic update (success and Stale), a transaction with two writes,
//! and one audit insert. The sequential groups in `writes.rs` keep the
//! Diesel column; these are the rows the targets are read from.

use std::cell::Cell;

use criterion::Criterion;
use saas_db::audit::AuditEntry;
use saas_db::users::UserChanges;
use saas_db::Repos;
use uuid::Uuid;

use crate::fixture::{Fixture, SAMPLE};
use crate::pair;
use crate::raw::{self, user_columns};

const NAMES: [&str; 2] = ["Pair User", "Pair User 2"];

pub fn all(c: &mut Criterion, f: &Fixture) {
    optimistic(c, f);
    two_writes(c, f);
    audit_insert(c, f);
}

fn optimistic(c: &mut Criterion, f: &Fixture) {
    let mut pooled = f.db.conn().unwrap();
    let client = std::cell::RefCell::new(raw::connect(&f.url));
    let size = f.size.label;
    // Each side writes its own half of the sample, so neither finds the
    // other's row freshly updated; versions are kept per row.
    let versions: Vec<Cell<i32>> = f
        .user_ids
        .iter()
        .map(|&id| Cell::new(pooled.users().get(id).unwrap().version))
        .collect();
    let half = SAMPLE / 2;
    let update = client
        .borrow_mut()
        .prepare(concat!(
            "UPDATE users u SET name = $3
              WHERE u.id = $1 AND u.version = $2 AND u.deleted_at IS NULL RETURNING ",
            user_columns!()
        ))
        .unwrap();
    let raw_update = |i: usize, version: i32| {
        let name = NAMES[version as usize % 2];
        client
            .borrow_mut()
            .query_opt(&update, &[&f.user_ids[i].uuid(), &version, &name])
            .unwrap()
    };
    let ours = std::cell::RefCell::new(pooled);
    pair::interleaved(
        c,
        "optimistic_update_ok_interleaved",
        size,
        ("saas_db", "postgres"),
        |n| {
            let i = n % half;
            let v = versions[i].get();
            let changes = UserChanges {
                name: Some(NAMES[v as usize % 2]),
                ..Default::default()
            };
            let user = ours
                .borrow_mut()
                .users()
                .update(f.user_ids[i], v, &changes)
                .unwrap();
            versions[i].set(user.version);
        },
        |n| {
            let i = half + n % half;
            let row = raw_update(i, versions[i].get()).expect("updated");
            versions[i].set(raw::user(&row, 0).version());
        },
    );
    let changes = UserChanges {
        name: Some("never"),
        ..Default::default()
    };
    pair::interleaved(
        c,
        "optimistic_update_conflict_interleaved",
        size,
        ("saas_db", "postgres"),
        |n| {
            let stale = ours
                .borrow_mut()
                .users()
                .update(f.user_ids[n % SAMPLE], 0, &changes);
            assert!(matches!(stale, Err(saas_db::Error::Stale { .. })));
        },
        |n| assert!(raw_update(n % SAMPLE, 0).is_none()),
    );
}

/// One transaction: record a sign-in and write its audit entry.
fn two_writes(c: &mut Criterion, f: &Fixture) {
    let mut client = raw::connect(&f.url);
    let login = client
        .prepare("UPDATE users SET last_login_at = now() WHERE id = $1 AND deleted_at IS NULL")
        .unwrap();
    let insert = client
        .prepare(
            "INSERT INTO audit_logs (id, actor_id, action, entity, entity_id)
             VALUES ($1, $2, 'signed_in', 'user', $2) RETURNING id, created_at",
        )
        .unwrap();
    pair::interleaved(
        c,
        "transaction_two_writes_interleaved",
        f.size.label,
        ("saas_db", "postgres"),
        |n| {
            let id = f.user_ids[n % SAMPLE];
            f.db.transaction(|tx| {
                tx.users().record_login(id)?;
                tx.audit()
                    .record(&AuditEntry::new("signed_in", "user", Some(id.into())).by(id))?;
                Ok(())
            })
            .unwrap()
        },
        |n| {
            let id = f.user_ids[n % SAMPLE].uuid();
            let mut tx = client.transaction().unwrap();
            tx.execute(&login, &[&id]).unwrap();
            tx.query_one(&insert, &[&Uuid::now_v7(), &id]).unwrap();
            tx.commit().unwrap();
        },
    );
}

fn audit_insert(c: &mut Criterion, f: &Fixture) {
    let mut pooled = f.db.conn().unwrap();
    let mut client = raw::connect(&f.url);
    let changes = serde_json::json!({ "name": { "before": "a", "after": "b" } });
    let actor = f.user_ids[0];
    let entry = AuditEntry::new("renamed", "user", Some(actor.into()))
        .by(actor)
        .changes(changes.clone());
    let insert = client
        .prepare(
            "INSERT INTO audit_logs (id, actor_id, action, entity, entity_id, changes)
             VALUES ($1, $2, 'renamed', 'user', $2, $3) RETURNING id, created_at",
        )
        .unwrap();
    pair::interleaved(
        c,
        "audit_insert_one_interleaved",
        f.size.label,
        ("saas_db", "postgres"),
        |_| pooled.audit().record(&entry).unwrap(),
        |_| {
            client
                .query_one(&insert, &[&Uuid::now_v7(), &actor.uuid(), &changes])
                .unwrap()
        },
    );
}
