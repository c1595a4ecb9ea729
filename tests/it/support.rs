//! Shared test scaffolding.

use std::sync::Barrier;
use std::thread;

/// Runs `work(i, barrier)` on `threads` threads at once and returns the
/// results in thread order. Each thread calls `barrier.wait()` where the
/// race should start (all threads must call it exactly once).
pub fn race<T: Send>(threads: usize, work: impl Fn(usize, &Barrier) -> T + Sync) -> Vec<T> {
    let barrier = Barrier::new(threads);
    thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|i| {
                let (work, barrier) = (&work, &barrier);
                s.spawn(move || work(i, barrier))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}
