//! Reads that join several domains, kept apart from the table models (one
//! file per view): [`UserOverview`], the account page of a user with their
//! profile, live subscription, plan and latest posts; [`PostDetails`], a
//! post with its author, category and tags.

mod post_details;
mod user_overview;

pub use post_details::{Author, PostDetails};
pub use user_overview::{UserOverview, OVERVIEW_POSTS};
