//! Full-text search: ranked, limited to listed posts, paged by rank, and
//! safe for any input.

use saas_db::content::SEARCH_MAX_BYTES;
use saas_db::{Error, PageRequest, Repos};
use saas_db_testing::TestDatabase;

use super::{at, author, draft, ids, publish_at, walk};

#[test]
fn search_ranks_title_matches_first_and_hides_unlisted_posts() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let a = author(&mut conn, "search@example.com");
    let title = draft(&mut conn, a, "PostgreSQL indexing", "How B-trees work.");
    let body = draft(
        &mut conn,
        a,
        "Database notes",
        "We tuned postgresql with care.",
    );
    let both = draft(&mut conn, a, "Other", "Mentions MySQL and PostgreSQL.");
    let unrelated = draft(&mut conn, a, "Cooking", "Pasta with tomatoes.");
    let unpublished = draft(&mut conn, a, "PostgreSQL draft", "postgresql");
    for (i, p) in [&title, &body, &both, &unrelated].into_iter().enumerate() {
        publish_at(&mut conn, p.id, at(i as i64));
    }
    let _ = unpublished;

    let hits = conn
        .posts()
        .search("postgresql", PageRequest::first(10))
        .unwrap();
    assert_eq!(hits.items.len(), 3, "the draft is not found");
    assert_eq!(
        hits.items[0].id, title.id,
        "a title match (weight A) ranks first"
    );

    // Stemming: "indexes" finds "indexing".
    let stemmed = conn
        .posts()
        .search("indexes", PageRequest::first(10))
        .unwrap();
    assert_eq!(ids(&stemmed.items), vec![title.id]);
    // Web-search syntax: exclusion, OR and phrases.
    let excluded = conn
        .posts()
        .search("postgresql -mysql", PageRequest::first(10))
        .unwrap();
    assert!(!ids(&excluded.items).contains(&both.id));
    assert_eq!(excluded.items.len(), 2);
    let either = conn
        .posts()
        .search("pasta or b-trees", PageRequest::first(10))
        .unwrap();
    assert_eq!(either.items.len(), 2);
    let phrase = conn
        .posts()
        .search("\"tuned postgresql\"", PageRequest::first(10))
        .unwrap();
    assert_eq!(ids(&phrase.items), vec![body.id]);
    let no_phrase = conn
        .posts()
        .search("\"postgresql tuned\"", PageRequest::first(10))
        .unwrap();
    assert!(no_phrase.items.is_empty());

    // Soft-deleting removes a post from results.
    conn.posts().soft_delete(title.id).unwrap();
    let after = conn
        .posts()
        .search("postgresql", PageRequest::first(10))
        .unwrap();
    assert!(!ids(&after.items).contains(&title.id));
}

#[test]
fn search_pages_follow_rank_then_id_without_gaps() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let a = author(&mut conn, "pages@example.com");
    let mut made = Vec::new();
    for i in 0..17 {
        // Varying repetitions give varying ranks; some ranks tie.
        let content = "rust ".repeat(1 + i % 4) + "and more words";
        let p = draft(&mut conn, a, &format!("Entry {i}"), &content);
        publish_at(&mut conn, p.id, at(i as i64));
        made.push(p.id);
    }
    let everything = ids(&conn
        .posts()
        .search("rust", PageRequest::first(100))
        .unwrap()
        .items);
    assert_eq!(everything.len(), 17);
    for size in [1, 4, 16] {
        let walked = ids(&walk(size, |page| conn.posts().search("rust", page)));
        assert_eq!(walked, everything, "page size {size}");
    }
    // A search cursor is not a listing cursor.
    let cursor = conn
        .posts()
        .search("rust", PageRequest::first(2))
        .unwrap()
        .next_cursor()
        .unwrap();
    assert!(matches!(
        conn.posts().published(PageRequest::after(cursor, 2)),
        Err(Error::InvalidCursor { .. })
    ));
}

#[test]
fn any_input_is_a_search_never_an_error() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let a = author(&mut conn, "weird@example.com");
    let p = draft(
        &mut conn,
        a,
        "Zürich café guide",
        "Grüße aus Zürich; naïve résumé; 東京 tokyo",
    );
    publish_at(&mut conn, p.id, at(0));

    let long = "word ".repeat(10_000);
    let long_word = "x".repeat(5000);
    let multibyte = "é".repeat(SEARCH_MAX_BYTES); // cut at a char boundary
    let inputs: Vec<&str> = vec![
        "",
        "   ",
        "\"",
        "\"unterminated phrase",
        "'",
        "''; DROP TABLE posts; --",
        "a & b | !c <-> (d",
        "!!!",
        "&&&|||",
        ":*",
        "foo:*",
        "-",
        "--",
        "- -zürich",
        "or",
        "or or or",
        "the and of",
        "\\",
        "%_%",
        "\0",
        "zür\0ich",
        "東京",
        "😀 emoji",
        "\u{202e}rtl",
        "Zürich",
        &long,
        &long_word,
        &multibyte,
    ];
    for input in inputs {
        let found = conn.posts().search(input, PageRequest::first(10));
        assert!(found.is_ok(), "{input:?}: {found:?}");
    }
    let hit = |conn: &mut diesel::PgConnection, q: &str| {
        conn.posts()
            .search(q, PageRequest::first(10))
            .unwrap()
            .items
            .len()
    };
    assert_eq!(hit(&mut conn, "zürich"), 1);
    assert_eq!(hit(&mut conn, "zür\0ich"), 1, "NUL bytes are dropped");
    assert_eq!(hit(&mut conn, "\"zürich café\""), 1);
    assert_eq!(hit(&mut conn, "''; DROP TABLE posts; --"), 0);
    assert_eq!(hit(&mut conn, "tokyo"), 1);
    // The pool connection is still fine and the table is still there.
    assert_eq!(conn.posts().get(p.id).unwrap().id, p.id);
    // A bad page request is still refused for an empty search.
    assert!(matches!(
        conn.posts().search("", PageRequest::first(0)),
        Err(Error::Invalid { .. })
    ));
}
