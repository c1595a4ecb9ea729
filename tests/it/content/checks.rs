//! The content tables' CHECKs and triggers, hit with hand-written SQL that
//! bypasses the repositories' own checks: the database refuses what the
//! Rust code would have refused, and keeps `usage_count` and `updated_at`
//! right whoever writes.

use diesel::prelude::*;
use diesel::sql_types::{Text, Uuid as SqlUuid};
use saas_db::ids::PostId;
use saas_db::{Error, Repos};
use uuid::Uuid;

use super::{author, count, draft};

/// Runs `sql` with `$1` bound to `id`.
fn run(conn: &mut PgConnection, sql: &str, id: impl Into<Uuid>) -> saas_db::Result<usize> {
    let id: Uuid = id.into();
    Ok(diesel::sql_query(sql)
        .bind::<SqlUuid, _>(id)
        .execute(conn)?)
}

/// `sql` is refused by the CHECK `constraint`, as `Error::Invalid` naming it.
fn refused_by(conn: &mut PgConnection, constraint: &str, sql: &str, id: impl Into<Uuid>) {
    let id: Uuid = id.into();
    let result = run(conn, sql, id);
    assert!(
        matches!(result, Err(Error::Invalid { ref field, .. }) if field == constraint),
        "{sql}: {result:?}"
    );
}

#[test]
fn post_checks_refuse_hand_written_rows() {
    let db = saas_db_testing::TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let a = author(&mut conn, "checks@example.com");
    let p = draft(&mut conn, a, "Checked", "").id;
    for slug in [
        "Upper",
        "a--b",
        "-a",
        "a-",
        "a b",
        "é",
        "",
        &"a".repeat(201),
    ] {
        let result = diesel::sql_query("UPDATE posts SET slug = $2 WHERE id = $1")
            .bind::<SqlUuid, _>(p)
            .bind::<Text, _>(slug)
            .execute(&mut conn)
            .map_err(Error::from);
        assert!(
            matches!(result, Err(Error::Invalid { ref field, .. }) if field == "posts_slug_format"),
            "{slug:?}: {result:?}"
        );
    }
    refused_by(
        &mut conn,
        "posts_published_has_date",
        "UPDATE posts SET status = 'published', published_at = NULL WHERE id = $1",
        p,
    );
    let published = conn.posts().publish(p).unwrap();
    assert!(published.published_at.is_some());
    refused_by(
        &mut conn,
        "posts_published_has_date",
        "UPDATE posts SET published_at = NULL WHERE id = $1",
        p,
    );
    for (constraint, sql) in [
        (
            "posts_title_length",
            "UPDATE posts SET title = '' WHERE id = $1",
        ),
        (
            "posts_title_length",
            "UPDATE posts SET title = repeat('x', 301) WHERE id = $1",
        ),
        (
            "posts_excerpt_length",
            "UPDATE posts SET excerpt = repeat('x', 1001) WHERE id = $1",
        ),
        (
            "posts_content_length",
            "UPDATE posts SET content = repeat('x', 1000001) WHERE id = $1",
        ),
        (
            "posts_view_count_nonnegative",
            "UPDATE posts SET view_count = -1 WHERE id = $1",
        ),
        (
            "posts_version_positive",
            // An UPDATE can no longer break it (bump_version writes old + 1,
            // migration 000021), so a copy of the row is inserted at version 0.
            "INSERT INTO posts (author_id, title, slug, version)
             SELECT author_id, title, slug, 0 FROM posts WHERE id = $1",
        ),
    ] {
        refused_by(&mut conn, constraint, sql, p);
    }
    // The refusals left the row and the connection as they were.
    let post = conn.posts().get(p).unwrap();
    assert_eq!(
        (post.slug.as_str(), post.version),
        ("checked", published.version)
    );
}

