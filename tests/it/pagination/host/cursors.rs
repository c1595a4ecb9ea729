//! Cursors a host listing must refuse: ours, other host listings', its
//! own with another parameter, and tampered ones.

use super::*;
use saas_db::content::{NewPost, PostRepo};
use saas_db::users::NewUser;
use saas_db::{Cursor, Repos};

/// `cursor` must be refused by `list`, after and before, with `InvalidCursor`.
#[track_caller]
fn assert_refused(conn: &mut PgConnection, cursor: &Cursor, list: Lister) {
    for request in [
        PageRequest::after(cursor.clone(), 5),
        PageRequest::before(cursor.clone(), 5),
    ] {
        let result = list(conn, request);
        assert!(
            matches!(result, Err(Error::InvalidCursor { .. })),
            "{cursor} was not refused: {:?}",
            result.map(|p| p.items.len())
        );
    }
}

/// Cursors of our listings, of other host listings (also one named like
/// ours, and one with the same key type) and of the same listing with
/// another parameter are refused; each genuine one works where it belongs.
#[test]
fn foreign_cursors_are_refused_by_a_host_listing() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    create_table(&mut conn);
    seed(&mut conn);
    let author = conn
        .users()
        .create(&NewUser::new("ann@example.com", "Ann"))
        .unwrap();
    let post = conn
        .posts()
        .create(&NewPost {
            author_id: author.id,
            title: "T".into(),
            content: "C".into(),
            ..Default::default()
        })
        .unwrap();
    let post = conn.posts().publish(post.id).unwrap();
    let ours = PostRepo::published_cursor(&post).unwrap();
    assert!(conn
        .posts()
        .published(PageRequest::before(ours.clone(), 5))
        .is_ok());

    // A host listing named like ours, with the same key type.
    fn named_like_ours(conn: &mut PgConnection, r: PageRequest) -> saas_db::Result<Page<Item>> {
        paginate(
            host_items::table.select(Item::as_select()).into_boxed(),
            Keyset::new("posts.published", host_items::created_at, host_items::id)?.desc(),
            &r,
            |item: &Item| (item.created_at, item.id),
            conn,
        )
    }
    let own = named_like_ours(&mut conn, PageRequest::first(5))
        .unwrap()
        .next_cursor()
        .unwrap();
    assert!(named_like_ours(&mut conn, PageRequest::after(own, 5)).is_ok());
    assert_refused(&mut conn, &ours, named_like_ours);
    assert_refused(&mut conn, &ours, newest);
    conn.users()
        .create(&NewUser::new("bob@example.com", "Bob"))
        .unwrap();
    let users_cursor = conn
        .users()
        .list(PageRequest::first(1))
        .unwrap()
        .next_cursor()
        .unwrap();
    assert_refused(&mut conn, &users_cursor, named_like_ours);
    assert_refused(&mut conn, &users_cursor, newest);

    // Another host listing, same key type (timestamp) and direction.
    let newest_cursor = newest(&mut conn, PageRequest::first(5))
        .unwrap()
        .next_cursor()
        .unwrap();
    assert!(newest(&mut conn, PageRequest::after(newest_cursor.clone(), 5)).is_ok());
    assert_refused(&mut conn, &newest_cursor, named_like_ours);
    let by_rank_cursor = by_rank(&mut conn, PageRequest::first(5))
        .unwrap()
        .next_cursor()
        .unwrap();
    assert_refused(&mut conn, &by_rank_cursor, newest);
    assert_refused(&mut conn, &newest_cursor, by_rank);
    assert_refused(&mut conn, &newest_cursor, by_title);

    // The same listing for another owner.
    fn other_owner(conn: &mut PgConnection, r: PageRequest) -> saas_db::Result<Page<Item>> {
        newest_of(conn, Uuid::from_u128(0x0456), r)
    }
    assert_refused(&mut conn, &newest_cursor, other_owner);
    assert_eq!(
        conn.users().count().unwrap(),
        2,
        "the connection still works"
    );
}

/// Altered and truncated host cursors: `InvalidCursor` at parse or use,
/// never a panic or a page.
#[test]
fn tampered_host_cursors_are_refused() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    create_table(&mut conn);
    seed(&mut conn);
    let text = by_title(&mut conn, PageRequest::first(3))
        .unwrap()
        .next_cursor()
        .unwrap()
        .to_string();
    let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut altered: Vec<String> = (0..text.len()).map(|len| text[..len].to_owned()).collect();
    for pos in 0..text.len() {
        for c in alphabet
            .chars()
            .filter(|&c| Some(c) != text.chars().nth(pos))
        {
            let mut t = text.clone();
            t.replace_range(pos..pos + 1, c.encode_utf8(&mut [0; 4]));
            altered.push(t);
        }
    }
    altered.push(format!("{text}A"));
    for t in &altered {
        match t.parse::<Cursor>() {
            Err(e) => assert!(matches!(e, Error::InvalidCursor { .. }), "{t}: {e:?}"),
            Ok(cursor) => assert_refused(&mut conn, &cursor, by_title),
        }
    }
    let genuine: Cursor = text.parse().unwrap();
    assert_eq!(
        by_title(&mut conn, PageRequest::after(genuine, 3))
            .unwrap()
            .items
            .len(),
        3
    );
}
