//! The audit log: entries commit and roll back with the transaction they are
//! written in; the table refuses UPDATE and DELETE (also on a partition, and
//! for the app role, whose grants also keep TRUNCATE out); newest-first
//! keyset listings (ties on `created_at` included); all-or-nothing COPY; the
//! audited repository changes record only the fields that changed, and a
//! failed change records nothing; partition upkeep and retention.

use std::collections::HashSet;

use crate::support::{count, plan, user, Count};
use chrono::{DateTime, Duration, TimeZone, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Bool, Text, Uuid as SqlUuid};
use saas_db::access::Actor;
use saas_db::audit::{AuditEntry, AuditLog};
use saas_db::billing::Subscription;
use saas_db::enums::{BillingInterval, UserRole};
use saas_db::schema::audit_logs;
use saas_db::testing::TestDatabase;
use saas_db::{Database, Error, Page, PageRequest, Repos};
use serde_json::json;
use uuid::Uuid;

// ---------------------------------------------------------------- helpers

#[derive(QueryableByName)]
struct Flag {
    #[diesel(sql_type = Bool)]
    yes: bool,
}

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

/// Every entry in the log, read with plain Diesel (not through the repository).
fn all_entries(conn: &mut PgConnection) -> Vec<AuditLog> {
    audit_logs::table
        .select(AuditLog::as_select())
        .order((audit_logs::created_at, audit_logs::id))
        .load(conn)
        .unwrap()
}

/// Entries about one entity id, of any entity kind and actor.
fn entries_about(conn: &mut PgConnection, id: Uuid) -> Vec<AuditLog> {
    audit_logs::table
        .filter(audit_logs::entity_id.eq(id))
        .select(AuditLog::as_select())
        .order((audit_logs::created_at, audit_logs::id))
        .load(conn)
        .unwrap()
}

/// Entries whose `created_at` lies in `[from, to)`.
fn entries_between(conn: &mut PgConnection, from: &str, to: &str) -> i64 {
    diesel::sql_query(
        "SELECT count(*) AS n FROM audit_logs WHERE created_at >= $1::timestamptz AND created_at < $2::timestamptz",
    )
    .bind::<Text, _>(from)
    .bind::<Text, _>(to)
    .get_result::<Count>(conn)
    .unwrap()
    .n
}

fn table_exists(conn: &mut PgConnection, name: &str) -> bool {
    !diesel::sql_query("SELECT to_regclass($1) IS NULL AS yes")
        .bind::<Text, _>(name)
        .get_result::<Flag>(conn)
        .unwrap()
        .yes
}

/// `audit_logs_pYYYYMM` for the UTC month `months_ahead` after this one.
fn partition_of_month(conn: &mut PgConnection, months_ahead: i32) -> String {
    diesel::sql_query(
        "SELECT 'audit_logs_p' || to_char(date_trunc('month', now() AT TIME ZONE 'UTC')
                                          + make_interval(months => $1), 'YYYYMM') AS name",
    )
    .bind::<diesel::sql_types::Integer, _>(months_ahead)
    .get_result::<Name>(conn)
    .unwrap()
    .name
}

/// A site admin, made without an actor (so no audit entry).
fn site_admin(conn: &mut PgConnection, email: &str) -> Actor {
    let u = user(conn, email);
    Actor::of(&conn.users().set_role(u.id, UserRole::Admin).unwrap())
}

fn forbidden_reason(result: Result<usize, Error>) -> String {
    match result {
        Err(Error::Forbidden { reason }) => reason,
        other => panic!("expected Error::Forbidden, got {other:?}"),
    }
}

fn run(conn: &mut PgConnection, sql: &str) -> Result<usize, Error> {
    diesel::sql_query(sql).execute(conn).map_err(Error::from)
}

