//! Loading what a listing shows next to each post without N+1 queries:
//! [`PostRepo::with_details`] adds authors, categories and tags to a page in
//! three queries, whatever its size.

use std::collections::HashMap;

use diesel::prelude::*;

use super::model::{Author, Category, Post, PostDetails, PostTag, Tag};
use super::posts::PostRepo;
use crate::error::Result;
use crate::ids::{CategoryId, UserId};
use crate::pagination::Page;
use crate::schema::{categories, tags, users};

impl PostRepo<'_> {
    /// The page's posts with their author, category and tags: three queries
    /// (authors by id, categories by id, tags through `belonging_to` and
    /// `grouped_by`), none for an empty page, never one per post.
    ///
    /// # Errors
    /// Database errors only.
    pub fn with_details(&mut self, page: Page<Post>) -> Result<Page<PostDetails>> {
        page.try_map_items(|posts| self.details(posts))
    }

    /// [`PostRepo::with_details`] for any list of posts, in the same order.
    /// A post whose author was deleted between the queries is left out.
    ///
    /// # Errors
    /// Database errors only.
    pub fn details(&mut self, posts: Vec<Post>) -> Result<Vec<PostDetails>> {
        if posts.is_empty() {
            return Ok(Vec::new());
        }
        let author_ids: Vec<UserId> = posts.iter().map(|p| p.author_id).collect();
        let authors: HashMap<UserId, Author> = users::table
            .filter(users::id.eq_any(&author_ids))
            .select(Author::as_select())
            .load::<Author>(self.conn)?
            .into_iter()
            .map(|a| (a.id, a))
            .collect();
        let category_ids: Vec<CategoryId> = posts.iter().filter_map(|p| p.category_id).collect();
        let categories: HashMap<CategoryId, Category> = categories::table
            .filter(categories::id.eq_any(&category_ids))
            .select(Category::as_select())
            .load::<Category>(self.conn)?
            .into_iter()
            .map(|c| (c.id, c))
            .collect();
        let tagged: Vec<(PostTag, Tag)> = PostTag::belonging_to(&posts)
            .inner_join(tags::table)
            .order((tags::name, tags::id))
            .select((PostTag::as_select(), Tag::as_select()))
            .load(self.conn)?;
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
