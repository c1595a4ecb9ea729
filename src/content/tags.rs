//! Tags: [`TagRepo`] (`conn.tags()`) and [`PostRepo::set_tags`].
//!
//! `tags.usage_count` is maintained by a trigger on `post_tags`, so it is
//! exact whoever writes the links. Concurrent `set_tags` calls cannot
//! deadlock on it: each locks its post, creates missing tags in slug order,
//! then locks every tag it touches in id order before changing a link.

use std::collections::BTreeMap;

use diesel::prelude::*;
use uuid::Uuid;

use super::model::Tag;
use super::posts::PostRepo;
use crate::error::{Error, Found, Result};
use crate::ids::{PostId, TagId};
use crate::pagination::{self, Keyset, Listing, Order, Page, PageRequest};
use crate::schema::{post_tags, posts, tags};
use crate::slug::slugify;
use crate::tx::run_transaction;
use crate::validate;

/// Most tags one post may carry.
pub const TAGS_PER_POST_MAX: usize = 20;
const NAME_MAX: usize = 50;
const SLUG_MAX: usize = 60;

/// The tag's name, trimmed, and its slug (`"Rust 2024"` is `rust-2024`).
fn name_and_slug<'a>(field: &str, name: &'a str) -> Result<(&'a str, String)> {
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

    /// Creates a tag (tags are usually created by [`PostRepo::set_tags`]).
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
        tags::table
            .find(id)
            .select(Tag::as_select())
            .first(self.conn)
            .found("tag")
    }

    /// The tag with this slug (a tag page's URL).
    ///
    /// # Errors
    /// [`Error::NotFound`]; [`Error::Invalid`] naming `slug` for text that
    /// is not a slug ([`validate::slug`]).
    pub fn get_by_slug(&mut self, slug: &str) -> Result<Tag> {
        let slug = validate::slug("slug", slug, SLUG_MAX)?;
        tags::table
            .filter(tags::slug.eq(slug))
            .select(Tag::as_select())
            .first(self.conn)
            .found("tag")
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
        pagination::load_page(
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

impl PostRepo<'_> {
    /// Makes `names` the post's tags: creates the missing ones (tags are
    /// unique by slug, so `"Rust"` and `"rust"` are one tag), links the new
    /// and unlinks the dropped. One transaction (a savepoint inside the
    /// caller's). Returns the post's tags by name.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming `tags[i].name` for a bad name, or `tags` for
    /// more than [`TAGS_PER_POST_MAX`]; [`Error::NotFound`] for a missing or
    /// deleted post; [`Error::Conflict`] with `tags_name_key` when a name is
    /// taken by a tag with a different slug (only possible for tags written
    /// outside this crate).
    pub fn set_tags(&mut self, post_id: PostId, names: &[&str]) -> Result<Vec<Tag>> {
        // Slug -> name, deduplicated; BTreeMap iterates in slug order.
        let mut wanted = BTreeMap::new();
        for (i, name) in names.iter().enumerate() {
            let (name, slug) = name_and_slug("name", name).map_err(|e| e.in_item("tags", i))?;
            wanted.entry(slug).or_insert(name);
        }
        if wanted.len() > TAGS_PER_POST_MAX {
            return Err(Error::invalid(
                "tags",
                format!("at most {TAGS_PER_POST_MAX} tags per post"),
            ));
        }
        run_transaction(self.conn, |conn| {
            lock_post(conn, post_id)?;
            for (slug, name) in &wanted {
                diesel::insert_into(tags::table)
                    .values((
                        tags::id.eq(Uuid::now_v7()),
                        tags::name.eq(name),
                        tags::slug.eq(slug),
                    ))
                    // No conflict target: a concurrent insert of the same tag
                    // may trip tags_name_key before tags_slug_key, and either
                    // means the tag exists.
                    .on_conflict_do_nothing()
                    .execute(conn)?;
            }
            let slugs: Vec<&String> = wanted.keys().collect();
            let linked = post_tags::table
                .filter(post_tags::post_id.eq(post_id))
                .select(post_tags::tag_id);
            // Every tag whose usage_count may change, locked in one order.
            let touched: Vec<Tag> = tags::table
                .filter(tags::slug.eq_any(&slugs).or(tags::id.eq_any(linked)))
                .order(tags::id)
                .for_no_key_update()
                .select(Tag::as_select())
                .load(conn)?;
            let found = touched
                .iter()
                .filter(|t| wanted.contains_key(&t.slug))
                .count();
            if found < wanted.len() {
                // The name is held by a tag with another slug (written
                // outside this crate), so the insert above did nothing.
                return Err(Error::Conflict {
                    constraint: "tags_name_key".into(),
                });
            }
            let keep: Vec<TagId> = touched
                .iter()
                .filter(|t| wanted.contains_key(&t.slug))
                .map(|t| t.id)
                .collect();
            diesel::delete(
                post_tags::table
                    .filter(post_tags::post_id.eq(post_id))
                    .filter(post_tags::tag_id.ne_all(&keep)),
            )
            .execute(conn)?;
            let links: Vec<_> = keep
                .iter()
                .map(|&tag_id| (post_tags::post_id.eq(post_id), post_tags::tag_id.eq(tag_id)))
                .collect();
            diesel::insert_into(post_tags::table)
                .values(&links)
                .on_conflict_do_nothing()
                .execute(conn)?;
            tags_of(conn, post_id)
        })
    }

    /// The post's tags by name.
    ///
    /// # Errors
    /// Database errors only (an unknown post has no tags).
    pub fn tags_of(&mut self, post_id: PostId) -> Result<Vec<Tag>> {
        tags_of(self.conn, post_id)
    }
}

/// Locks the visible post against concurrent tag changes (`FOR NO KEY
/// UPDATE`: foreign-key checks of other writers still pass).
fn lock_post(conn: &mut PgConnection, post_id: PostId) -> Result<()> {
    posts::table
        .filter(posts::id.eq(post_id))
        .filter(posts::deleted_at.is_null())
        .select(posts::id)
        .for_no_key_update()
        .first::<PostId>(conn)
        .found("post")
        .map(drop)
}

fn tags_of(conn: &mut PgConnection, post_id: PostId) -> Result<Vec<Tag>> {
    Ok(post_tags::table
        .inner_join(tags::table)
        .filter(post_tags::post_id.eq(post_id))
        .order((tags::name, tags::id))
        .select(Tag::as_select())
        .load(conn)?)
}