/// Walks a listing page by page (`first(size)`, then `after(next)`) and
/// returns the ids in the order served.
fn walk(
    size: u32,
    mut load: impl FnMut(PageRequest) -> saas_db::Result<Page<AuditLog>>,
) -> Vec<Uuid> {
    let mut ids = Vec::new();
    let mut page = load(PageRequest::first(size)).unwrap();
    for _ in 0..1000 {
        assert!(page.items.len() <= size as usize);
        ids.extend(page.items.iter().map(|e| e.id));
        match page.next_cursor() {
            Some(next) => {
                assert_eq!(
                    page.items.len(),
                    size as usize,
                    "only the last page may be short"
                );
                page = load(PageRequest::after(next, size)).unwrap();
            }
            None => return ids,
        }
    }
    panic!("listing did not end after 1000 pages (size {size})");
}

/// Newest first: `(created_at, id)` descending, computed here from the rows
/// `record` returned rather than by the listing code.
fn newest_first(entries: &[AuditLog]) -> Vec<Uuid> {
    let mut sorted: Vec<&AuditLog> = entries.iter().collect();
    sorted.sort_by_key(|e| std::cmp::Reverse((e.created_at, e.id)));
    sorted.into_iter().map(|e| e.id).collect()
}

fn subscription(conn: &mut PgConnection, email: &str, plan_id: Uuid) -> Subscription {
    let owner = user(conn, email).id;
    conn.subscriptions().start(owner, plan_id, None).unwrap()
}

// ---------------------------------------------------------------- writing

#[test]
fn record_commits_and_rolls_back_with_its_transaction() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let doc = Uuid::now_v7();
    let actor = Uuid::now_v7();

    let err = conn
        .transaction::<(), Error, _>(|tx| {
            tx.audit()
                .record(&AuditEntry::new("rolled_back", "doc", Some(doc)).by(actor))?;
            // Visible inside the transaction...
            assert_eq!(entries_about(tx, doc).len(), 1);
            Err(Error::invalid("test", "roll back"))
        })
        .unwrap_err();
    assert!(
        matches!(&err, Error::Invalid { field, .. } if field == "test"),
        "{err:?}"
    );
    // ...and gone with it.
    assert!(entries_about(&mut conn, doc).is_empty());
    assert!(all_entries(&mut conn).is_empty());

    let ip: std::net::IpAddr = "2001:db8::7".parse().unwrap();
    let kept = conn
        .transaction::<_, Error, _>(|tx| {
            tx.audit().record(
                &AuditEntry::new("committed", "doc", Some(doc))
                    .by(actor)
                    .changes(json!({ "title": { "before": "a", "after": "b" } }))
                    .metadata(json!({ "request": 42 }))
                    .client(Some(ip), Some("agent/1")),
            )
        })
        .unwrap();
    assert_eq!(entries_about(&mut conn, doc), vec![kept.clone()]);
    assert_eq!(kept.action, "committed");
    assert_eq!(kept.entity, "doc");
    assert_eq!(kept.entity_id, Some(doc));
    assert_eq!(kept.actor_id, Some(actor));
    assert_eq!(
        kept.changes,
        json!({ "title": { "before": "a", "after": "b" } })
    );
    assert_eq!(kept.metadata, json!({ "request": 42 }));
    assert_eq!(kept.ip_address.map(|n| n.addr()), Some(ip));
    assert_eq!(kept.user_agent.as_deref(), Some("agent/1"));

    // Bad input is refused before the database, naming the field.
    let err = conn
        .audit()
        .record(&AuditEntry::new("", "doc", Some(doc)))
        .unwrap_err();
    assert!(
        matches!(&err, Error::Invalid { field, .. } if field == "action"),
        "{err:?}"
    );
    let err = conn
        .audit()
        .record(&AuditEntry::new("x", "doc", None).metadata(json!({ "k": "nul\0" })))
        .unwrap_err();
    assert!(
        matches!(&err, Error::Invalid { field, .. } if field == "metadata"),
        "{err:?}"
    );
    assert_eq!(all_entries(&mut conn).len(), 1);
}

