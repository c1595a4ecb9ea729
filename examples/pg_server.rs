//! Starts a throwaway PostgreSQL, prints its URL on the first line of
//! standard output, and keeps it until standard input closes (then removes
//! it). `scripts/bench.sh` runs it pinned to its own CPU.
//!
//! ```sh
//! cargo run --release --example pg_server    # Ctrl-D stops it
//! ```

use std::io::Read;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let pg = saas_db::embedded::EmbeddedPostgres::start()?;
    println!("{}", pg.url());
    // Block until whoever started us is done (or gone).
    let mut sink = Vec::new();
    std::io::stdin().read_to_end(&mut sink)?;
    pg.shutdown();
    Ok(())
}
