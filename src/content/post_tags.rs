//! `post_tags`: the links between posts and tags, written by
//! [`PostRepo::set_tags`] and read by [`PostRepo::tags`].
//!
//! `tags.usage_count` is maintained by a trigger on `post_tags`, so it is
//! exact whoever writes the links. Concurrent `set_tags` calls cannot
//! deadlock on it: each locks its post, creates missing tags in slug order,
//! then locks every tag it touches in id order before changing a link.

use std::collections::BTreeMap;

use diesel::prelude::*;
use uuid::Uuid;

use super::tags::{name_and_slug, Tag, TAGS_PER_POST_MAX};
use super::{Post, PostRepo};
use crate::error::{Error, Found, Result};
use crate::ids::{PostId, TagId};
use crate::schema::{post_tags, posts, tags};
use crate::tx::run_transaction;

/// A post-tag link.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Identifiable, Associations)]
#[diesel(table_name = post_tags, primary_key(post_id, tag_id), belongs_to(Post), belongs_to(Tag))]
pub(crate) struct PostTag {
    pub post_id: PostId,
    pub tag_id: TagId,
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
            // One multi-row INSERT, rows in slug order (as the locks below).
            let rows: Vec<_> = wanted
                .iter()
                .map(|(slug, name)| {
                    (
                        tags::id.eq(Uuid::now_v7()),
                        tags::name.eq(name),
                        tags::slug.eq(slug),
                    )
                })
                .collect();
            if !rows.is_empty() {
                diesel::insert_into(tags::table)
                    .values(&rows)
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
