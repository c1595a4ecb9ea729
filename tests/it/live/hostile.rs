//! A hostile review of the feed (issue 15): forged changes through the
//! capture function, writes that move a change's row id, tables filters a
//! caller computed as empty, cursors from the future, a restarted server.

use std::time::Duration;

use crate::support::backend_pid;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::Uuid as SqlUuid;
use saas_db::ids::{PostId, TagId, UserId};
use saas_db::live::{CapturedTable, ChangeCursor, ChangeOp};
use saas_db::Error;
use saas_db_testing::TestDatabase;
use uuid::Uuid;

use super::{collect, count, last_cursor, project, team, Id};

/// How many changes name `row_id`.
fn changes_of(conn: &mut PgConnection, row_id: impl Into<Uuid>) -> i64 {
    diesel::sql_query("SELECT count(*) AS n FROM changes WHERE row_id = $1")
        .bind::<SqlUuid, _>(row_id.into())
        .get_result::<super::Count>(conn)
        .unwrap()
        .n
}

/// The application role owns temporary tables: one named `projects`, with
/// a trigger that runs the owner's SECURITY DEFINER `changes_capture()`,
/// would let it write a change for ANY team (here B's, with a row id it
/// chose, announced as a delete). It used to work: `changes_capture()` had
/// PUBLIC's default EXECUTE, which is all CREATE TRIGGER checks. Control:
/// the same role may create the temporary table, and its writes to the
/// real tables are still captured.
#[test]
fn app_role_cannot_attach_the_capture_function_to_its_own_table() {
    let db = TestDatabase::new();
    let mut owner = db.conn().unwrap();
    let (alice, a) = team(&mut owner, "fa@example.com");
    let (_, b) = team(&mut owner, "fb@example.com");
    let mut app = PgConnection::establish(&db.app_url().unwrap()).unwrap();
    app.batch_execute("CREATE TEMP TABLE projects (id uuid, team_id uuid)")
        .expect("control: the app role may create a temporary table");
    let forged = Uuid::from_u128(0xf0_0d);
    let attack = app
        .batch_execute(
            "CREATE TRIGGER forge AFTER INSERT ON pg_temp.projects
             FOR EACH ROW EXECUTE FUNCTION changes_capture()",
        )
        .and_then(|()| {
            diesel::sql_query("INSERT INTO pg_temp.projects VALUES ($1, $2)")
                .bind::<SqlUuid, _>(forged)
                .bind::<SqlUuid, _>(b)
                .execute(&mut app)
        });
    assert_eq!(
        changes_of(&mut owner, forged),
        0,
        "a forged change: {attack:?}"
    );
    let err = attack.map(|_| ()).map_err(Error::from).unwrap_err();
    assert!(matches!(err, Error::Forbidden { .. }), "{err:?}");

    // Control: the app role's own writes are still captured.
    let app_db = crate::support::app_database(&db);
    let p = app_db
        .as_user(alice.user_id, |tx| {
            Ok(saas_db::Repos::projects(tx).create(&alice, a, "real")?.id)
        })
        .unwrap();
    assert_eq!(changes_of(&mut owner, p), 1);
}

fn post(conn: &mut PgConnection, author: UserId, slug: &str) -> PostId {
    let row = diesel::sql_query(
        "INSERT INTO posts (author_id, title, slug, content) VALUES ($1, 'T', $2, 'c') RETURNING id",
    )
    .bind::<SqlUuid, _>(author)
    .bind::<diesel::sql_types::Text, _>(slug)
    .get_result::<Id>(conn)
    .unwrap();
    PostId(row.id)
}

