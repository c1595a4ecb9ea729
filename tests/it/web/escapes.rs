//! Input structs from JSON with escapes. Their text is `Cow<'a, str>`,
//! owned when read from JSON. With `&'a str` fields, any escape (`\n`, `\"`, `\\`,
//! `\u00e9`) was a deserialization error ("expected a borrowed string"), so
//! a post body with a newline could not be read at all.
//!
//! Every input struct that derives `Deserialize` is read from a body with
//! escapes in each text field and round-trips through its repository: the
//! text read back from the database is exactly the unescaped text. Fields
//! with a format (an email, a URL, a currency) get the escapes their format
//! allows (`\u0040` for `@`, `\/`); free text gets all four.

use std::borrow::Cow;

use saas_db::auth::{ExposeSecret, Keyring, NewOAuthAccount, SecretString};
use saas_db::billing::{NewPayment, NewPlan, PaymentChanges, PlanChanges, ProviderSubscription};
use saas_db::content::{NewCategory, NewPost, PostChanges};
use saas_db::enums::SubscriptionStatus;
use saas_db::users::{NewUser, ProfileChanges, UserChanges};
use saas_db::Repos;
use saas_db_testing::TestDatabase;

use crate::support::{plan, user};

/// Free text as a client sends it: a newline, quotes, a backslash and
/// `é`, all escaped. Bodies below write it as `$T`.
const ESCAPED: &str = r#"line\nbreak \"quoted\" back\\slash caf\u00e9"#;
/// [`ESCAPED`] unescaped: what must be stored.
const TEXT: &str = "line\nbreak \"quoted\" back\\slash café";

/// `body` with every `$T` replaced by [`ESCAPED`].
fn esc(body: &str) -> String {
    body.replace("$T", ESCAPED)
}

/// `TEXT` with a prefix, for a second value in an update.
fn text(prefix: &str) -> String {
    format!("{prefix}{TEXT}")
}

/// Asserts a deserialized field took the owned path and holds `expected`.
#[track_caller]
#[allow(clippy::ptr_arg)] // the variant is what it checks
fn owned(field: &Cow<'_, str>, expected: &str) {
    assert!(matches!(field, Cow::Owned(_)), "{field:?} is not owned");
    assert_eq!(field, expected);
}

/// `NewUser`, `UserChanges` and `ProfileChanges` with escapes in every text
/// field: created, changed and read back exactly.
#[test]
fn user_inputs_with_escapes_round_trip() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let body = esc(r#"{"email": "Ann\u0040ex\u0061mple.com", "name": "$T",
        "username": "\u0061nn", "avatar_url": "https:\/\/example.com\/caf\u00e9",
        "locale": "pt\u002dBR", "timezone": "Europe\/Paris"}"#);
    let new: NewUser = serde_json::from_str(&body).unwrap();
    owned(&new.name, TEXT);
    owned(new.username.as_ref().unwrap(), "ann");
    let id = conn.users().create(&new).unwrap().id;
    let ann = conn.users().get(id).unwrap();
    assert_eq!(
        (
            ann.email.as_str(),
            ann.name.as_str(),
            ann.username.as_deref()
        ),
        ("ann@example.com", TEXT, Some("ann"))
    );
    assert_eq!(
        (
            ann.avatar_url.as_deref(),
            ann.locale.as_str(),
            ann.timezone.as_str()
        ),
        (Some("https://example.com/café"), "pt-BR", "Europe/Paris")
    );

    let body = esc(r#"{"name": "2 $T", "username": "b\u006fb",
        "avatar_url": "https:\/\/example.com\/b.png", "locale": "f\u0072",
        "timezone": "Asia\/Tokyo"}"#);
    let changes: UserChanges = serde_json::from_str(&body).unwrap();
    owned(changes.name.as_ref().unwrap(), &text("2 "));
    conn.users().update(id, ann.version, &changes).unwrap();
    let ann = conn.users().get(id).unwrap();
    assert_eq!(
        (
            ann.name.as_str(),
            ann.username.as_deref(),
            ann.avatar_url.as_deref()
        ),
        (
            text("2 ").as_str(),
            Some("bob"),
            Some("https://example.com/b.png")
        )
    );
    assert_eq!(
        (ann.locale.as_str(), ann.timezone.as_str()),
        ("fr", "Asia/Tokyo")
    );

    let body = esc(r#"{"bio": "$T", "website": "https:\/\/ex\u0061mple.com",
        "location": "3 $T", "language": "d\u0065"}"#);
    let profile: ProfileChanges = serde_json::from_str(&body).unwrap();
    owned(profile.bio.as_ref().unwrap().as_ref().unwrap(), TEXT);
    conn.users().upsert_profile(id, &profile).unwrap();
    let stored = conn.users().profile(id).unwrap();
    assert_eq!(
        (stored.bio.as_deref(), stored.website.as_deref()),
        (Some(TEXT), Some("https://example.com"))
    );
    assert_eq!(
        (stored.location.as_deref(), stored.language.as_str()),
        (Some(text("3 ").as_str()), "de")
    );
}

