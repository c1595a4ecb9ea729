//! A long-open transaction holds the feed back (reported as lag, nothing
//! lost), and retention.

use std::time::Duration;

use chrono::Utc;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use saas_db::live::{ChangeCursor, DEFAULT_RETENTION, PURGE_BATCH};
use saas_db_testing::TestDatabase;

use super::{collect, count, max_change_id, naive_read, project, projects_feed, team};

/// A transaction writes and stays open while three others commit: the
/// feed delivers nothing, `lag` reports the three held back and the open
/// transaction's age; when it commits all four arrive, its own first.
/// Control: the `id > cursor` reader moves past the open transaction's id.
#[test]
fn long_open_transaction_holds_the_feed_back_without_loss() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let (_, team_id) = team(&mut conn, "lag@example.com");
    let mut feed = projects_feed(&db);
    let naive_start = max_change_id(&mut conn);

    let mut long = PgConnection::establish(db.url()).unwrap();
    long.batch_execute("BEGIN").unwrap();
    let first = project(&mut long, team_id, "long");
    let others: Vec<_> = (0..3)
        .map(|i| project(&mut conn, team_id, &format!("p{i}")))
        .collect();
    std::thread::sleep(Duration::from_millis(300));

    assert_eq!(feed.poll(Duration::from_millis(300)).unwrap(), vec![]);
    let lag = feed.lag().unwrap();
    assert_eq!(lag.held_back, 3, "{lag:?}");
    let age = lag.oldest_transaction.expect("the open transaction");
    assert!(age >= Duration::from_millis(300), "{lag:?}");
    let db_lag = db.db().feed_lag().unwrap();
    assert!(db_lag.held_back >= 3, "{db_lag:?}");

    let naive = naive_read(&mut conn, naive_start);
    assert_eq!(naive.len(), 3, "control sees the three committed");
    let naive_cursor = naive.last().unwrap().0;

    long.batch_execute("COMMIT").unwrap();
    let got = collect(&mut feed, 4, Duration::from_secs(5));
    let mut expected = vec![first];
    expected.extend(others);
    assert_eq!(got.iter().map(|c| c.row_id).collect::<Vec<_>>(), expected);
    assert_eq!(feed.lag().unwrap().held_back, 0);
    assert_eq!(
        naive_read(&mut conn, naive_cursor),
        vec![],
        "control: the long transaction's change is behind its cursor, lost"
    );
}

/// Changes older than the retention are purged in batches (here 2.4
/// batches of them); newer ones stay and a feed from the start still
/// reads them. Control: a cutoff before everything deletes nothing.
#[test]
fn purge_deletes_only_changes_older_than_the_retention() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let (_, team_id) = team(&mut conn, "purge@example.com");
    let fresh = count(&mut conn, "SELECT count(*) AS n FROM changes");
    let old = PURGE_BATCH * 2 + PURGE_BATCH / 2;
    diesel::sql_query(
        "INSERT INTO changes (table_name, row_id, op, at)
         SELECT 'projects', gen_random_uuid(), 'insert', now() - interval '8 days'
           FROM generate_series(1, $1)",
    )
    .bind::<diesel::sql_types::BigInt, _>(old)
    .execute(&mut conn)
    .unwrap();
    project(&mut conn, team_id, "recent");

    let long_ago = Utc::now() - chrono::Duration::days(365);
    assert_eq!(db.db().purge_changes_before(long_ago).unwrap(), 0);
    assert_eq!(DEFAULT_RETENTION, Duration::from_secs(7 * 86_400));
    assert_eq!(db.db().purge_expired_changes().unwrap() as i64, old);
    assert_eq!(
        count(&mut conn, "SELECT count(*) AS n FROM changes"),
        fresh + 1
    );
    let mut feed = db.db().change_feed(ChangeCursor::start()).unwrap();
    assert_eq!(
        collect(&mut feed, (fresh + 1) as usize, Duration::from_secs(5)).len() as i64,
        fresh + 1
    );
}
