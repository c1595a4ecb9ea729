//! The `posts` table: [`Post`], [`NewPost`], [`PostChanges`] and
//! [`PostRepo`]: creating posts with unique slugs, editing, publishing and
//! counting views here; listings and search in the files next to it, tags
//! in `../post_tags.rs`.

mod listings;
mod model;
mod search;
mod statements;

pub(crate) use listings::is_listed;
pub use model::{NewPost, Post, PostChanges};
pub use search::SEARCH_MAX_BYTES;

use diesel::prelude::*;
use diesel::sql_types::{self, Bool, Integer, Nullable, Text};
use uuid::Uuid;

use crate::enums::PostStatus;
use crate::error::{Found, Result};
use crate::ids::PostId;
use crate::prepared::Prepared;
use crate::schema::posts;
use crate::schema::sql_types::PostStatus as PostStatusSql;
use crate::slug::{insert_with_unique_slug, slugify, SlugTable};
use crate::tx::update_versioned;
use crate::validate;
use statements::{IncrementViews, Publish, SetStatus, SoftDelete, UpdatePost};

/// Longest slug derived from a title, leaving room for a `-<n>` suffix
/// within the 200 bytes `posts_slug_format` allows.
const SLUG_BASE_MAX: usize = 180;
/// The longest slug `posts_slug_format` allows.
const SLUG_MAX: usize = 200;

/// Posts repository, from [`crate::Repos::posts`]. Deleted posts are not
/// visible to any call.
pub struct PostRepo<'c> {
    pub(in crate::content) conn: &'c mut PgConnection,
}

/// A post that is not deleted, by id: what every call reads and writes.
#[diesel::dsl::auto_type]
fn live_post(id: PostId) -> _ {
    posts::table.find(id).filter(posts::deleted_at.is_null())
}

impl<'c> PostRepo<'c> {
    pub(crate) fn new(conn: &'c mut PgConnection) -> Self {
        PostRepo { conn }
    }

    /// Runs one of the single-purpose changes in `statements.rs` (fixed
    /// text, prepared once per connection), which returns the changed post.
    /// The `bump_version` trigger moves its version, so a concurrent
    /// optimistic editor notices.
    fn change<'q, Q>(&mut self, statement: Q) -> Result<Post>
    where
        Q: RunQueryDsl<PgConnection> + diesel::query_dsl::LoadQuery<'q, PgConnection, Post>,
    {
        statement.get_result(self.conn).found("post")
    }

    /// Creates a draft. Its slug comes from the title (`"Hello, World!"` is
    /// `hello-world`); when that is taken the post gets the next free
    /// numeric suffix (`hello-world-2`). Race-safe: each candidate is
    /// inserted with `ON CONFLICT (slug) DO NOTHING`, so two writers with
    /// the same title both succeed with distinct slugs, and a failed attempt
    /// does not abort the caller's transaction.
    ///
    /// # Errors
    /// [`Error::Invalid`](crate::Error::Invalid) for bad input; [`Error::ForeignKey`](crate::Error::ForeignKey) with
    /// `posts_author_id_fkey` or `posts_category_id_fkey` for an unknown
    /// author or category.
    pub fn create(&mut self, post: &NewPost<'_>) -> Result<Post> {
        post.validate()?;
        let base = slugify(&post.title, SLUG_BASE_MAX, "post");
        insert_with_unique_slug(self.conn, SlugTable::Posts, &base, |conn, slug| {
            Ok(diesel::insert_into(posts::table)
                .values((posts::id.eq(Uuid::now_v7()), posts::slug.eq(slug), post))
                .on_conflict(posts::slug)
                .do_nothing()
                .returning(Post::as_returning())
                .get_result(conn)
                .optional()?)
        })
    }

    /// The post, in any state.
    ///
    /// # Errors
    /// [`Error::NotFound`](crate::Error::NotFound) if it does not exist or is deleted.
    pub fn get(&mut self, id: PostId) -> Result<Post> {
        live_post(id)
            .select(Post::as_select())
            .first(self.conn)
            .found("post")
    }

