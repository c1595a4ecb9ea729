//! The hot writes against the raw `postgres` driver, each an interleaved
//! pair (`pair.rs`: both calls in one loop, call by call): the targets of
//! issue 18 are read from these groups, `<group>_interleaved` with the
//! sides `saas_db` and `postgres`.
//!
//! - `optimistic_update_ok`: a versioned rename that wins. Both sides write
//!   the same row in turn, each with the version the other left.
//! - `optimistic_update_conflict`: a versioned rename with a stale version.
//!   Ours answers `Error::Stale`; the raw side sends the same UPDATE and
//!   sees zero rows (it cannot tell Stale from NotFound). A third side,
//!   `postgres_same_sql` (not in the target), sends the crate's own
//!   statement on the raw client: how much of the gap is the server's work
//!   for the one-round-trip answer, and how much is the client's.
//! - `transaction_two_writes`: record a sign-in and its audit entry in one
//!   transaction.
//! - `audit_insert_one`: one audit entry, autocommit.
//! - `update_shape` (not a target): the fixed statement shape the crate
//!   uses for a versioned update against the exact shape of the one column
//!   changed, both on the raw client.

use std::cell::{Cell, RefCell};

use criterion::Criterion;
use saas_db::audit::AuditEntry;
use saas_db::users::UserChanges;
use saas_db::Repos;
use uuid::Uuid;

use crate::fixture::{Fixture, SAMPLE};
use crate::{pair, raw};

const NAMES: [&str; 2] = ["Bench User", "Bench User 2"];

pub fn all(c: &mut Criterion, f: &Fixture) {
    updates(c, f);
    two_writes(c, f);
    audit_insert(c, f);
    update_shapes(c, f);
}

fn updates(c: &mut Criterion, f: &Fixture) {
    let size = f.size.label;
    let mut pooled = f.db.conn().unwrap();
    let mut client = raw::connect(&f.url);
    let update = client.prepare(raw::UPDATE_USER_NAME).unwrap();
    // Each sampled user's current version, kept by whichever side wrote last.
    let versions = RefCell::new(
        f.user_ids
            .iter()
            .map(|&id| pooled.users().get(id).unwrap().version)
            .collect::<Vec<i32>>(),
    );
    pair::interleaved(
        c,
        "optimistic_update_ok_interleaved",
        size,
        ("saas_db", "postgres"),
        |n| {
            let i = n % SAMPLE;
            let version = versions.borrow()[i];
            let changes = UserChanges {
                name: Some(NAMES[version as usize % 2].into()),
                ..Default::default()
            };
            let user = pooled
                .users()
                .update(f.user_ids[i], version, &changes)
                .unwrap();
            versions.borrow_mut()[i] = user.version;
        },
        |n| {
            let i = n % SAMPLE;
            let version = versions.borrow()[i];
            let name = NAMES[version as usize % 2];
            let row = client
                .query_one(&update, &[&f.user_ids[i].uuid(), &version, &name])
                .unwrap();
            versions.borrow_mut()[i] = raw::user(&row, 0).version();
        },
    );

    let changes = UserChanges {
        name: Some("never".into()),
        ..Default::default()
    };
    let mut same_client = raw::connect(&f.url);
    let same_sql = same_client.prepare(&fixed_update_sql()).unwrap();
    pair::interleaved_sides(
        c,
        "optimistic_update_conflict_interleaved",
        size,
        vec![
            (
                "saas_db",
                Box::new(|n| {
                    let stale = pooled.users().update(f.user_ids[n % SAMPLE], 0, &changes);
                    assert!(matches!(stale, Err(saas_db::Error::Stale { .. })));
                }),
            ),
            (
                "postgres",
                Box::new(|n| {
                    let (id, zero) = (f.user_ids[n % SAMPLE].uuid(), 0i32);
                    let missed = client.query_opt(&update, &[&id, &zero, &"never"]).unwrap();
                    assert!(missed.is_none());
                }),
            ),
            (
                "postgres_same_sql",
                Box::new(|n| {
                    let (id, zero) = (f.user_ids[n % SAMPLE].uuid(), 0i32);
                    let row = same_client
                        .query_one(&same_sql, &fixed_params(&id, &zero, &"never"))
                        .unwrap();
                    assert!(row.get::<_, Option<i32>>("current_version").is_some());
                }),
            ),
        ],
    );
}

