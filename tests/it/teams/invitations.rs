//! Invitations: the token is returned once and stored only as its SHA-256;
//! accepting is single use, unexpired, unrevoked, for the invited email, and
//! adds the membership in the same transaction.

use std::time::Duration;

use diesel::prelude::*;
use diesel::sql_types::{Bytea, Text, Uuid as SqlUuid};
use saas_db::access::Actor;
use saas_db::enums::TeamRole;
use saas_db::ids::{InvitationId, TeamId};
use saas_db::{Error, Repos};
use saas_db_testing::TestDatabase;
use sha2::{Digest, Sha256};

use super::{actor, audit_count, count};
use crate::support::race;

const DAY: Duration = Duration::from_secs(86_400);

/// The team "Guild" and its owner.
fn guild(conn: &mut PgConnection) -> (Actor, TeamId) {
    let owner = actor(conn, "owner@example.com");
    let team = conn.teams().create(&owner, "Guild").unwrap().id;
    (owner, team)
}

#[test]
fn invite_accept_once_and_only_the_hash_is_stored() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let (owner, team) = guild(&mut conn);
    let joe = actor(&mut conn, "joe@example.com");

    let (invitation, token) = conn
        .teams()
        .invite(&owner, team, " Joe@Example.COM ", TeamRole::Admin, DAY)
        .unwrap();
    assert_eq!(invitation.email, "joe@example.com");
    assert_eq!(invitation.invited_by, Some(owner.user_id));
    assert!(
        !format!("{token:?}").contains(token.as_str()),
        "Debug hides the token"
    );
    // Stored: the SHA-256 of the token, nowhere the token itself.
    let hash = Sha256::digest(token.as_str().as_bytes()).to_vec();
    let stored =
        diesel::sql_query("SELECT count(*) AS n FROM team_invitations WHERE token_hash = $1")
            .bind::<Bytea, _>(&hash)
            .get_result::<super::Count>(&mut conn)
            .unwrap()
            .n;
    assert_eq!(stored, 1);
    let leaked = diesel::sql_query(
        "SELECT count(*) AS n FROM team_invitations t WHERE strpos(t::text, $1) > 0",
    )
    .bind::<Text, _>(token.as_str())
    .get_result::<super::Count>(&mut conn)
    .unwrap()
    .n;
    assert_eq!(leaked, 0);
    assert_eq!(
        conn.teams().pending_invitations(&owner, team).unwrap(),
        vec![invitation.clone()]
    );

    let joined = conn.teams().accept(&joe, token.as_str()).unwrap();
    assert_eq!(
        (joined.team_id, joined.user_id, joined.role),
        (team, joe.user_id, TeamRole::Admin)
    );
    assert!(matches!(
        conn.teams().accept(&joe, token.as_str()),
        Err(Error::Unauthorized)
    ));
    assert!(conn
        .teams()
        .pending_invitations(&owner, team)
        .unwrap()
        .is_empty());
    assert_eq!(audit_count(&mut conn, "member_joined"), 1);
    assert_eq!(audit_count(&mut conn, "member_invited"), 1);
    assert!(matches!(
        conn.teams().accept(&joe, "not-a-token"),
        Err(Error::Unauthorized)
    ));
}

#[test]
fn the_wrong_user_cannot_use_an_invitation_and_does_not_burn_it() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let (owner, team) = guild(&mut conn);
    let eve = actor(&mut conn, "eve@example.com");
    let joe = actor(&mut conn, "joe@example.com");
    let (_, token) = conn
        .teams()
        .invite(&owner, team, "joe@example.com", TeamRole::Member, DAY)
        .unwrap();
    assert!(matches!(
        conn.teams().accept(&eve, token.as_str()),
        Err(Error::Forbidden { .. })
    ));
    assert_eq!(
        conn.teams()
            .pending_invitations(&owner, team)
            .unwrap()
            .len(),
        1
    );
    assert_eq!(audit_count(&mut conn, "member_joined"), 0);
    conn.teams().accept(&joe, token.as_str()).unwrap();
}

