//! Versioned updates as cached statements of one fixed shape
//! (`src/prepared.rs`, `tx::update_versioned`): one statement on success,
//! on `Stale` and on `NotFound`; prepared once per connection and reused;
//! and a fixed shape that leaves a `None` field's column as it is and
//! writes NULL for `Some(None)`, with a control showing that the naive
//! fixed shape (`SET col = $value`) would clobber the column.

use diesel::prelude::*;
use diesel::sql_types::{Nullable, Text, Uuid as SqlUuid};
use saas_db::billing::{PaymentChanges, PlanChanges};
use saas_db::content::{NewPost, PostChanges};
use saas_db::enums::{BillingInterval, PaymentStatus};
use saas_db::ids::{PaymentId, PlanId, PostId, SubscriptionId, UserId};
use saas_db::users::{NewUser, UserChanges};
use saas_db::{auth::SessionOptions, Error, Repos};
use saas_db_testing::TestDatabase;
use uuid::Uuid;

use crate::budget::Counted;
use crate::faults::prepared::Warm;
use crate::support::{count_bound, new_payment, user};

/// Runs a versioned update of one row: of the row (`missing == false`) or
/// of an id that does not exist, expecting `version`; the new version.
type Update<'f> = dyn FnMut(&mut PgConnection, bool, i32) -> saas_db::Result<i32> + 'f;

/// Asserts that success, `Stale` and `NotFound` each send exactly one
/// statement on a warmed connection, and that after those six calls the
/// connection holds exactly one prepared statement matching `like` (the
/// same one, reused). The first round warms the connection (enum type
/// lookups, the PREPARE itself).
fn one_statement_each(db: &TestDatabase, mut version: i32, like: &str, update: &mut Update<'_>) {
    let mut counted = Counted::connect(db.url());
    let mut sent = |counted: &mut Counted, missing: bool, v: i32| {
        let (out, trips) = counted.trips(|conn| update(conn, missing, v));
        (out, trips.len())
    };
    for round in 0..2 {
        let (updated, ok) = sent(&mut counted, false, version);
        let updated = updated.unwrap();
        assert_eq!(updated, version + 1, "the trigger bumps the version");
        version = updated;
        let (stale, on_stale) = sent(&mut counted, false, version - 1);
        assert!(
            matches!(stale, Err(Error::Stale { expected, actual, .. })
                if expected == version - 1 && actual == version),
            "{stale:?}"
        );
        let (missing, on_missing) = sent(&mut counted, true, version);
        assert!(
            matches!(missing, Err(Error::NotFound { .. })),
            "{missing:?}"
        );
        if round == 1 {
            assert_eq!(
                (ok, on_stale, on_missing),
                (1, 1, 1),
                "statements for success, Stale, NotFound"
            );
        }
    }
    assert_one_prepared(&mut counted.conn, like);
}

/// Asserts the connection holds exactly one prepared statement matching
/// `like` (the same one, reused).
#[track_caller]
pub(crate) fn assert_one_prepared(conn: &mut PgConnection, like: &str) {
    let sql = "SELECT count(*) AS n FROM pg_prepared_statements WHERE statement LIKE $1";
    let prepared = count_bound::<Text, _>(conn, sql, like);
    assert_eq!(prepared, 1, "one prepared statement, reused: {like}");
}

/// Each versioned update is one cached statement, whatever its outcome.
/// The query-builder UPDATE they replace sent two statements on Stale and
/// on NotFound (the update, then a version lookup), and Diesel never
/// cached it: `pg_prepared_statements` held no entry for it.
#[test]
fn versioned_updates_send_one_cached_statement_on_success_stale_and_not_found() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let Warm {
        user: alice,
        post,
        payment,
        plans: [basic, pro],
        subscription: sub,
        ..
    } = Warm::new(&mut conn);
    drop(conn);
    let or = |missing: bool, id: Uuid| if missing { Uuid::now_v7() } else { id };

    let names = ["one", "two"];
    one_statement_each(
        &db,
        alice.version,
        "%UPDATE users%SET name%",
        &mut |c, m, v| {
            let changes = UserChanges {
                name: Some(names[v as usize % 2].into()),
                ..Default::default()
            };
            let id = UserId::from(or(m, alice.id.uuid()));
            c.users().update(id, v, &changes).map(|u| u.version)
        },
    );
    let emails = ["a1@example.com", "a2@example.com"];
    let version = db.conn().unwrap().users().get(alice.id).unwrap().version;
    one_statement_each(&db, version, "%UPDATE users%SET email%", &mut |c, m, v| {
        let id = UserId::from(or(m, alice.id.uuid()));
        c.users()
            .change_email(id, v, emails[v as usize % 2])
            .map(|u| u.version)
    });
    one_statement_each(&db, post.version, "%UPDATE posts%", &mut |c, m, v| {
        let changes = PostChanges {
            featured: Some(v % 2 == 0),
            ..Default::default()
        };
        let id = PostId::from(or(m, post.id.uuid()));
        c.posts().update(id, v, &changes).map(|p| p.version)
    });
    one_statement_each(&db, payment.version, "%UPDATE payments%", &mut |c, m, v| {
        let changes = PaymentChanges {
            metadata: Some(serde_json::json!({ "v": v })),
            ..Default::default()
        };
        let id = PaymentId::from(or(m, payment.id.uuid()));
        c.payments().update(id, v, &changes).map(|p| p.version)
    });
    one_statement_each(
        &db,
        basic.version,
        "%UPDATE subscription_plans%",
        &mut |c, m, v| {
            let changes = PlanChanges {
                sort_order: Some(v),
                ..Default::default()
            };
            let id = PlanId::from(or(m, basic.id.uuid()));
            c.plans().update(id, v, &changes).map(|p| p.version)
        },
    );
    one_statement_each(
        &db,
        sub.version,
        "%UPDATE subscriptions%",
        &mut |c, m, v| {
            let to = if v % 2 == 0 { basic.id } else { pro.id };
            let id = SubscriptionId::from(or(m, sub.id.uuid()));
            c.subscriptions().change_plan(id, v, to).map(|s| s.version)
        },
    );
}

