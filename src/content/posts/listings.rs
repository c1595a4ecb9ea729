//! The published listings of [`PostRepo`]: newest first, keyset-paginated on
//! `(published_at, id)`, each backed by an index that starts with its filter
//! and ends with the sort key (see the content migration).

use diesel::dsl::{AsSelect, SqlTypeOf};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::Bool;

use super::Post;
use super::PostRepo;
use crate::error::Result;
use crate::ids::{CategoryId, TagId, UserId};
use crate::pagination::{self, Cursor, Keyset, Listing, Order, Page, PageRequest};
use crate::schema::{post_tags, posts};
use crate::sql::StaticSql;

/// The listing name of [`PostRepo::published`] (part of its cursors).
const PUBLISHED: &str = "posts.published";

pub(super) type PostQuery = posts::BoxedQuery<'static, Pg, SqlTypeOf<AsSelect<Post, Pg>>>;

/// Published and not deleted: what every listing shows. Written as SQL
/// literals, not bind parameters, so the partial indexes' `WHERE status =
/// 'published' AND deleted_at IS NULL` matches in PostgreSQL's generic plan
/// of the cached statement. With `status = $1` the generic plan cannot use
/// them, and the server plans every execution anew (measured: a page cost
/// twice as much).
pub(crate) fn is_listed() -> StaticSql<Bool> {
    StaticSql::new("\"posts\".\"status\" = 'published' AND \"posts\".\"deleted_at\" IS NULL")
}

/// The listed posts, as the base every listing filters further.
pub(super) fn listed() -> PostQuery {
    posts::table
        .filter(is_listed())
        .select(Post::as_select())
        .into_boxed()
}

impl PostRepo<'_> {
    /// Published posts, newest first.
    ///
    /// # Errors
    /// [`crate::Error::InvalidCursor`] for a bad cursor,
    /// [`crate::Error::Invalid`] for a limit outside 1..=1000.
    pub fn published(&mut self, page: PageRequest) -> Result<Page<Post>> {
        self.newest_first(listed(), Listing::named(PUBLISHED), &page)
    }

    /// The author's published posts, newest first.
    ///
    /// # Errors
    /// As [`PostRepo::published`].
    pub fn by_author(&mut self, author_id: UserId, page: PageRequest) -> Result<Page<Post>> {
        let query = listed().filter(posts::author_id.eq(author_id));
        let listing = Listing::named("posts.by_author").param(author_id.uuid());
        self.newest_first(query, listing, &page)
    }

    /// Published posts carrying the tag, newest first.
    ///
    /// # Errors
    /// As [`PostRepo::published`].
    pub fn by_tag(&mut self, tag_id: TagId, page: PageRequest) -> Result<Page<Post>> {
        let tagged = post_tags::table
            .filter(post_tags::tag_id.eq(tag_id))
            .select(post_tags::post_id);
        let query = listed().filter(posts::id.eq_any(tagged));
        let listing = Listing::named("posts.by_tag").param(tag_id.uuid());
        self.newest_first(query, listing, &page)
    }

    /// Published posts in the category, newest first.
    ///
    /// # Errors
    /// As [`PostRepo::published`].
    pub fn by_category(
        &mut self,
        category_id: CategoryId,
        page: PageRequest,
    ) -> Result<Page<Post>> {
        let query = listed().filter(posts::category_id.eq(category_id));
        let listing = Listing::named("posts.by_category").param(category_id.uuid());
        self.newest_first(query, listing, &page)
    }

    /// Featured published posts, newest first.
    ///
    /// # Errors
    /// As [`PostRepo::published`].
    pub fn featured(&mut self, page: PageRequest) -> Result<Page<Post>> {
        // The bare column, like the partial index's `WHERE featured`.
        let query = listed().filter(posts::featured);
        self.newest_first(query, Listing::named("posts.featured"), &page)
    }

    /// A cursor at `post` in [`PostRepo::published`]: `PageRequest::after`
    /// it for the posts published before it ("older posts" under an
    /// article), `before` it for the newer ones. `None` for a post that was
    /// never published.
    pub fn published_cursor(post: &Post) -> Option<Cursor> {
        post.published_at
            .map(|at| Cursor::new(&Listing::named(PUBLISHED), &at, post.id.into()))
    }

    /// One page of `query` ordered by `(published_at, id)` descending. Every
    /// listed post is published, so `published_at` is set (a CHECK says so).
    fn newest_first(
        &mut self,
        query: PostQuery,
        listing: Listing,
        page: &PageRequest,
    ) -> Result<Page<Post>> {
        let keyset = Keyset {
            listing,
            sort: posts::published_at.assume_not_null(),
            id: posts::id,
            order: Order::Desc,
        };
        pagination::paginate(
            query,
            keyset,
            page,
            |p: &Post| (p.published_at.unwrap_or(p.created_at), p.id),
            self.conn,
        )
    }
}
