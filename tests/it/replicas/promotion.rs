//! A replica promoted to a primary of its own (`pg_promote()`, as a
//! failover script or a mistaken operator does) is no replica any more: it
//! takes writes the real primary never sees, and misses the primary's.

use std::time::Duration;

use diesel::prelude::*;
use saas_db::replicas::Consistency;

use super::{create, topology, visible};

/// After promotion, reads go to the primary and the breaker keeps the
/// split-off server out. It used to serve them: `pg_last_wal_replay_lsn()`
/// keeps its last value after promotion, so `Any` reads, and `AtLeast`
/// reads with older tokens, still went there and missed the primary's new
/// rows. Control: before promotion the replica serves the read.
#[test]
fn a_promoted_replica_serves_no_more_reads() {
    let (_primary, replica, db) = topology(Duration::from_secs(60));
    let (id, token) = create(&db, 0);
    assert!(visible(&db, Consistency::AtLeast(&token), id));
    let status = db.pool_status();
    assert_eq!(status.replica_reads, 1, "control: {status:?}");

    let mut on_replica = PgConnection::establish(replica.url()).unwrap();
    diesel::sql_query("SELECT pg_promote(true, 60)")
        .execute(&mut on_replica)
        .unwrap();
    // Written on the primary after the split: the promoted server never
    // gets it.
    let (after, _) = create(&db, 1);
    assert!(visible(&db, Consistency::Any, after));
    assert!(visible(&db, Consistency::AtLeast(&token), id));
    let status = db.pool_status();
    assert_eq!(
        (
            status.replica_reads,
            status.replica_fallbacks,
            status.replica_down
        ),
        (1, 2, 1),
        "{status:?}"
    );
}
