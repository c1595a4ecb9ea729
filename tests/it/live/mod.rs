//! The change feed (issue 15, points 1-3): capture, delivery order and
//! exactly-once resume, tenant filters and Row-Level Security, lag,
//! retention, input bounds. Each test has a control showing the naive way
//! (an `id > cursor` reader, a LISTEN-only consumer, a client-side filter)
//! failing where the feed does not.

mod capture;
mod hostile;
mod input;
mod lag;
mod ordering;
mod outage;
mod resume;
mod tenancy;

use std::time::{Duration, Instant};

use crate::support::{actor, count, Count};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Uuid as SqlUuid};
use saas_db::access::Actor;
use saas_db::ids::TeamId;
use saas_db::live::{Change, ChangeCursor, ChangeFeed};
use saas_db::Repos;
use uuid::Uuid;

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
}

/// A new user and a team they own.
fn team(conn: &mut PgConnection, email: &str) -> (Actor, TeamId) {
    let owner = actor(conn, email);
    let team = conn.teams().create(&owner, email).unwrap();
    (owner, team.id)
}

/// Inserts a project of `team` with hand-written SQL (as a host might).
/// Its id is a bare UUID, as the change feed reports row ids.
fn project(conn: &mut PgConnection, team: TeamId, name: &str) -> Uuid {
    diesel::sql_query("INSERT INTO projects (team_id, name) VALUES ($1, $2) RETURNING id")
        .bind::<SqlUuid, _>(team)
        .bind::<Text, _>(name)
        .get_result::<Id>(conn)
        .unwrap()
        .id
}

/// The position of the last change so far.
fn last_cursor(conn: &mut PgConnection) -> ChangeCursor {
    #[derive(QueryableByName)]
    struct Last {
        #[diesel(sql_type = diesel::sql_types::Text)]
        cursor: String,
    }
    diesel::sql_query(
        "SELECT format('c1-%s-%s', xid, id) AS cursor FROM changes ORDER BY xid DESC, id DESC LIMIT 1",
    )
    .get_result::<Last>(conn)
    .unwrap()
    .cursor
    .parse()
    .unwrap()
}

/// A feed of `projects` changes from now on: `ChangeCursor::now()` may also
/// deliver changes committed shortly before it opened (the team's creation
/// here) while any transaction on the server overlapped them, and
/// parallel tests keep some open.
fn projects_feed(db: &saas_db_testing::TestDatabase) -> ChangeFeed {
    db.db()
        .change_feed(saas_db::live::ChangeCursor::now())
        .unwrap()
        .tables(&[saas_db::live::CapturedTable::Projects])
}

/// Polls until `n` changes arrived or `within` passed.
fn collect(feed: &mut ChangeFeed, n: usize, within: Duration) -> Vec<Change> {
    let deadline = Instant::now() + within;
    let mut got = Vec::new();
    while got.len() < n && Instant::now() < deadline {
        got.extend(feed.poll(Duration::from_millis(100)).unwrap());
    }
    got
}

/// The naive consumer: `id > cursor` on the bigserial, no xid.
fn naive_read(conn: &mut PgConnection, after: i64) -> Vec<(i64, Uuid)> {
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = BigInt)]
        id: i64,
        #[diesel(sql_type = SqlUuid)]
        row_id: Uuid,
    }
    diesel::sql_query("SELECT id, row_id FROM changes WHERE id > $1 ORDER BY id")
        .bind::<BigInt, _>(after)
        .load::<Row>(conn)
        .unwrap()
        .into_iter()
        .map(|r| (r.id, r.row_id))
        .collect()
}

fn max_change_id(conn: &mut PgConnection) -> i64 {
    count(conn, "SELECT coalesce(max(id), 0) AS n FROM changes")
}
