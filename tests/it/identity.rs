//! Look-alike identities: an email address or username that reads the same
//! as a taken one is the same account (or refused), whatever code points
//! spell it, and the database enforces it under concurrency. See
//! `saas_db::identity` for the rules.

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::Text;
use saas_db::access::Actor;
use saas_db::auth::SessionOptions;
use saas_db::enums::{TeamRole, TokenKind};
use saas_db::identity;
use saas_db::users::{NewUser, UserChanges};
use saas_db::Repos;
use saas_db_testing::TestDatabase;

use crate::support::{assert_conflict, assert_invalid};
use crate::support::{race, Count};

const HOUR: Duration = Duration::from_secs(3600);
/// `ace` in Cyrillic letters (а U+0430, с U+0441, е U+0435): one script, so
/// it passes the mixed-script rule, and it looks exactly like `ace`.
const CYRILLIC_ACE: &str = "\u{430}\u{441}\u{435}";

/// The issue's three addresses. A fullwidth `ａ` and a Cyrillic `а` used to
/// make two more accounts next to `alice@example.com`; now the fullwidth one
/// is the same address (NFKC) and the Cyrillic one mixes scripts in the
/// domain and is refused before the database.
#[test]
fn the_three_look_alike_emails_are_one_account() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    conn.users()
        .create(&NewUser::new("alice@example.com", "Alice"))
        .unwrap();
    let fullwidth = NewUser::new("\u{ff41}lice@example.com", "Spoof");
    assert_conflict(conn.users().create(&fullwidth), "users_email_key");
    let cyrillic = NewUser::new("alice@ex\u{430}mple.com", "Spoof");
    assert_invalid(conn.users().create(&cyrillic), "email");
    // The same holds in a COPY import and when changing an address.
    assert_conflict(conn.users().import(&[fullwidth]), "users_email_key");
    let bob = conn
        .users()
        .create(&NewUser::new("\u{ff22}ob@Example.com", "Bob"))
        .unwrap();
    assert_eq!(bob.email, "bob@example.com", "stored in one spelling");
    assert_invalid(
        conn.users()
            .change_email(bob.id, bob.version, "alice@ex\u{430}mple.com"),
        "email",
    );
    assert_eq!(conn.users().count().unwrap(), 2);
    // Lookups normalise the same way.
    let found = conn
        .users()
        .find_by_email("\u{ff22}OB@example.com")
        .unwrap();
    assert_eq!(found.map(|u| u.id), Some(bob.id));
}

/// A whole-script look-alike (all Cyrillic, so no mixed script) is refused
/// by the unique index on the skeleton, in every write path, whichever of
/// the two comes first.
#[test]
fn whole_script_look_alikes_conflict_on_the_skeleton() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let ace = format!("{CYRILLIC_ACE}@example.com");
    conn.users()
        .create(&NewUser::new("ace@example.com", "Ace"))
        .unwrap();
    let skeleton = "users_email_skeleton_key";
    assert_conflict(conn.users().create(&NewUser::new(&ace, "Spoof")), skeleton);
    assert_conflict(
        conn.users().import(&[NewUser::new(&ace, "Spoof")]),
        skeleton,
    );
    let other = conn
        .users()
        .create(&NewUser::new("other@example.com", "Other"))
        .unwrap();
    assert_conflict(
        conn.users().change_email(other.id, other.version, &ace),
        skeleton,
    );

    // The other order: the Cyrillic address first, then the Latin one.
    conn.users()
        .create(&NewUser::new(format!("{CYRILLIC_ACE}@example.org"), "Ace"))
        .unwrap();
    assert_conflict(
        conn.users()
            .create(&NewUser::new("ace@example.org", "Late")),
        skeleton,
    );
}

