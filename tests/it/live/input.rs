//! Bad input to the feed: hostile cursor strings, out-of-range timeouts and
//! batch sizes (refused before the database, the feed stays usable), and a
//! pooled URL.

use std::time::Duration;

use saas_db::live::{ChangeCursor, BATCH_MAX, POLL_TIMEOUT_MAX};
use saas_db::{Database, Error};
use saas_db_testing::TestDatabase;

use super::{collect, project, team};

fn refused(input: &str) -> bool {
    matches!(input.parse::<ChangeCursor>(), Err(Error::Invalid { ref field, .. }) if field == "cursor")
}

#[test]
fn cursor_round_trips_and_hostile_strings_are_invalid() {
    for cursor in [ChangeCursor::start(), ChangeCursor::now()] {
        assert_eq!(cursor.to_string().parse::<ChangeCursor>().unwrap(), cursor);
    }
    let max = format!("c1-{}-{}", i64::MAX, i64::MAX);
    assert_eq!(max.parse::<ChangeCursor>().unwrap().to_string(), max);
    let hostile = [
        "",
        "c1-",
        "c1--",
        "c1-1",
        "c1-1-",
        "c1--1-2",
        "c1-1--2",
        "c1-+1-2",
        "c1-01-2",
        "c1-1-2-3",
        "c1-1-2 ",
        " c1-1-2",
        "c1-1\0-2",
        "c1-１-2",
        "c2-1-2",
        "C1-1-2",
        "NOW",
        "c1-9223372036854775808-1",
        "c1-1-99999999999999999999",
        &format!("c1-{}-1", "9".repeat(5000)),
        &"c1-1-1".repeat(100),
    ];
    for input in hostile {
        assert!(refused(input), "{input:?} was accepted");
    }
}

/// Out-of-range arguments are typed errors before any query; afterwards
/// the same feed still delivers (the connection was not disturbed).
#[test]
fn poll_timeout_and_batch_bounds() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let (_, team_id) = team(&mut conn, "bounds@example.com");
    let feed = super::projects_feed(&db);
    for n in [0, -1, BATCH_MAX + 1, i64::MAX, i64::MIN] {
        let err = db
            .db()
            .change_feed(ChangeCursor::now())
            .unwrap()
            .batch(n)
            .unwrap_err();
        assert!(
            matches!(err, Error::Invalid { ref field, .. } if field == "batch"),
            "{n}: {err:?}"
        );
    }
    let mut feed = feed.batch(BATCH_MAX).unwrap();
    for t in [
        Duration::ZERO,
        Duration::from_nanos(999),
        POLL_TIMEOUT_MAX + Duration::from_nanos(1),
        Duration::MAX,
    ] {
        let err = feed.poll(t).unwrap_err();
        assert!(
            matches!(err, Error::Invalid { ref field, .. } if field == "timeout"),
            "{t:?}: {err:?}"
        );
    }
    for (recheck, slice, field) in [
        (Duration::ZERO, Duration::from_millis(1), "recheck"),
        (Duration::from_secs(1), Duration::MAX, "slice"),
    ] {
        let err = db
            .db()
            .change_feed(ChangeCursor::now())
            .unwrap()
            .timing(recheck, slice)
            .unwrap_err();
        assert!(
            matches!(err, Error::Invalid { field: ref f, .. } if f == field),
            "{err:?}"
        );
    }
    // The smallest timeout returns at once.
    let t = std::time::Instant::now();
    assert_eq!(feed.poll(Duration::from_micros(1)).unwrap(), vec![]);
    assert!(t.elapsed() < Duration::from_millis(100));
    let p = project(&mut conn, team_id, "after the errors");
    let got = collect(&mut feed, 1, Duration::from_secs(5));
    assert_eq!(got.iter().map(|c| c.row_id).collect::<Vec<_>>(), vec![p]);
}

/// In transaction-pooling mode the feed is refused: LISTEN and its
/// connection need a session, which a pooler does not keep.
#[test]
fn change_feed_is_refused_on_a_pooled_database() {
    let db = TestDatabase::new();
    let pooled = Database::builder(db.url())
        .transaction_pooling(true)
        .run_migrations(false)
        .max_size(1)
        .build()
        .unwrap();
    let err = pooled.change_feed(ChangeCursor::now()).unwrap_err();
    assert!(
        matches!(err, Error::Pooled { ref fix, .. } if fix.contains("direct URL")),
        "{err:?}"
    );
    // Control: the same database on a direct URL opens a feed.
    db.db().change_feed(ChangeCursor::now()).unwrap();
}
