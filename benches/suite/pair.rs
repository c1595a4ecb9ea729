//! Interleaved pairs, the only comparison that is trustworthy on a noisy
//! machine: both calls run in one loop, call by call, and each side's
//! benchmark keeps only its own side's time, so drift on the server (cache,
//! background work, a neighbour on the CPU) falls on both alike. The order
//! alternates every iteration, so neither side always runs second (on a row
//! the other just warmed).

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion};

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
    let mut n = 0usize;
    let mut g = c.benchmark_group(group);
    for (k, side) in [sides.0, sides.1].into_iter().enumerate() {
        g.bench_function(BenchmarkId::new(side, size), |bencher| {
            bencher.iter_custom(|iters| {
                let (mut time_a, mut time_b) = (Duration::ZERO, Duration::ZERO);
                for _ in 0..iters {
                    n = n.wrapping_add(1);
                    let mut run_a = || {
                        let t = Instant::now();
                        black_box(a(n));
                        time_a += t.elapsed();
                    };
                    if n % 2 == 0 {
                        run_a();
                        let t = Instant::now();
                        black_box(b(n));
                        time_b += t.elapsed();
                    } else {
                        let t = Instant::now();
                        black_box(b(n));
                        time_b += t.elapsed();
                        run_a();
                    }
                }
                if k == 0 {
                    time_a
                } else {
                    time_b
                }
            })
        });
    }
    g.finish();
}
