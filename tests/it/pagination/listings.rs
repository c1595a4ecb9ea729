//! Limits and filtered listings (by role, soft-deleted users).

use super::*;
use crate::support::acting_as;
use saas_db::ids::UserId;

#[test]
fn limit_bounds() {
    let db = TestDatabase::new();
    db.transaction(|tx| {
        for j in 0..1001 {
            let email = format!("bulk{j:04}@example.com");
            tx.users().create(&NewUser::new(&email, "Bulk"))?;
        }
        Ok(())
    })
    .unwrap();
    let mut conn = db.conn().unwrap();
    let cursor = conn
        .users()
        .list(PageRequest::first(1))
        .unwrap()
        .next_cursor()
        .unwrap();

    let bad = [
        PageRequest::first(0),
        PageRequest::first(1001),
        PageRequest::first(u32::MAX),
        PageRequest::last(0),
        PageRequest::last(1001),
        PageRequest::after(cursor.clone(), 0),
        PageRequest::after(cursor.clone(), 1001),
        PageRequest::before(cursor.clone(), 0),
        PageRequest::before(cursor.clone(), 1001),
    ];
    for request in bad {
        let err = conn.users().list(request.clone()).unwrap_err();
        assert!(err.field() == Some("limit"), "{request:?}: {err:?}");
        let err = conn
            .users()
            .list_by_role(UserRole::User, request.clone())
            .unwrap_err();
        assert!(err.field() == Some("limit"), "by role {request:?}: {err:?}");
    }

    let first = conn.users().list(PageRequest::first(1000)).unwrap();
    assert_eq!(first.items.len(), 1000);
    let next = first.next_cursor().expect("1001 users: a second page");
    let rest = conn.users().list(PageRequest::after(next, 1000)).unwrap();
    assert_eq!(rest.items.len(), 1);
    assert!(rest.next_cursor().is_none());
    assert!(rest.prev_cursor().is_some());
    let last = conn.users().list(PageRequest::last(1000)).unwrap();
    assert_eq!(last.items.len(), 1000);
    assert!(last.prev_cursor().is_some());
    assert_eq!(last.items[..999], first.items[1..]);
    let one = conn.users().list(PageRequest::first(1)).unwrap();
    assert_eq!(one.items.len(), 1);
    assert_eq!(conn.users().count().unwrap(), 1001);
}

#[test]
fn list_by_role_pages_only_that_role() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let made = create_users(&mut conn, 30, |j| j % 3 == 0);
    assert_eq!(conn.users().count().unwrap(), 30);

    let admins = walk_forward(&mut conn, 3, list_admins);
    assert_page_sizes(&admins, 3, 10);
    let admins: Vec<User> = admins.into_iter().flatten().collect();
    assert!(admins.iter().all(|u| u.role == UserRole::Admin));
    assert_eq!(
        ids(&admins),
        expected_order(&mut conn, Some(UserRole::Admin), false)
    );
    let made_admins: Vec<UserId> = made
        .iter()
        .filter(|u| u.role == UserRole::Admin)
        .map(|u| u.id)
        .collect();
    assert_eq!(ids(&admins), made_admins);

    let plain = walk_forward(&mut conn, 3, list_plain_users);
    assert_page_sizes(&plain, 3, 20);
    let plain: Vec<User> = plain.into_iter().flatten().collect();
    assert!(plain.iter().all(|u| u.role == UserRole::User));
    assert_eq!(
        ids(&plain),
        expected_order(&mut conn, Some(UserRole::User), false)
    );
    let back: Vec<UserId> = walk_backward(&mut conn, 3, list_plain_users)
        .iter()
        .flat_map(|p| ids(p))
        .collect();
    assert_eq!(back, ids(&plain));

    // Together they are everyone, which is what count() says.
    let everyone: Vec<User> = walk_forward(&mut conn, 7, list_all)
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(everyone.len() as i64, conn.users().count().unwrap());
    assert_eq!(admins.len() + plain.len(), everyone.len());

    // Changing a role moves the user between the listings.
    conn.users()
        .set_role(&acting_as(made[1].id), made[1].id, UserRole::Admin)
        .unwrap();
    let admins: Vec<UserId> = walk_forward(&mut conn, 4, list_admins)
        .iter()
        .flat_map(|p| ids(p))
        .collect();
    assert_eq!(admins.len(), 11);
    assert!(admins.contains(&made[1].id));
    assert_eq!(
        admins,
        expected_order(&mut conn, Some(UserRole::Admin), false)
    );
    let plain: Vec<UserId> = walk_forward(&mut conn, 4, list_plain_users)
        .iter()
        .flat_map(|p| ids(p))
        .collect();
    assert_eq!(plain.len(), 19);
    assert!(!plain.contains(&made[1].id));
}

