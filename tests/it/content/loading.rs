//! Loading without N+1: the queries a page with details costs are counted
//! on a warmed connection (`budget::Counted`) and do not grow with the page; a naive
//! per-post loader, counted the same way, does. The user overview is two
//! queries whatever the user has.

use diesel::prelude::*;
use saas_db::billing::{NewPlan, NewSubscription};
use saas_db::content::{NewCategory, NewPost, Post};
use saas_db::enums::{BillingInterval, SubscriptionStatus};
use saas_db::ids::{CategoryId, PostId, UserId};
use saas_db::users::ProfileChanges;
use saas_db::views::{PostDetails, UserOverview};
use saas_db::{Error, PageRequest, Repos};
use saas_db_testing::TestDatabase;
use uuid::Uuid;

use super::{at, author, draft, ids, publish_at};
use crate::budget::Counted;
use crate::support::acting_as;

/// Statements `work` issued on `counted`'s connection.
fn queries_of<T>(counted: &mut Counted, work: impl FnOnce(&mut PgConnection) -> T) -> (T, usize) {
    let (out, trips) = counted.trips(work);
    (out, trips.len())
}

/// 60 published posts by 4 authors, 2 categories, 0 to 3 tags each.
fn seed(conn: &mut PgConnection) -> Vec<PostId> {
    let authors: Vec<UserId> = (0..4)
        .map(|i| author(conn, &format!("w{i}@example.com")))
        .collect();
    let categories: Vec<CategoryId> = ["Tech", "Life"]
        .into_iter()
        .map(|name| {
            conn.categories()
                .create(&NewCategory {
                    name: name.into(),
                    ..Default::default()
                })
                .unwrap()
                .id
        })
        .collect();
    let tag_names = ["rust", "sql", "web"];
    (0..60)
        .map(|i| {
            let p = conn
                .posts()
                .create(&NewPost {
                    author_id: authors[i % 4],
                    title: format!("Post {i}").into(),
                    category_id: (i % 3 != 0).then(|| categories[i % 2]),
                    ..Default::default()
                })
                .unwrap();
            publish_at(conn, p.id, at(i as i64));
            conn.posts().set_tags(p.id, &tag_names[..i % 4]).unwrap();
            p.id
        })
        .collect()
}

#[test]
fn a_page_with_details_costs_the_same_queries_at_10_and_50() {
    let db = TestDatabase::new();
    seed(&mut db.conn().unwrap());
    let mut counted = Counted::connect(db.url());
    // Warm-up: the first use of a connection looks up enum type OIDs, and
    // each page size is its own prepared statement (the limit is inlined).
    for n in [10, 50] {
        let warm = conn_page(&mut counted.conn, n);
        PostDetails::load_page(&mut counted.conn, warm).unwrap();
    }

    let (small, q10) = queries_of(&mut counted, |c| {
        let page = c.posts().published(PageRequest::first(10)).unwrap();
        PostDetails::load_page(c, page).unwrap()
    });
    let (large, q50) = queries_of(&mut counted, |c| {
        let page = c.posts().published(PageRequest::first(50)).unwrap();
        PostDetails::load_page(c, page).unwrap()
    });
    assert_eq!((small.items.len(), large.items.len()), (10, 50));
    assert_eq!(q10, q50, "queries must not grow with the page");
    assert_eq!(q10, 4, "the page, authors, categories, tags");
    assert!(
        large.next_cursor().is_some(),
        "cursors survive with_details"
    );

    // The details are right: compare with per-post lookups.
    for d in &large.items {
        assert_eq!(d.author.id, d.post.author_id);
        assert_eq!(d.category.as_ref().map(|c| c.id), d.post.category_id);
        assert_eq!(d.tags, counted.conn.posts().tags_of(d.post.id).unwrap());
    }
    assert!(large.items.iter().any(|d| d.tags.len() == 3));
    assert!(large
        .items
        .iter()
        .any(|d| d.tags.is_empty() && d.category.is_none()));
    // An empty page costs nothing more.
    let (empty, q0) = queries_of(&mut counted, |c| {
        PostDetails::load_page(c, saas_db::Page::<Post>::empty()).unwrap()
    });
    assert!(empty.items.is_empty());
    assert_eq!(q0, 0);
}