/// Two look-alikes signing up at the same moment: exactly one account. The
/// control does what a Rust-only check would (look for the skeleton, then
/// insert) on a database without the index, and both get in.
#[test]
fn concurrent_look_alike_sign_ups_make_one_account() {
    let db = TestDatabase::with_builder(|b| b.max_size(4)).unwrap();
    for round in 0..10 {
        let emails = [
            format!("ace{round}@example.com"),
            format!("{CYRILLIC_ACE}{round}@example.com"),
        ];
        let results = race(2, |i, barrier| {
            let mut conn = db.conn().unwrap();
            barrier.wait();
            conn.users().create(&NewUser::new(&emails[i], "Racer"))
        });
        let (won, lost): (Vec<_>, Vec<_>) = results.into_iter().partition(Result::is_ok);
        assert_eq!(won.len(), 1, "round {round}: {lost:?}");
        assert_conflict(lost.into_iter().next().unwrap(), "users_email_skeleton_key");
    }

    // Control: check first, then insert, without the index.
    db.conn()
        .unwrap()
        .batch_execute("DROP INDEX users_email_skeleton_key")
        .unwrap();
    let emails = [
        "ace@example.net".to_owned(),
        format!("{CYRILLIC_ACE}@example.net"),
    ];
    let results = race(2, |i, barrier| {
        let mut conn = db.conn().unwrap();
        let key = identity::email("email", &emails[i]).unwrap();
        let key = key.skeleton.unwrap_or(key.address);
        let taken: i64 = diesel::sql_query(
            "SELECT count(*) AS n FROM users WHERE COALESCE(email_skeleton, email) = $1",
        )
        .bind::<Text, _>(&key)
        .get_result::<Count>(&mut conn)
        .unwrap()
        .n;
        barrier.wait(); // both have checked before either inserts
        (taken == 0).then(|| conn.users().create(&NewUser::new(&emails[i], "Racer")))
    });
    let created = results.into_iter().flatten().filter(Result::is_ok).count();
    assert_eq!(created, 2, "control: a check-then-insert lets both in");
}

/// Legitimate addresses outside Latin: all-Cyrillic and all-Greek local
/// parts, distinct Greek names that do not look alike, an internationalised
/// domain (stored in its ASCII form, found by either form), Japanese, and
/// Latin with Japanese; Latin mixed with Cyrillic in one part is refused.
#[test]
fn non_latin_addresses_behave_as_documented() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let mut create = |email: &str| conn.users().create(&NewUser::new(email, "Someone"));
    let ivan = create("\u{418}\u{432}\u{430}\u{43d}@example.com").unwrap(); // Иван
    assert_eq!(ivan.email, "\u{438}\u{432}\u{430}\u{43d}@example.com"); // иван
    let alexandros =
        create("\u{391}\u{3bb}\u{3ad}\u{3be}\u{3b1}\u{3bd}\u{3b4}\u{3c1}\u{3bf}\u{3c2}@example.gr")
            .unwrap();
    assert!(
        alexandros.email.starts_with('\u{3b1}'),
        "{}",
        alexandros.email
    );
    create("\u{3b1}\u{3bb}\u{3b5}\u{3be}\u{3ac}\u{3bd}\u{3b4}\u{3c1}\u{3b1}@example.gr").unwrap();
    let idn = create("ivan@\u{43f}\u{440}\u{438}\u{43c}\u{435}\u{440}.\u{440}\u{444}").unwrap();
    assert_eq!(idn.email, "ivan@xn--e1afmkfd.xn--p1ai");
    create("\u{5c71}\u{7530}@example.jp").unwrap(); // 山田
    create("taro\u{5c71}\u{7530}@example.jp").unwrap();
    assert_invalid(
        create("shop\u{43c}\u{43e}\u{441}\u{43a}\u{432}\u{430}@example.com"),
        "email",
    );
    assert_invalid(create("ivan@xn--exmple-4nf.com"), "email"); // ex\u{430}mple, as punycode
    let found = conn
        .users()
        .find_by_email("IVAN@\u{41f}\u{440}\u{438}\u{43c}\u{435}\u{440}.\u{420}\u{424}")
        .unwrap();
    assert_eq!(found.map(|u| u.id), Some(idn.id));
}

