//! A cursor belongs to its listing *and the parameters the listing was
//! called with*: every parameterised listing refuses, with
//! `Error::InvalidCursor`, a cursor that one of its calls with other
//! parameters handed out (another author, tag, category, search text, role,
//! entity, actor or payer, or the users listing with deleted users shown).
//!
//! Each of these used to be accepted: the cursor carried only the listing's
//! name, so `by_author(B)` given `by_author(A)`'s cursor served B's posts
//! from A's position.

use std::fmt::Debug;

use crate::support::{acting_as, new_payment, user};
use diesel::prelude::*;
use saas_db::audit::AuditEntry;
use saas_db::content::{NewCategory, NewPost};
use saas_db::enums::{PaymentStatus, UserRole};
use saas_db::ids::{CategoryId, PostId, UserId};
use saas_db::{Cursor, Error, Page, PageRequest, Repos};
use saas_db_testing::TestDatabase;
use uuid::Uuid;

/// `list(own)`'s first cursor pages on in `list(own)` and is refused, after
/// and before, by `list(other)`, which itself has rows.
fn assert_bound<P: Copy + Debug, I: PartialEq + Debug>(
    conn: &mut PgConnection,
    own: P,
    other: P,
    list: impl Fn(&mut PgConnection, P, PageRequest) -> saas_db::Result<Page<I>>,
) {
    let first = list(conn, own, PageRequest::first(1)).unwrap();
    // Through text, as a client sends it back.
    let cursor: Cursor = first
        .next_cursor()
        .unwrap_or_else(|| panic!("{own:?} needs two rows"))
        .to_string()
        .parse()
        .unwrap();
    let next = list(conn, own, PageRequest::after(cursor.clone(), 10)).unwrap();
    assert!(!next.items.is_empty(), "{own:?}: own cursor pages on");
    assert!(!next.items.contains(&first.items[0]), "{own:?}");
    assert!(
        !list(conn, other, PageRequest::first(10))
            .unwrap()
            .items
            .is_empty(),
        "{other:?} has rows, so a refusal is the cursor's doing"
    );
    for request in [
        PageRequest::after(cursor.clone(), 10),
        PageRequest::before(cursor, 10),
    ] {
        let result = list(conn, other, request);
        assert!(
            matches!(result, Err(Error::InvalidCursor { .. })),
            "{own:?}'s cursor used in {other:?}: {result:?}"
        );
    }
}

/// A published post.
fn post(
    conn: &mut PgConnection,
    author_id: UserId,
    title: &str,
    category: Option<CategoryId>,
) -> PostId {
    let id = conn
        .posts()
        .create(&NewPost {
            author_id,
            title: title.into(),
            category_id: category,
            ..Default::default()
        })
        .unwrap()
        .id;
    conn.posts().publish(id).unwrap();
    id
}

#[test]
fn post_listings_bind_author_tag_category_and_search_text() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let (ann, bob) = (
        user(&mut conn, "ann@example.com").id,
        user(&mut conn, "bob@example.com").id,
    );
    let category = |conn: &mut PgConnection, name| {
        conn.categories()
            .create(&NewCategory {
                name,
                description: None,
                sort_order: 0,
            })
            .unwrap()
            .id
    };
    let (news, howto) = (
        category(&mut conn, "News".into()),
        category(&mut conn, "Howto".into()),
    );
    let p1 = post(&mut conn, ann, "Alpha one", Some(news));
    let p2 = post(&mut conn, ann, "Alpha two", Some(news));
    let p3 = post(&mut conn, bob, "Beta one", Some(howto));
    let p4 = post(&mut conn, bob, "Beta two", Some(howto));
    for (id, tag) in [(p1, "red"), (p2, "red"), (p3, "blue"), (p4, "blue")] {
        conn.posts().set_tags(id, &[tag]).unwrap();
    }
    let red = conn.tags().get_by_slug("red").unwrap().id;
    let blue = conn.tags().get_by_slug("blue").unwrap().id;
    let ids = |page: saas_db::Result<Page<saas_db::content::Post>>| page.map(|p| p.map(|x| x.id));

    for (a, b) in [(ann, bob), (bob, ann)] {
        assert_bound(&mut conn, a, b, |c, id, r| ids(c.posts().by_author(id, r)));
    }
    assert_bound(&mut conn, red, blue, |c, id, r| {
        ids(c.posts().by_tag(id, r))
    });
    assert_bound(&mut conn, news, howto, |c, id, r| {
        ids(c.posts().by_category(id, r))
    });
    assert_bound(&mut conn, "alpha", "beta", |c, text, r| {
        ids(c.posts().search(text, r))
    });
    // A search text that finds the same rows is still another search.
    assert_bound(&mut conn, "alpha", "alpha -gamma", |c, text, r| {
        ids(c.posts().search(text, r))
    });
}

#[test]
fn user_listings_bind_role_and_deleted_users() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    for i in 0..4 {
        let id = user(&mut conn, &format!("u{i}@example.com")).id;
        if i % 2 == 0 {
            conn.users()
                .set_role(&acting_as(id), id, UserRole::Admin)
                .unwrap();
        }
    }
    let by_role =
        |c: &mut PgConnection, role, r| c.users().list_by_role(role, r).map(|p| p.map(|u| u.id));
    assert_bound(&mut conn, UserRole::Admin, UserRole::User, by_role);
    assert_bound(&mut conn, UserRole::User, UserRole::Admin, by_role);

    let deleted = user(&mut conn, "gone@example.com").id;
    conn.users()
        .soft_delete(&acting_as(deleted), deleted)
        .unwrap();
    let list = |c: &mut PgConnection, with_deleted: bool, r| {
        let mut users = if with_deleted {
            c.users().including_deleted()
        } else {
            c.users()
        };
        users.list(r).map(|p| p.map(|u| u.id))
    };
    assert_bound(&mut conn, false, true, list);
    assert_bound(&mut conn, true, false, list);
}

#[test]
fn audit_and_payment_listings_bind_entity_actor_and_payer() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let (ann, bob) = (
        user(&mut conn, "ann@example.com").id,
        user(&mut conn, "bob@example.com").id,
    );
    let (x, y) = (
        Uuid::from_u128(0x0123_4567_89ab_cdef),
        Uuid::from_u128(0xfedc_ba98_7654_3210),
    );
    for (entity, id, actor) in [
        ("post", x, ann),
        ("post", x, ann),
        ("post", y, bob),
        ("post", y, bob),
        ("team", x, ann),
        ("team", x, bob),
    ] {
        conn.audit()
            .record(&AuditEntry::new("edited", entity, Some(id)).by(actor))
            .unwrap();
    }
    let for_entity = |c: &mut PgConnection, (entity, id): (&str, Uuid), r| {
        c.audit().for_entity(entity, id, r).map(|p| p.map(|e| e.id))
    };
    assert_bound(&mut conn, ("post", x), ("post", y), for_entity);
    // The same id under another entity name.
    assert_bound(&mut conn, ("post", x), ("team", x), for_entity);
    assert_bound(&mut conn, ann, bob, |c, actor, r| {
        c.audit().for_actor(actor, r).map(|p| p.map(|e| e.id))
    });

    for payer in [ann, ann, bob, bob] {
        conn.payments()
            .record(&new_payment(payer, 500, "EUR", PaymentStatus::Succeeded))
            .unwrap();
    }
    assert_bound(&mut conn, ann, bob, |c, payer, r| {
        c.payments()
            .list_for_user(payer, r)
            .map(|p| p.map(|x| x.id))
    });
}