    /// The post with this slug, in any state.
    ///
    /// # Errors
    /// [`Error::NotFound`](crate::Error::NotFound) if there is none or it is deleted;
    /// [`Error::Invalid`](crate::Error::Invalid) naming `slug` for text that is not a slug
    /// ([`validate::slug`]).
    pub fn get_by_slug(&mut self, slug: &str) -> Result<Post> {
        let slug = validate::slug("slug", slug, SLUG_MAX)?;
        posts::table
            .filter(posts::slug.eq(slug))
            .filter(posts::deleted_at.is_null())
            .select(Post::as_select())
            .first(self.conn)
            .found("post")
    }

    /// Applies `changes` if the post is still at `expected_version`. The
    /// slug stays as it was, so links keep working after a title change.
    ///
    /// # Errors
    /// [`Error::Stale`](crate::Error::Stale) if someone else changed it first, [`Error::NotFound`](crate::Error::NotFound),
    /// [`Error::Invalid`](crate::Error::Invalid), [`Error::ForeignKey`](crate::Error::ForeignKey) for an unknown category.
    pub fn update(
        &mut self,
        id: PostId,
        expected_version: i32,
        changes: &PostChanges<'_>,
    ) -> Result<Post> {
        changes.validate()?;
        update_versioned(
            self.conn,
            Prepared::<UpdatePost>::new()
                .bind::<Nullable<Text>, _>(&changes.title)
                .bind::<Nullable<Text>, _>(&changes.content)
                .bind::<Bool, _>(changes.excerpt.is_some())
                .bind::<Nullable<Text>, _>(changes.excerpt.as_ref().and_then(Option::as_ref))
                .bind::<Bool, _>(changes.category_id.is_some())
                .bind::<Nullable<sql_types::Uuid>, _>(changes.category_id.flatten())
                .bind::<Nullable<Bool>, _>(changes.featured)
                .bind::<sql_types::Uuid, _>(id)
                .bind::<Integer, _>(expected_version)
                .bind::<sql_types::Uuid, _>(id),
            ("post", id, expected_version),
            live_post(id).select(posts::version),
        )
    }

    /// Publishes the post (from draft or archived). `published_at` is set
    /// the first time and kept on later republishing.
    ///
    /// # Errors
    /// [`Error::NotFound`](crate::Error::NotFound).
    pub fn publish(&mut self, id: PostId) -> Result<Post> {
        self.change(Prepared::<Publish>::new().bind::<sql_types::Uuid, _>(id))
    }

    /// Takes the post back to draft; it leaves every listing.
    ///
    /// # Errors
    /// [`Error::NotFound`](crate::Error::NotFound).
    pub fn unpublish(&mut self, id: PostId) -> Result<Post> {
        self.set_status(id, PostStatus::Draft)
    }

    /// Archives the post; it leaves every listing but stays readable by id
    /// and slug.
    ///
    /// # Errors
    /// [`Error::NotFound`](crate::Error::NotFound).
    pub fn archive(&mut self, id: PostId) -> Result<Post> {
        self.set_status(id, PostStatus::Archived)
    }

    /// Marks the post deleted: invisible to every call from then on. Its
    /// slug stays taken, so an old link never points at a different post.
    ///
    /// # Errors
    /// [`Error::NotFound`](crate::Error::NotFound) (also for a post deleted before).
    pub fn soft_delete(&mut self, id: PostId) -> Result<Post> {
        self.change(Prepared::<SoftDelete>::new().bind::<sql_types::Uuid, _>(id))
    }

    /// Counts one view: a single `UPDATE .. SET view_count = view_count + 1`,
    /// so concurrent readers never lose a count. Neither the version nor
    /// `updated_at` changes (a view is not an edit). Returns the new count.
    ///
    /// # Errors
    /// [`Error::NotFound`](crate::Error::NotFound).
    pub fn increment_views(&mut self, id: PostId) -> Result<i64> {
        let views: ViewCount = Prepared::<IncrementViews>::new()
            .bind::<sql_types::Uuid, _>(id)
            .get_result(self.conn)
            .found("post")?;
        Ok(views.view_count)
    }

    fn set_status(&mut self, id: PostId, status: PostStatus) -> Result<Post> {
        self.change(
            Prepared::<SetStatus>::new()
                .bind::<PostStatusSql, _>(status)
                .bind::<sql_types::Uuid, _>(id),
        )
    }
}

/// The row [`IncrementViews`] returns.
#[derive(QueryableByName)]
struct ViewCount {
    #[diesel(sql_type = sql_types::BigInt)]
    view_count: i64,
}
