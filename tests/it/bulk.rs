//! Bulk writes: COPY imports past the bind-parameter limit, all-or-nothing
//! failures, and chunked batch updates.

use diesel::prelude::*;
use saas_db::audit::AuditEntry;
use saas_db::ids::UserId;
use saas_db::users::{NewUser, UserChanges, DEFAULT_LOCALE, DEFAULT_TIMEZONE};
use saas_db::{Error, PageRequest, Repos};
use saas_db_testing::TestDatabase;
use uuid::Uuid;

fn new_users(emails: &[String]) -> Vec<NewUser<'_>> {
    emails.iter().map(|e| NewUser::new(e, "Imported")).collect()
}

#[test]
fn import_copies_past_the_bind_parameter_limit() {
    let db = TestDatabase::new();
    // 70,000 rows x 8 columns would need 560,000 bind parameters as one INSERT.
    let emails: Vec<String> = (0..70_000).map(|i| format!("u{i}@bulk.example")).collect();
    let mut conn = db.conn().unwrap();

    // Control: the same rows as one multi-row INSERT exceed the protocol limit.
    #[derive(Insertable)]
    #[diesel(table_name = saas_db::schema::users)]
    struct Row<'a> {
        email: &'a str,
        name: &'a str,
    }
    let rows: Vec<Row> = emails
        .iter()
        .map(|e| Row {
            email: e,
            name: "x",
        })
        .collect();
    let control = diesel::insert_into(saas_db::schema::users::table)
        .values(&rows)
        .execute(&mut *conn);
    assert!(
        control.is_err(),
        "control: a 140,000-parameter INSERT should fail"
    );

    let inserted = conn.users().import(&new_users(&emails)).unwrap();
    assert_eq!(inserted, 70_000);
    assert_eq!(conn.users().count().unwrap(), 70_000);
    let one = conn
        .users()
        .find_by_email("u69999@bulk.example")
        .unwrap()
        .unwrap();
    assert_eq!(one.locale, DEFAULT_LOCALE);
    assert_eq!(one.timezone, DEFAULT_TIMEZONE);
    assert_eq!(one.version, 1);
    // Time-ordered ids: the listing returns them in import order.
    let first = conn.users().list(PageRequest::first(2)).unwrap();
    assert_eq!(first.items[0].email, "u0@bulk.example");
}

#[test]
fn import_is_all_or_nothing() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    // A bad entry is named by index before anything is sent.
    let mut emails: Vec<String> = (0..10).map(|i| format!("a{i}@x.example")).collect();
    emails[7] = "not-an-email".into();
    let err = conn.users().import(&new_users(&emails)).unwrap_err();
    assert!(
        matches!(&err, Error::Invalid { field, .. } if field == "users[7].email"),
        "{err:?}"
    );
    // A duplicate inside the batch (other case) fails the whole COPY.
    emails[7] = "A0@X.example".into();
    let err = conn.users().import(&new_users(&emails)).unwrap_err();
    assert!(
        matches!(&err, Error::Conflict { constraint } if constraint == "users_email_key"),
        "{err:?}"
    );
    assert_eq!(conn.users().count().unwrap(), 0);
    assert_eq!(conn.users().import(&[]).unwrap(), 0);
}

#[test]
fn record_many_copies_audit_entries() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let actor = Uuid::now_v7();
    let target = Uuid::now_v7();
    let entries: Vec<AuditEntry> = (0..20_000)
        .map(|i| {
            AuditEntry::new("updated", "user", Some(target))
                .by(UserId(actor))
                .changes(serde_json::json!({ "n": { "before": i, "after": i + 1 } }))
                .client(Some("203.0.113.9".parse().unwrap()), Some("curl/8"))
        })
        .collect();
    assert_eq!(conn.audit().record_many(&entries).unwrap(), 20_000);
    let latest = conn
        .audit()
        .for_entity("user", target, saas_db::PageRequest::first(5))
        .unwrap()
        .items;
    assert_eq!(latest.len(), 5);
    assert_eq!(latest[0].actor_id, Some(UserId(actor)));
    assert_eq!(latest[0].ip_address.unwrap().to_string(), "203.0.113.9");

    let bad = vec![
        AuditEntry::new("ok", "user", None),
        AuditEntry::new("ok", "user", None).changes(serde_json::json!([1, 2])),
    ];
    let err = conn.audit().record_many(&bad).unwrap_err();
    assert!(
        matches!(&err, Error::Invalid { field, .. } if field == "entries[1].changes"),
        "{err:?}"
    );
}

