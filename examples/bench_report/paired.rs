//! Ratios of interleaved pairs from `target/bench-pairs.json`
//! (`benches/suite/pair.rs`): every sample holds each side's time per call
//! over the same iterations, so a sample's ratio compares the sides over
//! exactly the same calls. The ratio reported is the median of the
//! samples' ratios, which drift between criterion's per-side measurement
//! windows does not move.

use std::path::Path;

use serde_json::Value;

/// The samples of every interleaved group of the last run.
pub struct Paired(Vec<Value>);

impl Paired {
    /// Reads `bench-pairs.json` under `target` (empty when missing).
    pub fn load(target: &Path) -> Paired {
        Paired(crate::targets::read_json(target, "bench-pairs.json"))
    }

    /// The median over `group`'s samples at `size` of side `a`'s time per
    /// call over side `b`'s, and how many samples it has; `None` when the
    /// group or a side was not measured.
    pub fn ratio(&self, group: &str, size: &str, a: &str, b: &str) -> Option<(f64, usize)> {
        let entry = self
            .0
            .iter()
            .find(|e| e["group"] == group && e["size"] == size)?;
        let sides = entry["sides"].as_array()?;
        let index = |name: &str| sides.iter().position(|s| s == name);
        let (ia, ib) = (index(a)?, index(b)?);
        let mut ratios: Vec<f64> = entry["samples"]
            .as_array()?
            .iter()
            .filter_map(|s| Some(s[ia].as_f64()? / s[ib].as_f64()?))
            .filter(|r| r.is_finite())
            .collect();
        if ratios.is_empty() {
            return None;
        }
        ratios.sort_by(f64::total_cmp);
        let mid = ratios.len() / 2;
        let median = if ratios.len() % 2 == 0 {
            (ratios[mid - 1] + ratios[mid]) / 2.0
        } else {
            ratios[mid]
        };
        Some((median, ratios.len()))
    }
}
