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
    update_shapes(c, f);
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

/// The versioned update's tail: the updated row, or the current version.
const TAIL: &str = "SELECT cur.version AS current_version, upd.*
      FROM (SELECT) AS one LEFT JOIN upd ON true
      LEFT JOIN (SELECT version FROM users WHERE id = $1 AND deleted_at IS NULL
                   AND NOT EXISTS (SELECT FROM upd)) AS cur ON true";

/// The fixed shape the crate uses (every optional column, `COALESCE` or
/// `CASE WHEN $flag`) against the exact shape of the one column changed,
/// both on the raw client so only the server's cost differs: is one cached
/// fixed shape as fast as one shape per set of changed columns?
fn update_shapes(c: &mut Criterion, f: &Fixture) {
    let client = std::cell::RefCell::new(raw::connect(&f.url));
    let fixed = format!(
        "WITH upd AS (UPDATE users SET name = COALESCE($3, name),
               username = CASE WHEN $4 THEN $5 ELSE username END,
               avatar_url = CASE WHEN $6 THEN $7 ELSE avatar_url END,
               locale = COALESCE($8, locale), timezone = COALESCE($9, timezone),
               onboarding_complete = COALESCE($10, onboarding_complete),
               is_active = COALESCE($11, is_active), updated_at = now()
         WHERE id = $1 AND version = $2 AND deleted_at IS NULL RETURNING *) {TAIL}"
    );
    let exact = format!(
        "WITH upd AS (UPDATE users SET name = $3, updated_at = now()
         WHERE id = $1 AND version = $2 AND deleted_at IS NULL RETURNING *) {TAIL}"
    );
    let fixed = client.borrow_mut().prepare(&fixed).unwrap();
    let exact = client.borrow_mut().prepare(&exact).unwrap();
    let versions: Vec<Cell<i32>> = {
        let mut conn = f.db.conn().unwrap();
        f.user_ids
            .iter()
            .map(|&id| Cell::new(conn.users().get(id).unwrap().version))
            .collect()
    };
    let half = SAMPLE / 2;
    let run = |i: usize, fixed_shape: bool| {
        let (id, v) = (f.user_ids[i].uuid(), versions[i].get());
        let name = NAMES[v as usize % 2];
        let none: Option<&str> = None;
        let (no_bool, no) = (None::<bool>, false);
        let row = if fixed_shape {
            let params: [&(dyn postgres::types::ToSql + Sync); 11] = [
                &id, &v, &name, &no, &none, &no, &none, &none, &none, &no_bool, &no_bool,
            ];
            client.borrow_mut().query_one(&fixed, &params).unwrap()
        } else {
            client
                .borrow_mut()
                .query_one(&exact, &[&id, &v, &name])
                .unwrap()
        };
        versions[i].set(row.get::<_, i32>("version"));
    };
    pair::interleaved(
        c,
        "update_shape_interleaved",
        f.size.label,
        ("fixed_case", "exact"),
        |n| run(n % half, true),
        |n| run(half + n % half, false),
    );
}