/// Usernames stay ASCII handles, after NFKC. A fullwidth `ａｌｉｃｅ` used to
/// be refused as not ASCII; now it is the username `alice` (and so taken),
/// and lookups and updates normalise it the same way. Cyrillic and Japanese
/// usernames are refused: no username has a look-alike in another script.
#[test]
fn usernames_are_ascii_handles_after_nfkc() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let alice = conn
        .users()
        .create(&NewUser::new("alice@example.com", "Alice").username("Alice"))
        .unwrap();
    let fullwidth = "\u{ff41}\u{ff4c}\u{ff49}\u{ff43}\u{ff45}";
    let spoof = NewUser::new("spoof@example.com", "Spoof");
    assert_conflict(
        conn.users().create(&spoof.clone().username(fullwidth)),
        "users_username_lower_key",
    );
    assert_invalid(
        conn.users().create(&spoof.clone().username("\u{430}lice")),
        "username",
    );
    assert_invalid(
        conn.users()
            .create(&spoof.clone().username("\u{5c71}\u{7530}\u{592a}\u{90ce}")),
        "username",
    );
    let found = conn.users().find_by_username("\u{ff21}LICE").unwrap();
    assert_eq!(found.map(|u| u.id), Some(alice.id));
    let bob = conn
        .users()
        .create(&NewUser::new("bob@example.com", "Bob").username("\u{ff22}ob"))
        .unwrap();
    assert_eq!(bob.username.as_deref(), Some("Bob"));
    let changes = UserChanges {
        username: Some(Some("\u{ff43}arol".into())),
        ..Default::default()
    };
    let carol = conn.users().update(bob.id, bob.version, &changes).unwrap();
    assert_eq!(carol.username.as_deref(), Some("carol"));
    let report = conn
        .users()
        .batch_update(&[(carol.id, changes)], 10)
        .unwrap();
    assert_eq!(report.updated, 1);
    let control = UserChanges {
        username: Some(Some("\u{ff41}lice".into())),
        ..Default::default()
    };
    assert_conflict(
        conn.users().update(carol.id, carol.version + 1, &control),
        "users_username_lower_key",
    );
}

/// Invitations, verification tokens and sign-in take the same spelling:
/// an invitation to a fullwidth address is for the real one, throttling
/// counts every spelling of one address, signing in with a fullwidth
/// address finds the account, and mixed-script addresses are refused
/// everywhere.
#[test]
fn every_email_input_goes_through_the_same_rule() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let owner = Actor::from(
        &conn
            .users()
            .create(&NewUser::new("owner@example.com", "Owner"))
            .unwrap(),
    );
    let team = conn.teams().create(&owner, "Guild").unwrap().id;
    let (invitation, _) = conn
        .teams()
        .invite(
            &owner,
            team,
            "\u{ff41}lice@example.com",
            TeamRole::Member,
            HOUR,
        )
        .unwrap();
    assert_eq!(invitation.email, "alice@example.com");
    assert_invalid(
        conn.teams().invite(
            &owner,
            team,
            "alice@ex\u{430}mple.com",
            TeamRole::Member,
            HOUR,
        ),
        "email",
    );

    let tokens = [
        "alice@example.com",
        "\u{ff41}lice@example.com",
        "ALICE@EXAMPLE.COM",
    ];
    for email in tokens {
        conn.verification_tokens()
            .issue(TokenKind::PasswordReset, email, None, HOUR)
            .unwrap();
    }
    let count = conn
        .verification_tokens()
        .recent_count("alice@\u{ff45}xample.com", TokenKind::PasswordReset, HOUR)
        .unwrap();
    assert_eq!(count, 3);
    assert_invalid(
        conn.verification_tokens().issue(
            TokenKind::MagicLink,
            "alice@ex\u{430}mple.com",
            None,
            HOUR,
        ),
        "email",
    );

    let alice = conn
        .users()
        .create(&NewUser::new("alice@example.com", "Alice"))
        .unwrap();
    conn.accounts()
        .set_password(alice.id, "correct horse battery staple")
        .unwrap();
    let client = SessionOptions {
        ttl: HOUR,
        ip: None,
        user_agent: None,
    };
    let signed_in = conn
        .auth()
        .sign_in_with_password(
            "\u{ff41}lice@example.com",
            "correct horse battery staple",
            client,
        )
        .unwrap();
    assert_eq!(signed_in.user.id, alice.id);
}
