//! Round trips of the auth flows and sessions.

use saas_db::enums::TokenKind;
use saas_db::users::NewUser;
use saas_db::{Error, Repos};
use saas_db_testing::TestDatabase;

use super::{assert_budget, Budget, Counted};
use crate::support::client;

/// Round trips per operation (see the module docs of `budget`).
pub const BUDGET: Budget = &[
    ("auth.sign_up", 5),
    ("auth.sign_in_with_password", 5),
    ("auth.sign_in_with_password (wrong password)", 3),
    ("auth.sign_in_with_password (unknown email)", 3),
    ("sessions.create", 1),
    ("sessions.validate", 1),
    ("sessions.revoke", 1),
    ("auth.request_email", 4),
];

const PASSWORD: &str = "correct horse battery staple";

fn email(i: usize) -> String {
    format!("user{i}@example.com")
}

/// A password sign-in reads the user and the password hash in one query.
/// It used to read them in two (6 round trips to sign in, 4 to be
/// refused; now 5 and 3), and an unknown email cost the hash lookup too.
#[test]
fn sign_up_and_sign_in() {
    let db = TestDatabase::new();
    let mut counted = Counted::connect(db.url());
    let (_, trips) = counted.warmed(|c, i| {
        c.auth()
            .sign_up(&NewUser::new(email(i), "Someone"), PASSWORD)
            .unwrap()
    });
    assert_budget(BUDGET, "auth.sign_up", &trips);

    let (signed, trips) = counted.warmed(|c, i| {
        c.auth()
            .sign_in_with_password(&email(i), PASSWORD, client())
            .unwrap()
    });
    assert_eq!(signed.user.email, email(1));
    assert_budget(BUDGET, "auth.sign_in_with_password", &trips);

    let (refused, trips) = counted.warmed(|c, i| {
        c.auth()
            .sign_in_with_password(&email(i), "wrong password, long enough", client())
    });
    assert!(matches!(refused, Err(Error::Unauthorized)));
    assert_budget(
        BUDGET,
        "auth.sign_in_with_password (wrong password)",
        &trips,
    );

    let (refused, trips) = counted.warmed(|c, i| {
        c.auth()
            .sign_in_with_password(&email(i + 10), PASSWORD, client())
    });
    assert!(matches!(refused, Err(Error::Unauthorized)));
    assert_budget(BUDGET, "auth.sign_in_with_password (unknown email)", &trips);

    let (_, trips) = counted.warmed(|c, i| {
        c.auth()
            .request_email(TokenKind::PasswordReset, &email(i))
            .unwrap()
    });
    assert_budget(BUDGET, "auth.request_email", &trips);
}

#[test]
fn sessions() {
    let db = TestDatabase::new();
    let mut counted = Counted::connect(db.url());
    let user = crate::support::user(&mut counted.conn, "ada@example.com");
    let (created, trips) = counted.warmed(|c, _| c.sessions().create(user.id, client()).unwrap());
    assert_budget(BUDGET, "sessions.create", &trips);
    let (_, token) = created;

    let ((session, who), trips) =
        counted.warmed(|c, _| c.sessions().validate(token.as_str()).unwrap());
    assert_eq!(who.id, user.id);
    assert_budget(BUDGET, "sessions.validate", &trips);

    let (other, _) = counted.conn.sessions().create(user.id, client()).unwrap();
    let ids = [other.id, session.id];
    let (_, trips) = counted.warmed(|c, i| c.sessions().revoke(ids[i]).unwrap());
    assert_budget(BUDGET, "sessions.revoke", &trips);
    assert!(matches!(
        counted.conn.sessions().validate(token.as_str()),
        Err(Error::Unauthorized)
    ));
}
