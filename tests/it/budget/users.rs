//! Round trips of the user repository, including the three outcomes of a
//! versioned update.

use saas_db::users::UserChanges;
use saas_db::{Error, PageRequest, Repos};
use saas_db_testing::TestDatabase;
use uuid::Uuid;

use super::{assert_budget, Budget, Counted};
use crate::support::{acting_as, user};

/// Round trips per operation (see the module docs of `budget`).
pub const BUDGET: Budget = &[
    ("users.create", 1),
    ("users.get", 1),
    ("users.find_by_email", 1),
    ("users.list (page of 20)", 1),
    ("users.update", 1),
    ("users.update (Stale)", 1),
    ("users.update (NotFound)", 1),
    ("users.change_email", 1),
    ("users.soft_delete", 5),
];

fn renamed(name: &str) -> UserChanges<'_> {
    UserChanges {
        name: Some(name.into()),
        ..Default::default()
    }
}

#[test]
fn reads_and_creates() {
    let db = TestDatabase::new();
    let mut counted = Counted::connect(db.url());
    let emails = ["a@example.com", "b@example.com"];
    let (created, trips) = counted.warmed(|c, i| user(c, emails[i]));
    assert_budget(BUDGET, "users.create", &trips);

    let (got, trips) = counted.warmed(|c, _| c.users().get(created.id).unwrap());
    assert_eq!(got.id, created.id);
    assert_budget(BUDGET, "users.get", &trips);

    let (found, trips) = counted.warmed(|c, i| c.users().find_by_email(emails[i]).unwrap());
    assert_eq!(found.map(|u| u.id), Some(created.id));
    assert_budget(BUDGET, "users.find_by_email", &trips);

    let (page, trips) = counted.warmed(|c, _| c.users().list(PageRequest::first(20)).unwrap());
    assert_eq!(page.items.len(), 2);
    assert_budget(BUDGET, "users.list (page of 20)", &trips);
}

#[test]
fn versioned_updates() {
    let db = TestDatabase::new();
    let mut counted = Counted::connect(db.url());
    let ada = user(&mut counted.conn, "ada@example.com");
    let mut version = ada.version;
    let (updated, trips) = counted.warmed(|c, _| {
        let u = c.users().update(ada.id, version, &renamed("Ada")).unwrap();
        version = u.version;
        u
    });
    assert_eq!(updated.version, ada.version + 2);
    assert_budget(BUDGET, "users.update", &trips);

    let (stale, trips) =
        counted.warmed(|c, _| c.users().update(ada.id, ada.version, &renamed("Old")));
    assert!(matches!(stale, Err(Error::Stale { expected, actual, .. })
        if expected == ada.version && actual == updated.version));
    assert_budget(BUDGET, "users.update (Stale)", &trips);

    let (missing, trips) = counted.warmed(|c, _| {
        c.users()
            .update(saas_db::ids::UserId(Uuid::now_v7()), 1, &renamed("Nobody"))
    });
    assert!(matches!(missing, Err(Error::NotFound { entity: "user" })));
    assert_budget(BUDGET, "users.update (NotFound)", &trips);

    let emails = ["ada2@example.com", "ada3@example.com"];
    let mut version = updated.version;
    let (changed, trips) = counted.warmed(|c, i| {
        let u = c.users().change_email(ada.id, version, emails[i]).unwrap();
        version = u.version;
        u
    });
    assert_eq!(changed.email, emails[1]);
    assert_budget(BUDGET, "users.change_email", &trips);
}

#[test]
fn soft_delete() {
    let db = TestDatabase::new();
    let mut counted = Counted::connect(db.url());
    let users = [
        user(&mut counted.conn, "a@example.com"),
        user(&mut counted.conn, "b@example.com"),
    ];
    let (deleted, trips) = counted.warmed(|c, i| {
        c.users()
            .soft_delete(&acting_as(users[i].id), users[i].id)
            .unwrap()
    });
    assert!(deleted.deleted_at.is_some());
    assert_budget(BUDGET, "users.soft_delete", &trips);
}
