//! Plans: create, update, list, archive, and the input they refuse.

use super::*;
use saas_db::ids::PlanId;

#[test]
fn plans_create_get_update_list_archive() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let pro = conn
        .plans()
        .create(&NewPlan {
            name: "Pro".into(),
            description: Some("For growing teams".into()),
            price_cents: 2_900,
            currency: "USD".into(),
            interval: BillingInterval::Month,
            features: vec!["SSO".into(), "Audit log".into(), "Priorität ✓".into()],
            sort_order: 2,
        })
        .unwrap();
    assert_eq!(
        pro.features,
        vec![
            "SSO".to_string(),
            "Audit log".to_string(),
            "Priorität ✓".to_string()
        ]
    );
    assert_eq!(pro.description.as_deref(), Some("For growing teams"));
    assert_eq!((pro.price_cents, pro.currency.as_str()), (2_900, "USD"));
    assert_eq!(pro.interval, BillingInterval::Month);
    assert!(pro.is_active);
    assert_eq!(pro.version, 1);
    assert_eq!(conn.plans().get(pro.id).unwrap(), pro);

    // Versioned update.
    let changes = PlanChanges {
        price_cents: Some(3_900),
        description: Some(None),
        features: Some(vec!["SSO".into()]),
        ..Default::default()
    };
    let updated = conn.plans().update(pro.id, 1, &changes).unwrap();
    assert_eq!(updated.version, 2);
    assert_eq!(updated.price_cents, 3_900);
    assert_eq!(updated.description, None);
    assert_eq!(updated.features, vec!["SSO".to_string()]);
    assert_eq!(updated.name, "Pro");
    assert!(updated.updated_at >= pro.updated_at);
    let err = conn.plans().update(pro.id, 1, &changes).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Stale {
                entity: "plan",
                expected: 1,
                actual: 2,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(conn.plans().get(pro.id).unwrap(), updated);
    let err = conn
        .plans()
        .update(PlanId(Uuid::now_v7()), 1, &changes)
        .unwrap_err();
    assert!(matches!(err, Error::NotFound { entity: "plan" }), "{err:?}");

    // list_active: sort_order, archived ones left out.
    let mut enterprise = new_plan("Enterprise", 9_900, BillingInterval::Year);
    enterprise.sort_order = 3;
    let enterprise = conn.plans().create(&enterprise).unwrap();
    let mut basic = new_plan("Basic", 900, BillingInterval::Month);
    basic.sort_order = 1;
    let basic = conn.plans().create(&basic).unwrap();
    let legacy = conn
        .plans()
        .create(&new_plan("Legacy", 500, BillingInterval::Month))
        .unwrap();
    let names = |plans: Vec<Plan>| plans.into_iter().map(|p| p.name).collect::<Vec<_>>();
    assert_eq!(
        names(conn.plans().list_active().unwrap()),
        ["Legacy", "Basic", "Pro", "Enterprise"]
    );
    let archived = conn.plans().archive(legacy.id).unwrap();
    assert!(!archived.is_active);
    assert_eq!(archived.version, legacy.version + 1);
    assert_eq!(conn.plans().get(legacy.id).unwrap(), archived);
    assert_eq!(
        names(conn.plans().list_active().unwrap()),
        ["Basic", "Pro", "Enterprise"]
    );
    assert_eq!(
        conn.plans()
            .list_active()
            .unwrap()
            .iter()
            .map(|p| p.id)
            .collect::<Vec<_>>(),
        [basic.id, pro.id, enterprise.id]
    );
    let err = conn.plans().archive(PlanId(Uuid::now_v7())).unwrap_err();
    assert!(matches!(err, Error::NotFound { entity: "plan" }), "{err:?}");
    let err = conn.plans().get(PlanId(Uuid::now_v7())).unwrap_err();
    assert!(matches!(err, Error::NotFound { entity: "plan" }), "{err:?}");
}

#[test]
fn plans_refuse_bad_input_conflicts_and_deleting_used_plans() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let pro = plan(&mut conn, "Pro", 2_900, BillingInterval::Month);

    let err = conn
        .plans()
        .create(&new_plan("Pro", 100, BillingInterval::Year))
        .unwrap_err();
    assert!(is_conflict(&err, "subscription_plans_name_key"), "{err:?}");

    for currency in ["usd", "US", "USDX", "", "U$D"] {
        let mut p = new_plan("Odd", 100, BillingInterval::Month);
        p.currency = currency.into();
        let err = conn.plans().create(&p).unwrap_err();
        assert!(is_invalid(&err, "currency"), "{currency:?}: {err:?}");
    }
    let err = conn
        .plans()
        .create(&new_plan("Negative", -1, BillingInterval::Month))
        .unwrap_err();
    assert!(is_invalid(&err, "price_cents"), "{err:?}");
    let err = conn
        .plans()
        .update(
            pro.id,
            pro.version,
            &PlanChanges {
                price_cents: Some(-5),
                ..Default::default()
            },
        )
        .unwrap_err();
    assert!(is_invalid(&err, "price_cents"), "{err:?}");
    // Renaming onto a taken name is a conflict too.
    let other = plan(&mut conn, "Other", 100, BillingInterval::Month);
    let err = conn
        .plans()
        .update(
            other.id,
            other.version,
            &PlanChanges {
                name: Some("Pro".into()),
                ..Default::default()
            },
        )
        .unwrap_err();
    assert!(is_conflict(&err, "subscription_plans_name_key"), "{err:?}");
    // Nothing of that was written (equal sort_order: id order).
    assert_eq!(
        conn.plans().list_active().unwrap(),
        vec![pro.clone(), other.clone()]
    );
    conn.plans().delete(other.id).unwrap();

    // A plan with a subscription cannot be deleted.
    let alice = user(&mut conn, "alice@example.com").id;
    conn.subscriptions()
        .start(&NewSubscription::new(alice, pro.id))
        .unwrap();
    let err = conn.plans().delete(pro.id).unwrap_err();
    assert!(
        matches!(&err, Error::ForeignKey { constraint } if constraint == "subscriptions_plan_id_fkey"),
        "{err:?}"
    );
    assert_eq!(conn.plans().get(pro.id).unwrap(), pro);

    // An unused one can.
    let unused = plan(&mut conn, "Unused", 100, BillingInterval::Month);
    conn.plans().delete(unused.id).unwrap();
    let err = conn.plans().get(unused.id).unwrap_err();
    assert!(matches!(err, Error::NotFound { entity: "plan" }), "{err:?}");
    let err = conn.plans().delete(unused.id).unwrap_err();
    assert!(matches!(err, Error::NotFound { entity: "plan" }), "{err:?}");
}
