//! Keyset pages are planned once: after PostgreSQL's five custom plans, the
//! cached statement of a page after a cursor runs on the generic plan
//! (`pg_prepared_statements.generic_plans`), because the cursor is a row
//! comparison, the page size a number and the listing filter SQL text. The
//! control, the same page written the usual Diesel way (`status = $1`,
//! `LIMIT $n`, the cursor as `a <= $1 AND (a < $1 OR id < $2)`), is planned
//! anew on every execution. And each listing reads the index the README
//! names for it (`pg_stat_user_indexes.idx_scan`). No timing is asserted.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text, Uuid as SqlUuid};
use saas_db::content::Post;
use saas_db::enums::PostStatus;
use saas_db::schema::posts;
use saas_db::{PageRequest, Repos};
use saas_db_testing::TestDatabase;

use super::author;

const RUNS: i64 = 12;

#[derive(QueryableByName, Debug)]
struct Prepared {
    #[diesel(sql_type = Text)]
    statement: String,
    #[diesel(sql_type = BigInt)]
    generic_plans: i64,
    #[diesel(sql_type = BigInt)]
    custom_plans: i64,
}

/// The session's prepared statements over `posts` with a `LIMIT`.
fn page_statements(conn: &mut PgConnection) -> Vec<Prepared> {
    diesel::sql_query(
        "SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements
          WHERE statement LIKE '%FROM \"posts\"%' AND statement LIKE '%LIMIT%'",
    )
    .load(conn)
    .unwrap()
}

#[test]
fn listing_pages_run_on_a_generic_plan() {
    let db = TestDatabase::new();
    let mut setup = db.conn().unwrap();
    let a = author(&mut setup, "plans@example.com");
    // 20,000 published posts and as many drafts: enough that the partial
    // index is worth using and a seq scan is not.
    diesel::sql_query(
        "INSERT INTO posts (author_id, title, slug, status, published_at)
         SELECT $1, 'p' || g, 'p-' || g,
                CASE WHEN g % 2 = 0 THEN 'published' ELSE 'draft' END::post_status,
                CASE WHEN g % 2 = 0 THEN timestamptz '2026-01-01Z' + g * interval '1 minute' END
           FROM generate_series(1, 40000) g",
    )
    .bind::<SqlUuid, _>(a)
    .execute(&mut setup)
    .unwrap();
    diesel::sql_query("ANALYZE posts")
        .execute(&mut setup)
        .unwrap();

    // A fresh connection: its statement cache is empty.
    let mut conn = PgConnection::establish(db.url()).unwrap();
    let first = conn.posts().published(PageRequest::first(20)).unwrap();
    let cursor = first.next_cursor().unwrap();
    let last = first.items.last().unwrap();
    let (key, after_id) = (last.published_at.unwrap(), last.id);
    for _ in 0..RUNS {
        let page = conn
            .posts()
            .published(PageRequest::after(cursor.clone(), 20))
            .unwrap();
        assert_eq!(page.items.len(), 20);
        let control: Vec<Post> = posts::table
            .filter(posts::status.eq(PostStatus::Published))
            .filter(posts::deleted_at.is_null())
            .filter(
                posts::published_at
                    .le(key)
                    .and(posts::published_at.lt(key).or(posts::id.lt(after_id))),
            )
            .order((posts::published_at.desc(), posts::id.desc()))
            .limit(21)
            .select(Post::as_select())
            .load(&mut conn)
            .unwrap();
        assert_eq!(control.len(), 21);
    }

    let statements = page_statements(&mut conn);
    let ours: Vec<&Prepared> = statements
        .iter()
        .filter(|s| s.statement.contains(") < ("))
        .collect();
    assert_eq!(ours.len(), 1, "{statements:#?}");
    assert!(
        ours[0].generic_plans >= RUNS - 5 && ours[0].custom_plans <= 5,
        "our page is re-planned: {:#?}",
        ours[0]
    );
    let control: Vec<&Prepared> = statements
        .iter()
        .filter(|s| s.statement.contains("\"status\" = $1"))
        .collect();
    assert_eq!(control.len(), 1, "{statements:#?}");
    assert_eq!(
        (control[0].generic_plans, control[0].custom_plans),
        (0, RUNS),
        "the control shows the failure this test guards against"
    );
}

