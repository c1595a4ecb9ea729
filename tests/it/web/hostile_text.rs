//! Hostile text in JSON inputs, now that escapes are accepted (each used to
//! be refused by serde as "expected a borrowed string" before the
//! repository could check it): an escaped NUL (`\u0000`) and a mebibyte of
//! escaped text get through serde and are [`Error::Invalid`] naming the
//! field from the repository, before the database; a wrong type or a broken
//! escape is a serde error, never a panic. Every input struct that derives
//! `Deserialize`, every text field.

use diesel::PgConnection;
use saas_db::auth::{Keyring, NewOAuthAccount};
use saas_db::billing::{NewPayment, NewPlan, PaymentChanges, PlanChanges, ProviderSubscription};
use saas_db::content::{NewCategory, NewPost, PostChanges};
use saas_db::enums::{BillingInterval, PaymentStatus};
use saas_db::users::{NewUser, ProfileChanges, UserChanges};
use saas_db::{Error, Repos};
use saas_db_testing::TestDatabase;
use serde_json::{json, Value};

use crate::support::{count, new_payment, plan, short, user};

/// The rows the inputs refer to or change.
struct Rows {
    user: saas_db::users::User,
    post: saas_db::content::Post,
    plan: saas_db::billing::Plan,
    payment: saas_db::billing::Payment,
    keys: Keyring,
}

/// One input struct: a valid body, its text fields, how to read it alone
/// and how to hand it to its repository.
struct Input {
    name: &'static str,
    body: fn(&Rows) -> Value,
    fields: &'static [&'static str],
    parse: fn(&str) -> serde_json::Result<()>,
    write: fn(&mut PgConnection, &Rows, &str) -> saas_db::Result<()>,
}

/// Deserializes `body`, which the caller made valid JSON of the right shape.
fn de<'a, T: serde::Deserialize<'a>>(body: &'a str) -> T {
    serde_json::from_str(body).unwrap()
}