/// The same transaction as `writes::two_writes`.
fn two_writes(c: &mut Criterion, f: &Fixture) {
    let mut client = raw::connect(&f.url);
    let login = client
        .prepare("UPDATE users SET last_login_at = now() WHERE id = $1")
        .unwrap();
    let insert = client.prepare(raw::AUDIT_SIGNED_IN).unwrap();
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
            raw::audit(&tx.query_one(&insert, &[&Uuid::now_v7(), &id]).unwrap());
            tx.commit().unwrap();
        },
    );
}

/// The same insert as `writes::audit_inserts`' `audit_insert_one`.
fn audit_insert(c: &mut Criterion, f: &Fixture) {
    let mut pooled = f.db.conn().unwrap();
    let mut client = raw::connect(&f.url);
    let insert = client.prepare(raw::AUDIT_INSERT).unwrap();
    let changes = serde_json::json!({ "name": { "before": "a", "after": "b" } });
    let actor = f.user_ids[0];
    let entry = AuditEntry::new("renamed", "user", Some(actor.into()))
        .by(actor)
        .changes(changes.clone());
    pair::interleaved(
        c,
        "audit_insert_one_interleaved",
        f.size.label,
        ("saas_db", "postgres"),
        |_| pooled.audit().record(&entry).unwrap(),
        |_| {
            raw::audit(
                &client
                    .query_one(&insert, &[&Uuid::now_v7(), &actor.uuid(), &changes])
                    .unwrap(),
            )
        },
    );
}

/// The versioned update's tail: the updated row, or the current version.
const TAIL: &str = "SELECT cur.version AS current_version, upd.*
      FROM (SELECT) AS one LEFT JOIN upd ON true
      LEFT JOIN (SELECT version FROM users WHERE id = $1 AND deleted_at IS NULL
                   AND NOT EXISTS (SELECT FROM upd)) AS cur ON true";

/// The statement the crate sends for a versioned rename of a user (its
/// parameters in another order): every optional column, `COALESCE` or
/// `CASE WHEN $flag`, then [`TAIL`].
fn fixed_update_sql() -> String {
    format!(
        "WITH upd AS (UPDATE users SET name = COALESCE($3, name),
               username = CASE WHEN $4 THEN $5 ELSE username END,
               avatar_url = CASE WHEN $6 THEN $7 ELSE avatar_url END,
               locale = COALESCE($8, locale), timezone = COALESCE($9, timezone),
               onboarding_complete = COALESCE($10, onboarding_complete),
               is_active = COALESCE($11, is_active), updated_at = now()
         WHERE id = $1 AND version = $2 AND deleted_at IS NULL RETURNING *) {TAIL}"
    )
}

type Param<'a> = &'a (dyn postgres::types::ToSql + Sync);

/// [`fixed_update_sql`]'s parameters for a rename: every other column
/// left alone.
fn fixed_params<'a>(id: Param<'a>, version: Param<'a>, name: Param<'a>) -> [Param<'a>; 11] {
    const NO: bool = false;
    const NONE: Option<&str> = None;
    const NO_BOOL: Option<bool> = None;
    [
        id, version, name, &NO, &NONE, &NO, &NONE, &NONE, &NONE, &NO_BOOL, &NO_BOOL,
    ]
}

/// The fixed shape the crate uses ([`fixed_update_sql`]) against the exact
/// shape of the one column changed, both on the raw client so only the
/// server's cost differs: is one cached fixed shape as fast as one shape
/// per set of changed columns?
fn update_shapes(c: &mut Criterion, f: &Fixture) {
    let client = RefCell::new(raw::connect(&f.url));
    let fixed = fixed_update_sql();
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
        let row = if fixed_shape {
            client
                .borrow_mut()
                .query_one(&fixed, &fixed_params(&id, &v, &name))
                .unwrap()
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
