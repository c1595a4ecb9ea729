//! Listing pages: the published listing (20 posts) at the start, middle and
//! end of the table, keyset three ways and OFFSET for the same page; and a
//! page of 20 posts with authors, categories and tags.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use criterion::{BenchmarkId, Criterion};
use diesel::prelude::*;
use saas_db::content::{Category, Post, PostRepo, Tag};
use saas_db::enums::PostStatus;
use saas_db::ids::{CategoryId, PostId, UserId};
use saas_db::schema::{categories, post_tags, posts, tags, users};
use saas_db::views::{Author, PostDetails};
use saas_db::{PageRequest, Repos};
use uuid::Uuid;

use crate::fixture::Fixture;
use crate::raw::{self, post_columns};

const PAGE: i64 = 20;

pub fn all(c: &mut Criterion, f: &Fixture) {
    published_pages(c, f);
    page_with_details(c, f);
}

fn published_pages(c: &mut Criterion, f: &Fixture) {
    let mut pooled = f.db.conn().unwrap();
    let mut bare = PgConnection::establish(&f.url).unwrap();
    let mut client = raw::connect(&f.url);
    let keyset = client
        .prepare(concat!(
            "SELECT ",
            post_columns!(),
            " FROM posts p
              WHERE p.status = 'published' AND p.deleted_at IS NULL
                AND (p.published_at, p.id) < ($1, $2)
              ORDER BY p.published_at DESC, p.id DESC LIMIT 21"
        ))
        .unwrap();
    for (depth, at) in &f.depths {
        let mut g = c.benchmark_group(format!("published_page_{depth}"));
        let id = f.size.label;
        let cursor = PostRepo::published_cursor(at).unwrap();
        let (key, after_id): (DateTime<Utc>, Uuid) = (at.published_at.unwrap(), at.id.into());
        // The same page by position: the rows after `at`.
        let offset = posts::table
            .filter(posts::status.eq(PostStatus::Published))
            .filter(posts::deleted_at.is_null())
            .filter(
                posts::published_at
                    .gt(key)
                    .or(posts::published_at.eq(key).and(posts::id.ge(after_id))),
            )
            .count()
            .get_result::<i64>(&mut bare)
            .unwrap();
        g.bench_function(BenchmarkId::new("saas_db", id), |b| {
            b.iter(|| {
                let page = pooled
                    .posts()
                    .published(PageRequest::after(cursor.clone(), PAGE as u32))
                    .unwrap();
                assert!(!page.items.is_empty());
                page
            })
        });
        g.bench_function(BenchmarkId::new("diesel", id), |b| {
            b.iter(|| {
                posts::table
                    .filter(posts::status.eq(PostStatus::Published))
                    .filter(posts::deleted_at.is_null())
                    .filter(
                        posts::published_at
                            .le(key)
                            .and(posts::published_at.lt(key).or(posts::id.lt(after_id))),
                    )
                    .order((posts::published_at.desc(), posts::id.desc()))
                    .limit(PAGE + 1)
                    .select(Post::as_select())
                    .load::<Post>(&mut bare)
                    .unwrap()
            })
        });
        g.bench_function(BenchmarkId::new("postgres", id), |b| {
            b.iter(|| {
                client
                    .query(&keyset, &[&key, &after_id])
                    .unwrap()
                    .iter()
                    .map(raw::post)
                    .collect::<Vec<_>>()
            })
        });
        g.bench_function(BenchmarkId::new("offset", id), |b| {
            b.iter(|| {
                let page = posts::table
                    .filter(posts::status.eq(PostStatus::Published))
                    .filter(posts::deleted_at.is_null())
                    .order((posts::published_at.desc(), posts::id.desc()))
                    .offset(offset)
                    .limit(PAGE + 1)
                    .select(Post::as_select())
                    .load::<Post>(&mut bare)
                    .unwrap();
                assert!(!page.is_empty());
                page
            })
        });
        g.finish();
    }
}

/// What a listing shows per post, by hand.
#[allow(dead_code)]
struct Shown {
    post: Post,
    author: Author,
    category: Option<Category>,
    tags: Vec<Tag>,
}

