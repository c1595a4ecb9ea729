//! The `tags` table: [`Tag`] and [`TagRepo`] (`conn.tags()`). Posts get
//! their tags with [`PostRepo::set_tags`](super::PostRepo::set_tags)
//! (`post_tags.rs`); `usage_count` is kept by a trigger on `post_tags`.

use diesel::prelude::*;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::ids::TagId;
use crate::pagination::{self, Keyset, Listing, Order, Page, PageRequest};
use crate::schema::tags;
use crate::slug::slugify;
use crate::validate;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Most tags one post may carry.
pub const TAGS_PER_POST_MAX: usize = 20;
const NAME_MAX: usize = 50;
const SLUG_MAX: usize = 60;

/// The tag's name, trimmed, and its slug (`"Rust 2024"` is `rust-2024`).
pub(super) fn name_and_slug<'a>(field: &str, name: &'a str) -> Result<(&'a str, String)> {
    let name = validate::text(field, name.trim(), 1, NAME_MAX)?;
    let slug = slugify(name, SLUG_MAX, "");
    if slug.is_empty() {
        return Err(Error::invalid(field, "needs at least one letter or digit"));
    }
    Ok((name, slug))
}

/// Tags repository, from [`crate::Repos::tags`].
pub struct TagRepo<'c> {
    conn: &'c mut PgConnection,
}

impl<'c> TagRepo<'c> {
    pub(crate) fn new(conn: &'c mut PgConnection) -> Self {
        TagRepo { conn }
    }

    /// Creates a tag (tags are usually created by [`PostRepo::set_tags`](super::PostRepo::set_tags)).
    ///
    /// # Errors
    /// [`Error::Invalid`] for a bad name; [`Error::Conflict`] with
    /// `tags_name_key` for a taken name, `tags_slug_key` for another name
    /// with the same slug (`"rust"` after `"Rust"`).
    pub fn create(&mut self, name: &str) -> Result<Tag> {
        let (name, slug) = name_and_slug("name", name)?;
        Ok(diesel::insert_into(tags::table)
            .values((
                tags::id.eq(Uuid::now_v7()),
                tags::name.eq(name),
                tags::slug.eq(slug),
            ))
            .returning(Tag::as_returning())
            .get_result(self.conn)?)
    }

    /// The tag.
    ///
    /// # Errors
    /// [`Error::NotFound`].
    pub fn get(&mut self, id: TagId) -> Result<Tag> {
        crate::sql::one(self.conn, tags::table.find(id), "tag")
    }

    /// The tag with this slug (a tag page's URL).
    ///
    /// # Errors
    /// [`Error::NotFound`]; [`Error::Invalid`] naming `slug` for text that
    /// is not a slug ([`validate::slug`]).
    pub fn get_by_slug(&mut self, slug: &str) -> Result<Tag> {
        let slug = validate::slug("slug", slug, SLUG_MAX)?;
        crate::sql::one(self.conn, tags::table.filter(tags::slug.eq(slug)), "tag")
    }

    /// All tags in slug order, a page at a time.
    ///
    /// # Errors
    /// [`Error::InvalidCursor`], [`Error::Invalid`] for a bad limit.
    pub fn list(&mut self, page: PageRequest) -> Result<Page<Tag>> {
        let keyset = Keyset {
            listing: Listing::named("tags.slug"),
            sort: tags::slug,
            id: tags::id,
            order: Order::Asc,
        };
        let query = tags::table.select(Tag::as_select()).into_boxed();
        pagination::paginate(
            query,
            keyset,
            &page,
            |t: &Tag| (t.slug.clone(), t.id),
            self.conn,
        )
    }

    /// The `limit` most used tags, most used first (tags used by no post
    /// are left out).
    ///
    /// # Errors
    /// [`Error::Invalid`] for a limit outside 1..=1000.
    pub fn popular(&mut self, limit: u32) -> Result<Vec<Tag>> {
        pagination::check_row_limit(i64::from(limit))?;
        Ok(tags::table
            .filter(tags::usage_count.gt(0))
            .order((tags::usage_count.desc(), tags::id))
            .limit(i64::from(limit))
            .select(Tag::as_select())
            .load(self.conn)?)
    }
}

/// A tag.
#[derive(
    Debug, Clone, PartialEq, Eq, Queryable, Selectable, Identifiable, Serialize, Deserialize,
)]
#[diesel(table_name = tags, check_for_backend(diesel::pg::Pg))]
pub struct Tag {
    /// Id.
    pub id: TagId,
    /// Display name.
    pub name: String,
    /// Unique slug (tags are unique by slug: "Rust" and "rust" are one tag).
    pub slug: String,
    /// Posts carrying it, kept exact by a trigger on `post_tags`.
    pub usage_count: i32,
    /// Created at.
    pub created_at: DateTime<Utc>,
}
