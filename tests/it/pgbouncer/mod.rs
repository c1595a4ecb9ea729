//! Behind a real PgBouncer in transaction mode: the harness itself
//! (`cleanup.rs`), and the crate's `transaction_pooling` mode.

mod build;
mod cleanup;
mod pooling;

use crate::support::setting;
use diesel::prelude::*;
use saas_db_testing::EmbeddedPgBouncer;
use saas_db_testing::TestDatabase;

/// A PgBouncer with `pool_size` server connections in front of the test
/// server (every database reachable by name through it).
pub fn bouncer(pool_size: u32) -> EmbeddedPgBouncer {
    let admin = TestDatabase::admin_url().expect("test server");
    EmbeddedPgBouncer::start(&admin, pool_size).expect("start pgbouncer")
}

/// The harness really pools per transaction: with one server connection, a
/// session-level setting made by one client shows up in another (the
/// control: on direct connections it does not), and a query through it works.
#[test]
fn the_embedded_pgbouncer_shares_one_server_connection_between_clients() {
    let test_db = TestDatabase::new();
    let bouncer = bouncer(1);
    let url = bouncer.url_for(test_db.name());
    let mut a = PgConnection::establish(&url).unwrap();
    let mut b = PgConnection::establish(&url).unwrap();
    diesel::sql_query("SELECT set_config('application_name', 'leaked-from-a', false)")
        .execute(&mut a)
        .unwrap();
    assert_eq!(setting(&mut b, "application_name"), "leaked-from-a");

    let mut c = PgConnection::establish(test_db.url()).unwrap();
    let mut d = PgConnection::establish(test_db.url()).unwrap();
    diesel::sql_query("SELECT set_config('application_name', 'only-c', false)")
        .execute(&mut c)
        .unwrap();
    assert_ne!(setting(&mut d, "application_name"), "only-c");
    assert!(bouncer.log_path().exists());
}
