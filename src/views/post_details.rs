//! [`PostDetails`]: what a listing shows next to each post (author,
//! category, tags), loaded without N+1 queries: three queries for a page,
//! whatever its size. It joins users and content, so it is a view.

use std::collections::HashMap;

use diesel::prelude::*;

use crate::content::{Category, Post, PostTag, Tag};
use crate::error::Result;
use crate::ids::{CategoryId, UserId};
use crate::pagination::Page;
use crate::schema::{categories, tags, users};
use serde::{Deserialize, Serialize};

/// The author as shown next to a post.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

impl PostDetails {
    /// The page's posts with their author, category and tags: three queries
    /// (authors by id, categories by id, tags through `belonging_to` and
    /// `grouped_by`), none for an empty page, never one per post.
    ///
    /// # Errors
    /// Database errors only.
    pub fn load_page(conn: &mut PgConnection, page: Page<Post>) -> Result<Page<PostDetails>> {
        page.try_map_items(|posts| Self::load(conn, posts))
    }

    /// [`PostDetails::load_page`] for any list of posts, in the same order.
    /// A post whose author was deleted between the queries is left out.
    ///
    /// # Errors
    /// Database errors only.
    pub fn load(conn: &mut PgConnection, posts: Vec<Post>) -> Result<Vec<PostDetails>> {
        if posts.is_empty() {
            return Ok(Vec::new());
        }
        let author_ids: Vec<UserId> = posts.iter().map(|p| p.author_id).collect();
        let authors: HashMap<UserId, Author> = users::table
            .filter(users::id.eq_any(&author_ids))
            .select(Author::as_select())
            .load::<Author>(conn)?
            .into_iter()
            .map(|a| (a.id, a))
            .collect();
        let category_ids: Vec<CategoryId> = posts.iter().filter_map(|p| p.category_id).collect();
        let categories: HashMap<CategoryId, Category> = categories::table
            .filter(categories::id.eq_any(&category_ids))
            .select(Category::as_select())
            .load::<Category>(conn)?
            .into_iter()
            .map(|c| (c.id, c))
            .collect();
        let tagged: Vec<(PostTag, Tag)> = PostTag::belonging_to(&posts)
            .inner_join(tags::table)
            .order((tags::name, tags::id))
            .select((PostTag::as_select(), Tag::as_select()))
            .load(conn)?;
        let tags_per_post = tagged.grouped_by(&posts);
        Ok(posts
            .into_iter()
            .zip(tags_per_post)
            .filter_map(|(post, tags)| {
                let author = authors.get(&post.author_id).cloned()?;
                Some(PostDetails {
                    category: post.category_id.and_then(|c| categories.get(&c).cloned()),
                    tags: tags.into_iter().map(|(_, tag)| tag).collect(),
                    author,
                    post,
                })
            })
            .collect())
    }
}
