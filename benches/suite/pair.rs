//! Interleaved pairs, the only comparison that is trustworthy on a noisy
//! machine: both calls run in one loop, call by call, and each side's
//! benchmark keeps only its own side's time, so drift on the server (cache,
//! background work, a neighbour on the CPU) falls on both alike. The order
//! rotates every iteration, so no side always runs after another (on a row
//! the other just warmed). [`interleaved_sides`] does the same for more
//! than two sides (the COPY group compares three).
//!
//! Criterion measures each side in its own window (one `bench_function`
//! per side), so the two medians it reports come from different minutes,
//! and drift between the windows (a neighbour on the VM) still shows up
//! in their ratio. Every sample of every window also records all sides'
//! times for the same iterations; `target/bench-pairs.json` keeps them,
//! and the report's ratios are the median of the per-sample ratios: each
//! one compares the sides over exactly the same calls.

use std::hint::black_box;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion};

/// One side of an interleaved group: its name and the call.
pub type Side<'a> = (&'a str, Box<dyn FnMut(usize) + 'a>);

/// Benchmarks `sides.0` (`a`) against `sides.1` (`b`) in group `group`,
/// interleaved. Both closures get the same counter on each iteration (use
/// it to pick the same row for both).
pub fn interleaved<RA, RB>(
    c: &mut Criterion,
    group: &str,
    size: &str,
    sides: (&str, &str),
    mut a: impl FnMut(usize) -> RA,
    mut b: impl FnMut(usize) -> RB,
) {
    interleaved_sides(
        c,
        group,
        size,
        vec![
            (
                sides.0,
                Box::new(move |n| {
                    black_box(a(n));
                }),
            ),
            (
                sides.1,
                Box::new(move |n| {
                    black_box(b(n));
                }),
            ),
        ],
    );
}

/// Benchmarks every side in `sides` in group `group`, all in one loop: each
/// iteration calls every side once, starting at a different side each time,
/// and each side's benchmark keeps only that side's time.
pub fn interleaved_sides(c: &mut Criterion, group: &str, size: &str, mut sides: Vec<Side<'_>>) {
    let mut n = 0usize;
    let names: Vec<String> = sides.iter().map(|(name, _)| (*name).to_owned()).collect();
    let count = sides.len();
    let mut samples: Vec<Vec<f64>> = Vec::new();
    let mut g = c.benchmark_group(group);
    for (k, name) in names.iter().enumerate() {
        g.bench_function(BenchmarkId::new(name, size), |bencher| {
            bencher.iter_custom(|iters| {
                let mut times = vec![Duration::ZERO; count];
                for _ in 0..iters {
                    n = n.wrapping_add(1);
                    for j in 0..count {
                        let side = (n + j) % count;
                        let t = Instant::now();
                        (sides[side].1)(n);
                        times[side] += t.elapsed();
                    }
                }
                let per_call = |t: &Duration| t.as_nanos() as f64 / iters.max(1) as f64;
                samples.push(times.iter().map(per_call).collect());
                times[k]
            })
        });
    }
    g.finish();
    record(group, size, &names, samples);
}

/// Every interleaved group's samples so far, as written to
/// `bench-pairs.json`.
static PAIRED: Mutex<Vec<serde_json::Value>> = Mutex::new(Vec::new());

/// Adds one group's samples (nanoseconds per call of each side, per
/// sample) and rewrites `bench-pairs.json` with every group so far.
fn record(group: &str, size: &str, sides: &[String], samples: Vec<Vec<f64>>) {
    if samples.is_empty() {
        return; // filtered out of this run
    }
    let mut all = PAIRED.lock().unwrap_or_else(|e| e.into_inner());
    all.push(serde_json::json!({
        "group": group,
        "size": size,
        "sides": sides,
        "samples": samples,
    }));
    crate::write_results("bench-pairs.json", &serde_json::Value::Array(all.clone()));
}