fn inputs() -> Vec<Input> {
    vec![
        Input {
            name: "NewUser",
            body: |_| {
                json!({"email": "new@example.com", "name": "N", "username": "newbie",
                    "avatar_url": "https://a.example", "locale": "en", "timezone": "UTC"})
            },
            fields: &[
                "email",
                "name",
                "username",
                "avatar_url",
                "locale",
                "timezone",
            ],
            parse: |b| serde_json::from_str::<NewUser>(b).map(drop),
            write: |c, _, b| c.users().create(&de(b)).map(drop),
        },
        Input {
            name: "UserChanges",
            body: |_| {
                json!({"name": "N", "username": "newbie", "avatar_url": "https://a.example",
                    "locale": "en", "timezone": "UTC"})
            },
            fields: &["name", "username", "avatar_url", "locale", "timezone"],
            parse: |b| serde_json::from_str::<UserChanges>(b).map(drop),
            write: |c, r, b| {
                c.users()
                    .update(r.user.id, r.user.version, &de(b))
                    .map(drop)
            },
        },
        Input {
            name: "ProfileChanges",
            body: |_| json!({"bio": "b", "website": "https://w.example", "location": "l", "language": "en"}),
            fields: &["bio", "website", "location", "language"],
            parse: |b| serde_json::from_str::<ProfileChanges>(b).map(drop),
            write: |c, r, b| c.users().upsert_profile(r.user.id, &de(b)).map(drop),
        },
        Input {
            name: "NewOAuthAccount",
            body: |_| {
                json!({"provider": "github", "provider_account_id": "1", "access_token": "a",
                    "refresh_token": "r", "id_token": "i", "token_type": "t", "scope": "s"})
            },
            fields: &[
                "provider",
                "provider_account_id",
                "access_token",
                "refresh_token",
                "id_token",
                "token_type",
                "scope",
            ],
            parse: |b| serde_json::from_str::<NewOAuthAccount>(b).map(drop),
            write: |c, r, b| {
                c.accounts()
                    .with_keys(&r.keys)
                    .link_oauth(r.user.id, &de(b))
                    .map(drop)
            },
        },
        Input {
            name: "NewCategory",
            body: |_| json!({"name": "News", "description": "d"}),
            fields: &["name", "description"],
            parse: |b| serde_json::from_str::<NewCategory>(b).map(drop),
            write: |c, _, b| c.categories().create(&de(b)).map(drop),
        },
        Input {
            name: "NewPost",
            body: |_| json!({"title": "T", "content": "c", "excerpt": "e"}),
            fields: &["title", "content", "excerpt"],
            parse: |b| serde_json::from_str::<NewPost>(b).map(drop),
            write: |c, r, b| {
                let new = NewPost {
                    author_id: r.user.id,
                    ..de(b)
                };
                c.posts().create(&new).map(drop)
            },
        },
        Input {
            name: "PostChanges",
            body: |_| json!({"title": "T", "content": "c", "excerpt": "e"}),
            fields: &["title", "content", "excerpt"],
            parse: |b| serde_json::from_str::<PostChanges>(b).map(drop),
            write: |c, r, b| {
                c.posts()
                    .update(r.post.id, r.post.version, &de(b))
                    .map(drop)
            },
        },
        Input {
            name: "NewPlan",
            body: |_| {
                json!({"name": "Team", "description": "d", "price_cents": 1, "currency": "USD",
                    "interval": "month", "features": ["f"]})
            },
            fields: &["name", "description", "currency", "features"],
            parse: |b| serde_json::from_str::<NewPlan>(b).map(drop),
            write: |c, _, b| c.plans().create(&de(b)).map(drop),
        },
        Input {
            name: "PlanChanges",
            body: |_| json!({"name": "Team", "description": "d", "features": ["f"]}),
            fields: &["name", "description", "features"],
            parse: |b| serde_json::from_str::<PlanChanges>(b).map(drop),
            write: |c, r, b| {
                c.plans()
                    .update(r.plan.id, r.plan.version, &de(b))
                    .map(drop)
            },
        },
        Input {
            name: "NewPayment",
            body: |_| json!({"amount_cents": 1, "currency": "USD", "provider_payment_id": "pi", "description": "d"}),
            fields: &["currency", "provider_payment_id", "description"],
            parse: |b| serde_json::from_str::<NewPayment>(b).map(drop),
            write: |c, r, b| {
                let new = NewPayment {
                    user_id: r.user.id,
                    ..de(b)
                };
                c.payments().record(&new).map(drop)
            },
        },
        Input {
            name: "PaymentChanges",
            body: |_| json!({"description": "d"}),
            fields: &["description"],
            parse: |b| serde_json::from_str::<PaymentChanges>(b).map(drop),
            write: |c, r, b| {
                c.payments()
                    .update(r.payment.id, r.payment.version, &de(b))
                    .map(drop)
            },
        },
        Input {
            name: "ProviderSubscription",
            body: |r| {
                json!({"provider_subscription_id": "sub", "provider_customer_id": "cus",
                    "plan_id": r.plan.id, "status": "active"})
            },
            fields: &["provider_subscription_id", "provider_customer_id"],
            parse: |b| serde_json::from_str::<ProviderSubscription>(b).map(drop),
            write: |c, r, b| {
                let new = ProviderSubscription {
                    user_id: r.user.id,
                    ..de(b)
                };
                c.subscriptions().sync_from_provider(&new).map(drop)
            },
        },
    ]
}

/// A text value that a test replaces in the serialized body.
const MARK: &str = "@mark@";
/// [`MARK`] as it appears in the body.
const MARKED: &str = r#""@mark@""#;

/// The body of `input` with `field` set to `value` (inside the list for a
/// list field), as JSON text, and the field an `Invalid` names for it.
fn with(rows: &Rows, input: &Input, field: &str, value: Value) -> (String, String) {
    let mut body = (input.body)(rows);
    let (value, named) = match &body[field] {
        Value::Array(_) => (json!([value]), format!("{field}[0].feature")),
        _ => (value, field.to_owned()),
    };
    body[field] = value;
    (body.to_string(), named)
}

fn rows(conn: &mut PgConnection) -> Rows {
    let user = user(conn, "owner@example.com");
    let post = conn
        .posts()
        .create(&NewPost {
            author_id: user.id,
            title: "P".into(),
            ..Default::default()
        })
        .unwrap();
    let plan = plan(conn, "Pro", 900, BillingInterval::Month);
    let payment = new_payment(user.id, 900, "USD", PaymentStatus::Pending);
    let (payment, _) = conn.payments().record(&payment).unwrap();
    let keys = Keyring::new().with_key(1, [5; 32]).unwrap();
    Rows {
        user,
        post,
        plan,
        payment,
        keys,
    }
}