/// The naive fixed shape, `SET col = $value` with `None` bound as NULL:
/// what the control runs to show the column would be lost.
fn naive_set(conn: &mut PgConnection, table: &str, column: &str, id: Uuid) {
    // Identifiers from the tests' own literals, never input.
    diesel::sql_query(format!("UPDATE {table} SET {column} = $1 WHERE id = $2"))
        .bind::<Nullable<Text>, _>(None::<&str>)
        .bind::<SqlUuid, _>(id)
        .execute(conn)
        .unwrap();
}

/// Users: `None` keeps username, avatar, locale and time zone while the
/// name changes; `Some(None)` clears the avatar and keeps the username.
#[test]
fn user_update_leaves_untouched_columns_alone() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let new = NewUser::new("keep@example.com", "Keep")
        .username("keeper")
        .avatar_url("https://example.com/a.png")
        .locale("pt-BR");
    let u = conn.users().create(&new).unwrap();
    let renamed = UserChanges {
        name: Some("Renamed".into()),
        ..Default::default()
    };
    let after = conn.users().update(u.id, u.version, &renamed).unwrap();
    assert_eq!(after.name, "Renamed");
    assert_eq!(
        (
            &after.username,
            &after.avatar_url,
            &after.locale,
            &after.timezone
        ),
        (&u.username, &u.avatar_url, &u.locale, &u.timezone)
    );
    let cleared = UserChanges {
        avatar_url: Some(None),
        ..Default::default()
    };
    let after = conn.users().update(u.id, after.version, &cleared).unwrap();
    assert_eq!(
        (after.avatar_url, after.username.as_deref()),
        (None, Some("keeper"))
    );
    // Control: the naive shape would have cleared the username.
    naive_set(&mut conn, "users", "username", u.id.uuid());
    assert_eq!(conn.users().get(u.id).unwrap().username, None);
}

/// Posts: `None` keeps content, excerpt and category; `Some(None)` clears
/// the excerpt.
#[test]
fn post_update_leaves_untouched_columns_alone() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let author = user(&mut conn, "author@example.com").id;
    let p = conn
        .posts()
        .create(&NewPost {
            author_id: author,
            title: "Title".into(),
            content: "Content".into(),
            excerpt: Some("Excerpt".into()),
            featured: true,
            ..Default::default()
        })
        .unwrap();
    let retitled = PostChanges {
        title: Some("New title".into()),
        ..Default::default()
    };
    let after = conn.posts().update(p.id, p.version, &retitled).unwrap();
    assert_eq!(after.title, "New title");
    assert_eq!(
        (
            &after.content,
            &after.excerpt,
            after.category_id,
            after.featured
        ),
        (&p.content, &p.excerpt, p.category_id, p.featured)
    );
    let cleared = PostChanges {
        excerpt: Some(None),
        ..Default::default()
    };
    let after = conn.posts().update(p.id, after.version, &cleared).unwrap();
    assert_eq!((after.excerpt, after.title.as_str()), (None, "New title"));
    // Control: the naive shape would have cleared the excerpt.
    let p2 = conn.posts().update(
        p.id,
        after.version,
        &PostChanges {
            excerpt: Some(Some("Back".into())),
            ..Default::default()
        },
    );
    assert_eq!(p2.unwrap().excerpt.as_deref(), Some("Back"));
    naive_set(&mut conn, "posts", "excerpt", p.id.uuid());
    assert_eq!(conn.posts().get(p.id).unwrap().excerpt, None);
}

