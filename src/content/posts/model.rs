//! The `posts` table's rows and inputs.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

use crate::enums::PostStatus;
use crate::error::Result;
use crate::ids::{CategoryId, PostId, UserId};
use crate::schema::posts;
use crate::users::User;
use crate::validate;

/// A post. The full-text `search` vector is maintained by PostgreSQL and
/// not loaded.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Queryable,
    QueryableByName,
    Selectable,
    Identifiable,
    Associations,
    Serialize,
    Deserialize,
)]
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
///
/// It deserializes from a JSON body (`title` required, the rest optional);
/// `author_id` is never read from input: set it from the signed-in user
/// (`NewPost { author_id: user.id, ..body }`). Left unset it is
/// [`Error::Invalid`](crate::Error::Invalid) naming `author_id`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Insertable, Deserialize)]
#[diesel(table_name = posts)]
pub struct NewPost<'a> {
    /// Author (not deserialized).
    #[serde(skip_deserializing)]
    pub author_id: UserId,
    /// Title, 1 to 300 characters.
    pub title: Cow<'a, str>,
    /// Body, up to 1,000,000 characters.
    #[serde(default)]
    pub content: Cow<'a, str>,
    /// Teaser, up to 1,000 characters.
    #[serde(default)]
    pub excerpt: Option<Cow<'a, str>>,
    /// Category.
    pub category_id: Option<CategoryId>,
    /// Featured flag.
    #[serde(default)]
    pub featured: bool,
}

impl NewPost<'_> {
    pub(crate) fn validate(&self) -> Result<()> {
        validate::id_set("author_id", self.author_id)?;
        validate::text("title", &self.title, 1, 300)?;
        validate::text("content", &self.content, 0, 1_000_000)?;
        validate::opt_text("excerpt", self.excerpt.as_deref(), 0, 1000)?;
        Ok(())
    }
}

/// Changes for [`PostRepo::update`](super::PostRepo::update); `None` keeps a column, `Some(None)`
/// clears a nullable one. The slug never changes (links stay valid).
/// Deserialized, a missing field is `None` and an explicit `null` is
/// `Some(None)`.
#[derive(Debug, Clone, Default, PartialEq, Eq, AsChangeset, Deserialize)]
#[diesel(table_name = posts)]
pub struct PostChanges<'a> {
    /// New title.
    #[serde(default)]
    pub title: Option<Cow<'a, str>>,
    /// New body.
    #[serde(default)]
    pub content: Option<Cow<'a, str>>,
    /// New teaser.
    #[serde(default, deserialize_with = "crate::serde_support::double_option")]
    pub excerpt: Option<Option<Cow<'a, str>>>,
    /// New category.
    #[serde(default, deserialize_with = "crate::serde_support::double_option")]
    pub category_id: Option<Option<CategoryId>>,
    /// Featured or not.
    pub featured: Option<bool>,
}

impl PostChanges<'_> {
    pub(crate) fn validate(&self) -> Result<()> {
        validate::opt_text("title", self.title.as_deref(), 1, 300)?;
        validate::opt_text("content", self.content.as_deref(), 0, 1_000_000)?;
        validate::opt_text("excerpt", validate::new_text(&self.excerpt), 0, 1000)?;
        Ok(())
    }
}
