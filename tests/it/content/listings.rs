//! The published listings: newest first, every listed post exactly once in
//! either direction, drafts, archived and deleted posts left out, cursors
//! bound to their listing.

use saas_db::content::{NewCategory, NewPost, PostChanges};
use saas_db::ids::{CategoryId, TagId, UserId};
use saas_db::{Error, PageRequest, Repos};
use saas_db_testing::TestDatabase;
use uuid::Uuid;

use super::{at, author, draft, ids, publish_at, walk, MAX_PAGES};

#[test]
fn published_newest_first_across_pages_both_ways() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let a = author(&mut conn, "list@example.com");
    let mut expected = Vec::new();
    for i in 0..23 {
        let p = draft(&mut conn, a, &format!("Post {i}"), "");
        // Pairs share a publication time: the id breaks the tie.
        publish_at(&mut conn, p.id, at(i / 2));
        expected.push(p);
    }
    // Not listed: a draft, an archived and a deleted post.
    draft(&mut conn, a, "Draft", "");
    let archived = draft(&mut conn, a, "Archived", "");
    publish_at(&mut conn, archived.id, at(100));
    conn.posts().archive(archived.id).unwrap();
    let deleted = draft(&mut conn, a, "Deleted", "");
    publish_at(&mut conn, deleted.id, at(101));
    conn.posts().soft_delete(deleted.id).unwrap();

    expected.sort_by_key(|p| std::cmp::Reverse((p.published_at, p.id)));
    let expected = ids(&expected);
    for size in [1, 5, 23, 100] {
        let forwards = walk(size, |page| conn.posts().published(page));
        assert_eq!(ids(&forwards), expected, "page size {size}");
    }
    // Backwards from the end with prev cursors gives the same rows.
    let mut backwards = Vec::new();
    let mut request = PageRequest::last(4);
    for pages in 0.. {
        assert!(pages < MAX_PAGES, "backward paging does not end");
        let page = conn.posts().published(request).unwrap();
        let prev = page.prev_cursor();
        backwards.splice(0..0, ids(&page.items));
        match prev {
            Some(c) => request = PageRequest::before(c, 4),
            None => break,
        }
    }
    assert_eq!(backwards, expected);
}

#[test]
fn by_author_tag_category_and_featured() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let (ann, ben) = (
        author(&mut conn, "ann@example.com"),
        author(&mut conn, "ben@example.com"),
    );
    let news = conn
        .categories()
        .create(&NewCategory {
            name: "News".into(),
            ..Default::default()
        })
        .unwrap();
    let mut make =
        |by: UserId, title: &str, minute: i64, category: Option<CategoryId>, featured: bool| {
            let p = conn
                .posts()
                .create(&NewPost {
                    author_id: by,
                    title: title.into(),
                    category_id: category,
                    featured,
                    ..Default::default()
                })
                .unwrap();
            publish_at(&mut conn, p.id, at(minute)).id
        };
    let a1 = make(ann, "a1", 1, Some(news.id), false);
    let a2 = make(ann, "a2", 2, None, true);
    let b1 = make(ben, "b1", 3, Some(news.id), true);
    let b2 = make(ben, "b2", 4, None, false);
    let hidden = draft(&mut conn, ann, "hidden draft", "");
    conn.posts()
        .update(
            hidden.id,
            1,
            &PostChanges {
                featured: Some(true),
                category_id: Some(Some(news.id)),
                ..Default::default()
            },
        )
        .unwrap();
    conn.posts().set_tags(a1, &["Rust"]).unwrap();
    conn.posts().set_tags(b2, &["rust", "SQL"]).unwrap();
    conn.posts().set_tags(b1, &["SQL"]).unwrap();
    conn.posts().set_tags(hidden.id, &["Rust"]).unwrap();
    let rust = conn.tags().get_by_slug("rust").unwrap();

    let all = |load: &mut dyn FnMut(PageRequest) -> saas_db::Result<saas_db::Page<_>>| {
        ids(&walk(1, load))
    };
    assert_eq!(all(&mut |p| conn.posts().by_author(ann, p)), vec![a2, a1]);
    assert_eq!(all(&mut |p| conn.posts().by_author(ben, p)), vec![b2, b1]);
    assert_eq!(all(&mut |p| conn.posts().by_tag(rust.id, p)), vec![b2, a1]);
    assert_eq!(
        all(&mut |p| conn.posts().by_category(news.id, p)),
        vec![b1, a1]
    );
    assert_eq!(all(&mut |p| conn.posts().featured(p)), vec![b1, a2]);
    assert!(conn
        .posts()
        .by_tag(TagId(Uuid::now_v7()), PageRequest::first(5))
        .unwrap()
        .items
        .is_empty());

    // A cursor only works in the listing that made it.
    let cursor = conn
        .posts()
        .by_author(ann, PageRequest::first(1))
        .unwrap()
        .next_cursor()
        .unwrap();
    assert!(matches!(
        conn.posts().featured(PageRequest::after(cursor.clone(), 1)),
        Err(Error::InvalidCursor { .. })
    ));
    assert!(matches!(
        conn.posts().published(PageRequest::after(cursor, 1)),
        Err(Error::InvalidCursor { .. })
    ));
    match conn.posts().published(PageRequest::first(0)) {
        Err(Error::Invalid { field, .. }) => assert_eq!(field, "limit"),
        other => panic!("{other:?}"),
    }

    // Deleting the category leaves its posts uncategorised.
    conn.categories().delete(news.id).unwrap();
    assert_eq!(conn.posts().get(a1).unwrap().category_id, None);
    assert!(matches!(
        conn.categories().delete(news.id),
        Err(Error::NotFound { entity: "category" })
    ));
}

#[test]
fn categories_in_menu_order_with_unique_names_and_slugs() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let mut create = |name: &str, sort_order: i32| {
        conn.categories().create(&NewCategory {
            name: name.into(),
            description: Some("about".into()),
            sort_order,
        })
    };
    let guides = create("Guides & How-tos", 2).unwrap();
    assert_eq!(guides.slug, "guides-how-tos");
    create("Announcements", 1).unwrap();
    create("Zebra", 1).unwrap();
    match create("Announcements", 9) {
        Err(Error::Conflict { constraint }) => assert_eq!(constraint, "categories_name_key"),
        other => panic!("{other:?}"),
    }
    match create("guides how tos", 9) {
        Err(Error::Conflict { constraint }) => assert_eq!(constraint, "categories_slug_key"),
        other => panic!("{other:?}"),
    }
    for (name, field) in [("", "name"), ("???", "name"), ("a\0", "name")] {
        match create(name, 0) {
            Err(Error::Invalid { field: f, .. }) => assert_eq!(f, field, "{name:?}"),
            other => panic!("{name:?}: {other:?}"),
        }
    }
    let names: Vec<String> = conn
        .categories()
        .list()
        .unwrap()
        .into_iter()
        .map(|c| c.name)
        .collect();
    assert_eq!(names, ["Announcements", "Zebra", "Guides & How-tos"]);
    assert_eq!(
        conn.categories().get_by_slug("guides-how-tos").unwrap(),
        guides
    );
    assert_eq!(conn.categories().get(guides.id).unwrap(), guides);
    assert!(matches!(
        conn.categories().get(CategoryId(Uuid::now_v7())),
        Err(Error::NotFound { entity: "category" })
    ));
}