/// A tag moved from one post to another by UPDATE (`post_tags.post_id`,
/// same author) and a project whose id is rewritten: the OLD post and the
/// OLD project id get a change too. They used to get none (an update was
/// recorded under the old row id only when the owner changed), so a
/// client showing the old post kept a tag it no longer has, and one
/// showing the old project id never heard that it was gone. Control: the
/// new post / new id get their change either way.
#[test]
fn an_update_that_changes_the_row_id_is_reported_under_the_old_id_too() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let (alice, team_id) = team(&mut conn, "mv@example.com");
    let (first, second) = (
        post(&mut conn, alice.user_id, "first"),
        post(&mut conn, alice.user_id, "second"),
    );
    let tag = TagId(
        diesel::sql_query("INSERT INTO tags (name, slug) VALUES ('Rust', 'rust') RETURNING id")
            .get_result::<Id>(&mut conn)
            .unwrap()
            .id,
    );
    diesel::sql_query("INSERT INTO post_tags (post_id, tag_id) VALUES ($1, $2)")
        .bind::<SqlUuid, _>(first)
        .bind::<SqlUuid, _>(tag)
        .execute(&mut conn)
        .unwrap();
    let old_project = project(&mut conn, team_id, "renumbered");
    // From the setup's last change (its transactions ran one after
    // another): `now()` could also bring some of the setup's.
    let last = last_cursor(&mut conn);
    let mut feed = db
        .db()
        .change_feed(last)
        .unwrap()
        .tables(&[CapturedTable::PostTags, CapturedTable::Projects])
        .team(team_id);
    let mut tags_feed = db
        .db()
        .change_feed(last)
        .unwrap()
        .tables(&[CapturedTable::PostTags])
        .user(alice.user_id);

    diesel::sql_query("UPDATE post_tags SET post_id = $1 WHERE post_id = $2")
        .bind::<SqlUuid, _>(second)
        .bind::<SqlUuid, _>(first)
        .execute(&mut conn)
        .unwrap();
    let new_project =
        diesel::sql_query("UPDATE projects SET id = gen_random_uuid() WHERE id = $1 RETURNING id")
            .bind::<SqlUuid, _>(old_project)
            .get_result::<Id>(&mut conn)
            .unwrap()
            .id;

    let tags = collect(&mut tags_feed, 2, Duration::from_secs(5));
    assert_eq!(tags_feed.poll(Duration::from_millis(50)).unwrap(), vec![]);
    let mut posts: Vec<PostId> = tags.iter().map(|c| PostId(c.row_id)).collect();
    posts.sort();
    let mut expected = vec![first, second];
    expected.sort();
    assert_eq!(posts, expected, "both posts' tags changed: {tags:?}");
    assert!(tags.iter().all(|c| c.op == ChangeOp::Update));

    let projects = collect(&mut feed, 2, Duration::from_secs(5));
    assert_eq!(feed.poll(Duration::from_millis(50)).unwrap(), vec![]);
    assert_eq!(
        projects.iter().map(|c| c.row_id).collect::<Vec<_>>(),
        vec![new_project, old_project],
        "the new id, then the old one: {projects:?}"
    );
}

/// `tables(&[])`, as a caller that intersected a subscriber's allowed
/// tables with its request and found none would pass it, lets nothing
/// through. It used to mean "every table" (an empty list was the
/// default), so such a subscriber got every change of the team. Control:
/// without `tables` the same feed delivers the project.
#[test]
fn an_empty_tables_filter_delivers_nothing() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let (_, team_id) = team(&mut conn, "empty@example.com");
    let open = || {
        db.db()
            .change_feed(ChangeCursor::now())
            .unwrap()
            .team(team_id)
    };
    let (mut none, mut all) = (open().tables(&[]), open());
    let p = project(&mut conn, team_id, "visible to all only");
    // `now()` may also bring the team's own creation (see `projects_feed`).
    let mut got = Vec::new();
    while !got.iter().any(|c: &saas_db::live::Change| c.row_id == p) {
        let batch = all.poll(Duration::from_secs(5)).unwrap();
        assert!(!batch.is_empty(), "control: the project never came");
        got.extend(batch);
    }
    assert_eq!(none.poll(Duration::from_millis(100)).unwrap(), vec![]);
    // Its cursor still moves on (to the boundary), past the project.
    assert!(none.cursor() >= got.last().unwrap().cursor);
}

/// A cursor from the future (a forged `Last-Event-ID`, or one kept from
/// another server) is refused when the feed opens, with `Error::Invalid`
/// on `cursor`. It used to be accepted and the feed then delivered
/// nothing, ever, without a word. Control: the largest position the
/// server could have handed out is accepted and the feed delivers.
#[test]
fn a_cursor_from_the_future_is_invalid() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let (_, team_id) = team(&mut conn, "future@example.com");
    for forged in [
        format!("c1-{}-{}", i64::MAX, i64::MAX),
        "c1-4294967296000-0".to_owned(),
    ] {
        let err = db.db().change_feed(forged.parse().unwrap()).unwrap_err();
        assert!(
            matches!(err, Error::Invalid { ref field, .. } if field == "cursor"),
            "{forged}: {err:?}"
        );
    }
    let next: i64 = count(
        &mut conn,
        "SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint AS n",
    );
    let edge = format!("c1-{next}-0").parse::<ChangeCursor>().unwrap();
    let mut feed = db.db().change_feed(edge).unwrap();
    let p = project(&mut conn, team_id, "after the edge");
    let got = collect(&mut feed, 1, Duration::from_secs(5));
    assert_eq!(got.iter().map(|c| c.row_id).collect::<Vec<_>>(), vec![p]);
}

