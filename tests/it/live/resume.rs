//! Resuming after a lost connection or a restarted consumer: nothing lost,
//! nothing repeated. Control: a LISTEN-only consumer loses what was sent
//! while it was disconnected.

use std::collections::HashSet;
use std::time::Duration;

use crate::support::backend_pid;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::Integer;
use saas_db::live::{CapturedTable, Change};
use saas_db_testing::TestDatabase;
use uuid::Uuid;

use super::{collect, project, projects_feed, team};

fn kill(conn: &mut PgConnection, pid: i32) {
    diesel::sql_query("SELECT pg_terminate_backend($1)")
        .bind::<Integer, _>(pid)
        .execute(conn)
        .unwrap();
}

/// The consumer's backend is killed mid-stream (twice: once while it
/// waits, once between polls); it reconnects and goes on from its cursor.
/// Then the consumer itself "restarts": a new feed from the cursor's
/// string delivers the rest. Every change once, in order.
#[test]
fn killed_backend_and_restart_resume_from_the_cursor() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let (_, team_id) = team(&mut conn, "resume@example.com");
    let mut feed = projects_feed(&db).batch(5).unwrap();
    let mut written: Vec<Uuid> = Vec::new();
    let mut got: Vec<Change> = Vec::new();

    written.extend((0..20).map(|i| project(&mut conn, team_id, &format!("p{i}"))));
    got.extend(collect(&mut feed, 10, Duration::from_secs(5)));
    kill(&mut conn, feed.backend_pid().unwrap());
    written.extend((20..40).map(|i| project(&mut conn, team_id, &format!("p{i}"))));
    got.extend(collect(&mut feed, 40 - got.len(), Duration::from_secs(5)));
    assert_eq!(got.len(), 40);

    // Killed while waiting in poll (the wait notices the closed socket).
    let pid = feed.backend_pid().unwrap();
    let url = db.url().to_owned();
    let writer = std::thread::spawn(move || {
        let mut other = PgConnection::establish(&url).unwrap();
        std::thread::sleep(Duration::from_millis(100));
        kill(&mut other, pid);
        std::thread::sleep(Duration::from_millis(50));
        (40..50)
            .map(|i| project(&mut other, team_id, &format!("p{i}")))
            .collect::<Vec<_>>()
    });
    got.extend(collect(&mut feed, 10, Duration::from_secs(5)));
    written.extend(writer.join().unwrap());
    assert!(feed.stats().reconnects >= 2, "{:?}", feed.stats());

    // A restart: only the cursor's string survives.
    let saved = feed.cursor().to_string();
    drop(feed);
    written.extend((50..60).map(|i| project(&mut conn, team_id, &format!("p{i}"))));
    let mut resumed = db
        .db()
        .change_feed(saved.parse().unwrap())
        .unwrap()
        .tables(&[CapturedTable::Projects]);
    got.extend(collect(&mut resumed, 10, Duration::from_secs(5)));
    assert_eq!(resumed.poll(Duration::from_millis(50)).unwrap(), vec![]);

    let ids: Vec<Uuid> = got.iter().map(|c| c.row_id).collect();
    assert_eq!(ids, written, "every change once, in commit order");
    assert!(got.windows(2).all(|w| w[0].cursor < w[1].cursor));
}

/// Control for the test above: a consumer that counts notifications (one
/// distinct payload per change, so none coalesce) and reconnects after its
/// backend was killed receives none of the 100 sent while it was down.
#[test]
fn control_listen_only_consumer_loses_what_was_sent_while_down() {
    let db = TestDatabase::new();
    let mut sender = db.conn().unwrap();
    let mut listener = PgConnection::establish(db.url()).unwrap();
    listener.batch_execute("LISTEN naive_feed").unwrap();
    let pid = backend_pid(&mut listener);
    diesel::sql_query("SELECT pg_terminate_backend($1)")
        .bind::<Integer, _>(pid)
        .execute(&mut sender)
        .unwrap();
    for i in 0..100 {
        diesel::sql_query("SELECT pg_notify('naive_feed', $1)")
            .bind::<diesel::sql_types::Text, _>(format!("change {i}"))
            .execute(&mut sender)
            .unwrap();
    }
    let mut listener = PgConnection::establish(db.url()).unwrap();
    listener.batch_execute("LISTEN naive_feed").unwrap();
    std::thread::sleep(Duration::from_millis(100));
    let received: HashSet<String> = listener
        .notifications_iter()
        .filter_map(Result::ok)
        .map(|n| n.payload)
        .collect();
    assert_eq!(
        received.len(),
        0,
        "NOTIFY does not queue for a listener that is gone"
    );
}
