//! Input structs are `DeserializeOwned`, so a web framework's extractor
//! (axum's `Json<NewPost>`, `serde_json::from_reader`, `from_value`) takes
//! them directly. Before, `#[serde(borrow)]` tied them to the body and
//! `Json<NewPost>` did not compile.

use std::io::Cursor;

use saas_db::auth::NewOAuthAccount;
use saas_db::billing::{
    NewPayment, NewPlan, NewSubscription, PaymentChanges, PlanChanges, ProviderSubscription,
};
use saas_db::content::{NewCategory, NewPost, PostChanges};
use saas_db::users::{NewUser, ProfileChanges, UserChanges};
use serde::de::DeserializeOwned;

/// Reads `T` from a byte stream, which only a `DeserializeOwned` type can.
#[track_caller]
fn read<T: DeserializeOwned>(body: &str) -> T {
    serde_json::from_reader(Cursor::new(body.as_bytes().to_vec())).expect("deserializes")
}

/// Every input, read from a stream (escapes included), holds the text sent.
#[test]
fn every_input_deserializes_from_a_stream() {
    let body = r#"{"email": "a@example.com", "name": "A\nB", "username": "ann",
        "bio": "b\"q\"", "title": "T", "content": "line\nline", "excerpt": "e",
        "description": "d\u00e9"}"#;
    let u: NewUser = read(body);
    assert_eq!((&*u.email, &*u.name), ("a@example.com", "A\nB"));
    let c: UserChanges = read(body);
    assert_eq!(c.name.as_deref(), Some("A\nB"));
    let p: ProfileChanges = read(body);
    assert_eq!(p.bio.as_ref().map(|b| b.as_deref()), Some(Some("b\"q\"")));
    let post: NewPost = read(body);
    assert_eq!(&*post.content, "line\nline");
    let changes: PostChanges = read(body);
    assert_eq!(changes.content.as_deref(), Some("line\nline"));
    let cat: NewCategory = read(body);
    assert_eq!(cat.description.as_deref(), Some("d\u{e9}"));

    let body = r#"{"name": "P", "description": "d", "price_cents": 1, "currency": "USD",
        "interval": "year", "features": ["a\nb"], "amount_cents": 1,
        "provider_payment_id": "pi", "provider_subscription_id": "sub",
        "provider_customer_id": "cus",
        "plan_id": "0190f0a4-0000-7000-8000-000000000001"}"#;
    let plan: NewPlan = read(body);
    assert_eq!(plan.features, ["a\nb"]);
    let plan: PlanChanges = read(body);
    assert_eq!(plan.name.as_deref(), Some("P"));
    let pay: NewPayment = read(body);
    assert_eq!(pay.provider_payment_id.as_deref(), Some("pi"));
    let pay: PaymentChanges = read(body);
    assert_eq!(
        pay.description.as_ref().map(|d| d.as_deref()),
        Some(Some("d"))
    );
    // `status` is a payment's or a subscription's; the rest is shared.
    let sub: ProviderSubscription = read(&body.replacen('{', r#"{"status": "active", "#, 1));
    assert_eq!(&*sub.provider_subscription_id, "sub");
    let new: NewSubscription = read(body);
    assert_eq!(new.provider_customer_id.as_deref(), Some("cus"));

    let body = r#"{"provider": "github", "provider_account_id": "1", "access_token": "a\/b"}"#;
    let o: NewOAuthAccount = read(body);
    assert_eq!(o.access_token.as_deref(), Some("a/b"));
}
