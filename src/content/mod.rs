//! Content: posts with publishing, listings, full-text search and view
//! counts ([`PostRepo`], `conn.posts()`), tags ([`TagRepo`], `conn.tags()`)
//! and categories ([`CategoryRepo`], `conn.categories()`).
//!
//! Every listing is keyset-paginated and shows published, not deleted posts
//! only; `get` and `get_by_slug` return a post in any state (a deleted one
//! is not found). A page of posts becomes a page of [`PostDetails`] (author,
//! category, tags) with [`PostRepo::with_details`] in three more queries,
//! whatever the page size.

mod categories;
mod details;
mod listings;
mod model;
mod posts;
mod search;
mod tags;

pub use categories::{CategoryRepo, NewCategory};
pub(crate) use listings::is_listed;
pub use model::{Author, Category, NewPost, Post, PostChanges, PostDetails, Tag};
pub use posts::PostRepo;
pub use search::SEARCH_MAX_BYTES;
pub use tags::{TagRepo, TAGS_PER_POST_MAX};
