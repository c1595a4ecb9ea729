//! A small blog: posts with derived slugs (and a colliding title), publishing,
//! tags that are one tag whatever their case, view counts, newest-first
//! listings page by page, web-style search that accepts any input, a tag
//! page, popular tags, an author's overview, the listings by author, by
//! category and featured (and a cursor refused by another author's
//! listing), and a post taken through unpublish, publish, archive and soft
//! delete. Not shown: `categories().delete`, `tags().create` / `list`,
//! `PostDetails::load` and `published_cursor`, `prev_cursor` paging.
//!
//! ```sh
//! cargo run --example blog     # throwaway PostgreSQL unless DATABASE_URL is set
//! ```

use diesel::PgConnection;
use saas_db::billing::{NewPlan, NewSubscription};
use saas_db::content::{NewCategory, NewPost, PostChanges};
use saas_db::enums::BillingInterval;
use saas_db::ids::PostId;
use saas_db::users::NewUser;
use saas_db::views::{PostDetails, UserOverview};
use saas_db::{Database, Error, PageRequest, Repos};

/// A post of the example: title, category (index into the categories),
/// tags, views, published or left a draft.
struct Seed {
    title: &'static str,
    content: &'static str,
    category: usize,
    tags: &'static [&'static str],
    views: u32,
    publish: bool,
}