fn page_with_details(c: &mut Criterion, f: &Fixture) {
    let mut pooled = f.db.conn().unwrap();
    let mut bare = PgConnection::establish(&f.url).unwrap();
    let mut client = raw::connect(&f.url);
    let size = f.size.label;
    let mut g = c.benchmark_group("page_with_details");
    g.bench_function(BenchmarkId::new("saas_db", size), |b| {
        b.iter(|| {
            let page = pooled
                .posts()
                .published(PageRequest::first(PAGE as u32))
                .unwrap();
            PostDetails::load_page(&mut pooled, page).unwrap()
        })
    });
    g.bench_function(BenchmarkId::new("diesel", size), |b| {
        b.iter(|| {
            let page: Vec<Post> = posts::table
                .filter(posts::status.eq(PostStatus::Published))
                .filter(posts::deleted_at.is_null())
                .order((posts::published_at.desc(), posts::id.desc()))
                .limit(PAGE + 1)
                .select(Post::as_select())
                .load(&mut bare)
                .unwrap();
            let ids: Vec<PostId> = page.iter().map(|p| p.id).collect();
            let author_ids: Vec<UserId> = page.iter().map(|p| p.author_id).collect();
            let category_ids: Vec<CategoryId> = page.iter().filter_map(|p| p.category_id).collect();
            let authors: HashMap<UserId, Author> = users::table
                .filter(users::id.eq_any(&author_ids))
                .select(Author::as_select())
                .load::<Author>(&mut bare)
                .unwrap()
                .into_iter()
                .map(|a| (a.id, a))
                .collect();
            let cats: HashMap<CategoryId, Category> = categories::table
                .filter(categories::id.eq_any(&category_ids))
                .select(Category::as_select())
                .load::<Category>(&mut bare)
                .unwrap()
                .into_iter()
                .map(|c| (c.id, c))
                .collect();
            let mut tagged: HashMap<PostId, Vec<Tag>> = HashMap::new();
            for (post_id, tag) in post_tags::table
                .inner_join(tags::table)
                .filter(post_tags::post_id.eq_any(&ids))
                .order((tags::name, tags::id))
                .select((post_tags::post_id, Tag::as_select()))
                .load::<(PostId, Tag)>(&mut bare)
                .unwrap()
            {
                tagged.entry(post_id).or_default().push(tag);
            }
            page.into_iter()
                .take(PAGE as usize)
                .map(|post| Shown {
                    author: authors[&post.author_id].clone(),
                    category: post.category_id.and_then(|c| cats.get(&c).cloned()),
                    tags: tagged.remove(&post.id).unwrap_or_default(),
                    post,
                })
                .collect::<Vec<_>>()
        })
    });
    let page = client
        .prepare(concat!(
            "SELECT ",
            post_columns!(),
            " FROM posts p WHERE p.status = 'published' AND p.deleted_at IS NULL
              ORDER BY p.published_at DESC, p.id DESC LIMIT 21"
        ))
        .unwrap();
    let authors = client
        .prepare("SELECT id, name, username, avatar_url FROM users WHERE id = ANY($1)")
        .unwrap();
    let cats = client
        .prepare("SELECT id, name, slug FROM categories WHERE id = ANY($1)")
        .unwrap();
    let tag_rows = client
        .prepare(
            "SELECT pt.post_id, t.id, t.name, t.slug, t.usage_count FROM post_tags pt
               JOIN tags t ON t.id = pt.tag_id WHERE pt.post_id = ANY($1) ORDER BY t.name, t.id",
        )
        .unwrap();
    g.bench_function(BenchmarkId::new("postgres", size), |b| {
        b.iter(|| {
            let posts: Vec<raw::RawPost> = client
                .query(&page, &[])
                .unwrap()
                .iter()
                .map(raw::post)
                .collect();
            let ids: Vec<Uuid> = posts.iter().map(|p| p.id).collect();
            let author_ids: Vec<Uuid> = posts.iter().map(|p| p.author_id).collect();
            let by_author: HashMap<Uuid, (String, Option<String>)> = client
                .query(&authors, &[&author_ids])
                .unwrap()
                .iter()
                .map(|r| (r.get(0), (r.get(1), r.get(2))))
                .collect();
            let no_categories: Vec<Uuid> = Vec::new();
            let _ = client.query(&cats, &[&no_categories]).unwrap();
            let mut tagged: HashMap<Uuid, Vec<(Uuid, String)>> = HashMap::new();
            for r in client.query(&tag_rows, &[&ids]).unwrap() {
                tagged
                    .entry(r.get(0))
                    .or_default()
                    .push((r.get(1), r.get(2)));
            }
            posts
                .into_iter()
                .map(|p| {
                    let author = by_author[&p.author_id].clone();
                    let tags = tagged.remove(&p.id).unwrap_or_default();
                    (p, author, tags)
                })
                .collect::<Vec<_>>()
        })
    });
    g.finish();
}
