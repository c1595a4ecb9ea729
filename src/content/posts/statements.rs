//! The posts table's single-purpose changes as fixed-text statements that
//! Diesel prepares once per connection (`crate::prepared`). Each changes a
//! post that is not deleted, by id.

use crate::prepared::Statement;
use crate::tx::versioned_update_sql;

/// The columns [`Post`](super::Post) reads, for the RETURNING lists below
/// (explicit, never `*`, so a column a host adds to the table does not
/// change a prepared statement's result type; the `search` vector is not
/// loaded). A literal, so each statement stays one `concat!`ed `&'static str`.
macro_rules! post_columns {
    () => {
        "id, author_id, category_id, title, slug, excerpt, content, status, featured,
         view_count, published_at, deleted_at, version, created_at, updated_at"
    };
}

/// [`PostRepo::update`](super::PostRepo::update): every field of
/// [`PostChanges`](super::PostChanges) in one fixed shape (see
/// [`crate::tx::update_versioned`]).
pub(super) struct UpdatePost;

impl Statement for UpdatePost {
    const SQL: &'static str = versioned_update_sql!(
        "posts",
        "title = COALESCE($1, title),
               content = COALESCE($2, content),
               excerpt = CASE WHEN $3 THEN $4 ELSE excerpt END,
               category_id = CASE WHEN $5 THEN $6 ELSE category_id END,
               featured = COALESCE($7, featured),
               updated_at = now()",
        "id = $8 AND version = $9 AND deleted_at IS NULL",
        post_columns!(),
        "id = $10 AND deleted_at IS NULL"
    );
}

/// [`PostRepo::publish`](super::PostRepo::publish): `published_at` is set
/// the first time only.
pub(super) struct Publish;

impl Statement for Publish {
    const SQL: &'static str = concat!(
        "UPDATE posts SET status = 'published', published_at = COALESCE(published_at, now())
          WHERE id = $1 AND deleted_at IS NULL RETURNING ",
        post_columns!()
    );
}

/// [`PostRepo::unpublish`](super::PostRepo::unpublish) and
/// [`PostRepo::archive`](super::PostRepo::archive): the status only.
pub(super) struct SetStatus;

impl Statement for SetStatus {
    const SQL: &'static str = concat!(
        "UPDATE posts SET status = $1 WHERE id = $2 AND deleted_at IS NULL RETURNING ",
        post_columns!()
    );
}

/// [`PostRepo::soft_delete`](super::PostRepo::soft_delete).
pub(super) struct SoftDelete;

impl Statement for SoftDelete {
    const SQL: &'static str = concat!(
        "UPDATE posts SET deleted_at = now() WHERE id = $1 AND deleted_at IS NULL RETURNING ",
        post_columns!()
    );
}

/// [`PostRepo::increment_views`](super::PostRepo::increment_views): one
/// atomic increment, returning the new count.
pub(super) struct IncrementViews;

impl Statement for IncrementViews {
    const SQL: &'static str = "UPDATE posts SET view_count = view_count + 1
          WHERE id = $1 AND deleted_at IS NULL RETURNING view_count";
}
