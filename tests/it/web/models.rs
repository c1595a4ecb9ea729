//! Every model a repository returns serializes and deserializes back to
//! itself; `PublicUser` shows exactly its public fields.

use std::fmt::Debug;
use std::time::Duration;

use saas_db::auth::NewOAuthAccount;
use saas_db::billing::{NewPayment, NewSubscription};
use saas_db::enums::{BillingInterval, PaymentStatus, TeamRole, TokenKind};
use saas_db::users::{ProfileChanges, PublicUser, User};
use saas_db::views::{PostDetails, UserOverview};
use saas_db::{audit::AuditEntry, content::NewPost, PageRequest, Repos};
use saas_db_testing::TestDatabase;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::support::{actor, new_payment, plan, site_admin, user};

/// `value` through JSON text and back is `value`.
fn round_trip<T: Serialize + DeserializeOwned + PartialEq + Debug>(value: &T) {
    let text = serde_json::to_string(value).unwrap();
    let back: T = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "{} does not read back: {e}\n{text}",
            std::any::type_name::<T>()
        )
    });
    assert_eq!(&back, value, "{}", std::any::type_name::<T>());
}

/// Rows of every domain, and the views joining them, read back from their
/// JSON (the models had `Serialize` only, so a client in Rust or a cache
/// could not read them).
#[test]
fn every_model_round_trips_through_json() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let admin = site_admin(&mut conn, "admin@example.com");
    let ann = actor(&mut conn, "ann@example.com");
    let mut ann_user = conn.users().get(ann.user_id).unwrap();
    ann_user = conn
        .users()
        .ban(&admin, ann_user.id, None, Some("spam"))
        .unwrap();
    round_trip(&ann_user);
    round_trip(&conn.users().list(PageRequest::first(10)).unwrap().items);

    let profile = conn
        .users()
        .upsert_profile(
            ann.user_id,
            &ProfileChanges {
                bio: Some(Some("hi".into())),
                ..Default::default()
            },
        )
        .unwrap();
    round_trip(&profile);

    let pro = plan(&mut conn, "Pro", 900, BillingInterval::Month);
    round_trip(&pro);
    let sub = conn
        .subscriptions()
        .start(&NewSubscription::new(ann.user_id, pro.id))
        .unwrap();
    round_trip(&sub);
    let (payment, _) = conn
        .payments()
        .record(&NewPayment {
            metadata: serde_json::json!({"order": 7, "tags": ["a", "b"]}),
            ..new_payment(ann.user_id, 900, "USD", PaymentStatus::Succeeded)
        })
        .unwrap();
    round_trip(&payment);
    round_trip(&conn.payments().totals_per_currency(None).unwrap());

    let post = conn
        .posts()
        .create(&NewPost {
            author_id: ann.user_id,
            title: "Hello".into(),
            content: "Body with \"quotes\" and \\ and é".into(),
            ..Default::default()
        })
        .unwrap();
    round_trip(&post);
    round_trip(&conn.tags().create("rust").unwrap());
    round_trip(&conn.categories().list().unwrap());
    round_trip(&PostDetails::load(&mut conn, vec![post.clone()]).unwrap());
    round_trip(&UserOverview::load(&mut conn, ann.user_id).unwrap());

    let bob = actor(&mut conn, "bob@example.com");
    let team = conn.teams().create(&bob, "Bobs").unwrap();
    round_trip(&team);
    let (invitation, _token) = conn
        .teams()
        .invite(
            &bob,
            team.id,
            "cy@example.com",
            TeamRole::Member,
            Duration::from_secs(60),
        )
        .unwrap();
    round_trip(&invitation);
    round_trip(&conn.teams().members(&bob, team.id).unwrap());
    round_trip(&conn.projects().create(&bob, team.id, "Site").unwrap());

    let (issued, _token) = conn
        .verification_tokens()
        .issue(
            TokenKind::EmailVerification,
            "bob@example.com",
            Some(bob.user_id),
            Duration::from_secs(60),
        )
        .unwrap();
    round_trip(&issued);
    let account = conn
        .accounts()
        .link_oauth(
            bob.user_id,
            &NewOAuthAccount {
                provider: "github".into(),
                provider_account_id: "42".into(),
                ..Default::default()
            },
        )
        .unwrap();
    round_trip(&account);

    let entry = conn
        .audit()
        .record(&AuditEntry::created("post", post.id).by(ann.user_id))
        .unwrap();
    round_trip(&entry);
    round_trip(&conn.analytics().top_customers("USD", 10).unwrap());
}

/// `PublicUser` has exactly id, name, username, avatar_url and created_at:
/// none of the email, role, ban, deletion, sign-in, preference or version
/// fields that serializing `User` shows (there was no such view before).
#[test]
fn public_user_shows_only_public_fields() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let admin = site_admin(&mut conn, "admin@example.com");
    let ann = user(&mut conn, "ann.secret@example.com");
    conn.users().record_login(ann.id).unwrap();
    let ann = conn
        .users()
        .ban(&admin, ann.id, None, Some("chargeback fraud"))
        .unwrap();
    let full = serde_json::to_value(&ann).unwrap();
    for key in [
        "ban_reason",
        "banned_at",
        "deleted_at",
        "last_login_at",
        "role",
        "email",
    ] {
        assert!(full.get(key).is_some(), "User no longer has {key}");
    }

    let public = PublicUser::from(&ann);
    let json = serde_json::to_value(&public).unwrap();
    let mut keys: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, ["avatar_url", "created_at", "id", "name", "username"]);
    let text = json.to_string();
    assert!(
        !text.contains("chargeback") && !text.contains("ann.secret"),
        "{text}"
    );
    assert_eq!(json["id"], ann.id.to_string());
    assert_eq!(PublicUser::from(ann.clone()), public);
    round_trip(&public);
}

/// A user read back from JSON is the same user (also one with a username
/// and an avatar), so a handler may cache it.
#[test]
fn a_user_with_every_field_set_round_trips() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let full: User = conn
        .users()
        .create(
            &saas_db::users::NewUser::new("full@example.com", "Full")
                .username("full")
                .avatar_url("https://example.com/a.png")
                .locale("pt-BR")
                .timezone("Europe/Paris"),
        )
        .unwrap();
    conn.users().verify_email(full.id).unwrap();
    let admin = site_admin(&mut conn, "admin@example.com");
    conn.users().soft_delete(&admin, full.id).unwrap();
    let full = conn.users().including_deleted().get(full.id).unwrap();
    assert!(full.deleted_at.is_some() && full.email_verified_at.is_some());
    round_trip(&full);
}
