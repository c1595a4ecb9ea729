//! Tenant isolation: a team's feed carries only that team's changes (row
//! ids and cursors included), and the application role reads only its
//! teams' changes and cannot write any.

use std::collections::HashSet;
use std::time::Duration;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Uuid as SqlUuid};
use saas_db::ids::{TeamId, UserId};
use saas_db::live::{ChangeCursor, ChangeOp};
use saas_db::{Error, Repos};
use saas_db_testing::TestDatabase;

use super::{collect, count, project, projects_feed, team};
use crate::support::app_database;

#[derive(QueryableByName)]
struct Position {
    #[diesel(sql_type = BigInt)]
    xid: i64,
    #[diesel(sql_type = BigInt)]
    id: i64,
}

fn positions_of(conn: &mut PgConnection, team: TeamId) -> HashSet<String> {
    diesel::sql_query("SELECT xid::text::bigint AS xid, id FROM changes WHERE team_id = $1")
        .bind::<SqlUuid, _>(team)
        .load::<Position>(conn)
        .unwrap()
        .into_iter()
        .map(|p| format!("c1-{}-{}", p.xid, p.id))
        .collect()
}

/// Teams A and B write interleaved (B last); A's feed gets A's changes
/// only, and neither a delivered change nor the feed's cursor names one of
/// B's. A project moved from B to A shows up in both feeds. Control: a
/// consumer that filters an unfiltered stream itself keeps the position of
/// the last row it read, which is B's.
#[test]
fn team_feed_never_carries_another_teams_changes_or_positions() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let (_, a) = team(&mut conn, "a@example.com");
    let (_, b) = team(&mut conn, "b@example.com");
    let mut a_feed = projects_feed(&db).team(a);
    let mut b_feed = projects_feed(&db).team(b);
    let mut naive = projects_feed(&db);

    let mut a_rows = HashSet::new();
    for i in 0..5 {
        a_rows.insert(project(&mut conn, a, &format!("a{i}")));
        project(&mut conn, b, &format!("b{i}"));
    }
    let moved = project(&mut conn, b, "moving");
    diesel::sql_query("UPDATE projects SET team_id = $1 WHERE id = $2")
        .bind::<SqlUuid, _>(a)
        .bind::<SqlUuid, _>(moved)
        .execute(&mut conn)
        .unwrap();
    project(&mut conn, b, "b-last");

    let got = collect(&mut a_feed, 6, Duration::from_secs(5));
    assert_eq!(a_feed.poll(Duration::from_millis(50)).unwrap(), vec![]);
    assert_eq!(got.len(), 6);
    assert!(got.iter().all(|c| c.team_id == Some(a)), "{got:?}");
    let mut expected = a_rows.clone();
    expected.insert(moved);
    assert_eq!(
        got.iter().map(|c| c.row_id).collect::<HashSet<_>>(),
        expected
    );
    assert_eq!(
        got.last().map(|c| (c.row_id, c.op)),
        Some((moved, ChangeOp::Update))
    );

    let b_positions = positions_of(&mut conn, b);
    // The team and its owner's membership, 7 projects, the move's old-owner row.
    assert_eq!(b_positions.len(), 10);
    for c in &got {
        assert!(!b_positions.contains(&c.cursor.to_string()));
    }
    assert!(!b_positions.contains(&a_feed.cursor().to_string()));

    let b_got = collect(&mut b_feed, 8, Duration::from_secs(5));
    assert!(b_got
        .iter()
        .any(|c| c.row_id == moved && c.op == ChangeOp::Update));
    assert!(b_got.iter().all(|c| !a_rows.contains(&c.row_id)));

    // Control: client-side filtering of the full stream.
    let all = collect(&mut naive, 6 + 8, Duration::from_secs(5));
    let naive_cursor = all.last().unwrap().cursor.to_string();
    let kept: Vec<_> = all.iter().filter(|c| c.team_id == Some(a)).collect();
    assert_eq!(kept.len(), 6);
    assert!(
        b_positions.contains(&naive_cursor),
        "control: its cursor is B's change"
    );
}