#[test]
fn soft_deleted_users_are_not_listed() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let made = create_users(&mut conn, 12, |j| j % 4 == 0); // admins: 0, 4, 8
    for j in [1, 4, 5, 10] {
        conn.users()
            .soft_delete(&acting_as(made[j].id), made[j].id)
            .unwrap();
    }
    let visible: Vec<UserId> = [0, 2, 3, 6, 7, 8, 9, 11]
        .iter()
        .map(|&j| made[j].id)
        .collect();

    let listed: Vec<User> = walk_forward(&mut conn, 3, list_all)
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(ids(&listed), visible);
    assert!(listed.iter().all(|u| u.deleted_at.is_none()));
    let back: Vec<UserId> = walk_backward(&mut conn, 3, list_all)
        .iter()
        .flat_map(|p| ids(p))
        .collect();
    assert_eq!(back, visible);
    assert_eq!(conn.users().count().unwrap(), 8);
    let admins: Vec<UserId> = walk_forward(&mut conn, 2, list_admins)
        .iter()
        .flat_map(|p| ids(p))
        .collect();
    assert_eq!(admins, vec![made[0].id, made[8].id]);

    // Including deleted: everyone, in the same order.
    let all: Vec<User> = walk_forward(&mut conn, 5, list_all_including_deleted)
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(ids(&all), ids(&made));
    assert_eq!(all.iter().filter(|u| u.deleted_at.is_some()).count(), 4);
    assert_eq!(ids(&all), expected_order(&mut conn, None, true));
    assert_eq!(conn.users().including_deleted().count().unwrap(), 12);
    let all_admins: Vec<UserId> = walk_forward(&mut conn, 2, list_admins_including_deleted)
        .iter()
        .flat_map(|p| ids(p))
        .collect();
    assert_eq!(all_admins, vec![made[0].id, made[4].id, made[8].id]);

    // A cursor whose row is deleted afterwards still continues correctly.
    let page = conn.users().list(PageRequest::first(2)).unwrap();
    assert_eq!(ids(&page.items), vec![made[0].id, made[2].id]);
    let cursor = page.next_cursor().unwrap();
    conn.users()
        .soft_delete(&acting_as(made[2].id), made[2].id)
        .unwrap();
    let rest = conn
        .users()
        .list(PageRequest::after(cursor.clone(), 3))
        .unwrap();
    assert_eq!(ids(&rest.items), vec![made[3].id, made[6].id, made[7].id]);
    let before = conn.users().list(PageRequest::before(cursor, 3)).unwrap();
    assert_eq!(ids(&before.items), vec![made[0].id]);
    assert!(before.prev_cursor().is_none());
    assert_eq!(conn.users().count().unwrap(), 7);

    // Restoring brings them back into the listing, in place.
    conn.users().restore(made[2].id).unwrap();
    conn.users().restore(made[5].id).unwrap();
    let listed: Vec<UserId> = walk_forward(&mut conn, 3, list_all)
        .iter()
        .flat_map(|p| ids(p))
        .collect();
    let visible: Vec<UserId> = [0, 2, 3, 5, 6, 7, 8, 9, 11]
        .iter()
        .map(|&j| made[j].id)
        .collect();
    assert_eq!(listed, visible);
    assert_eq!(conn.users().count().unwrap(), 9);
}
