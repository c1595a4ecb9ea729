//! Reads that join several domains, kept apart from the table models (one
//! file per view): [`UserOverview`], the account page of a user with their
//! profile, live subscription, plan and latest posts.

mod user_overview;

pub use user_overview::{UserOverview, OVERVIEW_POSTS};
