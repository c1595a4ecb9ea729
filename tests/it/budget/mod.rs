//! Round-trip budgets: how many statements each public operation and flow
//! sends on a warmed connection, asserted exactly against one budget table
//! per domain. A count is deterministic, so an operation that starts
//! sending one more statement fails here, naming what it sent.
//!
//! These files are the source of the "Round trips per operation" table in
//! BENCHMARKS.md; [`benchmarks_md_lists_every_budget`] fails when the two
//! disagree.
//!
//! What is counted: every round trip Diesel makes to the server, seen
//! through its instrumentation. Each statement raises one `StartQuery`
//! event, including BEGIN, COMMIT, ROLLBACK, SAVEPOINT and RELEASE
//! (Diesel's transaction manager sends them through `batch_execute`,
//! which raises the event too) and the enum type lookups Diesel runs
//! inside a query's bind collection. A statement prepared for the cache
//! costs one more round trip (the Parse before the execution) and raises
//! `CacheQuery`; it is counted as a `PREPARE`. On a warmed connection
//! (the operation ran once before, so its statements are prepared and the
//! enum types known) neither lookups nor prepares should remain: where
//! one does, the budget shows it.
//!
//! Calls that check out their own pooled connection (`Database` methods)
//! are counted through the pool's per-statement tracing events instead
//! (`pooled.rs`).

mod audit_outbox;
mod auth;
mod billing;
mod content;
mod pooled;
mod teams;
mod users;

use std::sync::{Arc, Mutex};

use diesel::connection::{Instrumentation, InstrumentationEvent};
use diesel::prelude::*;

/// One budget table: operation name and the exact number of round trips.
pub type Budget = &'static [(&'static str, usize)];

/// A plain connection (no pool) whose round trips are recorded.
pub struct Counted {
    pub conn: PgConnection,
    log: Arc<Mutex<Vec<String>>>,
}

impl Counted {
    /// Connects to `url` and starts recording.
    #[track_caller]
    pub fn connect(url: &str) -> Counted {
        let mut conn = PgConnection::establish(url).unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&log);
        let recorder = move |event: InstrumentationEvent<'_>| {
            let line = match event {
                InstrumentationEvent::StartQuery { query, .. } => statement(&query.to_string()),
                InstrumentationEvent::CacheQuery { sql, .. } => format!("PREPARE {}", sql),
                _ => return,
            };
            seen.lock().unwrap().push(line);
        };
        conn.set_instrumentation(Box::new(recorder) as Box<dyn Instrumentation>);
        Counted { conn, log }
    }

    /// The round trips `work` made: its result and one line per trip.
    pub fn trips<T>(&mut self, work: impl FnOnce(&mut PgConnection) -> T) -> (T, Vec<String>) {
        let start = self.log.lock().unwrap().len();
        let out = work(&mut self.conn);
        let trips = self.log.lock().unwrap()[start..].to_vec();
        (out, trips)
    }

    /// Runs `work(conn, 0)` to warm the connection, then counts
    /// `work(conn, 1)` (the index lets each run use its own emails, slugs
    /// or rows).
    pub fn warmed<T>(
        &mut self,
        mut work: impl FnMut(&mut PgConnection, usize) -> T,
    ) -> (T, Vec<String>) {
        work(&mut self.conn, 0);
        self.trips(|c| work(c, 1))
    }
}

/// The SQL of a rendered statement, without Diesel's bind list and cut
/// to its first 90 characters on one line.
fn statement(rendered: &str) -> String {
    let sql = rendered.split(" -- binds: ").next().unwrap_or("");
    let one_line: String = sql.split_whitespace().collect::<Vec<_>>().join(" ");
    one_line.chars().take(90).collect()
}

/// Asserts `trips` is exactly `operation`'s budget in `budget`.
#[track_caller]
pub fn assert_budget(budget: Budget, operation: &str, trips: &[String]) {
    let Some(&(_, expected)) = budget.iter().find(|(name, _)| *name == operation) else {
        panic!("no budget for {operation:?}");
    };
    assert_eq!(
        trips.len(),
        expected,
        "{operation}: {} round trips, budget {expected}:\n  {}",
        trips.len(),
        trips.join("\n  ")
    );
}

/// Every budget of every domain, in the order of BENCHMARKS.md.
fn all_budgets() -> Vec<(&'static str, usize)> {
    [
        auth::BUDGET,
        users::BUDGET,
        billing::BUDGET,
        content::BUDGET,
        teams::BUDGET,
        audit_outbox::BUDGET,
        pooled::BUDGET,
    ]
    .iter()
    .flat_map(|b| b.iter().copied())
    .collect()
}

/// The table in BENCHMARKS.md's "Round trips per operation" section lists
/// every budgeted operation with its count, and nothing else.
#[test]
fn benchmarks_md_lists_every_budget() {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/BENCHMARKS.md")).unwrap();
    let section = text
        .split("## Round trips per operation")
        .nth(1)
        .expect("BENCHMARKS.md has a \"Round trips per operation\" section");
    let section = section.split("\n## ").next().unwrap();
    let rows: Vec<(String, usize)> = section
        .lines()
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let count = cells.get(2)?.parse().ok()?;
            Some((cells[1].trim_matches('`').to_string(), count))
        })
        .collect();
    let budgets: Vec<(String, usize)> = all_budgets()
        .into_iter()
        .map(|(name, n)| (name.to_string(), n))
        .collect();
    assert_eq!(rows, budgets, "BENCHMARKS.md rows vs the budget tables");
}
