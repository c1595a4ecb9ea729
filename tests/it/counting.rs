//! Counting the statements a call sends, with Diesel's instrumentation.

use diesel::PgConnection;

/// A plain connection to `url` whose statements are counted (Diesel's
/// instrumentation: one `StartQuery` per statement sent).
pub fn counted(url: &str) -> (PgConnection, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use diesel::connection::{Connection, Instrumentation, InstrumentationEvent};
    use std::sync::atomic::{AtomicUsize, Ordering};
    let mut conn = PgConnection::establish(url).unwrap();
    let queries = std::sync::Arc::new(AtomicUsize::new(0));
    let seen = std::sync::Arc::clone(&queries);
    let counter = move |event: InstrumentationEvent<'_>| {
        if let InstrumentationEvent::StartQuery { .. } = event {
            seen.fetch_add(1, Ordering::SeqCst);
        }
    };
    conn.set_instrumentation(Box::new(counter) as Box<dyn Instrumentation>);
    (conn, queries)
}
