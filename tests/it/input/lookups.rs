//! Item 13: lookups go through the same text checks as writes. A NUL byte
//! in a slug used to reach the server and come back as
//! `Error::Database("invalid byte sequence for encoding \"UTF8\": 0x00")`.

use saas_db::billing::{NewPlan, ProviderSubscription};
use saas_db::content::NewCategory;
use saas_db::enums::SubscriptionStatus;
use saas_db::users::NewUser;
use saas_db::{Error, Repos};

use super::{assert_invalid, still_usable, valid_plan, World};

#[test]
fn slugs_are_checked_before_the_lookup() {
    let w = World::new();
    let mut conn = w.db.conn().unwrap();
    conn.posts().set_tags(w.post.id, &["Rust"]).unwrap();
    conn.categories()
        .create(&NewCategory {
            name: "Guides".into(),
            ..Default::default()
        })
        .unwrap();
    let long = "a".repeat(201);
    for slug in [
        "rust\0",
        "\0",
        "",
        "  ",
        "Rust",
        "rust--lang",
        "-rust",
        "rust lang",
        &long,
    ] {
        assert_invalid(conn.posts().get_by_slug(slug), "slug");
        assert_invalid(conn.tags().get_by_slug(slug), "slug");
        assert_invalid(conn.categories().get_by_slug(slug), "slug");
        still_usable(&mut conn).unwrap();
    }
    assert_eq!(
        conn.posts().get_by_slug(&w.post.slug).unwrap().id,
        w.post.id
    );
    assert_eq!(conn.tags().get_by_slug("rust").unwrap().name, "Rust");
    assert_eq!(
        conn.categories().get_by_slug("guides").unwrap().name,
        "Guides"
    );
    for missing in [
        conn.posts().get_by_slug("no-such-post-2").map(drop),
        conn.tags().get_by_slug("no-such-tag").map(drop),
        conn.categories().get_by_slug("no-such-category").map(drop),
    ] {
        assert!(
            matches!(missing, Err(Error::NotFound { .. })),
            "{missing:?}"
        );
    }
}

/// A NUL in a provider subscription id reached the server in the advisory
/// lock's key, before the id was checked: `Error::Database`.
#[test]
fn provider_ids_are_checked_before_the_lock() {
    let w = World::new();
    let mut conn = w.db.conn().unwrap();
    let incoming = ProviderSubscription {
        provider_subscription_id: "sub_\0".into(),
        provider_customer_id: None,
        user_id: w.user.id,
        plan_id: w.plan.id,
        status: SubscriptionStatus::Active,
        current_period_start: None,
        current_period_end: None,
        cancel_at_period_end: false,
        canceled_at: None,
        trial_ends_at: None,
    };
    assert_invalid(
        conn.subscriptions().sync_from_provider(&incoming),
        "provider_subscription_id",
    );
    still_usable(&mut conn).unwrap();
}

/// A required name of only whitespace used to be stored as it was.
#[test]
fn blank_required_text_is_invalid() {
    let w = World::new();
    let mut conn = w.db.conn().unwrap();
    for blank in [" ", " \t\n ", "\u{3000}"] {
        assert_invalid(
            conn.users()
                .create(&NewUser::new("blank@example.com", blank)),
            "name",
        );
        assert_invalid(conn.plans().create(&valid_plan(blank)), "name");
        let plan = NewPlan {
            features: vec![blank.into()],
            ..valid_plan("Featureful")
        };
        assert!(matches!(
            conn.plans().create(&plan),
            Err(Error::Invalid { ref field, .. }) if field.starts_with("features[0]")
        ));
        assert_invalid(conn.teams().create(&w.owner, blank), "name");
        assert_invalid(
            conn.audit()
                .record(&saas_db::audit::AuditEntry::new(blank, "thing", None)),
            "action",
        );
    }
    // Optional free text may still be blank.
    conn.payments()
        .record(&saas_db::billing::NewPayment {
            description: Some("  ".into()),
            ..super::valid_payment(w.user.id)
        })
        .unwrap();
}