#[test]
fn update_and_delete_are_refused_also_on_a_partition() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let doc = Uuid::now_v7();
    let entry = conn
        .audit()
        .record(&AuditEntry::new("original", "doc", Some(doc)))
        .unwrap();
    let partition = partition_of_month(&mut conn, 0);
    // The row is in this month's partition, so statements on it reach a row
    // (a trigger on zero rows would refuse nothing).
    assert_eq!(
        count(&mut conn, &format!("SELECT count(*) AS n FROM {partition}")),
        1
    );

    let statements = [
        ("UPDATE audit_logs SET action = 'x'".to_owned(), "UPDATE"),
        ("DELETE FROM audit_logs".to_owned(), "DELETE"),
        (format!("UPDATE {partition} SET action = 'x'"), "UPDATE"),
        (format!("DELETE FROM {partition}"), "DELETE"),
        // Moving a row to another partition is an UPDATE too.
        (
            "UPDATE audit_logs SET created_at = created_at - interval '5 years'".to_owned(),
            "UPDATE",
        ),
    ];
    for (sql, op) in &statements {
        let reason = forbidden_reason(run(&mut conn, sql));
        assert!(
            reason.contains("append-only") && reason.contains(op),
            "{sql}: {reason}"
        );
    }
    assert_eq!(all_entries(&mut conn), vec![entry]);
}

#[test]
fn truncate_is_refused_to_everyone_the_owner_included() {
    let db = TestDatabase::new();
    let mut owner = db.conn().unwrap();
    let app = Database::builder(&db.app_url().unwrap())
        .run_migrations(false)
        .max_size(1)
        .min_idle(Some(0))
        .build()
        .unwrap();
    let mut app = app.conn().unwrap();
    let partition = partition_of_month(&mut owner, 0);

    // The app role may append and read...
    let written = app
        .audit()
        .record(&AuditEntry::new("by_app", "doc", Some(Uuid::now_v7())))
        .unwrap();
    assert_eq!(all_entries(&mut app), vec![written.clone()]);
    // ...but not rewrite or remove it: no UPDATE, DELETE or TRUNCATE grant
    // on the log...
    for sql in [
        "UPDATE audit_logs SET action = 'x'",
        "DELETE FROM audit_logs",
        "TRUNCATE audit_logs",
    ] {
        let reason = forbidden_reason(run(&mut app, sql));
        assert!(reason.starts_with("permission denied"), "{sql}: {reason}");
    }
    // ...nor through a partition directly (refused by the grants, or by the
    // trigger where a grant reaches the partition).
    for sql in [
        format!("UPDATE {partition} SET action = 'x'"),
        format!("DELETE FROM {partition}"),
        format!("TRUNCATE {partition}"),
    ] {
        let reason = forbidden_reason(run(&mut app, &sql));
        assert!(
            reason.starts_with("permission denied") || reason.contains("append-only"),
            "{sql}: {reason}"
        );
    }
    assert_eq!(all_entries(&mut owner), vec![written]);
    // The app role cannot date an entry: created_at is the server's (it
    // used to accept any value, back- or post-dated).
    let backdated = run(
        &mut app,
        "INSERT INTO audit_logs (action, entity, created_at) VALUES ('x', 'doc', now() - interval '1 year')",
    );
    assert!(
        matches!(&backdated, Err(Error::Forbidden { reason }) if reason.starts_with("permission denied")),
        "{backdated:?}"
    );

    // The owner too: a statement-level guard on the log and on every
    // partition, including those made later by ensure_partitions (it used
    // to empty the log: the row trigger does not fire on TRUNCATE).
    owner
        .audit()
        .record(&AuditEntry::new("again", "doc", None))
        .unwrap();
    let later = {
        owner.audit().ensure_partitions(14).unwrap();
        partition_of_month(&mut owner, 13)
    };
    for sql in [
        "TRUNCATE audit_logs".to_owned(),
        format!("TRUNCATE {partition}"),
        format!("TRUNCATE {later}"),
        "TRUNCATE audit_logs_default".to_owned(),
    ] {
        let err = run(&mut owner, &sql).unwrap_err();
        assert!(
            matches!(&err, Error::Forbidden { reason } if reason.contains("append-only")),
            "{sql}: {err:?}"
        );
    }
    assert_eq!(all_entries(&mut owner).len(), 2);
}