/// The server restarts under a warm feed (its connection dies with every
/// other): the next poll reconnects on its own and goes on from the
/// cursor, with changes written before and after the restart each
/// delivered once, in order. Control: the feed's old backend is gone (a
/// new pid), so it did reconnect rather than ride out the restart.
#[test]
fn a_server_restart_under_a_warm_feed_loses_and_repeats_nothing() {
    let pg = saas_db_testing::EmbeddedPostgres::start().unwrap();
    let db = saas_db::Database::builder(pg.url())
        .max_size(2)
        .build()
        .unwrap();
    let mut conn = db.conn().unwrap();
    let (_, team_id) = team(&mut conn, "restart@example.com");
    drop(conn);
    let last = last_cursor(&mut db.conn().unwrap());
    let mut feed = db
        .change_feed(last)
        .unwrap()
        .tables(&[CapturedTable::Projects]);
    let write = |range: std::ops::Range<i32>| -> Vec<Uuid> {
        let mut conn = db.conn().unwrap();
        range
            .map(|i| project(&mut conn, team_id, &format!("r{i}")))
            .collect()
    };
    let mut written = write(0..5);
    let mut got = collect(&mut feed, 3, Duration::from_secs(5));
    let before = feed.backend_pid().unwrap();

    pg.restart().unwrap();
    written.extend(write(5..10));
    got.extend(collect(&mut feed, 10 - got.len(), Duration::from_secs(10)));
    assert_eq!(feed.poll(Duration::from_millis(50)).unwrap(), vec![]);
    assert_eq!(got.iter().map(|c| c.row_id).collect::<Vec<_>>(), written);
    assert_ne!(
        feed.backend_pid().unwrap(),
        before,
        "control: a new backend"
    );
    assert!(feed.stats().reconnects >= 1, "{:?}", feed.stats());
}

/// `purge_changes_before` with cutoffs outside PostgreSQL's range is
/// `Error::Invalid` on `cutoff` before the database, and the application
/// role may not purge (`Error::Forbidden`, nothing deleted). Control: the
/// owner's purge with a cutoff in range runs (and keeps recent changes).
#[test]
fn purge_refuses_extreme_cutoffs_and_the_app_role() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let (alice, _) = team(&mut conn, "purge-bounds@example.com");
    let before = count(&mut conn, "SELECT count(*) AS n FROM changes");
    for cutoff in [
        chrono::DateTime::<chrono::Utc>::MIN_UTC,
        chrono::DateTime::<chrono::Utc>::MAX_UTC,
    ] {
        let err = db.db().purge_changes_before(cutoff).unwrap_err();
        assert!(
            matches!(err, Error::Invalid { ref field, .. } if field == "cutoff"),
            "{cutoff}: {err:?}"
        );
    }
    let app = crate::support::app_database(&db);
    let err = app
        .as_user(alice.user_id, |tx| {
            saas_db::live::purge_changes_before(tx, chrono::Utc::now())
        })
        .unwrap_err();
    assert!(matches!(err, Error::Forbidden { .. }), "{err:?}");
    assert_eq!(
        count(&mut conn, "SELECT count(*) AS n FROM changes"),
        before
    );
    assert_eq!(db.db().purge_expired_changes().unwrap(), 0);
}

/// A writer's backend killed while its transaction (holding captured
/// changes) is open: the transaction rolls back, its changes are never
/// delivered, and it does not hold the feed back afterwards. Any role may
/// NOTIFY the feed's channel: 100,000 distinct notifications from the
/// application role cost the feed a few reads, not one each. Control: the
/// feed was held back while the killed transaction was open.
#[test]
fn a_killed_writer_and_a_notification_flood_neither_leak_nor_stall() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let (_, team_id) = team(&mut conn, "kill-writer@example.com");
    let mut feed = db
        .db()
        .change_feed(last_cursor(&mut conn))
        .unwrap()
        .tables(&[CapturedTable::Projects]);
    let mut writer = PgConnection::establish(db.url()).unwrap();
    writer.batch_execute("BEGIN").unwrap();
    let doomed = project(&mut writer, team_id, "doomed");
    let held = project(&mut conn, team_id, "held back");
    assert_eq!(feed.poll(Duration::from_millis(100)).unwrap(), vec![]);
    assert_eq!(feed.lag().unwrap().held_back, 1, "control: held back");
    let pid = backend_pid(&mut writer);
    diesel::sql_query("SELECT pg_terminate_backend($1, 5000)")
        .bind::<diesel::sql_types::Integer, _>(pid)
        .execute(&mut conn)
        .unwrap();
    let got = collect(&mut feed, 1, Duration::from_secs(5));
    assert_eq!(got.iter().map(|c| c.row_id).collect::<Vec<_>>(), vec![held]);
    assert_eq!(changes_of(&mut conn, doomed), 0);

    let mut app = PgConnection::establish(&db.app_url().unwrap()).unwrap();
    let reads = feed.stats().queries;
    diesel::sql_query(
        "SELECT pg_notify('saas_db_changes', i::text) FROM generate_series(1, 100000) i",
    )
    .execute(&mut app)
    .unwrap();
    assert_eq!(feed.poll(Duration::from_millis(300)).unwrap(), vec![]);
    let spent = feed.stats().queries - reads;
    assert!(
        spent <= 5,
        "{spent} reads for one flood: {:?}",
        feed.stats()
    );
}
