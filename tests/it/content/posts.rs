//! PostRepo: slugs (also under a same-title race), versioned updates,
//! publishing states and soft delete, each next to a control that shows the
//! naive approach failing. The view counter is in `view_counts.rs`.

use std::collections::BTreeSet;

use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel::sql_types::Uuid as SqlUuid;
use saas_db::content::{NewPost, PostChanges};
use saas_db::enums::PostStatus;
use saas_db::ids::{CategoryId, PostId, UserId};
use saas_db::{Error, Repos};
use saas_db_testing::TestDatabase;
use uuid::Uuid;

use super::{author, draft};
use crate::support::race;

#[test]
fn slugs_are_derived_unique_and_stable() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let a = author(&mut conn, "slugs@example.com");

    let first = draft(&mut conn, a, "Hello, World!", "");
    assert_eq!(first.slug, "hello-world");
    assert_eq!(first.status, PostStatus::Draft);
    assert_eq!(first.version, 1);
    assert_eq!(draft(&mut conn, a, "hello world", "").slug, "hello-world-2");
    assert_eq!(
        draft(&mut conn, a, "HELLO  WORLD??", "").slug,
        "hello-world-3"
    );
    // Unicode is transliterated; nothing sluggable falls back to "post".
    assert_eq!(
        draft(&mut conn, a, "Crème brûlée für alle", "").slug,
        "creme-brulee-fur-alle"
    );
    assert_eq!(draft(&mut conn, a, "!!!", "").slug, "post");
    assert_eq!(draft(&mut conn, a, "¿?", "").slug, "post-2");
    // A title that looks like a suffix does not confuse the numbering.
    assert_eq!(
        draft(&mut conn, a, "Hello world 10", "").slug,
        "hello-world-10"
    );
    assert_eq!(
        draft(&mut conn, a, "Hello world", "").slug,
        "hello-world-11"
    );
    // A huge number cannot exhaust the suffixes: a random one is used.
    assert_eq!(
        draft(&mut conn, a, "x 99999999999999999999", "").slug,
        "x-99999999999999999999"
    );
    draft(&mut conn, a, "x", "");
    let odd = draft(&mut conn, a, "x", "").slug;
    assert!(odd.starts_with("x-") && odd.len() == 10, "{odd}");
    // Long titles are cut at a word boundary, leaving room for a suffix.
    let long = "word ".repeat(60);
    let p = draft(&mut conn, a, &long, "");
    assert!(p.slug.len() <= 180 && !p.slug.ends_with('-'), "{}", p.slug);
    assert!(draft(&mut conn, a, &long, "").slug.ends_with("-2"));

    // The slug survives a title change, so links keep working.
    let renamed = conn
        .posts()
        .update(
            first.id,
            first.version,
            &PostChanges {
                title: Some("Goodbye".into()),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(
        (renamed.title.as_str(), renamed.slug.as_str()),
        ("Goodbye", "hello-world")
    );
    assert_eq!(
        conn.posts().get_by_slug("hello-world").unwrap().id,
        first.id
    );
    assert!(matches!(
        conn.posts().get_by_slug("no-such-post"),
        Err(Error::NotFound { entity: "post" })
    ));
}

#[test]
fn create_inside_a_transaction_survives_a_collision() {
    // ON CONFLICT DO NOTHING: a taken slug does not abort the caller's transaction.
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let a = author(&mut conn, "tx@example.com");
    draft(&mut conn, a, "Same", "");
    let slugs = conn
        .transaction::<_, Error, _>(|tx| {
            let p = draft(tx, a, "Same", "");
            let q = draft(tx, a, "Same", "");
            Ok((p.slug, q.slug))
        })
        .unwrap();
    assert_eq!(slugs, ("same-2".to_owned(), "same-3".to_owned()));
}

#[test]
fn concurrent_same_title_creates_get_distinct_slugs() {
    const THREADS: usize = 8;
    let db = TestDatabase::new();
    let a = author(&mut db.conn().unwrap(), "race@example.com");
    let slugs: Vec<String> = race(THREADS, |_, barrier| {
        let mut conn = db.conn().unwrap();
        barrier.wait();
        // Each create in a transaction held open a moment, so the writers
        // really overlap on the unique index.
        conn.transaction::<_, Error, _>(|tx| {
            let p = tx.posts().create(&NewPost {
                author_id: a,
                title: "Breaking news".into(),
                ..Default::default()
            })?;
            diesel::sql_query("SELECT pg_sleep(0.05)").execute(tx)?;
            Ok(p.slug)
        })
        .unwrap()
    });
    let distinct: BTreeSet<_> = slugs.iter().cloned().collect();
    assert_eq!(distinct.len(), THREADS, "{slugs:?}");
    let expected: BTreeSet<String> = std::iter::once("breaking-news".to_owned())
        .chain((2..=THREADS).map(|n| format!("breaking-news-{n}")))
        .collect();
    assert_eq!(distinct, expected);
}

#[test]
fn control_check_then_insert_slugs_collide() {
    // The naive way (look for a free slug, then insert it) fails when two
    // writers look before either inserts: the second insert is a unique
    // violation. This is the race `create` is built to survive.
    let db = TestDatabase::new();
    let a = author(&mut db.conn().unwrap(), "naive@example.com");
    let results: Vec<Result<usize, DieselError>> = race(2, |_, barrier| {
        let mut conn = db.conn().unwrap();
        let taken: i64 = diesel::sql_query("SELECT count(*) AS n FROM posts WHERE slug = 'naive'")
            .get_result::<super::Count>(&mut conn)
            .unwrap()
            .n;
        assert_eq!(taken, 0);
        barrier.wait();
        diesel::sql_query(
            "INSERT INTO posts (author_id, title, slug) VALUES ($1, 'Naive', 'naive')",
        )
        .bind::<SqlUuid, _>(a)
        .execute(&mut conn)
    });
    let violations = results
        .iter()
        .filter(|r| {
            matches!(
                r,
                Err(DieselError::DatabaseError(
                    DatabaseErrorKind::UniqueViolation,
                    _
                ))
            )
        })
        .count();
    assert_eq!(violations, 1, "{results:?}");
}

#[test]
fn update_is_versioned_and_validated() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let a = author(&mut conn, "edit@example.com");
    let p = draft(&mut conn, a, "Draft", "body");
    let edit = PostChanges {
        content: Some("new body".into()),
        excerpt: Some(Some("teaser".into())),
        featured: Some(true),
        ..Default::default()
    };
    let edited = conn.posts().update(p.id, p.version, &edit).unwrap();
    assert_eq!(edited.version, 2);
    assert_eq!(edited.content, "new body");
    assert_eq!(edited.excerpt.as_deref(), Some("teaser"));
    assert!(edited.featured);
    assert!(edited.updated_at >= p.updated_at);
    // The loser of a race on version 1 is told who won.
    assert!(matches!(
        conn.posts().update(p.id, p.version, &edit),
        Err(Error::Stale {
            entity: "post",
            expected: 1,
            actual: 2,
            ..
        })
    ));
    assert!(matches!(
        conn.posts().update(PostId(Uuid::now_v7()), 1, &edit),
        Err(Error::NotFound { entity: "post" })
    ));
    // Clearing a nullable column.
    let cleared = conn
        .posts()
        .update(
            p.id,
            2,
            &PostChanges {
                excerpt: Some(None),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(cleared.excerpt, None);

    // Bad input names the field and changes nothing.
    let bad = [
        (
            PostChanges {
                title: Some("".into()),
                ..Default::default()
            },
            "title",
        ),
        (
            PostChanges {
                title: Some("a\0b".into()),
                ..Default::default()
            },
            "title",
        ),
        (
            PostChanges {
                excerpt: Some(Some("e".repeat(1001).into())),
                ..Default::default()
            },
            "excerpt",
        ),
    ];
    for (changes, field) in bad {
        match conn.posts().update(p.id, 3, &changes) {
            Err(Error::Invalid { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{field}: {other:?}"),
        }
    }
    assert_eq!(conn.posts().get(p.id).unwrap().version, 3);
    let unknown_category = PostChanges {
        category_id: Some(Some(CategoryId(Uuid::now_v7()))),
        ..Default::default()
    };
    assert!(matches!(
        conn.posts().update(p.id, 3, &unknown_category),
        Err(Error::ForeignKey { constraint }) if constraint == "posts_category_id_fkey"
    ));
}

#[test]
fn create_refuses_bad_input() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let a = author(&mut conn, "bad@example.com");
    let long_title = "t".repeat(301);
    let cases = [
        (
            NewPost {
                author_id: a,
                title: "".into(),
                ..Default::default()
            },
            "title",
        ),
        (
            NewPost {
                author_id: a,
                title: long_title.as_str().into(),
                ..Default::default()
            },
            "title",
        ),
        (
            NewPost {
                author_id: a,
                title: "ok".into(),
                content: "nul\0".into(),
                ..Default::default()
            },
            "content",
        ),
        (
            NewPost {
                author_id: a,
                title: "ok".into(),
                excerpt: Some("\0".into()),
                ..Default::default()
            },
            "excerpt",
        ),
    ];
    for (post, field) in cases {
        match conn.posts().create(&post) {
            Err(Error::Invalid { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{field}: {other:?}"),
        }
    }
    let orphan = NewPost {
        author_id: UserId::now_v7(),
        title: "orphan".into(),
        ..Default::default()
    };
    assert!(matches!(
        conn.posts().create(&orphan),
        Err(Error::ForeignKey { constraint }) if constraint == "posts_author_id_fkey"
    ));
    assert_eq!(
        super::count(&mut conn, "SELECT count(*) AS n FROM posts"),
        0
    );
    // The connection is still usable.
    assert_eq!(draft(&mut conn, a, "fine", "").slug, "fine");
}

#[test]
fn publishing_states_and_soft_delete() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let a = author(&mut conn, "pub@example.com");
    let p = draft(&mut conn, a, "States", "");
    assert_eq!(p.published_at, None);

    let published = conn.posts().publish(p.id).unwrap();
    assert_eq!(published.status, PostStatus::Published);
    assert_eq!(published.version, 2);
    let first_published_at = published.published_at.expect("set on publish");

    let back = conn.posts().unpublish(p.id).unwrap();
    assert_eq!(back.status, PostStatus::Draft);
    assert_eq!(back.published_at, Some(first_published_at));
    let again = conn.posts().publish(p.id).unwrap();
    assert_eq!(
        again.published_at,
        Some(first_published_at),
        "first publication kept"
    );

    let archived = conn.posts().archive(p.id).unwrap();
    assert_eq!(archived.status, PostStatus::Archived);
    assert_eq!(archived.version, 5);
    assert_eq!(
        conn.posts().get(p.id).unwrap().id,
        p.id,
        "archived stays readable"
    );

    let deleted = conn.posts().soft_delete(p.id).unwrap();
    assert!(deleted.deleted_at.is_some());
    for result in [
        conn.posts().get(p.id).map(drop),
        conn.posts().get_by_slug("states").map(drop),
        conn.posts().publish(p.id).map(drop),
        conn.posts().soft_delete(p.id).map(drop),
        conn.posts().increment_views(p.id).map(drop),
        conn.posts()
            .update(p.id, 6, &PostChanges::default())
            .map(drop),
    ] {
        assert!(
            matches!(result, Err(Error::NotFound { entity: "post" })),
            "{result:?}"
        );
    }
    // The slug stays taken: an old link never points at another post.
    assert_eq!(draft(&mut conn, a, "States", "").slug, "states-2");
}