#[test]
fn record_many_is_all_or_nothing() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let doc = Uuid::now_v7();
    let actor = Uuid::now_v7();
    let actions: Vec<String> = (0..10).map(|i| format!("step_{i}")).collect();
    let mut entries: Vec<AuditEntry> = actions
        .iter()
        .map(|a| AuditEntry::new(a, "doc", Some(doc)).by(actor))
        .collect();
    entries[3].action = "";

    let err = conn.audit().record_many(&entries).unwrap_err();
    assert!(
        matches!(&err, Error::Invalid { field, .. } if field == "entries[3].action"),
        "{err:?}"
    );
    assert!(all_entries(&mut conn).is_empty());
    // The same inside a transaction that goes on: nothing of the batch lands.
    conn.transaction::<_, Error, _>(|tx| {
        assert!(tx.audit().record_many(&entries).is_err());
        tx.audit().record(&AuditEntry::new("other", "doc", None))
    })
    .unwrap();
    assert!(entries_about(&mut conn, doc).is_empty());

    let long = "x".repeat(1025);
    entries[3].action = "step_3";
    entries[8].user_agent = Some(&long);
    let err = conn.audit().record_many(&entries).unwrap_err();
    assert!(
        matches!(&err, Error::Invalid { field, .. } if field == "entries[8].user_agent"),
        "{err:?}"
    );
    assert!(entries_about(&mut conn, doc).is_empty());

    entries[8].user_agent = None;
    assert_eq!(conn.audit().record_many(&entries).unwrap(), 10);
    let written = entries_about(&mut conn, doc);
    let mut got: Vec<&str> = written.iter().map(|e| e.action.as_str()).collect();
    got.sort_unstable();
    let mut want: Vec<&str> = actions.iter().map(String::as_str).collect();
    want.sort_unstable();
    assert_eq!(got, want);
    assert!(written.iter().all(|e| e.actor_id == Some(actor)));
    assert_eq!(conn.audit().record_many(&[]).unwrap(), 0);
    assert_eq!(all_entries(&mut conn).len(), 11);
}

// ---------------------------------------------------------------- listings