#[derive(QueryableByName)]
struct Scans {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// How often `index` was scanned, as of this backend's last flush.
fn scans(conn: &mut PgConnection, index: &str) -> i64 {
    diesel::sql_query(
        "SELECT coalesce(sum(idx_scan), 0)::bigint AS n FROM pg_stat_user_indexes
          WHERE indexrelname = $1",
    )
    .bind::<Text, _>(index)
    .get_result::<Scans>(conn)
    .unwrap()
    .n
}

/// Runs `work`, then flushes this backend's statistics.
fn flushed<T>(conn: &mut PgConnection, work: impl FnOnce(&mut PgConnection) -> T) -> T {
    let out = work(conn);
    diesel::sql_query("SELECT pg_stat_force_next_flush()")
        .execute(conn)
        .unwrap();
    diesel::sql_query("SELECT pg_stat_clear_snapshot()")
        .execute(conn)
        .unwrap();
    out
}

#[test]
fn each_listing_reads_its_index() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let a = author(&mut conn, "indexes@example.com");
    let b = author(&mut conn, "other@example.com");
    let category = conn
        .categories()
        .create(&saas_db::content::NewCategory {
            name: "Indexed".into(),
            description: None,
            sort_order: 0,
        })
        .unwrap()
        .id;
    // 40,000 posts, half published, 1 in 100 by `a`, 1 in 10 featured, 1 in
    // 100 in the category; 1 in 100 tagged.
    diesel::sql_query(
        "INSERT INTO posts (author_id, category_id, title, slug, status, published_at, featured)
         SELECT CASE WHEN g % 100 = 2 THEN $1 ELSE $2 END,
                CASE WHEN g % 100 = 0 THEN $3 END,
                'p' || g, 'p-' || g,
                CASE WHEN g % 2 = 0 THEN 'published' ELSE 'draft' END::post_status,
                CASE WHEN g % 2 = 0 THEN timestamptz '2026-01-01Z' + g * interval '1 minute' END,
                g % 10 = 0
           FROM generate_series(1, 40000) g",
    )
    .bind::<SqlUuid, _>(a)
    .bind::<SqlUuid, _>(b)
    .bind::<SqlUuid, _>(category)
    .execute(&mut conn)
    .unwrap();
    let tag = conn.tags().create("indexed").unwrap().id;
    diesel::sql_query(
        "INSERT INTO post_tags (post_id, tag_id)
         SELECT id, $1 FROM posts WHERE slug LIKE 'p-%00'",
    )
    .bind::<SqlUuid, _>(tag)
    .execute(&mut conn)
    .unwrap();
    diesel::sql_query("ANALYZE").execute(&mut conn).unwrap();

    type Listing = Box<dyn Fn(&mut PgConnection) -> saas_db::Result<usize>>;
    let page =
        |f: fn(&mut PgConnection, PageRequest) -> saas_db::Result<saas_db::Page<Post>>| -> Listing {
            Box::new(move |c: &mut PgConnection| {
                let first = f(c, PageRequest::first(20))?;
                let next = f(c, PageRequest::after(first.next_cursor().unwrap(), 20))?;
                Ok(first.items.len() + next.items.len())
            })
        };
    let cases: Vec<(&str, Listing)> = vec![
        ("posts_published_idx", page(|c, r| c.posts().published(r))),
        ("posts_featured_idx", page(|c, r| c.posts().featured(r))),
        ("posts_author_published_idx", {
            Box::new(move |c: &mut PgConnection| {
                let first = c.posts().by_author(a, PageRequest::first(20))?;
                let next = c
                    .posts()
                    .by_author(a, PageRequest::after(first.next_cursor().unwrap(), 20))?;
                Ok(first.items.len() + next.items.len())
            })
        }),
        ("posts_category_published_idx", {
            Box::new(move |c: &mut PgConnection| {
                let first = c.posts().by_category(category, PageRequest::first(20))?;
                let next = c.posts().by_category(
                    category,
                    PageRequest::after(first.next_cursor().unwrap(), 20),
                )?;
                Ok(first.items.len() + next.items.len())
            })
        }),
        ("post_tags_tag_post_idx", {
            Box::new(move |c: &mut PgConnection| {
                let first = c.posts().by_tag(tag, PageRequest::first(20))?;
                let next = c
                    .posts()
                    .by_tag(tag, PageRequest::after(first.next_cursor().unwrap(), 20))?;
                Ok(first.items.len() + next.items.len())
            })
        }),
    ];
    for (index, listing) in cases {
        let before = flushed(&mut conn, |c| scans(c, index));
        let rows = flushed(&mut conn, |c| listing(c).unwrap());
        assert_eq!(rows, 40, "{index}: two full pages");
        let after = scans(&mut conn, index);
        assert!(
            after >= before + 2,
            "{index} was not read: {before} -> {after}"
        );
    }
}
