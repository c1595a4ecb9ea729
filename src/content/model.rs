//! Rows and inputs of the content domain.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

use crate::enums::PostStatus;
use crate::error::Result;
use crate::ids::{CategoryId, PostId, TagId, UserId};
use crate::schema::{categories, post_tags, posts, tags};
use crate::users::User;
use crate::validate;

/// A post. The full-text `search` vector is maintained by PostgreSQL and
/// not loaded.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Identifiable, Associations, Serialize)]
#[diesel(table_name = posts, belongs_to(User, foreign_key = author_id), check_for_backend(diesel::pg::Pg))]
pub struct Post {
    /// UUIDv7 id.
    pub id: PostId,
    /// Author.
    pub author_id: UserId,
    /// Category, if any.
    pub category_id: Option<CategoryId>,
    /// Title.
    pub title: String,
    /// Unique URL slug, derived from the first title and kept stable.
    pub slug: String,
    /// Teaser.
    pub excerpt: Option<String>,
    /// Body.
    pub content: String,
    /// Draft, published or archived.
    pub status: PostStatus,
    /// Shown in the featured listing.
    pub featured: bool,
    /// Views, counted atomically.
    pub view_count: i64,
    /// First publication time (kept when unpublished and republished).
    pub published_at: Option<DateTime<Utc>>,
    /// Soft-delete mark.
    pub deleted_at: Option<DateTime<Utc>>,
    /// Optimistic-lock version.
    pub version: i32,
    /// Created at.
    pub created_at: DateTime<Utc>,
    /// Last edit (views do not count).
    pub updated_at: DateTime<Utc>,
}

/// Input for [`PostRepo::create`](super::PostRepo::create); the slug is
/// derived from the title. A new post is a draft.
#[derive(Debug, Clone, Default, PartialEq, Eq, Insertable)]
#[diesel(table_name = posts)]
pub struct NewPost<'a> {
    /// Author.
    pub author_id: UserId,
    /// Title, 1 to 300 characters.
    pub title: &'a str,
    /// Body, up to 1,000,000 characters.
    pub content: &'a str,
    /// Teaser, up to 1,000 characters.
    pub excerpt: Option<&'a str>,
    /// Category.
    pub category_id: Option<CategoryId>,
    /// Featured flag.
    pub featured: bool,
}

impl NewPost<'_> {
    pub(crate) fn validate(&self) -> Result<()> {
        validate::text("title", self.title, 1, 300)?;
        validate::text("content", self.content, 0, 1_000_000)?;
        validate::opt_text("excerpt", self.excerpt, 0, 1000)?;
        Ok(())
    }
}

/// Changes for [`PostRepo::update`](super::PostRepo::update); `None` keeps a column, `Some(None)`
/// clears a nullable one. The slug never changes (links stay valid).
#[derive(Debug, Clone, Default, PartialEq, Eq, AsChangeset)]
#[diesel(table_name = posts)]
pub struct PostChanges<'a> {
    /// New title.
    pub title: Option<&'a str>,
    /// New body.
    pub content: Option<&'a str>,
    /// New teaser.
    pub excerpt: Option<Option<&'a str>>,
    /// New category.
    pub category_id: Option<Option<CategoryId>>,
    /// Featured or not.
    pub featured: Option<bool>,
}

impl PostChanges<'_> {
    pub(crate) fn validate(&self) -> Result<()> {
        validate::opt_text("title", self.title, 1, 300)?;
        validate::opt_text("content", self.content, 0, 1_000_000)?;
        validate::opt_text("excerpt", self.excerpt.flatten(), 0, 1000)?;
        Ok(())
    }
}

/// A category.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Identifiable, Serialize)]
#[diesel(table_name = categories, check_for_backend(diesel::pg::Pg))]
pub struct Category {
    /// Id.
    pub id: CategoryId,
    /// Unique name.
    pub name: String,
    /// Unique slug.
    pub slug: String,
    /// Description.
    pub description: Option<String>,
    /// Position in menus.
    pub sort_order: i32,
    /// Created at.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// A tag.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Identifiable, Serialize)]
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

/// A post-tag link.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Identifiable, Associations)]
#[diesel(table_name = post_tags, primary_key(post_id, tag_id), belongs_to(Post), belongs_to(Tag))]
pub(crate) struct PostTag {
    pub post_id: PostId,
    pub tag_id: TagId,
}

/// The author as shown next to a post.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Serialize)]
#[diesel(table_name = crate::schema::users, check_for_backend(diesel::pg::Pg))]
pub struct Author {
    /// User id.
    pub id: UserId,
    /// Name.
    pub name: String,
    /// Username.
    pub username: Option<String>,
    /// Avatar.
    pub avatar_url: Option<String>,
}

/// A post with everything a listing shows, loaded without N+1 queries.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PostDetails {
    /// The post.
    pub post: Post,
    /// Its author.
    pub author: Author,
    /// Its category.
    pub category: Option<Category>,
    /// Its tags, by name.
    pub tags: Vec<Tag>,
}