#[test]
fn listings_are_newest_first_in_keyset_pages_with_ties() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let doc = Uuid::now_v7();
    let other_doc = Uuid::now_v7();
    let ann = Uuid::now_v7();
    let bob = Uuid::now_v7();

    // One transaction: one now(), so these share created_at.
    let (mut about_doc, mut by_ann) = conn
        .transaction::<_, Error, _>(|tx| {
            let mut about_doc = Vec::new();
            let mut by_ann = Vec::new();
            for i in 0..7 {
                let e = tx.audit().record(
                    &AuditEntry::new("edited", "doc", Some(doc))
                        .by(ann)
                        .metadata(json!({ "i": i })),
                )?;
                about_doc.push(e.clone());
                by_ann.push(e);
            }
            // Same entity by another actor: in the entity listing only.
            about_doc.push(
                tx.audit()
                    .record(&AuditEntry::new("viewed", "doc", Some(doc)).by(bob))?,
            );
            // Another doc, and another kind of entity with the same id, by
            // Ann: in her listing only.
            by_ann.push(
                tx.audit()
                    .record(&AuditEntry::new("edited", "doc", Some(other_doc)).by(ann))?,
            );
            by_ann.push(
                tx.audit()
                    .record(&AuditEntry::new("edited", "folder", Some(doc)).by(ann))?,
            );
            Ok((about_doc, by_ann))
        })
        .unwrap();
    // A later transaction: newer than all of the above.
    for i in 0..3 {
        let e = conn
            .audit()
            .record(
                &AuditEntry::new("renamed", "doc", Some(doc))
                    .by(ann)
                    .metadata(json!({ "later": i })),
            )
            .unwrap();
        about_doc.push(e.clone());
        by_ann.push(e);
    }
    // Noise: another actor on another entity.
    conn.audit()
        .record(&AuditEntry::new("edited", "doc", Some(Uuid::now_v7())).by(bob))
        .unwrap();

    // The data really has ties, and more than one timestamp.
    let stamps: HashSet<DateTime<Utc>> = about_doc.iter().map(|e| e.created_at).collect();
    assert!(
        stamps.len() >= 2 && stamps.len() < about_doc.len(),
        "{stamps:?}"
    );

    let want_doc = newest_first(&about_doc);
    let want_ann = newest_first(&by_ann);
    assert_eq!((want_doc.len(), want_ann.len()), (11, 12));
    for size in [1, 2, 3, 4, 5, 7, 11, 12, 1000] {
        let got = walk(size, |p| conn.audit().for_entity("doc", doc, p));
        assert_eq!(got, want_doc, "for_entity, pages of {size}");
        let got = walk(size, |p| conn.audit().for_actor(ann, p));
        assert_eq!(got, want_ann, "for_actor, pages of {size}");
    }

    // Backwards from the second page gives the first page again.
    let first = conn
        .audit()
        .for_entity("doc", doc, PageRequest::first(4))
        .unwrap();
    let second = conn
        .audit()
        .for_entity(
            "doc",
            doc,
            PageRequest::after(first.next_cursor().unwrap(), 4),
        )
        .unwrap();
    let back = conn
        .audit()
        .for_entity(
            "doc",
            doc,
            PageRequest::before(second.prev_cursor().unwrap(), 4),
        )
        .unwrap();
    assert_eq!(back.items, first.items);

    // A cursor of one listing is refused by the other.
    let cursor = first.next_cursor().unwrap();
    let err = conn
        .audit()
        .for_actor(ann, PageRequest::after(cursor.clone(), 4))
        .unwrap_err();
    assert!(matches!(err, Error::InvalidCursor { .. }), "{err:?}");
    let from_actor = conn
        .audit()
        .for_actor(ann, PageRequest::first(2))
        .unwrap()
        .next_cursor()
        .unwrap();
    let err = conn
        .audit()
        .for_entity("doc", doc, PageRequest::after(from_actor, 2))
        .unwrap_err();
    assert!(matches!(err, Error::InvalidCursor { .. }), "{err:?}");

    for limit in [0, 1001] {
        let err = conn
            .audit()
            .for_entity("doc", doc, PageRequest::first(limit))
            .unwrap_err();
        assert!(
            matches!(&err, Error::Invalid { field, .. } if field == "limit"),
            "{err:?}"
        );
        let err = conn
            .audit()
            .for_actor(ann, PageRequest::after(cursor.clone(), limit))
            .unwrap_err();
        assert!(
            matches!(&err, Error::Invalid { field, .. } if field == "limit"),
            "{err:?}"
        );
    }

    // Nothing about an unknown entity or actor.
    let none = conn
        .audit()
        .for_entity("doc", Uuid::now_v7(), PageRequest::first(10))
        .unwrap();
    assert!(none.items.is_empty() && none.next_cursor().is_none());
    assert!(conn
        .audit()
        .for_actor(Uuid::now_v7(), PageRequest::first(10))
        .unwrap()
        .items
        .is_empty());
}

// ---------------------------------------------------------------- audited changes

#[test]
fn ban_and_unban_record_only_the_changed_fields() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let admin = site_admin(&mut conn, "admin@example.com");
    let target = user(&mut conn, "target@example.com");
    // Without an actor nothing is recorded (also not the admin's promotion).
    conn.users().ban(target.id, None, Some("first")).unwrap();
    conn.users().unban(target.id).unwrap();
    assert!(all_entries(&mut conn).is_empty());

    // Failed bans record nothing.
    let err = conn
        .users()
        .acting(&admin)
        .ban(target.id, Some(Utc::now() - Duration::hours(1)), Some("x"))
        .unwrap_err();
    assert!(
        matches!(&err, Error::Invalid { field, .. } if field == "until"),
        "{err:?}"
    );
    let err = conn
        .users()
        .acting(&admin)
        .ban(Uuid::now_v7(), None, Some("x"))
        .unwrap_err();
    assert!(matches!(err, Error::NotFound { entity: "user" }), "{err:?}");
    let err = conn
        .users()
        .acting(&admin)
        .ban(target.id, None, Some(""))
        .unwrap_err();
    assert!(
        matches!(&err, Error::Invalid { field, .. } if field == "ban_reason"),
        "{err:?}"
    );
    assert!(all_entries(&mut conn).is_empty());
    assert!(conn.users().get(target.id).unwrap().banned_at.is_none());

    let banned = conn
        .users()
        .acting(&admin)
        .ban(target.id, None, Some("spam"))
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
        ("banned", "user", Some(target.id), Some(admin.user_id))
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

    let unbanned = conn.users().acting(&admin).unban(target.id).unwrap();
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
        .acting(&admin)
        .ban(target.id, Some(until), None)
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
    let ids: Vec<Uuid> = mine.items.iter().rev().map(|e| e.id).collect();
    assert_eq!(ids, log.iter().map(|e| e.id).collect::<Vec<_>>());
}