/// As the application role (RLS applies): a member of A reads A's changes
/// and none of B's, and cannot insert, update or delete change rows by
/// hand. Its own writes are still captured (the trigger runs as the
/// owner). Control: the owner reads B's changes, so they exist.
#[test]
fn app_role_reads_only_its_teams_changes_and_cannot_forge_any() {
    let db = TestDatabase::new();
    let mut owner = db.conn().unwrap();
    let (alice, a) = team(&mut owner, "alice@example.com");
    let (_, b) = team(&mut owner, "bob@example.com");
    project(&mut owner, b, "secret plan");
    let app = app_database(&db);

    let by_team = |tx: &mut PgConnection, t: TeamId| -> i64 {
        diesel::sql_query("SELECT count(*) AS n FROM changes WHERE team_id = $1")
            .bind::<SqlUuid, _>(t)
            .get_result::<super::Count>(tx)
            .map(|c| c.n)
            .unwrap()
    };
    let (mine, theirs) = app
        .as_user(alice.user_id, |tx| {
            tx.projects().create(&alice, a, "via app role")?;
            Ok((by_team(tx, a), by_team(tx, b)))
        })
        .unwrap();
    assert!(mine >= 3, "team, membership and project of A: {mine}");
    assert_eq!(theirs, 0);
    assert_eq!(by_team(&mut owner, b), 3, "control: B's changes exist");
    assert_eq!(
        count(
            &mut owner,
            "SELECT count(*) AS n FROM changes WHERE table_name = 'projects' AND op = 'insert'"
        ),
        2,
        "the app role's project was captured"
    );

    let forged = [
        "INSERT INTO changes (table_name, row_id, op, team_id) \
         VALUES ('projects', gen_random_uuid(), 'delete', $1)",
        "UPDATE changes SET op = 'delete' WHERE team_id = $1",
        "DELETE FROM changes WHERE team_id = $1",
    ];
    for sql in forged {
        let err = app
            .as_user(alice.user_id, |tx| {
                Ok(diesel::sql_query(sql).bind::<SqlUuid, _>(a).execute(tx)?)
            })
            .unwrap_err();
        assert!(matches!(err, Error::Forbidden { .. }), "{sql}: {err:?}");
    }
    // A feed on the app role with no user set sees nothing at all.
    let mut app_feed = app.change_feed(ChangeCursor::start()).unwrap();
    assert_eq!(app_feed.poll(Duration::from_millis(50)).unwrap(), vec![]);
}

/// A user's feed carries that user's rows only (their user row, posts,
/// memberships); with a team too, both must match. Control: the other
/// user's post is in the unfiltered table.
#[test]
fn user_feed_carries_only_that_users_changes() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let (alice, a) = team(&mut conn, "ua@example.com");
    let (bob, _) = team(&mut conn, "ub@example.com");
    let post = |conn: &mut PgConnection, author: UserId, slug: &str| {
        diesel::sql_query(
            "INSERT INTO posts (author_id, title, slug, content) VALUES ($1, 'T', $2, 'c')",
        )
        .bind::<SqlUuid, _>(author)
        .bind::<diesel::sql_types::Text, _>(slug)
        .execute(conn)
        .unwrap();
    };
    let mut alices = db
        .db()
        .change_feed(ChangeCursor::start())
        .unwrap()
        .user(alice.user_id);
    let mut alice_in_a = db
        .db()
        .change_feed(ChangeCursor::start())
        .unwrap()
        .team(a)
        .user(alice.user_id);
    post(&mut conn, bob.user_id, "bobs");
    post(&mut conn, alice.user_id, "alices");
    let got = collect(&mut alices, 3, Duration::from_secs(5));
    assert_eq!(alices.poll(Duration::from_millis(50)).unwrap(), vec![]);
    assert!(
        got.iter().all(|c| c.user_id == Some(alice.user_id)),
        "{got:?}"
    );
    // Her user row, her membership of A, her post.
    assert_eq!(got.len(), 3, "{got:?}");
    let both = collect(&mut alice_in_a, 1, Duration::from_secs(5));
    assert_eq!(alice_in_a.poll(Duration::from_millis(50)).unwrap(), vec![]);
    assert_eq!(both.len(), 1, "only her membership of A: {both:?}");
    assert_eq!(
        count(
            &mut conn,
            "SELECT count(*) AS n FROM changes WHERE table_name = 'posts'"
        ),
        2,
        "control: both posts were captured"
    );
}
