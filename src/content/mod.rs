//! Content: posts with publishing, listings, full-text search and view
//! counts ([`PostRepo`], `conn.posts()`), tags ([`TagRepo`], `conn.tags()`)
//! and categories ([`CategoryRepo`], `conn.categories()`).
//!
//! Every listing is keyset-paginated and shows published, not deleted posts
//! only; `get` and `get_by_slug` return a post in any state (a deleted one
//! is not found). A page of posts becomes a page of
//! [`PostDetails`](crate::views::PostDetails) (author, category, tags) with
//! [`PostDetails::load_page`](crate::views::PostDetails::load_page) in three
//! more queries, whatever the page size.
//!
//! One file (or folder) per table: `posts/` ([`Post`], [`NewPost`],
//! [`PostChanges`] and [`PostRepo`]: `mod.rs` creating, editing and
//! publishing, `listings.rs`, `search.rs`, `model.rs`), `categories.rs`,
//! `tags.rs`, and `post_tags.rs` (tagging a post).

mod categories;
mod post_tags;
mod posts;
mod tags;

pub use categories::{Category, CategoryRepo, NewCategory};
pub(crate) use post_tags::PostTag;
pub(crate) use posts::is_listed;
pub use posts::{NewPost, Post, PostChanges, PostRepo, SEARCH_MAX_BYTES};
pub use tags::{Tag, TagRepo, TAGS_PER_POST_MAX};