#[test]
fn set_role_and_soft_delete_are_audited() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let admin = site_admin(&mut conn, "admin@example.com");
    let target = user(&mut conn, "target@example.com");

    conn.users().set_role(target.id, UserRole::Admin).unwrap();
    conn.users().set_role(target.id, UserRole::User).unwrap();
    assert!(all_entries(&mut conn).is_empty());
    let err = conn
        .users()
        .acting(&admin)
        .set_role(Uuid::now_v7(), UserRole::Admin)
        .unwrap_err();
    assert!(matches!(err, Error::NotFound { entity: "user" }), "{err:?}");
    assert!(all_entries(&mut conn).is_empty());

    let promoted = conn
        .users()
        .acting(&admin)
        .set_role(target.id, UserRole::Admin)
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
        ("role_changed", "user", Some(target.id), Some(admin.user_id))
    );
    assert_eq!(
        log[0].changes,
        json!({ "role": { "before": "user", "after": "admin" } })
    );

    let deleted = conn.users().acting(&admin).soft_delete(target.id).unwrap();
    let log = entries_about(&mut conn, target.id);
    assert_eq!(log.len(), 2);
    assert_eq!(log[1].action, "deleted");
    assert_eq!(
        log[1].changes,
        json!({ "deleted_at": { "before": null, "after": deleted.deleted_at } })
    );
    // Already deleted: NotFound, nothing recorded.
    let err = conn
        .users()
        .acting(&admin)
        .soft_delete(target.id)
        .unwrap_err();
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

    // Not acting: the change happens, nothing is recorded.
    let quiet = subscription(&mut conn, "quiet@example.com", plan_id);
    conn.subscriptions().cancel(quiet.id, false).unwrap();
    assert!(all_entries(&mut conn).is_empty());

    let canceled = conn
        .subscriptions()
        .acting(&admin)
        .cancel(sub.id, false)
        .unwrap();
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
            Some(sub.id),
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
            .acting(&admin)
            .cancel(sub.id, at_period_end)
            .unwrap_err();
        assert!(
            matches!(&err, Error::Invalid { field, .. } if field == "status"),
            "{err:?}"
        );
    }
    let err = conn
        .subscriptions()
        .acting(&admin)
        .cancel(Uuid::now_v7(), false)
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
    conn.subscriptions()
        .acting(&admin)
        .cancel(later.id, true)
        .unwrap();
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
            tx.users().acting(&admin).ban(target, None, Some("spam"))?;
            assert_eq!(entries_about(tx, target).len(), 1);
            Err::<(), _>(Error::invalid("x", "y"))
        })
        .unwrap_err();
    assert!(
        matches!(&err, Error::Invalid { field, .. } if field == "x"),
        "{err:?}"
    );
    assert!(all_entries(&mut conn).is_empty());
    assert!(conn.users().get(target).unwrap().banned_at.is_none());

    // A failed audited change inside a transaction that goes on: its
    // savepoint is rolled back, the rest commits with one entry.
    db.transaction(|tx| {
        let err = tx
            .users()
            .acting(&admin)
            .ban(Uuid::now_v7(), None, None)
            .unwrap_err();
        assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
        tx.users().acting(&admin).ban(target, None, Some("spam"))
    })
    .unwrap();
    let log = all_entries(&mut conn);
    assert_eq!(log.len(), 1);
    assert_eq!(
        (log[0].action.as_str(), log[0].entity_id),
        ("banned", Some(target))
    );
    assert!(conn.users().get(target).unwrap().banned_at.is_some());
}