/// Payments: `None` keeps the description while the metadata changes;
/// `Some(None)` clears it and keeps the metadata.
#[test]
fn payment_update_leaves_untouched_columns_alone() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let payer = user(&mut conn, "payer@example.com").id;
    let mut new = new_payment(payer, 700, "EUR", PaymentStatus::Pending);
    new.description = Some("Invoice 7".into());
    let (p, _) = conn.payments().record(&new).unwrap();
    let meta = serde_json::json!({ "order": 7 });
    let changes = PaymentChanges {
        metadata: Some(meta.clone()),
        ..Default::default()
    };
    let after = conn.payments().update(p.id, p.version, &changes).unwrap();
    assert_eq!(
        (after.description.as_deref(), &after.metadata),
        (Some("Invoice 7"), &meta)
    );
    let cleared = PaymentChanges {
        description: Some(None),
        ..Default::default()
    };
    let after = conn
        .payments()
        .update(p.id, after.version, &cleared)
        .unwrap();
    assert_eq!((after.description, after.metadata), (None, meta));
    let back = PaymentChanges {
        description: Some(Some("Again".into())),
        ..Default::default()
    };
    conn.payments().update(p.id, after.version, &back).unwrap();
    // Control: the naive shape would have cleared the description.
    naive_set(&mut conn, "payments", "description", p.id.uuid());
    assert_eq!(conn.payments().get(p.id).unwrap().description, None);
}

/// Plans: `None` keeps name, description, price and features while the
/// sort order changes; `Some(None)` clears the description only.
#[test]
fn plan_update_leaves_untouched_columns_alone() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let mut new = crate::support::new_plan("Team", 9_900, BillingInterval::Year);
    new.description = Some("For teams".into());
    new.features = vec!["sso".into(), "audit".into()];
    let p = conn.plans().create(&new).unwrap();
    let moved = PlanChanges {
        sort_order: Some(5),
        ..Default::default()
    };
    let after = conn.plans().update(p.id, p.version, &moved).unwrap();
    assert_eq!(after.sort_order, 5);
    assert_eq!(
        (
            &after.name,
            &after.description,
            after.price_cents,
            &after.features
        ),
        (&p.name, &p.description, p.price_cents, &p.features)
    );
    let cleared = PlanChanges {
        description: Some(None),
        ..Default::default()
    };
    let after = conn.plans().update(p.id, after.version, &cleared).unwrap();
    assert_eq!(
        (after.description, after.features),
        (None, p.features.clone())
    );
    let back = PlanChanges {
        description: Some(Some("Again".into())),
        ..Default::default()
    };
    conn.plans().update(p.id, after.version, &back).unwrap();
    // Control: the naive shape would have cleared the description.
    naive_set(&mut conn, "subscription_plans", "description", p.id.uuid());
    assert_eq!(conn.plans().get(p.id).unwrap().description, None);
}

/// Runs `write` three times on a warmed, counted connection: each call
/// sends one statement, and the connection then holds exactly one prepared
/// statement matching `like`.
pub(crate) fn one_cached_statement(
    db: &TestDatabase,
    like: &str,
    mut write: impl FnMut(&mut PgConnection),
) {
    let mut counted = Counted::connect(db.url());
    write(&mut counted.conn);
    for _ in 0..3 {
        let ((), trips) = counted.trips(&mut write);
        assert_eq!(trips.len(), 1, "{like}: {trips:?}");
    }
    assert_one_prepared(&mut counted.conn, like);
}

/// The hot single-row writes are cached statements. Session create was a
/// `sql_query` and payment record and `record_login` query-builder
/// statements Diesel does not cache (an upsert, an UPDATE): none of them
/// was in `pg_prepared_statements`. The audit insert already was.
#[test]
fn hot_writes_are_prepared_once_and_reused() {
    use saas_db::audit::AuditEntry;
    let db = TestDatabase::new();
    let alice = user(&mut db.conn().unwrap(), "alice@example.com").id;
    one_cached_statement(&db, "%INSERT INTO sessions%", |c| {
        let options = SessionOptions::new(std::time::Duration::from_secs(3600))
            .ip("203.0.113.7".parse().unwrap())
            .user_agent("tests");
        c.sessions().create(alice, options).unwrap();
    });
    one_cached_statement(&db, "%INSERT INTO payments%", |c| {
        let new = new_payment(alice, 100, "USD", PaymentStatus::Succeeded);
        assert!(c.payments().record(&new).unwrap().1);
    });
    one_cached_statement(&db, "%UPDATE users SET last_login_at%", |c| {
        c.users().record_login(alice).unwrap();
    });
    one_cached_statement(&db, "%INSERT INTO \"audit_logs\"%", |c| {
        let entry = AuditEntry::new("signed_in", "user", Some(alice.into())).by(alice);
        c.audit().record(&entry).unwrap();
    });
}
