//! Delivery order and exactly-once under overlapping transactions and a
//! burst from several writers.

use std::collections::{HashMap, HashSet};
use std::sync::Barrier;
use std::thread;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::{Text, Uuid as SqlUuid};
use saas_db::live::ChangeOp;
use saas_db_testing::TestDatabase;
use uuid::Uuid;

use super::{collect, max_change_id, naive_read, project, projects_feed, team};

/// Transaction A writes first (lower change id) and commits after B. The
/// feed holds B back while A is open, then delivers A's and B's changes,
/// each once. Control: an `id > cursor` reader sees B's change (id 2)
/// while A is open, moves its cursor past A's id 1 and never sees it.
#[test]
fn overlapping_transactions_are_both_delivered_and_id_cursor_loses_one() {
    let db = TestDatabase::new();
    let mut setup = db.conn().unwrap();
    let (_, team_id) = team(&mut setup, "overlap@example.com");
    let mut feed = projects_feed(&db);
    let mut naive_cursor = max_change_id(&mut setup);

    let mut a = PgConnection::establish(db.url()).unwrap();
    let mut b = PgConnection::establish(db.url()).unwrap();
    a.batch_execute("BEGIN").unwrap();
    let pa = project(&mut a, team_id, "a");
    b.batch_execute("BEGIN").unwrap();
    let pb = project(&mut b, team_id, "b");
    b.batch_execute("COMMIT").unwrap();

    // B committed, A still open: the feed waits, the naive reader moves on.
    assert_eq!(feed.poll(Duration::from_millis(200)).unwrap(), vec![]);
    let seen = naive_read(&mut setup, naive_cursor);
    assert_eq!(
        seen.iter().map(|r| r.1).collect::<Vec<_>>(),
        vec![pb],
        "control: B's change is visible by id while A is open"
    );
    naive_cursor = seen.last().unwrap().0;

    a.batch_execute("COMMIT").unwrap();
    let got = collect(&mut feed, 2, Duration::from_secs(5));
    assert_eq!(
        got.iter().map(|c| (c.row_id, c.op)).collect::<Vec<_>>(),
        vec![(pa, ChangeOp::Insert), (pb, ChangeOp::Insert)],
        "both, A's first (it took its transaction id first)"
    );
    assert!(got[0].cursor < got[1].cursor);
    assert_eq!(feed.poll(Duration::from_millis(50)).unwrap(), vec![]);
    // Control: after A's commit the naive reader finds nothing new: A is lost.
    assert_eq!(naive_read(&mut setup, naive_cursor), vec![]);
}

/// 10,000 changes in one transaction plus 1,000 single-row transactions
/// from 4 threads, while a feed consumes: every change once, each
/// thread's in its order, the big transaction's contiguous. The big
/// transaction writes first and commits last, so the control (an `id >
/// cursor` read after the singles committed) skips all 10,000 of it.
#[test]
fn burst_is_delivered_exactly_once_in_order() {
    const BULK: usize = 10_000;
    const THREADS: usize = 4;
    const EACH: usize = 250;
    let db = TestDatabase::new();
    let mut setup = db.conn().unwrap();
    let (_, team_id) = team(&mut setup, "burst@example.com");
    let mut feed = projects_feed(&db);
    let naive_start = max_change_id(&mut setup);

    let mut bulk = PgConnection::establish(db.url()).unwrap();
    bulk.batch_execute("BEGIN").unwrap();
    diesel::sql_query(
        "INSERT INTO projects (team_id, name)
         SELECT $1, 'bulk-' || i FROM generate_series(1, 10000) AS i",
    )
    .bind::<SqlUuid, _>(team_id)
    .execute(&mut bulk)
    .unwrap();

    let start = Barrier::new(THREADS + 1);
    let got = thread::scope(|s| {
        let consumer = s.spawn(|| {
            start.wait();
            collect(&mut feed, BULK + THREADS * EACH, Duration::from_secs(120))
        });
        let writers: Vec<_> = (0..THREADS)
            .map(|t| {
                let (url, start) = (db.url(), &start);
                s.spawn(move || {
                    let mut conn = PgConnection::establish(url).unwrap();
                    start.wait();
                    for i in 0..EACH {
                        project(&mut conn, team_id, &format!("t{t}-{i:04}"));
                    }
                })
            })
            .collect();
        for w in writers {
            w.join().unwrap();
        }
        // Control, now that the singles committed and the bulk has not.
        let naive = naive_read(&mut setup, naive_start);
        assert_eq!(naive.len(), THREADS * EACH, "control sees the singles");
        let naive_cursor = naive.last().unwrap().0;
        bulk.batch_execute("COMMIT").unwrap();
        assert_eq!(
            naive_read(&mut setup, naive_cursor).len(),
            0,
            "control: the bulk transaction's ids are behind its cursor, all lost"
        );
        consumer.join().unwrap()
    });

    assert_eq!(got.len(), BULK + THREADS * EACH);
    let unique: HashSet<Uuid> = got.iter().map(|c| c.row_id).collect();
    assert_eq!(unique.len(), got.len(), "a change delivered twice");
    assert!(got.windows(2).all(|w| w[0].cursor < w[1].cursor));

    #[derive(QueryableByName)]
    struct Named {
        #[diesel(sql_type = SqlUuid)]
        id: Uuid,
        #[diesel(sql_type = Text)]
        name: String,
    }
    let names: HashMap<Uuid, String> = diesel::sql_query("SELECT id, name FROM projects")
        .load::<Named>(&mut setup)
        .unwrap()
        .into_iter()
        .map(|n| (n.id, n.name))
        .collect();
    let order: Vec<&str> = got.iter().map(|c| names[&c.row_id].as_str()).collect();
    let bulk_at: Vec<usize> = (0..order.len())
        .filter(|&i| order[i].starts_with("bulk-"))
        .collect();
    assert_eq!(bulk_at.len(), BULK);
    assert_eq!(
        bulk_at.last().unwrap() - bulk_at[0] + 1,
        BULK,
        "the transaction's rows are contiguous"
    );
    for t in 0..THREADS {
        let mine: Vec<&str> = order
            .iter()
            .copied()
            .filter(|n| n.starts_with(&format!("t{t}-")))
            .collect();
        let mut sorted = mine.clone();
        sorted.sort();
        assert_eq!(mine.len(), EACH);
        assert_eq!(mine, sorted, "thread {t}'s commits out of order");
    }
}
