//! Typed ids through PostgreSQL and JSON: written and read back by Diesel
//! (`.find`, `.eq`, `Insertable`, `Queryable`, `QueryableByName`, bound
//! parameters), `Option<UserId>` as NULL and as a value, the bare-string
//! JSON form, and parsing that refuses garbage (NUL bytes, a megabyte of
//! text) with an error, never a panic.

use diesel::prelude::*;
use diesel::sql_types::{Nullable, Uuid as SqlUuid};
use saas_db::audit::AuditEntry;
use saas_db::content::NewPost;
use saas_db::ids::{PostId, UserId};
use saas_db::schema::{audit_logs, posts, users};
use saas_db::{PageRequest, Repos};
use saas_db_testing::TestDatabase;
use uuid::Uuid;

use crate::support::user;

#[derive(QueryableByName)]
struct Echo {
    #[diesel(sql_type = Nullable<SqlUuid>)]
    id: Option<UserId>,
}

/// `SELECT $1` with the id bound as a nullable `uuid` parameter.
fn echo(conn: &mut PgConnection, id: Option<UserId>) -> Option<UserId> {
    diesel::sql_query("SELECT $1 AS id")
        .bind::<Nullable<SqlUuid>, _>(id)
        .get_result::<Echo>(conn)
        .unwrap()
        .id
}

#[test]
fn typed_ids_round_trip_through_postgres() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let ann = user(&mut conn, "ann@example.com");
    // Selected by `.find` and `.eq`, loaded as the typed id.
    let found: UserId = users::table
        .find(ann.id)
        .select(users::id)
        .first(&mut conn)
        .unwrap();
    assert_eq!(found, ann.id);
    let by_eq: Vec<UserId> = users::table
        .filter(users::id.eq(ann.id))
        .select(users::id)
        .load(&mut conn)
        .unwrap();
    assert_eq!(by_eq, vec![ann.id]);
    // Inserted as a foreign key (`NewPost.author_id`) and read back typed.
    let post = conn
        .posts()
        .create(&NewPost {
            author_id: ann.id,
            title: "Typed".into(),
            ..Default::default()
        })
        .unwrap();
    let (id, author): (PostId, UserId) = posts::table
        .find(post.id)
        .select((posts::id, posts::author_id))
        .first(&mut conn)
        .unwrap();
    assert_eq!((id, author), (post.id, ann.id));
    // The same bytes as the bare UUID: typed and untyped reads agree.
    let raw: Uuid = posts::table
        .find(post.id)
        .select(posts::author_id)
        .first(&mut conn)
        .unwrap();
    assert_eq!(UserId(raw), ann.id);
    // Bound as a parameter of raw SQL, and read back by name.
    assert_eq!(echo(&mut conn, Some(ann.id)), Some(ann.id));
}

#[test]
fn optional_user_ids_are_null_or_the_value() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let ann = user(&mut conn, "ann@example.com");
    assert_eq!(echo(&mut conn, None), None);
    // `audit_logs.actor_id` is nullable: `Option<UserId>` both ways.
    conn.audit()
        .record(&AuditEntry::new("did", "thing", None).by(ann.id))
        .unwrap();
    conn.audit()
        .record(&AuditEntry::new("did", "thing", None))
        .unwrap();
    let mut actors: Vec<Option<UserId>> = audit_logs::table
        .select(audit_logs::actor_id)
        .load(&mut conn)
        .unwrap();
    actors.sort();
    assert_eq!(actors, vec![None, Some(ann.id)]);
    let system: i64 = audit_logs::table
        .filter(audit_logs::actor_id.is_null())
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(system, 1, "None was written as NULL");
    let mine = conn
        .audit()
        .for_actor(ann.id, PageRequest::first(10))
        .unwrap()
        .items;
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].actor_id, Some(ann.id));
}

#[test]
fn ids_serialize_as_the_bare_uuid_string() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let ann = user(&mut conn, "ann@example.com");
    let text = ann.id.to_string();
    assert_eq!(text, ann.id.uuid().to_string());
    assert_eq!(
        serde_json::to_string(&ann.id).unwrap(),
        format!("\"{text}\"")
    );
    let back: UserId = serde_json::from_str(&format!("\"{text}\"")).unwrap();
    assert_eq!(back, ann.id);
    // Inside a model: the field is the string, not an object.
    let json = serde_json::to_value(&ann).unwrap();
    assert_eq!(json["id"], serde_json::Value::String(text.clone()));
    let absent: Option<UserId> = serde_json::from_str("null").unwrap();
    assert_eq!(absent, None);
    // JSON that is not a UUID string is an error.
    for bad in ["\"nope\"", "42", "{}", "\"\\u0000\""] {
        assert!(serde_json::from_str::<UserId>(bad).is_err(), "{bad}");
    }
    assert_eq!(text.parse::<UserId>().unwrap(), ann.id);
}

#[test]
fn parsing_garbage_is_an_error_not_a_panic() {
    let huge = "0".repeat(1 << 20);
    let nul_in_uuid = "0190f0a4-5e3c-7cc4-9c5d-3f4f1f2a6b7\0";
    for bad in [
        "",
        "garbage",
        "0190f0a4-5e3c-7cc4-9c5d-3f4f1f2a6b7",
        "0190f0a4-5e3c-7cc4-9c5d-3f4f1f2a6b7c0",
        "\0",
        nul_in_uuid,
        huge.as_str(),
    ] {
        assert!(
            bad.parse::<UserId>().is_err(),
            "{:?}",
            &bad[..bad.len().min(40)]
        );
        assert!(bad.parse::<PostId>().is_err());
    }
    // Control: the same text without the NUL parses.
    let ok = nul_in_uuid.replace('\0', "c");
    assert_eq!(ok.parse::<UserId>().unwrap().to_string(), ok);
}
