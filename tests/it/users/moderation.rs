//! Users: the global role and bans, done by an actor.

use super::*;
use saas_db::ids::UserId;

#[test]
fn set_role_and_list_by_role() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let a = conn
        .users()
        .create(&NewUser::new("a@example.com", "A"))
        .unwrap();
    let b = conn
        .users()
        .create(&NewUser::new("b@example.com", "B"))
        .unwrap();
    let c = conn
        .users()
        .create(&NewUser::new("c@example.com", "C"))
        .unwrap();
    assert!([&a, &b, &c].iter().all(|u| u.role == UserRole::User));
    let admins = |conn: &mut PgConnection| {
        ids(&conn
            .users()
            .list_by_role(UserRole::Admin, PageRequest::first(10))
            .unwrap()
            .items)
    };
    let plain = |conn: &mut PgConnection| {
        ids(&conn
            .users()
            .list_by_role(UserRole::User, PageRequest::first(10))
            .unwrap()
            .items)
    };
    assert!(admins(&mut conn).is_empty());

    let promoted = conn
        .users()
        .set_role(&acting_as(b.id), b.id, UserRole::Admin)
        .unwrap();
    assert_eq!(promoted.role, UserRole::Admin);
    assert_eq!(promoted.version, b.version + 1);
    assert_eq!(conn.users().get(b.id).unwrap().role, UserRole::Admin);
    assert_eq!(admins(&mut conn), vec![b.id]);
    assert_eq!(plain(&mut conn), vec![a.id, c.id]);

    let demoted = conn
        .users()
        .set_role(&acting_as(b.id), b.id, UserRole::User)
        .unwrap();
    assert_eq!(demoted.version, b.version + 2);
    assert!(admins(&mut conn).is_empty());
    assert_eq!(plain(&mut conn), vec![a.id, b.id, c.id]);
    let err = conn
        .users()
        .set_role(
            &acting_as(UserId(Uuid::now_v7())),
            UserId(Uuid::now_v7()),
            UserRole::Admin,
        )
        .unwrap_err();
    assert!(matches!(err, Error::NotFound { entity: "user" }), "{err:?}");
}

#[test]
fn ban_unban_and_is_banned_at() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let user = conn
        .users()
        .create(&NewUser::new("ban@example.com", "Ban"))
        .unwrap();
    let now = Utc::now();
    assert!(!user.is_banned_at(now));

    let until = micros(now + Duration::hours(1));
    let banned = conn
        .users()
        .ban(&acting_as(user.id), user.id, Some(until), Some("spam"))
        .unwrap();
    assert!(banned.banned_at.is_some());
    assert_eq!(banned.ban_expires_at, Some(until));
    assert_eq!(banned.ban_reason.as_deref(), Some("spam"));
    assert_eq!(banned.version, user.version + 1);
    assert!(banned.is_banned_at(now));
    assert!(banned.is_banned_at(until - Duration::microseconds(1)));
    assert!(!banned.is_banned_at(until), "the ban ends at `until`");
    assert!(!banned.is_banned_at(until + Duration::hours(1)));
    assert_eq!(conn.users().get(user.id).unwrap(), banned);

    let unbanned = conn.users().unban(&acting_as(user.id), user.id).unwrap();
    assert_eq!(
        (
            unbanned.banned_at,
            unbanned.ban_expires_at,
            unbanned.ban_reason.as_deref()
        ),
        (None, None, None)
    );
    assert_eq!(unbanned.version, user.version + 2);
    assert!(!unbanned.is_banned_at(now));

    // Permanent ban without a reason.
    let forever = conn
        .users()
        .ban(&acting_as(user.id), user.id, None, None)
        .unwrap();
    assert!(forever.banned_at.is_some());
    assert_eq!(
        (forever.ban_expires_at, forever.ban_reason.as_deref()),
        (None, None)
    );
    assert!(forever.is_banned_at(now));
    assert!(forever.is_banned_at(now + Duration::days(365 * 100)));
    assert!(!conn
        .users()
        .unban(&acting_as(user.id), user.id)
        .unwrap()
        .is_banned_at(now));

    // Re-banning replaces the terms.
    conn.users()
        .ban(&acting_as(user.id), user.id, None, Some("first"))
        .unwrap();
    let rebanned = conn
        .users()
        .ban(&acting_as(user.id), user.id, Some(until), None)
        .unwrap();
    assert_eq!(
        (rebanned.ban_expires_at, rebanned.ban_reason.as_deref()),
        (Some(until), None)
    );

    for err in [
        conn.users()
            .ban(
                &acting_as(UserId(Uuid::now_v7())),
                UserId(Uuid::now_v7()),
                None,
                None,
            )
            .unwrap_err(),
        conn.users()
            .unban(&acting_as(UserId(Uuid::now_v7())), UserId(Uuid::now_v7()))
            .unwrap_err(),
    ] {
        assert!(matches!(err, Error::NotFound { entity: "user" }), "{err:?}");
    }
}
