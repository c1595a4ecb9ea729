//! Tags: set_tags creates, deduplicates and relinks; usage counts stay exact
//! under concurrent writers without deadlocks (a control shows links taken
//! in opposite orders deadlocking); TagRepo listing and popularity.

use diesel::prelude::*;
use diesel::sql_types::Uuid as SqlUuid;
use saas_db::content::TAGS_PER_POST_MAX;
use saas_db::ids::{PostId, TagId};
use saas_db::{Error, Repos};
use saas_db_testing::TestDatabase;
use uuid::Uuid;

use super::{author, count, draft, walk};
use crate::support::race;

fn names(tags: &[saas_db::content::Tag]) -> Vec<&str> {
    tags.iter().map(|t| t.name.as_str()).collect()
}

/// Every tag's usage_count equals its number of links.
fn assert_counts_exact(conn: &mut PgConnection) {
    let wrong = count(
        conn,
        "SELECT count(*) AS n FROM tags t
          WHERE t.usage_count <> (SELECT count(*) FROM post_tags pt WHERE pt.tag_id = t.id)",
    );
    assert_eq!(wrong, 0, "usage_count out of step with post_tags");
}

#[test]
fn set_tags_creates_dedupes_relinks_and_counts() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let a = author(&mut conn, "tags@example.com");
    let p = draft(&mut conn, a, "Tagged", "");
    let q = draft(&mut conn, a, "Also tagged", "");

    let tags = conn
        .posts()
        .set_tags(p.id, &["Rust", "rust", " RUST ", "Databases", "Web Dev"])
        .unwrap();
    assert_eq!(names(&tags), ["Databases", "Rust", "Web Dev"]);
    assert_eq!(
        tags.iter().map(|t| t.slug.as_str()).collect::<Vec<_>>(),
        ["databases", "rust", "web-dev"]
    );
    assert!(tags.iter().all(|t| t.usage_count == 1));
    // An existing tag is reused whatever the spelling.
    let tags_q = conn.posts().set_tags(q.id, &["RUST", "SQL"]).unwrap();
    assert_eq!(names(&tags_q), ["Rust", "SQL"]);
    assert_eq!(conn.tags().get_by_slug("rust").unwrap().usage_count, 2);

    // Replacing: dropped links decrement, kept ones stay, new ones add.
    let replaced = conn
        .posts()
        .set_tags(p.id, &["sql", "Rust", "Testing"])
        .unwrap();
    assert_eq!(names(&replaced), ["Rust", "SQL", "Testing"]);
    assert_eq!(conn.posts().tags_of(p.id).unwrap(), replaced);
    let usage =
        |conn: &mut PgConnection, slug: &str| conn.tags().get_by_slug(slug).unwrap().usage_count;
    assert_eq!(usage(&mut conn, "rust"), 2);
    assert_eq!(usage(&mut conn, "sql"), 2);
    assert_eq!(usage(&mut conn, "databases"), 0);
    assert_eq!(usage(&mut conn, "testing"), 1);
    // Same set again changes nothing.
    assert_eq!(
        conn.posts()
            .set_tags(p.id, &["Testing", "sql", "rust"])
            .unwrap(),
        conn.posts().tags_of(p.id).unwrap()
    );
    assert_eq!(usage(&mut conn, "rust"), 2);
    // Empty clears.
    assert!(conn.posts().set_tags(q.id, &[]).unwrap().is_empty());
    assert_eq!(usage(&mut conn, "rust"), 1);
    // Deleting a post for good unlinks its tags and the count follows.
    diesel::sql_query("DELETE FROM posts WHERE id = $1")
        .bind::<SqlUuid, _>(p.id)
        .execute(&mut conn)
        .unwrap();
    assert_eq!(usage(&mut conn, "rust"), 0);
    assert_counts_exact(&mut conn);
}