#[test]
fn tag_and_category_checks_refuse_hand_written_rows() {
    let db = saas_db_testing::TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let tag = conn.tags().create("Rust").unwrap().id;
    for (constraint, sql) in [
        (
            "tags_slug_format",
            "UPDATE tags SET slug = 'Rust' WHERE id = $1",
        ),
        (
            "tags_slug_format",
            "UPDATE tags SET slug = 'a_b' WHERE id = $1",
        ),
        (
            "tags_slug_format",
            "UPDATE tags SET slug = repeat('a', 61) WHERE id = $1",
        ),
        (
            "tags_name_length",
            "UPDATE tags SET name = '' WHERE id = $1",
        ),
        (
            "tags_name_length",
            "UPDATE tags SET name = repeat('x', 51) WHERE id = $1",
        ),
        (
            "tags_usage_count_nonnegative",
            "UPDATE tags SET usage_count = -1 WHERE id = $1",
        ),
    ] {
        refused_by(&mut conn, constraint, sql, tag);
    }
    let category = conn
        .categories()
        .create(&saas_db::content::NewCategory {
            name: "News".into(),
            description: None,
            sort_order: 0,
        })
        .unwrap()
        .id;
    for (constraint, sql) in [
        (
            "categories_slug_format",
            "UPDATE categories SET slug = 'News' WHERE id = $1",
        ),
        (
            "categories_slug_format",
            "UPDATE categories SET slug = repeat('a', 101) WHERE id = $1",
        ),
        (
            "categories_name_length",
            "UPDATE categories SET name = '' WHERE id = $1",
        ),
        (
            "categories_name_length",
            "UPDATE categories SET name = repeat('x', 101) WHERE id = $1",
        ),
        (
            "categories_description_length",
            "UPDATE categories SET description = repeat('x', 2001) WHERE id = $1",
        ),
    ] {
        refused_by(&mut conn, constraint, sql, category);
    }
}

#[test]
fn usage_count_trigger_counts_hand_written_links() {
    let db = saas_db_testing::TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let a = author(&mut conn, "links@example.com");
    let tag = conn.tags().create("Linked").unwrap().id;
    let usage = |conn: &mut PgConnection| conn.tags().get_by_slug("linked").unwrap().usage_count;
    let posts: Vec<PostId> = (0..3)
        .map(|i| draft(&mut conn, a, &format!("Linked {i}"), "").id)
        .collect();
    for &p in &posts {
        diesel::sql_query("INSERT INTO post_tags (post_id, tag_id) VALUES ($1, $2)")
            .bind::<SqlUuid, _>(p)
            .bind::<SqlUuid, _>(tag)
            .execute(&mut conn)
            .unwrap();
    }
    assert_eq!(usage(&mut conn), 3);
    run(
        &mut conn,
        "DELETE FROM post_tags WHERE post_id = $1",
        Uuid::from(posts[0]),
    )
    .unwrap();
    assert_eq!(usage(&mut conn), 2);
    // A post deleted by hand takes its links, and the count, with it.
    run(
        &mut conn,
        "DELETE FROM posts WHERE id = $1",
        Uuid::from(posts[1]),
    )
    .unwrap();
    assert_eq!(usage(&mut conn), 1);
    // A link inserted in a rolled-back transaction leaves no count.
    let _ = conn.transaction::<(), Error, _>(|tx| {
        run(
            tx,
            "INSERT INTO post_tags (post_id, tag_id) SELECT $1, id FROM tags",
            Uuid::from(posts[0]),
        )?;
        Err(Error::NotFound { entity: "rollback" })
    });
    assert_eq!(usage(&mut conn), 1);
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM post_tags"), 1);
}

#[test]
fn updated_at_trigger_ignores_view_counts() {
    let db = saas_db_testing::TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let a = author(&mut conn, "stamps@example.com");
    let p = draft(&mut conn, a, "Stamped", "").id;
    let created = conn.posts().get(p).unwrap().updated_at;
    // In a later transaction (now() is its start), by hand: counting a
    // view is not an edit, changing the title is.
    conn.transaction::<_, Error, _>(|tx| {
        run(
            tx,
            "UPDATE posts SET view_count = view_count + 1 WHERE id = $1",
            p,
        )?;
        assert_eq!(tx.posts().get(p)?.updated_at, created, "a view is no edit");
        run(tx, "UPDATE posts SET title = 'Edited' WHERE id = $1", p)?;
        assert!(tx.posts().get(p)?.updated_at > created, "an edit stamps");
        Ok(())
    })
    .unwrap();
}
