//! Categories: [`CategoryRepo`], from `conn.categories()`. A site has a few
//! of them, so they are listed whole, in menu order.

use std::borrow::Cow;

use diesel::prelude::*;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::ids::CategoryId;
use crate::schema::categories;
use crate::slug::slugify;
use crate::validate;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The longest slug `categories_slug_format` allows.
const SLUG_MAX: usize = 100;

/// Input for [`CategoryRepo::create`]; the slug is derived from the name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct NewCategory<'a> {
    /// Unique name, 1 to 100 characters.
    pub name: Cow<'a, str>,
    /// Description, up to 2,000 characters.
    #[serde(default)]
    pub description: Option<Cow<'a, str>>,
    /// Position in menus (lower first).
    #[serde(default)]
    pub sort_order: i32,
}

/// Categories repository.
pub struct CategoryRepo<'c> {
    conn: &'c mut PgConnection,
}

impl<'c> CategoryRepo<'c> {
    pub(crate) fn new(conn: &'c mut PgConnection) -> Self {
        CategoryRepo { conn }
    }

    /// Creates a category.
    ///
    /// # Errors
    /// [`Error::Invalid`] for bad input (also a name without letters or
    /// digits, which has no slug); [`Error::Conflict`] with
    /// `categories_name_key` or `categories_slug_key` when taken.
    pub fn create(&mut self, category: &NewCategory<'_>) -> Result<Category> {
        let name = validate::text("name", category.name.trim(), 1, 100)?;
        let description = category.description.as_deref();
        validate::opt_text("description", description, 0, 2000)?;
        let slug = slugify(name, SLUG_MAX, "");
        if slug.is_empty() {
            return Err(Error::invalid("name", "needs at least one letter or digit"));
        }
        Ok(diesel::insert_into(categories::table)
            .values((
                categories::id.eq(Uuid::now_v7()),
                categories::name.eq(name),
                categories::slug.eq(slug),
                categories::description.eq(description),
                categories::sort_order.eq(category.sort_order),
            ))
            .returning(Category::as_returning())
            .get_result(self.conn)?)
    }

    /// The category.
    ///
    /// # Errors
    /// [`Error::NotFound`].
    pub fn get(&mut self, id: CategoryId) -> Result<Category> {
        crate::sql::one(self.conn, categories::table.find(id), "category")
    }

    /// The category with this slug.
    ///
    /// # Errors
    /// [`Error::NotFound`]; [`Error::Invalid`] naming `slug` for text that
    /// is not a slug ([`validate::slug`]).
    pub fn get_by_slug(&mut self, slug: &str) -> Result<Category> {
        let slug = validate::slug("slug", slug, SLUG_MAX)?;
        crate::sql::one(
            self.conn,
            categories::table.filter(categories::slug.eq(slug)),
            "category",
        )
    }

    /// Every category in menu order (`sort_order`, then name).
    ///
    /// # Errors
    /// Database errors only.
    pub fn list(&mut self) -> Result<Vec<Category>> {
        Ok(categories::table
            .order((categories::sort_order, categories::name, categories::id))
            .select(Category::as_select())
            .load(self.conn)?)
    }

    /// Deletes the category; its posts become uncategorised (`ON DELETE SET
    /// NULL`).
    ///
    /// # Errors
    /// [`Error::NotFound`].
    pub fn delete(&mut self, id: CategoryId) -> Result<()> {
        let n = diesel::delete(categories::table.find(id)).execute(self.conn)?;
        if n == 0 {
            return Err(Error::NotFound { entity: "category" });
        }
        Ok(())
    }
}

/// A category.
#[derive(
    Debug, Clone, PartialEq, Eq, Queryable, Selectable, Identifiable, Serialize, Deserialize,
)]
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
