//! Reads that join several domains, kept apart from the tables' own models
//! (Lemmy's `db_views` in spirit): each view is its own file with its row
//! types and the repository methods that load them.
//!
//! - `billing_analytics.rs` and `dashboard.rs`: [`AnalyticsRepo`], from
//!   `conn.analytics()`: revenue, top customers, engagement, MRR per plan
//!   and one user's dashboard.

mod billing_analytics;
mod dashboard;

pub use billing_analytics::{
    AnalyticsRepo, Engagement, EngagementLevel, MonthlyRevenue, PlanMrr, TopCustomer,
};
pub use dashboard::{CurrencyNet, UserDashboard};