fn conn_page(conn: &mut PgConnection, n: u32) -> saas_db::Page<Post> {
    conn.posts().published(PageRequest::first(n)).unwrap()
}

#[test]
fn control_per_post_loading_grows_with_the_page() {
    // The N+1 shape the test above guards against, counted the same way:
    // one query for the page, then author and tags per post.
    let db = TestDatabase::new();
    seed(&mut db.conn().unwrap());
    let mut counted = Counted::connect(db.url());
    let naive = |c: &mut PgConnection, n: u32| {
        let page = conn_page(c, n);
        for post in &page.items {
            c.users().get(post.author_id).unwrap();
            c.posts().tags_of(post.id).unwrap();
        }
    };
    naive(&mut counted.conn, 10);
    naive(&mut counted.conn, 50);
    let ((), q10) = queries_of(&mut counted, |c| naive(c, 10));
    let ((), q50) = queries_of(&mut counted, |c| naive(c, 50));
    assert_eq!((q10, q50), (21, 101));
}

#[test]
fn user_overview_in_two_queries() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let alice = author(&mut conn, "alice@example.com");
    let bob = author(&mut conn, "bob@example.com");
    conn.users()
        .upsert_profile(
            alice,
            &ProfileChanges {
                bio: Some(Some("Writes a lot".into())),
                ..Default::default()
            },
        )
        .unwrap();
    let plan = conn
        .plans()
        .create(&NewPlan {
            name: "Pro".into(),
            description: None,
            price_cents: 2900,
            currency: "USD".into(),
            interval: BillingInterval::Month,
            features: vec![],
            sort_order: 0,
        })
        .unwrap();
    // An old canceled subscription and the live one.
    let old = conn
        .subscriptions()
        .start(&NewSubscription::new(alice, plan.id))
        .unwrap();
    conn.subscriptions()
        .cancel(&acting_as(old.user_id), old.id, false)
        .unwrap();
    let live = conn
        .subscriptions()
        .start(&NewSubscription::new(alice, plan.id))
        .unwrap();
    let mut published = Vec::new();
    for i in 0..12 {
        let p = draft(&mut conn, alice, &format!("Alice {i}"), "");
        published.push(publish_at(&mut conn, p.id, at(i)));
    }
    draft(&mut conn, alice, "Alice's draft", "");
    let gone = draft(&mut conn, alice, "Alice's deleted", "");
    publish_at(&mut conn, gone.id, at(99));
    conn.posts().soft_delete(gone.id).unwrap();
    let bobs = draft(&mut conn, bob, "Bob's", "");
    publish_at(&mut conn, bobs.id, at(50));

    let mut counted = Counted::connect(db.url());
    UserOverview::load(&mut counted.conn, bob).unwrap(); // warm-up
    let (overview, q) = queries_of(&mut counted, |c| UserOverview::load(c, alice).unwrap());
    assert_eq!(q, 2);
    assert_eq!(overview.user.id, alice);
    assert_eq!(
        overview.profile.as_ref().and_then(|p| p.bio.as_deref()),
        Some("Writes a lot")
    );
    let sub = overview.subscription.as_ref().expect("live subscription");
    assert_eq!((sub.id, sub.status), (live.id, SubscriptionStatus::Active));
    assert_eq!(overview.plan.as_ref().map(|p| p.id), Some(plan.id));
    published.reverse();
    assert_eq!(
        ids(&overview.latest_posts),
        ids(&published[..10]),
        "newest 10, published only"
    );

    // A user with nothing: every part empty, still two queries.
    let bare_id = author(&mut conn, "bare@example.com");
    let (bare, q) = queries_of(&mut counted, |c| UserOverview::load(c, bare_id).unwrap());
    assert_eq!(q, 2);
    assert!(bare.profile.is_none() && bare.subscription.is_none() && bare.plan.is_none());
    assert!(bare.latest_posts.is_empty());

    assert!(matches!(
        UserOverview::load(&mut conn, UserId(Uuid::now_v7())),
        Err(Error::NotFound { entity: "user" })
    ));
    conn.users().soft_delete(&acting_as(bob), bob).unwrap();
    assert!(matches!(
        UserOverview::load(&mut conn, bob),
        Err(Error::NotFound { entity: "user" })
    ));
    assert_eq!(
        UserOverview::load_including_deleted(&mut conn, bob)
            .unwrap()
            .latest_posts
            .len(),
        1
    );
}
