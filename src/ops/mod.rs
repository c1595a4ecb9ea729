//! Operational views of the database: health, pool and connection metrics,
//! table sizes and slow queries (the seed applications' monitoring queries).

mod health;
mod metrics;

pub use health::{HealthCheck, HealthReport, HealthStatus, REQUIRED_EXTENSIONS};
pub use metrics::{ConnectionStats, PoolStatus, SlowQuery, TableSize, TABLES};
