//! Input structs from request bodies: text read exactly (escapes
//! included, see `escapes.rs`), `null`
//! apart from a missing field in `XChanges`, and the fields that say who
//! owns a row or what they may do never read from input.

use saas_db::billing::{NewPayment, NewPlan, PaymentChanges, PlanChanges, ProviderSubscription};
use saas_db::content::{NewCategory, NewPost, PostChanges};
use saas_db::enums::{PaymentStatus, SubscriptionStatus, UserRole};
use saas_db::users::{NewUser, ProfileChanges, UserChanges};
use saas_db::{PlanId, Repos, UserId};
use saas_db_testing::TestDatabase;

use crate::support::{assert_invalid, user};

/// A sign-up body makes a plain user even when it asks for `admin`; the
/// rest of its fields are taken (there was no `Deserialize` for `NewUser`).
#[test]
fn a_new_user_from_json_never_takes_a_role() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let body = r#"{"email": "Eve@Example.com", "name": "Eve", "role": "admin",
                   "username": "eve", "locale": "fr", "timezone": "Europe/Paris"}"#;
    let new: NewUser = serde_json::from_str(body).unwrap();
    assert_eq!(new.role, UserRole::User);
    assert_eq!(new.username.as_deref(), Some("eve"));
    let eve = conn.users().create(&new).unwrap();
    assert_eq!(
        (
            eve.role,
            eve.email.as_str(),
            eve.locale.as_str(),
            eve.timezone.as_str()
        ),
        (UserRole::User, "eve@example.com", "fr", "Europe/Paris")
    );

    let error = serde_json::from_str::<NewUser>(r#"{"name": "No email"}"#).unwrap_err();
    assert!(
        error.to_string().contains("missing field `email`"),
        "{error}"
    );
    // Text with an escape used to be refused ("expected a borrowed
    // string"); it is an owned copy now (every field: `escapes.rs`).
    let new: NewUser = serde_json::from_str(r#"{"email": "a\u0041@x.com", "name": "A"}"#).unwrap();
    assert_eq!(new.email, "aA@x.com");
    assert_eq!(conn.users().create(&new).unwrap().email, "aa@x.com");
}

/// In `XChanges`, a missing field keeps the column and `null` clears it
/// (serde's default reads both as `None`, so `null` used to keep the old
/// value).
#[test]
fn changes_from_json_tell_null_from_missing() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let ann = conn
        .users()
        .create(
            &NewUser::new("ann@example.com", "Ann")
                .username("ann")
                .avatar_url("https://example.com/a.png"),
        )
        .unwrap();

    let keep: UserChanges = serde_json::from_str(r#"{"name": "Ann B."}"#).unwrap();
    assert_eq!(
        keep,
        UserChanges {
            name: Some("Ann B.".into()),
            ..Default::default()
        }
    );
    let ann = conn.users().update(ann.id, ann.version, &keep).unwrap();
    assert_eq!(ann.username.as_deref(), Some("ann"));
    assert!(ann.avatar_url.is_some());

    let clear: UserChanges = serde_json::from_str(r#"{"avatar_url": null}"#).unwrap();
    assert_eq!(clear.avatar_url, Some(None));
    assert_eq!(clear.username, None);
    let ann = conn.users().update(ann.id, ann.version, &clear).unwrap();
    assert_eq!(ann.avatar_url, None);
    assert_eq!(ann.username.as_deref(), Some("ann"));

    let profile: ProfileChanges =
        serde_json::from_str(r#"{"bio": "Hi", "website": null, "theme": "dark"}"#).unwrap();
    assert_eq!(
        (
            profile.bio.clone(),
            profile.website.clone(),
            profile.location.clone()
        ),
        (Some(Some("Hi".into())), Some(None), None)
    );
    conn.users().upsert_profile(ann.id, &profile).unwrap();

    let post: PostChanges =
        serde_json::from_str(r#"{"excerpt": null, "category_id": null}"#).unwrap();
    assert_eq!(
        (post.excerpt, post.category_id, post.title),
        (Some(None), Some(None), None)
    );
    let plan: PlanChanges =
        serde_json::from_str(r#"{"description": null, "features": ["a", "b"]}"#).unwrap();
    assert_eq!(
        (plan.description, plan.features),
        (Some(None), Some(vec!["a".into(), "b".into()]))
    );
    let payment: PaymentChanges =
        serde_json::from_str(r#"{"description": null, "metadata": {"k": 1}}"#).unwrap();
    assert_eq!(payment.description, Some(None));
    assert_eq!(payment.metadata, Some(serde_json::json!({"k": 1})));
    let none: PaymentChanges = serde_json::from_str("{}").unwrap();
    assert_eq!(none, PaymentChanges::default());
}

/// A post, a payment and a provider subscription from JSON ignore the
/// owner a client names; left unset, the owner is `Invalid` naming the
/// field before the database (it used to reach the foreign key).
#[test]
fn owners_are_not_read_from_json_and_an_unset_owner_is_invalid() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let ann = user(&mut conn, "ann@example.com");
    let victim = user(&mut conn, "victim@example.com");

    let body = format!(r#"{{"title": "Hello", "author_id": "{}"}}"#, victim.id);
    let post: NewPost = serde_json::from_str(&body).unwrap();
    assert_eq!(post.author_id, UserId::default());
    assert_eq!((post.content.as_ref(), post.featured), ("", false));
    assert_invalid(conn.posts().create(&post), "author_id");
    let created = conn
        .posts()
        .create(&NewPost {
            author_id: ann.id,
            ..post
        })
        .unwrap();
    assert_eq!(created.author_id, ann.id);

    let body = format!(
        r#"{{"amount_cents": 500, "currency": "USD", "user_id": "{}"}}"#,
        victim.id
    );
    let payment: NewPayment = serde_json::from_str(&body).unwrap();
    assert_eq!(payment.user_id, UserId::default());
    assert_eq!(payment.status, PaymentStatus::Pending);
    assert_eq!(payment.metadata, serde_json::json!({}));
    assert_invalid(conn.payments().record(&payment), "user_id");
    let (paid, _) = conn
        .payments()
        .record(&NewPayment {
            user_id: ann.id,
            ..payment
        })
        .unwrap();
    assert_eq!((paid.user_id, paid.amount_cents), (ann.id, 500));

    let plan_body = r#"{"name": "Pro", "price_cents": 900, "currency": "EUR", "interval": "year"}"#;
    let plan: NewPlan = serde_json::from_str(plan_body).unwrap();
    assert!(plan.features.is_empty());
    let pro = conn.plans().create(&plan).unwrap();
    let error = serde_json::from_str::<NewPlan>(
        r#"{"name": "Pro", "currency": "EUR", "interval": "year"}"#,
    )
    .unwrap_err();
    assert!(
        error.to_string().contains("missing field `price_cents`"),
        "{error}"
    );

    let body = format!(
        r#"{{"provider_subscription_id": "sub_1", "plan_id": "{}", "status": "active", "user_id": "{}"}}"#,
        pro.id, victim.id
    );
    let incoming: ProviderSubscription = serde_json::from_str(&body).unwrap();
    assert_eq!(incoming.user_id, UserId::default());
    assert_invalid(
        conn.subscriptions().sync_from_provider(&incoming),
        "user_id",
    );
    assert_invalid(
        conn.subscriptions()
            .sync_from_provider(&ProviderSubscription {
                user_id: ann.id,
                plan_id: PlanId::default(),
                ..incoming.clone()
            }),
        "plan_id",
    );
    let (sub, _) = conn
        .subscriptions()
        .sync_from_provider(&ProviderSubscription {
            user_id: ann.id,
            ..incoming
        })
        .unwrap();
    assert_eq!(
        (sub.user_id, sub.status),
        (ann.id, SubscriptionStatus::Active)
    );

    let category: NewCategory = serde_json::from_str(r#"{"name": "News"}"#).unwrap();
    assert_eq!(conn.categories().create(&category).unwrap().name, "News");
    // The connection is still usable after the refusals.
    assert_eq!(conn.users().get(victim.id).unwrap().id, victim.id);
}