/// `NewCategory`, `NewPost` and `PostChanges` with escapes: a post body
/// with newlines and quotes is stored as written.
#[test]
fn content_inputs_with_escapes_round_trip() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let author = user(&mut conn, "author@example.com");

    let body = esc(r#"{"name": "$T", "description": "2 $T", "sort_order": 3}"#);
    let category: NewCategory = serde_json::from_str(&body).unwrap();
    owned(&category.name, TEXT);
    let id = conn.categories().create(&category).unwrap().id;
    let stored = conn.categories().get(id).unwrap();
    assert_eq!(
        (stored.name.as_str(), stored.description.as_deref()),
        (TEXT, Some(text("2 ").as_str()))
    );

    let body = esc(r#"{"title": "$T", "content": "2 $T", "excerpt": "3 $T"}"#);
    let new: NewPost = serde_json::from_str(&body).unwrap();
    owned(&new.content, &text("2 "));
    let post = conn
        .posts()
        .create(&NewPost {
            author_id: author.id,
            ..new
        })
        .unwrap();
    let stored = conn.posts().get(post.id).unwrap();
    assert_eq!(
        (stored.title.as_str(), stored.content.as_str()),
        (TEXT, text("2 ").as_str())
    );
    assert_eq!(stored.excerpt.as_deref(), Some(text("3 ").as_str()));

    let body = esc(r#"{"title": "4 $T", "content": "5 $T", "excerpt": "6 $T"}"#);
    let changes: PostChanges = serde_json::from_str(&body).unwrap();
    owned(
        changes.excerpt.as_ref().unwrap().as_ref().unwrap(),
        &text("6 "),
    );
    conn.posts()
        .update(post.id, post.version, &changes)
        .unwrap();
    let stored = conn.posts().get(post.id).unwrap();
    assert_eq!(
        (stored.title.as_str(), stored.content.as_str()),
        (text("4 ").as_str(), text("5 ").as_str())
    );
    assert_eq!(stored.excerpt.as_deref(), Some(text("6 ").as_str()));
}

/// `NewPlan`, `PlanChanges`, `NewPayment`, `PaymentChanges` and
/// `ProviderSubscription` with escapes, features included.
#[test]
fn billing_inputs_with_escapes_round_trip() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let payer = user(&mut conn, "payer@example.com");

    let body = esc(r#"{"name": "$T", "description": "2 $T", "price_cents": 900,
        "currency": "\u0055SD", "interval": "month", "features": ["$T", "plain"]}"#);
    let new: NewPlan = serde_json::from_str(&body).unwrap();
    owned(&new.features[0], TEXT);
    let id = conn.plans().create(&new).unwrap().id;
    let stored = conn.plans().get(id).unwrap();
    assert_eq!(
        (stored.name.as_str(), stored.description.as_deref()),
        (TEXT, Some(text("2 ").as_str()))
    );
    assert_eq!(
        (stored.currency.as_str(), stored.features.clone()),
        ("USD", vec![TEXT.to_owned(), "plain".to_owned()])
    );

    let body = esc(r#"{"name": "3 $T", "description": "4 $T", "features": ["5 $T"]}"#);
    let changes: PlanChanges = serde_json::from_str(&body).unwrap();
    owned(&changes.features.as_ref().unwrap()[0], &text("5 "));
    conn.plans().update(id, stored.version, &changes).unwrap();
    let stored = conn.plans().get(id).unwrap();
    assert_eq!(
        (stored.name.as_str(), stored.description.as_deref()),
        (text("3 ").as_str(), Some(text("4 ").as_str()))
    );
    assert_eq!(stored.features, vec![text("5 ")]);

    let body = esc(r#"{"amount_cents": 900, "currency": "\u0045UR",
        "provider_payment_id": "$T", "description": "2 $T"}"#);
    let new: NewPayment = serde_json::from_str(&body).unwrap();
    owned(new.provider_payment_id.as_ref().unwrap(), TEXT);
    let (payment, _) = conn
        .payments()
        .record(&NewPayment {
            user_id: payer.id,
            ..new
        })
        .unwrap();
    let stored = conn.payments().get(payment.id).unwrap();
    assert_eq!(
        (
            stored.currency.as_str(),
            stored.provider_payment_id.as_deref()
        ),
        ("EUR", Some(TEXT))
    );
    assert_eq!(stored.description.as_deref(), Some(text("2 ").as_str()));

    let body = esc(r#"{"description": "3 $T"}"#);
    let changes: PaymentChanges = serde_json::from_str(&body).unwrap();
    conn.payments()
        .update(payment.id, stored.version, &changes)
        .unwrap();
    let stored = conn.payments().get(payment.id).unwrap();
    assert_eq!(stored.description.as_deref(), Some(text("3 ").as_str()));

    let pro = plan(
        &mut conn,
        "Pro",
        900,
        saas_db::enums::BillingInterval::Month,
    );
    let body = format!(
        r#"{{"provider_subscription_id": "{ESCAPED}", "provider_customer_id": "2 {ESCAPED}",
            "plan_id": "{}", "status": "active"}}"#,
        pro.id
    );
    let incoming: ProviderSubscription = serde_json::from_str(&body).unwrap();
    owned(&incoming.provider_subscription_id, TEXT);
    let (sub, _) = conn
        .subscriptions()
        .sync_from_provider(&ProviderSubscription {
            user_id: payer.id,
            ..incoming
        })
        .unwrap();
    let stored = conn.subscriptions().get(sub.id).unwrap();
    assert_eq!(
        (
            stored.provider_subscription_id.as_deref(),
            stored.provider_customer_id.as_deref(),
            stored.status
        ),
        (
            Some(TEXT),
            Some(text("2 ").as_str()),
            SubscriptionStatus::Active
        )
    );
}

/// `NewOAuthAccount` with escapes: the plain columns are stored exactly,
/// and the provider tokens (stored encrypted) open to the exact text.
#[test]
fn oauth_account_with_escapes_round_trips() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let keys = Keyring::new().with_key(1, [7; 32]).unwrap();
    let ada = user(&mut conn, "ada@example.com");
    let body = esc(r#"{"provider": "git\u0068ub", "provider_account_id": "$T",
        "access_token": "1 $T", "refresh_token": "2 $T", "id_token": "3 $T",
        "token_type": "4 $T", "scope": "5 $T"}"#);
    let new: NewOAuthAccount = serde_json::from_str(&body).unwrap();
    owned(&new.provider, "github");
    owned(new.access_token.as_ref().unwrap(), &text("1 "));
    conn.accounts()
        .with_keys(&keys)
        .link_oauth(ada.id, &new)
        .unwrap();
    let stored = conn.accounts().list_for_user(ada.id).unwrap();
    let [account] = stored.as_slice() else {
        panic!("{stored:?}")
    };
    assert_eq!(
        (
            account.provider.as_str(),
            account.provider_account_id.as_str()
        ),
        ("github", TEXT)
    );
    assert_eq!(
        (account.token_type.as_deref(), account.scope.as_deref()),
        (Some(text("4 ").as_str()), Some(text("5 ").as_str()))
    );
    let open = |token: saas_db::Result<Option<SecretString>>| {
        token.unwrap().unwrap().expose_secret().to_owned()
    };
    assert_eq!(
        [
            open(account.access_token(&keys)),
            open(account.refresh_token(&keys)),
            open(account.id_token(&keys)),
        ],
        [text("1 "), text("2 "), text("3 ")]
    );
}