/// Every write refused: the rows keep their versions and nothing was added.
#[track_caller]
fn nothing_written(conn: &mut PgConnection, rows: &Rows) {
    assert_eq!(
        conn.users().get(rows.user.id).unwrap().version,
        rows.user.version
    );
    assert_eq!(
        conn.posts().get(rows.post.id).unwrap().version,
        rows.post.version
    );
    assert_eq!(
        conn.plans().get(rows.plan.id).unwrap().version,
        rows.plan.version
    );
    let payment = conn.payments().get(rows.payment.id).unwrap();
    assert_eq!(payment.version, rows.payment.version);
    for (sql, n) in [
        ("SELECT count(*) AS n FROM users", 1),
        ("SELECT count(*) AS n FROM user_profiles", 0),
        ("SELECT count(*) AS n FROM accounts", 0),
        ("SELECT count(*) AS n FROM categories", 0),
        ("SELECT count(*) AS n FROM posts", 1),
        ("SELECT count(*) AS n FROM subscription_plans", 1),
        ("SELECT count(*) AS n FROM payments", 1),
        ("SELECT count(*) AS n FROM subscriptions", 0),
    ] {
        assert_eq!(count(conn, sql), n, "{sql}");
    }
}

/// Hands `value` in each text field of each input to its repository and
/// asserts exactly `Invalid` naming that field; returns the reasons.
fn refused_in_every_field(value: &str, escape: &str) -> Vec<(String, String)> {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let rows = rows(&mut conn);
    // Serialized once (a few hundred ms for a mebibyte in a debug build)
    // and put in place of the marker.
    let literal = serde_json::to_string(value).unwrap();
    assert!(literal.contains(escape), "not escaped: {escape}");
    let mut reasons = Vec::new();
    for input in inputs() {
        for field in input.fields {
            let (marked, named) = with(&rows, &input, field, json!(MARK));
            let body = marked.replace(MARKED, &literal);
            let result = (input.write)(&mut conn, &rows, &body);
            match result {
                Err(Error::Invalid {
                    ref field,
                    ref reason,
                }) if *field == named => {
                    reasons.push((named, reason.clone()));
                }
                _ => panic!(
                    "{} {named}: expected Invalid, got {}",
                    input.name,
                    short(&result)
                ),
            }
        }
    }
    nothing_written(&mut conn, &rows);
    reasons
}

/// `\u0000` in any text field is `Invalid` naming it, and the connection
/// stays usable (PostgreSQL would refuse the NUL as an encoding error).
#[test]
fn an_escaped_nul_in_any_text_field_is_invalid_naming_it() {
    let reasons = refused_in_every_field("a\0b", r"a\u0000b");
    assert!(
        reasons.iter().any(|(_, r)| r.contains("NUL")),
        "{reasons:?}"
    );
}

/// A mebibyte of text (`\"` 1,048,576 times, 2 MiB of body) in any text
/// field is refused by that field's length limit, the post body's
/// 1,000,000 characters included.
#[test]
fn a_mebibyte_of_escaped_text_is_refused_by_the_length_limits() {
    let huge = "\"".repeat(1 << 20);
    let reasons = refused_in_every_field(&huge, &r#"\""#.repeat(1 << 20));
    let content = reasons.iter().find(|(f, _)| f == "content").unwrap();
    assert_eq!(content.1, "is 1048576 characters, at most 1000000 allowed");
}

/// A number, an object or a list where text belongs, a lone surrogate, an
/// unknown escape or a cut-off body is a serde error naming what is wrong,
/// never a panic; an unknown field is ignored, as before.
#[test]
fn wrong_types_and_broken_escapes_are_serde_errors() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let rows = rows(&mut conn);
    for input in inputs() {
        let name = input.name;
        for field in input.fields {
            for wrong in [json!(5), json!({"a": "b"}), json!(["x", 1])] {
                let (body, _) = with(&rows, &input, field, wrong);
                let error = (input.parse)(&body).unwrap_err();
                assert!(
                    error.to_string().starts_with("invalid type"),
                    "{name} {field}: {error}"
                );
            }
            let (marked, _) = with(&rows, &input, field, json!(MARK));
            for broken in [r#""\ud800""#, r#""\q""#, r#""\u12""#] {
                let body = marked.replace(MARKED, broken);
                let error = (input.parse)(&body).unwrap_err();
                assert!(error.is_syntax(), "{name} {field} {broken}: {error}");
            }
            let cut = &marked[..marked.find(MARK).unwrap() + 3];
            assert!((input.parse)(cut).unwrap_err().is_eof(), "{name} {field}");
        }
        let mut body = (input.body)(&rows);
        body["no_such_field"] = json!("x");
        (input.parse)(&body.to_string()).unwrap();
    }
    nothing_written(&mut conn, &rows);
}
