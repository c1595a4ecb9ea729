//! Moving payments and profile data from one user to another.

use super::*;
use crate::support::acting_as;
use saas_db::ids::UserId;

fn version_of(conn: &mut PgConnection, id: UserId) -> i32 {
    conn.users().get(id).unwrap().version
}

#[test]
fn transfer_moves_payments_and_profile() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let a = user(&mut conn, "a@example.com").id;
    let b = user(&mut conn, "b@example.com").id;
    conn.users()
        .upsert_profile(a, &profile(Theme::Dark, "A's bio"))
        .unwrap();
    conn.users()
        .upsert_profile(b, &profile(Theme::Light, "B's bio"))
        .unwrap();
    for cents in [100, 200, 300] {
        pay(&mut conn, a, cents, "USD", PaymentStatus::Succeeded);
    }
    pay(&mut conn, b, 50, "USD", PaymentStatus::Succeeded);
    let (va, vb) = (version_of(&mut conn, a), version_of(&mut conn, b));

    let both = TransferOptions {
        payments: true,
        profile: true,
    };
    let report = conn.users().transfer_data(a, b, both).unwrap();
    assert_eq!(
        report,
        TransferReport {
            payments_moved: 3,
            profile_moved: true
        }
    );
    assert_eq!(count_payments_of(&mut conn, a), 0);
    assert_eq!(count_payments_of(&mut conn, b), 4);
    assert_eq!(conn.users().find_profile(a).unwrap(), None);
    let moved = conn.users().profile(b).unwrap();
    assert_eq!(moved.theme, Theme::Dark);
    assert_eq!(moved.bio.as_deref(), Some("A's bio"));
    assert_eq!(version_of(&mut conn, a), va + 1);
    assert_eq!(version_of(&mut conn, b), vb + 1);
}

#[test]
fn transfer_of_payments_only_leaves_profiles() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let a = user(&mut conn, "a@example.com").id;
    let b = user(&mut conn, "b@example.com").id;
    let pa = conn
        .users()
        .upsert_profile(a, &profile(Theme::Dark, "A's bio"))
        .unwrap();
    let pb = conn
        .users()
        .upsert_profile(b, &profile(Theme::Light, "B's bio"))
        .unwrap();
    pay(&mut conn, a, 100, "USD", PaymentStatus::Succeeded);
    pay(&mut conn, a, 200, "EUR", PaymentStatus::Failed);
    let (va, vb) = (version_of(&mut conn, a), version_of(&mut conn, b));

    let report = conn
        .users()
        .transfer_data(
            a,
            b,
            TransferOptions {
                payments: true,
                profile: false,
            },
        )
        .unwrap();
    assert_eq!(
        report,
        TransferReport {
            payments_moved: 2,
            profile_moved: false
        }
    );
    assert_eq!(count_payments_of(&mut conn, a), 0);
    assert_eq!(count_payments_of(&mut conn, b), 2);
    assert_eq!(conn.users().find_profile(a).unwrap(), Some(pa));
    assert_eq!(conn.users().find_profile(b).unwrap(), Some(pb));
    assert_eq!(version_of(&mut conn, a), va + 1);
    assert_eq!(version_of(&mut conn, b), vb + 1);
}

#[test]
fn transfer_to_a_missing_user_changes_nothing() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let a = user(&mut conn, "a@example.com").id;
    let gone = user(&mut conn, "gone@example.com").id;
    conn.users().soft_delete(&acting_as(gone), gone).unwrap();
    let pa = conn
        .users()
        .upsert_profile(a, &profile(Theme::Dark, "A's bio"))
        .unwrap();
    pay(&mut conn, a, 100, "USD", PaymentStatus::Succeeded);
    pay(&mut conn, a, 200, "USD", PaymentStatus::Succeeded);
    let va = version_of(&mut conn, a);
    let both = TransferOptions {
        payments: true,
        profile: true,
    };

    for target in [Uuid::now_v7(), gone.into()] {
        let err = conn
            .users()
            .transfer_data(a, UserId(target), both)
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::NotFound {
                    entity: "target user"
                }
            ),
            "{err:?}"
        );
    }
    let err = conn
        .users()
        .transfer_data(UserId(Uuid::now_v7()), a, both)
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::NotFound {
                entity: "source user"
            }
        ),
        "{err:?}"
    );
    let err = conn.users().transfer_data(a, a, both).unwrap_err();
    assert!(is_invalid(&err, "to"), "{err:?}");

    assert_eq!(count_payments_of(&mut conn, a), 2);
    assert_eq!(conn.users().find_profile(a).unwrap(), Some(pa));
    assert_eq!(version_of(&mut conn, a), va);
}

#[test]
fn opposite_transfers_at_once_both_complete() {
    let db = TestDatabase::with_builder(|b| b.max_size(3)).unwrap();
    let (a, b) = {
        let mut conn = db.conn().unwrap();
        let a = user(&mut conn, "a@example.com").id;
        let b = user(&mut conn, "b@example.com").id;
        conn.users()
            .upsert_profile(a, &profile(Theme::Dark, "A's bio"))
            .unwrap();
        for _ in 0..2 {
            pay(&mut conn, a, 100, "USD", PaymentStatus::Succeeded);
            pay(&mut conn, b, 100, "USD", PaymentStatus::Succeeded);
        }
        (a, b)
    };
    let both = TransferOptions {
        payments: true,
        profile: true,
    };
    for round in 0..20 {
        let (va, vb) = {
            let mut conn = db.conn().unwrap();
            (version_of(&mut conn, a), version_of(&mut conn, b))
        };
        let barrier = Arc::new(Barrier::new(2));
        let threads: Vec<_> = [(a, b), (b, a)]
            .into_iter()
            .map(|(from, to)| {
                let db = db.db().clone();
                let barrier = Arc::clone(&barrier);
                std::thread::spawn(move || {
                    let mut conn = db.conn().unwrap();
                    barrier.wait();
                    conn.users().transfer_data(from, to, both)
                })
            })
            .collect();
        for t in threads {
            let result = t.join().unwrap();
            assert!(result.is_ok(), "round {round}: {result:?}");
        }
        let mut conn = db.conn().unwrap();
        let (na, nb) = (
            count_payments_of(&mut conn, a),
            count_payments_of(&mut conn, b),
        );
        assert_eq!(na + nb, 4, "round {round}");
        assert!(na == 0 || nb == 0, "round {round}: {na} / {nb}");
        assert_eq!(version_of(&mut conn, a), va + 2);
        assert_eq!(version_of(&mut conn, b), vb + 2);
        let profiles = [a, b]
            .into_iter()
            .filter(|&u| conn.users().find_profile(u).unwrap().is_some())
            .count();
        assert_eq!(profiles, 1, "round {round}: exactly one profile remains");
    }
}