const POSTS: &[Seed] = &[
    Seed {
        title: "Getting Started with PostgreSQL",
        content: "Install Postgres, create a role and a database, and connect with psql.",
        category: 0,
        tags: &["PostgreSQL", "SQL"],
        views: 5,
        publish: true,
    },
    Seed {
        title: "Type-safe Queries with Diesel",
        content: "Diesel checks every query against the schema at compile time; \
                  here it talks to Postgres.",
        category: 1,
        tags: &["Rust", "Diesel", "PostgreSQL"],
        views: 3,
        publish: true,
    },
    Seed {
        title: "Why We Moved from MySQL to Postgres",
        content: "Transactional DDL, partial indexes and real enums made Postgres \
                  the better home than MySQL.",
        category: 0,
        tags: &["PostgreSQL", "MySQL"],
        views: 8,
        publish: true,
    },
    Seed {
        // The same title again: the slug gets a `-2` suffix.
        title: "Getting started with PostgreSQL!",
        content: "The Rust side: a connection pool, migrations and your first \
                  Postgres query from Rust.",
        category: 1,
        tags: &["rust", "PostgreSQL", "Diesel"],
        views: 2,
        publish: true,
    },
    Seed {
        title: "Error Handling in Rust",
        content: "Result, the question-mark operator, and one error enum per crate.",
        category: 1,
        // "Rust" and "rust" have one slug, so they are one tag.
        tags: &["Rust", "rust", "Errors"],
        views: 1,
        publish: true,
    },
    Seed {
        title: "Async Rust, Unfinished",
        content: "Futures, executors and why this post is not done yet.",
        category: 1,
        tags: &["Rust", "Async"],
        views: 0,
        publish: false,
    },
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (url, _server) = saas_db_testing::EmbeddedPostgres::url_or_start()?;
    let db = Database::builder(&url).schema("blog_example").build()?;
    let mut conn = db.conn()?;

    println!("1. an author and two categories");
    let author = conn
        .users()
        .create(&NewUser::new("grace@example.com", "Grace Hopper").username("grace"))?;
    let plan = conn.plans().create(&NewPlan {
        name: "Writer".into(),
        description: None,
        price_cents: 500,
        currency: "USD".into(),
        interval: BillingInterval::Month,
        features: vec!["Unlimited posts".into()],
        sort_order: 1,
    })?;
    conn.subscriptions()
        .start(&NewSubscription::new(author.id, plan.id))?;
    let category = |name: &'static str, order| NewCategory {
        name: name.into(),
        description: None,
        sort_order: order,
    };
    let categories = [
        conn.categories().create(&category("Databases", 1))?,
        conn.categories().create(&category("Rust & Diesel", 2))?,
    ];
    println!("   author {} <{}>", author.name, author.email);
    for c in conn.categories().list()? {
        println!("   category {:<14} slug {}", c.name, c.slug);
    }

    println!("\n2. posts: slugs come from the title, unique with a numeric suffix");
    let mut ids = Vec::new();
    for seed in POSTS {
        let post = conn.posts().create(&NewPost {
            author_id: author.id,
            title: seed.title.into(),
            content: seed.content.into(),
            excerpt: None,
            category_id: Some(categories[seed.category].id),
            featured: false,
        })?;
        let post = if seed.publish {
            conn.posts().publish(post.id)?
        } else {
            post
        };
        let tags = conn.posts().set_tags(post.id, seed.tags)?;
        for _ in 0..seed.views {
            conn.posts().increment_views(post.id)?;
        }
        println!(
            "   {:<36} -> {:<36} {}",
            seed.title,
            post.slug,
            format!("{:?}", post.status).to_lowercase()
        );
        println!("      set_tags({:?}) -> {}", seed.tags, names(&tags));
        ids.push(post.id);
    }
    let first = conn.posts().get(ids[0])?;
    let renamed = conn.posts().update(
        first.id,
        first.version,
        &PostChanges {
            title: Some("Getting Started with PostgreSQL 17".into()),
            ..Default::default()
        },
    )?;
    println!(
        "   renamed to {:?}: slug still {} (links keep working)",
        renamed.title, renamed.slug
    );

    println!("\n3. published posts, newest first, 3 per page (the draft is not listed)");
    let page = conn.posts().published(PageRequest::first(3))?;
    let page = PostDetails::load_page(&mut conn, page)?; // 3 more queries, whatever the page size
    print_details(&page.items);
    let cursor = page.next_cursor().ok_or("expected a second page")?;
    println!("   next page after cursor {cursor}:");
    let next = conn.posts().published(PageRequest::after(cursor, 3))?;
    let next = PostDetails::load_page(&mut conn, next)?;
    print_details(&next.items);
    println!(
        "   more after that: {}",
        if next.next_cursor().is_some() {
            "yes"
        } else {
            "no"
        }
    );

    println!("\n4. search (web-search syntax, best match first)");
    // Past 1000 bytes the text is cut: this one still ends in a whole word.
    let long = "postgres -mysql ".repeat(300);
    let searches: [&str; 6] = [
        "postgres -mysql",
        "\"getting started\" or diesel",
        "\"unterminated & | !",
        "postgres ((( & | ! \"",
        "the of and",
        "diesel\0", // NUL bytes are dropped
    ];
    for text in searches.iter().copied().chain([long.as_str()]) {
        let found = conn.posts().search(text, PageRequest::first(10))?;
        let shown = if text.len() > 40 {
            format!("{:?}… ({} bytes)", &text[..20], text.len())
        } else {
            format!("{text:?}")
        };
        let titles: Vec<&str> = found.items.iter().map(|p| p.title.as_str()).collect();
        println!("   {:<40} {} found", shown, found.items.len());
        for title in titles {
            println!("   {:<40}   - {title}", "");
        }
    }

    println!("\n5. the tag page /tags/rust");
    let rust = conn.tags().get_by_slug("rust")?;
    let tagged = conn.posts().by_tag(rust.id, PageRequest::first(10))?;
    println!(
        "   tag {:?} (slug {}), {} published posts:",
        rust.name,
        rust.slug,
        tagged.items.len()
    );
    for post in &tagged.items {
        println!("   - {:<36} /posts/{}", post.title, post.slug);
    }

    println!("\n6. popular tags (usage counts every post carrying the tag, drafts too)");
    for tag in conn.tags().popular(5)? {
        let posts = if tag.usage_count == 1 {
            "post"
        } else {
            "posts"
        };
        println!("   {:<12} {:>2} {posts}", tag.name, tag.usage_count);
    }

    println!("\n7. the author's overview (two queries)");
    let overview = UserOverview::load(&mut conn, author.id)?;
    println!(
        "   {} (@{}), plan {}, subscription {}",
        overview.user.name,
        overview.user.username.as_deref().unwrap_or("-"),
        overview.plan.as_ref().map_or("none", |p| p.name.as_str()),
        overview
            .subscription
            .as_ref()
            .map_or("none".into(), |s| format!("{:?}", s.status).to_lowercase())
    );
    println!("   latest {} published posts:", overview.latest_posts.len());
    for post in &overview.latest_posts {
        println!("   - {:<36} {:>2} views", post.title, post.view_count);
    }
    let views: i64 = overview.latest_posts.iter().map(|p| p.view_count).sum();
    println!("   total views: {views}");

    println!("\n8. a second author; listings by author, by category, featured");
    let ada = conn
        .users()
        .create(&NewUser::new("ada@example.com", "Ada Lovelace"))?;
    let notes = conn.posts().create(&NewPost {
        author_id: ada.id,
        title: "Notes on the Analytical Engine".into(),
        content: "The engine weaves algebraic patterns as the loom weaves flowers.".into(),
        excerpt: None,
        category_id: Some(categories[0].id),
        featured: true,
    })?;
    conn.posts().publish(notes.id)?;
    for (who, id) in [("grace", author.id), ("ada", ada.id)] {
        let page = conn.posts().by_author(id, PageRequest::first(10))?;
        println!(
            "   {:<26} {}",
            format!("by_author({who})"),
            titles(&page.items)
        );
    }
    for c in &categories {
        let page = conn.posts().by_category(c.id, PageRequest::first(10))?;
        let label = format!("by_category({})", c.name);
        println!("   {label:<26} {}", titles(&page.items));
    }
    let featured = conn.posts().featured(PageRequest::first(10))?;
    println!("   {:<26} {}", "featured", titles(&featured.items));
    // A cursor belongs to its listing and its parameters: Grace's cursor
    // does not page through Ada's posts.
    let graces = conn.posts().by_author(author.id, PageRequest::first(1))?;
    let cursor = graces
        .next_cursor()
        .ok_or("expected more of Grace's posts")?;
    match conn
        .posts()
        .by_author(ada.id, PageRequest::after(cursor, 10))
    {
        Err(e @ Error::InvalidCursor { .. }) => println!("   Grace's cursor in Ada's listing: {e}"),
        other => return Err(format!("a foreign cursor was accepted: {other:?}").into()),
    }

    println!("\n9. the life of a post: unpublish, publish, archive, soft delete");
    let id = ids[2];
    println!("   {:<10} {}", "now", state(&mut conn, id)?);
    conn.posts().unpublish(id)?;
    println!("   {:<10} {}", "unpublish", state(&mut conn, id)?);
    conn.posts().publish(id)?; // published_at is kept from the first time
    println!("   {:<10} {}", "publish", state(&mut conn, id)?);
    conn.posts().archive(id)?;
    println!("   {:<10} {}", "archive", state(&mut conn, id)?);
    conn.posts().soft_delete(id)?;
    println!("   {:<10} {}", "soft del.", state(&mut conn, id)?);
    Ok(())
}