// ---------------------------------------------------------------- partitions

#[test]
fn ensure_partitions_creates_only_the_missing_months() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    for ahead in 0..=2 {
        let name = partition_of_month(&mut conn, ahead);
        assert!(table_exists(&mut conn, &name), "{name} from the migration");
    }
    let fourth = partition_of_month(&mut conn, 3);
    assert!(!table_exists(&mut conn, &fourth), "{fourth}");

    assert_eq!(conn.audit().ensure_partitions(3).unwrap(), 1);
    assert!(table_exists(&mut conn, &fourth), "{fourth}");
    assert_eq!(conn.audit().ensure_partitions(3).unwrap(), 0);
    assert_eq!(conn.audit().ensure_partitions(0).unwrap(), 0);
    let err = conn.audit().ensure_partitions(121).unwrap_err();
    assert!(
        matches!(&err, Error::Invalid { field, .. } if field == "months_ahead"),
        "{err:?}"
    );
    let fifth = partition_of_month(&mut conn, 4);
    assert!(!table_exists(&mut conn, &fifth), "{fifth}");

    // An entry written now lands in this month's partition, not the default.
    conn.audit()
        .record(&AuditEntry::new("now", "doc", None))
        .unwrap();
    let current = partition_of_month(&mut conn, 0);
    assert_eq!(
        count(&mut conn, &format!("SELECT count(*) AS n FROM {current}")),
        1
    );
    assert_eq!(
        count(&mut conn, "SELECT count(*) AS n FROM audit_logs_default"),
        0
    );
}

#[test]
fn drop_partitions_before_removes_whole_past_months() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    for (name, from, to) in [
        ("audit_logs_p202501", "2025-01-01", "2025-02-01"),
        ("audit_logs_p202502", "2025-02-01", "2025-03-01"),
        ("audit_logs_p202503", "2025-03-01", "2025-04-01"),
    ] {
        run(
            &mut conn,
            &format!(
                "CREATE TABLE {name} PARTITION OF audit_logs
                 FOR VALUES FROM ('{from} 00:00+00') TO ('{to} 00:00+00')"
            ),
        )
        .unwrap();
    }
    let insert = |conn: &mut PgConnection, at: &str| {
        diesel::sql_query(
            "INSERT INTO audit_logs (id, action, entity, created_at) VALUES ($1, 'old', 'doc', $2::timestamptz)",
        )
        .bind::<SqlUuid, _>(Uuid::now_v7())
        .bind::<Text, _>(at)
        .execute(conn)
        .unwrap();
    };
    insert(&mut conn, "2025-01-15 12:00+00");
    insert(&mut conn, "2025-01-31 23:59:59.999999+00");
    insert(&mut conn, "2025-02-10 00:00+00");
    insert(&mut conn, "2025-03-01 00:00+00");
    // Outside every monthly partition: the default one, never dropped.
    insert(&mut conn, "2024-06-01 00:00+00");
    let now = conn
        .audit()
        .record(&AuditEntry::new("now", "doc", None))
        .unwrap();
    assert_eq!(
        count(&mut conn, "SELECT count(*) AS n FROM audit_logs_p202501"),
        2
    );
    assert_eq!(
        count(&mut conn, "SELECT count(*) AS n FROM audit_logs_default"),
        1
    );

    let cutoff = Utc.with_ymd_and_hms(2025, 3, 1, 0, 0, 0).unwrap();
    let dropped = conn.audit().drop_partitions_before(cutoff).unwrap();
    assert_eq!(dropped, ["audit_logs_p202501", "audit_logs_p202502"]);

    assert!(!table_exists(&mut conn, "audit_logs_p202501"));
    assert!(!table_exists(&mut conn, "audit_logs_p202502"));
    assert!(table_exists(&mut conn, "audit_logs_p202503"));
    for ahead in 0..=2 {
        let name = partition_of_month(&mut conn, ahead);
        assert!(table_exists(&mut conn, &name), "{name}");
    }
    assert_eq!(
        entries_between(&mut conn, "2025-01-01 00:00+00", "2025-03-01 00:00+00"),
        0
    );
    assert_eq!(
        entries_between(&mut conn, "2025-03-01 00:00+00", "2025-04-01 00:00+00"),
        1
    );
    assert_eq!(
        entries_between(&mut conn, "2024-06-01 00:00+00", "2024-07-01 00:00+00"),
        1
    );
    assert!(all_entries(&mut conn).contains(&now));
    assert_eq!(all_entries(&mut conn).len(), 3);

    assert!(conn
        .audit()
        .drop_partitions_before(cutoff)
        .unwrap()
        .is_empty());
    // A cutoff inside March keeps March (the month containing the cutoff).
    let end_of_march = Utc.with_ymd_and_hms(2025, 3, 31, 23, 59, 59).unwrap();
    assert!(conn
        .audit()
        .drop_partitions_before(end_of_march)
        .unwrap()
        .is_empty());
    assert!(table_exists(&mut conn, "audit_logs_p202503"));
    assert_eq!(all_entries(&mut conn).len(), 3);
}