#[test]
fn set_tags_refuses_bad_input_and_changes_nothing() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let a = author(&mut conn, "badtags@example.com");
    let p = draft(&mut conn, a, "Careful", "");
    conn.posts().set_tags(p.id, &["keep"]).unwrap();
    let long = "x".repeat(51);
    let too_many: Vec<String> = (0..=TAGS_PER_POST_MAX)
        .map(|i| format!("tag {i}"))
        .collect();
    let too_many: Vec<&str> = too_many.iter().map(String::as_str).collect();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["ok", ""], "tags[1].name"),
        (vec!["   "], "tags[0].name"),
        (vec!["ok", "fine", "!!!"], "tags[2].name"),
        (vec!["nul\0"], "tags[0].name"),
        (vec![&long], "tags[0].name"),
        (too_many, "tags"),
    ];
    for (input, field) in cases {
        match conn.posts().set_tags(p.id, &input) {
            Err(Error::Invalid { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{field}: {other:?}"),
        }
    }
    // Twenty distinct slugs are fine; duplicates do not count twice.
    let twenty: Vec<String> = (0..TAGS_PER_POST_MAX).map(|i| format!("t{i}")).collect();
    let mut with_dupes: Vec<&str> = twenty.iter().map(String::as_str).collect();
    with_dupes.push("T0");
    assert_eq!(
        conn.posts().set_tags(p.id, &with_dupes).unwrap().len(),
        TAGS_PER_POST_MAX
    );
    conn.posts().set_tags(p.id, &["keep"]).unwrap();

    // A name held by a tag with another slug (written outside the crate).
    diesel::sql_query("INSERT INTO tags (name, slug) VALUES ('Odd', 'odd-one')")
        .execute(&mut conn)
        .unwrap();
    match conn.posts().set_tags(p.id, &["keep", "Odd"]) {
        Err(Error::Conflict { constraint }) => assert_eq!(constraint, "tags_name_key"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        conn.posts().set_tags(PostId(Uuid::now_v7()), &["x"]),
        Err(Error::NotFound { entity: "post" })
    ));
    conn.posts().soft_delete(p.id).unwrap();
    assert!(matches!(
        conn.posts().set_tags(p.id, &["x"]),
        Err(Error::NotFound { entity: "post" })
    ));
    // Nothing from the refused calls was kept.
    assert_eq!(
        count(
            &mut conn,
            "SELECT count(*) AS n FROM tags WHERE slug IN ('ok', 'fine', 'x')"
        ),
        0
    );
    assert_eq!(count(&mut conn, "SELECT count(*) AS n FROM post_tags"), 1);
    assert_counts_exact(&mut conn);
}

#[test]
fn concurrent_set_tags_keep_counts_exact_without_deadlocks() {
    const THREADS: usize = 8;
    const ROUNDS: usize = 40;
    const NAMES: [&str; 6] = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta"];
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let a = author(&mut conn, "busy@example.com");
    // Three posts shared by all threads, one of each thread's own.
    let shared: Vec<PostId> = (0..3)
        .map(|i| draft(&mut conn, a, &format!("shared {i}"), "").id)
        .collect();
    let own: Vec<PostId> = (0..THREADS)
        .map(|i| draft(&mut conn, a, &format!("own {i}"), "").id)
        .collect();
    race(THREADS, |t, barrier| {
        let mut conn = db.conn().unwrap();
        barrier.wait();
        for round in 0..ROUNDS {
            // Overlapping sets in thread-specific orders (some new
            // spellings, so tags are also created concurrently).
            let n = 1 + (t + round) % NAMES.len();
            let mut set: Vec<String> = (0..n)
                .map(|k| NAMES[(t * 5 + round * 3 + k) % NAMES.len()].to_owned())
                .collect();
            if t % 2 == 1 {
                set.reverse();
            }
            set.push(format!("round {round}"));
            let set: Vec<&str> = set.iter().map(String::as_str).collect();
            let post = if round % 2 == 0 {
                shared[(t + round) % 3]
            } else {
                own[t]
            };
            conn.posts().set_tags(post, &set).unwrap();
        }
    });
    assert_counts_exact(&mut conn);
    let links = count(&mut conn, "SELECT count(*) AS n FROM post_tags");
    let total = count(
        &mut conn,
        "SELECT coalesce(sum(usage_count), 0)::bigint AS n FROM tags",
    );
    assert_eq!(links, total);
    assert!(links > 0);
}

#[test]
fn control_links_in_opposite_orders_deadlock() {
    // Without a common lock order, two writers linking the same two tags
    // in opposite orders deadlock on the usage_count rows. set_tags locks
    // every touched tag in id order first, so it cannot.
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let a = author(&mut conn, "deadlock@example.com");
    let posts = [
        draft(&mut conn, a, "one", "").id,
        draft(&mut conn, a, "two", "").id,
    ];
    let tag_a = conn.tags().create("a").unwrap().id;
    let tag_b = conn.tags().create("b").unwrap().id;
    let link = |conn: &mut PgConnection, post: PostId, tag: TagId| -> saas_db::Result<()> {
        diesel::sql_query("INSERT INTO post_tags (post_id, tag_id) VALUES ($1, $2)")
            .bind::<SqlUuid, _>(post)
            .bind::<SqlUuid, _>(tag)
            .execute(conn)?;
        Ok(())
    };
    let plans = [(posts[0], tag_a, tag_b), (posts[1], tag_b, tag_a)];
    let results: Vec<saas_db::Result<()>> = race(2, |i, barrier| {
        let (post, first, second) = plans[i];
        let mut conn = db.conn().unwrap();
        conn.transaction(|tx| {
            link(tx, post, first)?;
            barrier.wait();
            link(tx, post, second)
        })
    });
    let deadlocks = results
        .iter()
        .filter(|r| matches!(r, Err(Error::Retryable { message, .. }) if message.starts_with("deadlock detected")))
        .count();
    assert_eq!(deadlocks, 1, "{results:?}");
    assert_counts_exact(&mut conn);
}

#[test]
fn tag_repo_create_list_and_popular() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let a = author(&mut conn, "popular@example.com");
    let go = conn.tags().create("Go").unwrap();
    assert_eq!((go.slug.as_str(), go.usage_count), ("go", 0));
    match conn.tags().create("GO") {
        Err(Error::Conflict { constraint }) => assert_eq!(constraint, "tags_slug_key"),
        other => panic!("{other:?}"),
    }
    match conn.tags().create("Go") {
        Err(Error::Conflict { constraint }) => assert_eq!(constraint, "tags_name_key"),
        other => panic!("{other:?}"),
    }
    match conn.tags().create("?") {
        Err(Error::Invalid { field, .. }) => assert_eq!(field, "name"),
        other => panic!("{other:?}"),
    }
    for (i, set) in [
        vec!["rust", "sql"],
        vec!["rust"],
        vec!["rust", "css"],
        vec!["sql"],
    ]
    .into_iter()
    .enumerate()
    {
        let p = draft(&mut conn, a, &format!("p{i}"), "");
        conn.posts().set_tags(p.id, &set).unwrap();
    }
    let popular = conn.tags().popular(10).unwrap();
    let by_use: Vec<(&str, i32)> = popular
        .iter()
        .map(|t| (t.slug.as_str(), t.usage_count))
        .collect();
    assert_eq!(&by_use[..2], &[("rust", 3), ("sql", 2)]);
    assert_eq!(by_use.len(), 3, "unused tags are not popular: {by_use:?}");
    assert_eq!(conn.tags().popular(1).unwrap().len(), 1);
    assert!(matches!(conn.tags().popular(0), Err(Error::Invalid { .. })));

    let slugs: Vec<String> = walk(2, |page| conn.tags().list(page))
        .into_iter()
        .map(|t| t.slug)
        .collect();
    assert_eq!(slugs, ["css", "go", "rust", "sql"]);
    assert_eq!(conn.tags().get(go.id).unwrap(), go);
    assert!(matches!(
        conn.tags().get_by_slug("nope"),
        Err(Error::NotFound { entity: "tag" })
    ));
}