#[test]
fn batch_update_commits_chunk_by_chunk_and_reports() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let emails: Vec<String> = (0..25).map(|i| format!("b{i}@x.example")).collect();
    conn.users().import(&new_users(&emails)).unwrap();
    let ids: Vec<UserId> = conn
        .users()
        .list(PageRequest::first(25))
        .unwrap()
        .items
        .iter()
        .map(|u| u.id)
        .collect();
    let names: Vec<String> = (0..25).map(|i| format!("Renamed {i}")).collect();
    let mut updates: Vec<(UserId, UserChanges)> = ids
        .iter()
        .zip(&names)
        .map(|(id, name)| {
            (
                *id,
                UserChanges {
                    name: Some(name.into()),
                    ..Default::default()
                },
            )
        })
        .collect();
    let ghost = UserId(Uuid::now_v7());
    updates.push((
        ghost,
        UserChanges {
            name: Some("Ghost".into()),
            ..Default::default()
        },
    ));

    let report = conn.users().batch_update(&updates, 10).unwrap();
    assert_eq!(report.updated, 25);
    assert_eq!(report.missing, vec![ghost]);
    assert_eq!(report.chunks_committed, 3);
    assert!(report.failed.is_none());
    let user = conn.users().get(ids[24]).unwrap();
    assert_eq!((user.name.as_str(), user.version), ("Renamed 24", 2));

    // A chunk that fails (two users given one username) is rolled back and
    // reported; the chunk before it stays, the one after is not attempted.
    let taken: Vec<(UserId, UserChanges)> = vec![
        (
            ids[0],
            UserChanges {
                name: Some("Kept".into()),
                ..Default::default()
            },
        ),
        (
            ids[1],
            UserChanges {
                username: Some(Some("same".into())),
                ..Default::default()
            },
        ),
        (
            ids[2],
            UserChanges {
                username: Some(Some("SAME".into())),
                ..Default::default()
            },
        ),
        (
            ids[3],
            UserChanges {
                name: Some("Never".into()),
                ..Default::default()
            },
        ),
    ];
    let report = conn
        .users()
        .batch_update(&taken, 1)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.chunks_committed, 2);
    let failed = report.failed.expect("third chunk fails");
    assert_eq!(failed.chunk, 2);
    assert!(
        failed.error.contains("users_username_lower_key"),
        "{}",
        failed.error
    );
    assert_eq!(conn.users().get(ids[0]).unwrap().name, "Kept");
    assert_eq!(conn.users().get(ids[3]).unwrap().name, "Renamed 3");

    // Bad input anywhere: nothing is written.
    let bad = vec![
        (
            ids[4],
            UserChanges {
                name: Some("Fine".into()),
                ..Default::default()
            },
        ),
        (
            ids[5],
            UserChanges {
                name: Some("nul\0byte".into()),
                ..Default::default()
            },
        ),
    ];
    let err = conn.users().batch_update(&bad, 1).unwrap_err();
    assert!(
        matches!(&err, Error::Invalid { field, .. } if field == "updates[1].name"),
        "{err:?}"
    );
    assert_eq!(conn.users().get(ids[4]).unwrap().name, "Renamed 4");
}

#[test]
fn lock_and_try_lock() {
    let db = TestDatabase::new();
    let user = db
        .conn()
        .unwrap()
        .users()
        .create(&NewUser::new("lock@x.example", "Lock"))
        .unwrap();
    let (locked_tx, locked_rx) = std::sync::mpsc::channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let holder = {
        let db = db.db().clone();
        std::thread::spawn(move || {
            db.transaction(|tx| {
                tx.users().lock(user.id)?;
                locked_tx.send(()).unwrap();
                release_rx.recv().unwrap();
                Ok(())
            })
            .unwrap();
        })
    };
    locked_rx.recv().unwrap();
    let err = db
        .transaction(|tx| tx.users().try_lock(user.id))
        .unwrap_err();
    assert!(matches!(err, Error::Locked), "{err:?}");
    assert!(err.is_retryable());
    release_tx.send(()).unwrap();
    holder.join().unwrap();
    let got = db.transaction(|tx| tx.users().try_lock(user.id)).unwrap();
    assert_eq!(got.id, user.id);
    let missing = db
        .transaction(|tx| tx.users().lock(UserId(Uuid::now_v7())))
        .unwrap_err();
    assert!(
        matches!(missing, Error::NotFound { entity: "user" }),
        "{missing:?}"
    );
}
