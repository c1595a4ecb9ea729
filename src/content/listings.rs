//! The published listings of [`PostRepo`]: newest first, keyset-paginated on
//! `(published_at, id)`, each backed by an index that starts with its filter
//! and ends with the sort key (see the content migration).

use diesel::dsl::{self, AsSelect, SqlTypeOf};
use diesel::pg::Pg;
use diesel::prelude::*;
use uuid::Uuid;

use super::model::Post;
use super::posts::PostRepo;
use crate::enums::PostStatus;
use crate::error::Result;
use crate::pagination::{self, Keyset, Order, Page, PageRequest};
use crate::schema::{post_tags, posts};

pub(super) type PostQuery = posts::BoxedQuery<'static, Pg, SqlTypeOf<AsSelect<Post, Pg>>>;

type IsListed = dsl::And<dsl::Eq<posts::status, PostStatus>, dsl::IsNull<posts::deleted_at>>;

/// Published and not deleted: what every listing shows.
pub(super) fn is_listed() -> IsListed {
    posts::status
        .eq(PostStatus::Published)
        .and(posts::deleted_at.is_null())
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
        self.newest_first(listed(), "posts.published", &page)
    }

    /// The author's published posts, newest first.
    ///
    /// # Errors
    /// As [`PostRepo::published`].
    pub fn by_author(&mut self, author_id: Uuid, page: PageRequest) -> Result<Page<Post>> {
        let query = listed().filter(posts::author_id.eq(author_id));
        self.newest_first(query, "posts.by_author", &page)
    }

    /// Published posts carrying the tag, newest first.
    ///
    /// # Errors
    /// As [`PostRepo::published`].
    pub fn by_tag(&mut self, tag_id: Uuid, page: PageRequest) -> Result<Page<Post>> {
        let tagged = post_tags::table
            .filter(post_tags::tag_id.eq(tag_id))
            .select(post_tags::post_id);
        let query = listed().filter(posts::id.eq_any(tagged));
        self.newest_first(query, "posts.by_tag", &page)
    }

    /// Published posts in the category, newest first.
    ///
    /// # Errors
    /// As [`PostRepo::published`].
    pub fn by_category(&mut self, category_id: Uuid, page: PageRequest) -> Result<Page<Post>> {
        let query = listed().filter(posts::category_id.eq(category_id));
        self.newest_first(query, "posts.by_category", &page)
    }

    /// Featured published posts, newest first.
    ///
    /// # Errors
    /// As [`PostRepo::published`].
    pub fn featured(&mut self, page: PageRequest) -> Result<Page<Post>> {
        let query = listed().filter(posts::featured.eq(true));
        self.newest_first(query, "posts.featured", &page)
    }

    /// One page of `query` ordered by `(published_at, id)` descending. Every
    /// listed post is published, so `published_at` is set (a CHECK says so).
    fn newest_first(
        &mut self,
        query: PostQuery,
        listing: &'static str,
        page: &PageRequest,
    ) -> Result<Page<Post>> {
        let keyset = Keyset {
            listing,
            sort: posts::published_at.assume_not_null(),
            id: posts::id,
            order: Order::Desc,
        };
        pagination::load_page(
            query,
            keyset,
            page,
            |p: &Post| (p.published_at.unwrap_or(p.created_at), p.id),
            self.conn,
        )
    }
}