// ------------------------------------------------- found by these tests, fixed

/// Lookups refuse a NUL byte before the database, naming the field (see
/// bad_input.rs); `for_entity` sends it to the server instead.
#[test]
fn for_entity_refuses_a_nul_byte_before_the_database() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let err = conn
        .audit()
        .for_entity("d\0c", Uuid::now_v7(), PageRequest::first(1))
        .unwrap_err();
    assert!(
        matches!(&err, Error::Invalid { field, .. } if field == "entity"),
        "{err:?}"
    );
}

/// An entry for a month without a partition lands in the default partition
/// (as documented); `ensure_partitions` must still create the other months
/// afterwards. (It used to abort on that month's CREATE TABLE, "updated
/// partition constraint for default partition would be violated", so no
/// later month was created and every later entry landed in the default.)
#[test]
fn ensure_partitions_survives_an_entry_in_the_default_partition() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    // What `record` writes four months from now if the daily job fell behind.
    run(
        &mut conn,
        "INSERT INTO audit_logs (action, entity, created_at)
         VALUES ('early', 'doc',
                 (date_trunc('month', now() AT TIME ZONE 'UTC') + interval '4 months 1 hour')
                     AT TIME ZONE 'UTC')",
    )
    .unwrap();
    assert_eq!(
        count(&mut conn, "SELECT count(*) AS n FROM audit_logs_default"),
        1
    );
    let created = conn.audit().ensure_partitions(5);
    assert!(matches!(created, Ok(n) if n >= 2), "{created:?}");
    for ahead in [3, 5] {
        let name = partition_of_month(&mut conn, ahead);
        assert!(table_exists(&mut conn, &name), "{name}");
    }
    assert_eq!(all_entries(&mut conn).len(), 1);
}

/// A change that changes nothing (unbanning someone who is not banned,
/// setting the role they have) is not history: no entry.
#[test]
fn a_change_that_changes_nothing_writes_no_entry() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let admin = site_admin(&mut conn, "noop-admin@example.com");
    let target = user(&mut conn, "noop@example.com");
    conn.users().acting(&admin).unban(target.id).unwrap();
    conn.users()
        .acting(&admin)
        .set_role(target.id, UserRole::User)
        .unwrap();
    assert!(entries_about(&mut conn, target.id).is_empty());
}

/// Retention never drops the month being written (or later ones).
#[test]
fn drop_partitions_before_refuses_a_cutoff_in_the_current_month() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    for cutoff in [Utc::now(), Utc::now() + Duration::days(90)] {
        match conn.audit().drop_partitions_before(cutoff) {
            Err(Error::Invalid { field, .. }) => assert_eq!(field, "cutoff"),
            other => panic!("{other:?}"),
        }
    }
    for ahead in [0, 2] {
        let name = partition_of_month(&mut conn, ahead);
        assert!(table_exists(&mut conn, &name), "{name}");
    }
}
