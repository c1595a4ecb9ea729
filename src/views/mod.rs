//! Reads that join several domains, kept apart from the tables' own models
//! (Lemmy's `db_views` in spirit): each view is its own file with its row
//! types and the repository methods that load them.
//!
//! - `billing_analytics.rs` and `dashboard.rs`: [`AnalyticsRepo`], from
//!   `conn.analytics()`: revenue, top customers, engagement, MRR per plan
//!   and one user's dashboard.
//! - `user_overview.rs`: [`UserOverview`], the account page of a user with
//!   their profile, live subscription, plan and latest posts.
//! - `post_details.rs`: [`PostDetails`], a post with its author, category
//!   and tags.

mod billing_analytics;
mod dashboard;
mod post_details;
mod user_overview;

pub use billing_analytics::{
    AnalyticsRepo, Engagement, EngagementLevel, MonthlyRevenue, PlanMrr, TopCustomer,
};
pub use dashboard::{CurrencyNet, UserDashboard};
pub use post_details::{Author, PostDetails};
pub use user_overview::{UserOverview, OVERVIEW_POSTS};
