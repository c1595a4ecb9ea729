//! Input structs keep text borrowed from the body when it has no escape:
//! `Cow<'a, str>` fields are zero-copy, also where serde's own
//! `Option<Cow<str>>` or `Vec<Cow<str>>` would copy.

use std::borrow::Cow;

use saas_db::auth::NewOAuthAccount;
use saas_db::billing::{NewPayment, NewPlan, PaymentChanges, PlanChanges, ProviderSubscription};
use saas_db::content::{NewCategory, NewPost, PostChanges};
use saas_db::users::{NewUser, ProfileChanges, UserChanges};

/// Asserts every text field in `fields` is borrowed from the body.
#[track_caller]
fn borrowed<'a>(fields: impl IntoIterator<Item = &'a Cow<'a, str>>) {
    for field in fields {
        assert!(matches!(field, Cow::Borrowed(_)), "{field:?} was copied");
    }
}

/// Without escapes nothing is copied: every text field of every input
/// borrows from the body (also inside `Option`, `Option<Option<..>>` and
/// `Vec`, where serde would copy a plain `Cow`), from `&str` and `&[u8]`.
#[test]
fn text_without_escapes_is_borrowed_from_the_body() {
    let body = r#"{"email": "a@example.com", "name": "A", "username": "ann",
        "avatar_url": "https://a.example", "locale": "en", "timezone": "UTC"}"#;
    let u: NewUser = serde_json::from_slice(body.as_bytes()).unwrap();
    let opt = [&u.username, &u.avatar_url, &u.locale, &u.timezone];
    borrowed(
        [&u.email, &u.name]
            .into_iter()
            .chain(opt.into_iter().flatten()),
    );
    let body = r#"{"name": "A", "username": "ann", "avatar_url": "https://a.example",
        "locale": "en", "timezone": "UTC", "bio": "b", "website": "https://w.example",
        "location": "l", "language": "en", "title": "t", "content": "c", "excerpt": "e",
        "description": "d"}"#;
    let c: UserChanges = serde_json::from_str(body).unwrap();
    let (u2, a2) = (c.username.as_ref().unwrap(), c.avatar_url.as_ref().unwrap());
    borrowed(
        [&c.name, u2, a2, &c.locale, &c.timezone]
            .into_iter()
            .flatten(),
    );
    let p: ProfileChanges = serde_json::from_str(body).unwrap();
    let nested = [&p.bio, &p.website, &p.location].map(|f| f.as_ref().unwrap());
    borrowed(nested.into_iter().chain([&p.language]).flatten());
    let post: NewPost = serde_json::from_str(body).unwrap();
    borrowed(
        [&post.title, &post.content]
            .into_iter()
            .chain(&post.excerpt),
    );
    let post: PostChanges = serde_json::from_str(body).unwrap();
    let excerpt = post.excerpt.as_ref().unwrap();
    borrowed([&post.title, &post.content, excerpt].into_iter().flatten());
    let cat: NewCategory = serde_json::from_str(body).unwrap();
    borrowed([&cat.name].into_iter().chain(&cat.description));

    let body = r#"{"name": "P", "description": "d", "price_cents": 1, "currency": "USD",
        "interval": "year", "features": ["a", "b"], "amount_cents": 1,
        "provider_payment_id": "pi", "provider_subscription_id": "sub",
        "provider_customer_id": "cus", "plan_id": "0190f0a4-0000-7000-8000-000000000001"}"#;
    let plan: NewPlan = serde_json::from_str(body).unwrap();
    let text = [&plan.name, &plan.currency]
        .into_iter()
        .chain(&plan.description);
    borrowed(text.chain(&plan.features));
    let plan: PlanChanges = serde_json::from_str(body).unwrap();
    let description = plan.description.as_ref().unwrap();
    let text = [&plan.name, description].into_iter().flatten();
    borrowed(text.chain(plan.features.as_ref().unwrap()));
    let pay: NewPayment = serde_json::from_str(body).unwrap();
    let text = [&pay.provider_payment_id, &pay.description]
        .into_iter()
        .flatten();
    borrowed(text.chain([&pay.currency]));
    let pay: PaymentChanges = serde_json::from_str(body).unwrap();
    borrowed(pay.description.as_ref().unwrap());
    // `status` is a payment's or a subscription's; the rest is shared.
    let body = body.replacen('{', r#"{"status": "active", "#, 1);
    let sub: ProviderSubscription = serde_json::from_str(&body).unwrap();
    borrowed(
        [&sub.provider_subscription_id]
            .into_iter()
            .chain(&sub.provider_customer_id),
    );

    let body = r#"{"provider": "github", "provider_account_id": "1", "access_token": "a",
        "refresh_token": "r", "id_token": "i", "token_type": "t", "scope": "s"}"#;
    let o: NewOAuthAccount = serde_json::from_str(body).unwrap();
    let opt = [
        &o.access_token,
        &o.refresh_token,
        &o.id_token,
        &o.token_type,
        &o.scope,
    ];
    borrowed(
        [&o.provider, &o.provider_account_id]
            .into_iter()
            .chain(opt.into_iter().flatten()),
    );
}