/// Where a post shows: its status, whether `published` lists it, and
/// whether `get` / `get_by_slug` still find it.
fn state(conn: &mut PgConnection, id: PostId) -> Result<String, saas_db::Error> {
    let listed = conn
        .posts()
        .published(PageRequest::first(100))?
        .items
        .iter()
        .any(|p| p.id == id);
    Ok(match conn.posts().get(id) {
        Ok(post) => {
            let by_slug = conn.posts().get_by_slug(&post.slug).is_ok();
            format!(
                "{:<9} listed: {:<3} get: found  get_by_slug: {}  published_at: {}",
                format!("{:?}", post.status).to_lowercase(),
                yes(listed),
                if by_slug { "found" } else { "not found" },
                post.published_at
                    .map_or("-".into(), |t| t.format("%H:%M:%S").to_string())
            )
        }
        Err(Error::NotFound { .. }) => format!(
            "{:<9} listed: {:<3} get: NotFound (hidden from every call)",
            "deleted",
            yes(listed)
        ),
        Err(e) => return Err(e),
    })
}

fn yes(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

/// Post titles, comma-separated.
fn titles(posts: &[saas_db::content::Post]) -> String {
    posts
        .iter()
        .map(|p| p.title.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Tag names, comma-separated.
fn names(tags: &[saas_db::content::Tag]) -> String {
    tags.iter()
        .map(|t| t.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn print_details(page: &[PostDetails]) {
    println!(
        "   {:<36} {:<36} {:<13} {:<14} {:<25} {:>5}",
        "title", "slug", "author", "category", "tags", "views"
    );
    for d in page {
        println!(
            "   {:<36} {:<36} {:<13} {:<14} {:<25} {:>5}",
            d.post.title,
            d.post.slug,
            d.author.name,
            d.category.as_ref().map_or("-", |c| c.name.as_str()),
            names(&d.tags),
            d.post.view_count
        );
    }
}