#[test]
fn expired_and_revoked_invitations_are_dead() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let (owner, team) = guild(&mut conn);
    let joe = actor(&mut conn, "joe@example.com");

    let (expiring, token) = conn
        .teams()
        .invite(&owner, team, "joe@example.com", TeamRole::Member, DAY)
        .unwrap();
    diesel::sql_query(
        "UPDATE team_invitations SET expires_at = now() - interval '1 second' WHERE id = $1",
    )
    .bind::<SqlUuid, _>(expiring.id)
    .execute(&mut conn)
    .unwrap();
    assert!(matches!(
        conn.teams().accept(&joe, token.as_str()),
        Err(Error::Unauthorized)
    ));
    assert!(conn
        .teams()
        .pending_invitations(&owner, team)
        .unwrap()
        .is_empty());

    let (revoked, token) = conn
        .teams()
        .invite(&owner, team, "joe@example.com", TeamRole::Member, DAY)
        .unwrap();
    let done = conn.teams().revoke(&owner, revoked.id).unwrap();
    assert!(done.revoked_at.is_some());
    assert!(matches!(
        conn.teams().accept(&joe, token.as_str()),
        Err(Error::Unauthorized)
    ));
    match conn.teams().revoke(&owner, revoked.id) {
        Err(Error::Invalid { field, .. }) => assert_eq!(field, "invitation"),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        conn.teams()
            .revoke(&owner, InvitationId(uuid::Uuid::now_v7())),
        Err(Error::NotFound {
            entity: "invitation"
        })
    ));
    assert_eq!(
        count(&mut conn, "SELECT count(*) AS n FROM team_members"),
        1
    );
}

#[test]
fn invite_refuses_bad_input_and_the_unauthorised() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let (owner, team) = guild(&mut conn);
    let member = actor(&mut conn, "member@example.com");
    conn.teams()
        .add_member(&owner, team, member.user_id, TeamRole::Member)
        .unwrap();
    let cases = [
        ("not an email", TeamRole::Member, DAY, "email"),
        ("x@example.com", TeamRole::Owner, DAY, "role"),
        ("x@example.com", TeamRole::Member, Duration::ZERO, "ttl"),
        ("x@example.com", TeamRole::Member, DAY * 31, "ttl"),
    ];
    for (email, role, ttl, field) in cases {
        match conn.teams().invite(&owner, team, email, role, ttl) {
            Err(Error::Invalid { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{field}: {other:?}"),
        }
    }
    assert!(matches!(
        conn.teams()
            .invite(&member, team, "x@example.com", TeamRole::Member, DAY),
        Err(Error::Forbidden { .. })
    ));
    assert!(matches!(
        conn.teams().pending_invitations(&member, team),
        Err(Error::Forbidden { .. })
    ));
    assert_eq!(
        count(&mut conn, "SELECT count(*) AS n FROM team_invitations"),
        0
    );
}

#[test]
fn concurrent_accepts_of_one_token_admit_exactly_one() {
    const THREADS: usize = 8;
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let (owner, team) = guild(&mut conn);
    let joe = actor(&mut conn, "joe@example.com");
    let (_, token) = conn
        .teams()
        .invite(&owner, team, "joe@example.com", TeamRole::Member, DAY)
        .unwrap();
    let results: Vec<saas_db::Result<_>> = race(THREADS, |_, barrier| {
        let mut conn = db.conn().unwrap();
        barrier.wait();
        conn.teams().accept(&joe, token.as_str())
    });
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    assert!(results
        .iter()
        .all(|r| r.is_ok() || matches!(r, Err(Error::Unauthorized))));
    assert_eq!(audit_count(&mut conn, "member_joined"), 1);
    assert_eq!(
        count(&mut conn, "SELECT count(*) AS n FROM team_members"),
        2
    );
}

#[test]
fn an_existing_member_keeps_their_role() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let (owner, team) = guild(&mut conn);
    let joe = actor(&mut conn, "joe@example.com");
    conn.teams()
        .add_member(&owner, team, joe.user_id, TeamRole::Admin)
        .unwrap();
    let (_, token) = conn
        .teams()
        .invite(&owner, team, "joe@example.com", TeamRole::Member, DAY)
        .unwrap();
    assert_eq!(
        conn.teams().accept(&joe, token.as_str()).unwrap().role,
        TeamRole::Admin
    );
}
