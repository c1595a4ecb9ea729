//! Starts a throwaway PostgreSQL, prints its URL on the first line of
//! standard output, and keeps it until standard input closes (then removes
//! it). `scripts/bench.sh` runs it pinned to its own CPU.
//!
//! With `--topology` it also starts a streaming replica of it and a
//! PgBouncer in transaction mode in front of it (children of this process,
//! so pinned with it), and prints `REPLICA_URL=..` and `PGBOUNCER_URL=..`
//! lines for those it could start (a note on standard error for the
//! others, e.g. when `pgbouncer` is not installed). A last line `ready`
//! says everything is up.
//!
//! ```sh
//! cargo run --release --example pg_server    # Ctrl-D stops it
//! cargo run --release --example pg_server -- --topology
//! ```

use std::io::Read;

use saas_db_testing::EmbeddedPgBouncer;
use saas_db_testing::{EmbeddedPostgres, EmbeddedReplica};

/// PgBouncer's server connections per database and user.
const BOUNCER_POOL: u32 = 4;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let topology = std::env::args().any(|a| a == "--topology");
    let pg = EmbeddedPostgres::start()?;
    println!("{}", pg.url());
    let (mut replica, mut bouncer) = (None, None);
    if topology {
        match EmbeddedReplica::start_from(&pg) {
            Ok(r) => println!("REPLICA_URL={}", replica.insert(r).url()),
            Err(e) => eprintln!("note: no replica: {e}"),
        }
        match EmbeddedPgBouncer::start(pg.url(), BOUNCER_POOL) {
            Ok(b) => println!("PGBOUNCER_URL={}", bouncer.insert(b).url()),
            Err(e) => eprintln!("note: no PgBouncer: {e}"),
        }
    }
    println!("ready");
    // Block until whoever started us is done (or gone).
    let mut sink = Vec::new();
    std::io::stdin().read_to_end(&mut sink)?;
    drop(bouncer);
    drop(replica);
    pg.shutdown();
    Ok(())
}
