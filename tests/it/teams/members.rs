//! Team members: the access rules on every change, the audit entry of each,
//! and a team never left without an owner, also when two owners demote each
//! other at the same moment (a control shows the unlocked way losing both).

use diesel::prelude::*;
use diesel::sql_types::Uuid as SqlUuid;
use saas_db::enums::TeamRole;
use saas_db::ids::{TeamId, UserId};
use saas_db::{Error, Repos};
use saas_db_testing::TestDatabase;
use uuid::Uuid;

use super::{actor, audit_count, count, site_admin};
use crate::support::assert_invalid;
use crate::support::race;

fn forbidden<T: std::fmt::Debug>(result: saas_db::Result<T>) {
    assert!(matches!(result, Err(Error::Forbidden { .. })), "{result:?}");
}

#[test]
fn create_makes_the_creator_owner_and_is_audited() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let ann = actor(&mut conn, "ann@example.com");
    let team = conn.teams().create(&ann, "  Acme, Inc.  ").unwrap();
    assert_eq!(
        (team.name.as_str(), team.slug.as_str()),
        ("Acme, Inc.", "acme-inc")
    );
    assert_eq!(
        conn.teams().create(&ann, "ACME inc").unwrap().slug,
        "acme-inc-2"
    );
    let members = conn.teams().members(&ann, team.id).unwrap();
    assert_eq!(members.len(), 1);
    assert_eq!(
        (members[0].user_id, members[0].role),
        (ann.user_id, TeamRole::Owner)
    );
    let mine = conn.teams().teams_of(&ann, ann.user_id).unwrap();
    assert_eq!(mine.len(), 2);
    assert!(mine.iter().all(|(_, role)| *role == TeamRole::Owner));
    let log = conn
        .audit()
        .for_entity("team", team.id, saas_db::PageRequest::first(10))
        .unwrap();
    assert_eq!(log.items.len(), 1);
    assert_eq!(log.items[0].action, "created");
    assert_eq!(log.items[0].actor_id, Some(ann.user_id));
    assert_eq!(log.items[0].changes["name"]["after"], "Acme, Inc.");
    assert_invalid(conn.teams().create(&ann, "   "), "name");
    // A stranger cannot see the team or its members, or list Ann's teams.
    let eve = actor(&mut conn, "eve@example.com");
    forbidden(conn.teams().get(&eve, team.id));
    forbidden(conn.teams().members(&eve, team.id));
    forbidden(conn.teams().teams_of(&eve, ann.user_id));
}

#[test]
fn roles_decide_who_may_change_members() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let owner = actor(&mut conn, "owner@example.com");
    let admin = actor(&mut conn, "admin@example.com");
    let member = actor(&mut conn, "member@example.com");
    let newbie = actor(&mut conn, "newbie@example.com");
    let team = conn.teams().create(&owner, "Crew").unwrap().id;

    conn.teams()
        .add_member(&owner, team, admin.user_id, TeamRole::Admin)
        .unwrap();
    conn.teams()
        .add_member(&admin, team, member.user_id, TeamRole::Member)
        .unwrap();
    // Members cannot manage members; admins cannot make or touch owners.
    forbidden(
        conn.teams()
            .add_member(&member, team, newbie.user_id, TeamRole::Member),
    );
    forbidden(
        conn.teams()
            .add_member(&admin, team, newbie.user_id, TeamRole::Owner),
    );
    forbidden(
        conn.teams()
            .change_role(&admin, team, owner.user_id, TeamRole::Member),
    );
    forbidden(conn.teams().remove_member(&admin, team, owner.user_id));
    forbidden(
        conn.teams()
            .change_role(&member, team, admin.user_id, TeamRole::Member),
    );
    forbidden(conn.teams().delete(&admin, team));
    // Refusals change nothing and write nothing.
    assert_eq!(audit_count(&mut conn, "role_changed"), 0);
    assert_eq!(conn.teams().members(&owner, team).unwrap().len(), 3);

    match conn
        .teams()
        .add_member(&owner, team, member.user_id, TeamRole::Admin)
    {
        Err(Error::Conflict { constraint }) => assert_eq!(constraint, "team_members_pkey"),
        other => panic!("{other:?}"),
    }
    match conn
        .teams()
        .add_member(&owner, team, UserId(Uuid::now_v7()), TeamRole::Member)
    {
        Err(Error::ForeignKey { constraint }) => {
            assert_eq!(constraint, "team_members_user_id_fkey")
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        conn.teams()
            .change_role(&owner, team, newbie.user_id, TeamRole::Admin),
        Err(Error::NotFound {
            entity: "membership"
        })
    ));

    let promoted = conn
        .teams()
        .change_role(&admin, team, member.user_id, TeamRole::Admin)
        .unwrap();
    assert_eq!(promoted.role, TeamRole::Admin);
    let log = conn
        .audit()
        .for_entity("team", team, saas_db::PageRequest::first(1))
        .unwrap()
        .items
        .remove(0);
    assert_eq!(log.action, "role_changed");
    assert_eq!(log.actor_id, Some(admin.user_id));
    assert_eq!(log.metadata["user_id"], member.user_id.to_string());
    assert_eq!(
        log.changes,
        serde_json::json!({ "role": { "before": "member", "after": "admin" } })
    );
    // The same role again is no change and no entry.
    conn.teams()
        .change_role(&owner, team, member.user_id, TeamRole::Admin)
        .unwrap();
    assert_eq!(audit_count(&mut conn, "role_changed"), 1);

    conn.teams()
        .remove_member(&admin, team, member.user_id)
        .unwrap();
    conn.teams().leave(&admin, team).unwrap();
    assert_eq!(audit_count(&mut conn, "member_removed"), 1);
    assert_eq!(audit_count(&mut conn, "member_left"), 1);
    assert!(matches!(
        conn.teams().leave(&admin, team),
        Err(Error::NotFound { .. })
    ));

    // A site admin may do anything, even in a team they are not part of.
    let root = site_admin(&mut conn, "root@example.com");
    conn.teams()
        .add_member(&root, team, newbie.user_id, TeamRole::Owner)
        .unwrap();
    assert_eq!(conn.teams().get(&root, team).unwrap().id, team);
    conn.teams().delete(&root, team).unwrap();
    assert!(matches!(
        conn.teams().get(&root, team),
        Err(Error::NotFound { entity: "team" })
    ));
    assert_eq!(
        count(&mut conn, "SELECT count(*) AS n FROM team_members"),
        0
    );
}

#[test]
fn the_last_owner_cannot_go() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let owner = actor(&mut conn, "solo@example.com");
    let root = site_admin(&mut conn, "root@example.com");
    let team = conn.teams().create(&owner, "Solo").unwrap().id;
    assert_invalid(
        conn.teams()
            .change_role(&owner, team, owner.user_id, TeamRole::Admin),
        "role",
    );
    assert_invalid(conn.teams().leave(&owner, team), "role");
    assert_invalid(
        conn.teams().remove_member(&root, team, owner.user_id),
        "user_id",
    );
    assert_invalid(
        conn.teams()
            .change_role(&root, team, owner.user_id, TeamRole::Member),
        "role",
    );
    // With a second owner, one may step down.
    let other = actor(&mut conn, "other@example.com");
    conn.teams()
        .add_member(&owner, team, other.user_id, TeamRole::Owner)
        .unwrap();
    conn.teams()
        .change_role(&owner, team, owner.user_id, TeamRole::Member)
        .unwrap();
    assert_invalid(conn.teams().leave(&other, team), "role");
    assert_eq!(
        audit_count(&mut conn, "role_changed"),
        1,
        "refusals write nothing"
    );
}

#[test]
fn membership_changes_refuse_repeatable_read() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let owner = actor(&mut conn, "rr@example.com");
    let other = actor(&mut conn, "rr2@example.com");
    let team = conn.teams().create(&owner, "RR").unwrap().id;
    let result = conn.build_transaction().repeatable_read().run(|tx| {
        tx.teams()
            .add_member(&owner, team, other.user_id, TeamRole::Member)
    });
    assert_invalid(result, "transaction_isolation");
    let serializable = conn.build_transaction().serializable().run(|tx| {
        tx.teams()
            .add_member(&owner, team, other.user_id, TeamRole::Member)
    });
    assert!(serializable.is_ok(), "{serializable:?}");
}

/// Two owners of a fresh team, ready to race.
pub(super) fn two_owner_team(
    conn: &mut PgConnection,
    round: usize,
) -> (TeamId, saas_db::access::Actor, saas_db::access::Actor) {
    let a = actor(conn, &format!("a{round}@example.com"));
    let b = actor(conn, &format!("b{round}@example.com"));
    let team = conn
        .teams()
        .create(&a, &format!("Race {round}"))
        .unwrap()
        .id;
    conn.teams()
        .add_member(&a, team, b.user_id, TeamRole::Owner)
        .unwrap();
    (team, a, b)
}

pub(super) fn owners(conn: &mut PgConnection, team: TeamId) -> i64 {
    diesel::sql_query(
        "SELECT count(*) AS n FROM team_members WHERE team_id = $1 AND role = 'owner'",
    )
    .bind::<SqlUuid, _>(team)
    .get_result::<super::Count>(conn)
    .unwrap()
    .n
}

#[test]
fn two_owners_demoting_each_other_leave_one_owner() {
    const ROUNDS: usize = 20;
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    for round in 0..ROUNDS {
        let (team, a, b) = two_owner_team(&mut conn, round);
        let pairs = [(a, b), (b, a)];
        let results: Vec<saas_db::Result<_>> = race(2, |i, barrier| {
            let (me, them) = pairs[i];
            let mut conn = db.conn().unwrap();
            barrier.wait();
            conn.teams()
                .change_role(&me, team, them.user_id, TeamRole::Member)
        });
        // The loser is refused either way: by the last-owner rule, or (if
        // the winner went first) because it is no longer an owner at all.
        let won = results.iter().filter(|r| r.is_ok()).count();
        let refused = results
            .iter()
            .filter(|r| {
                matches!(r, Err(Error::Invalid { field, .. }) if field == "role")
                    || matches!(r, Err(Error::Forbidden { .. }))
            })
            .count();
        assert_eq!((won, refused), (1, 1), "round {round}: {results:?}");
        assert_eq!(owners(&mut conn, team), 1, "round {round}");
    }
}

#[test]
fn two_owners_leaving_at_once_leave_one_owner() {
    const ROUNDS: usize = 20;
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    for round in 0..ROUNDS {
        let (team, a, b) = two_owner_team(&mut conn, round);
        let results: Vec<saas_db::Result<()>> = race(2, |i, barrier| {
            let me = [a, b][i];
            let mut conn = db.conn().unwrap();
            barrier.wait();
            conn.teams().leave(&me, team)
        });
        let refused = results
            .iter()
            .filter(|r| matches!(r, Err(Error::Invalid { field, .. }) if field == "role"))
            .count();
        assert_eq!(refused, 1, "round {round}: {results:?}");
        assert_eq!(owners(&mut conn, team), 1, "round {round}");
    }
}

/// Count the owners, then demote, with no lock: both transactions count two
/// before either writes. `triggers` false turns the database's owner check
/// off for the transaction (session_replication_role = replica, the control).
fn unlocked_demotions(
    db: &TestDatabase,
    team: TeamId,
    who: [Uuid; 2],
    triggers: bool,
) -> Vec<saas_db::Result<()>> {
    race(2, |i, barrier| {
        let mut conn = db.conn().unwrap();
        conn.transaction::<_, Error, _>(|tx| {
            if !triggers {
                diesel::sql_query("SET LOCAL session_replication_role = replica").execute(tx)?;
            }
            let n = owners(tx, team);
            barrier.wait();
            if n > 1 {
                diesel::sql_query(
                    "UPDATE team_members SET role = 'member' WHERE team_id = $1 AND user_id = $2",
                )
                .bind::<SqlUuid, _>(team)
                .bind::<SqlUuid, _>(who[i])
                .execute(tx)?;
            }
            Ok(())
        })
    })
}

#[test]
fn control_unlocked_check_then_demote_loses_both_owners() {
    // Without the lock and without the database's check, both demote and
    // the team is left with no owner.
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let (team, a, b) = two_owner_team(&mut conn, 0);
    let results = unlocked_demotions(&db, team, [a.user_id.into(), b.user_id.into()], false);
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(owners(&mut conn, team), 0, "the naive way leaves no owner");
}

/// The same unlocked race with the database's deferred owner check on:
/// the second COMMIT waits for the team's lock, counts again and is
/// refused, so hand-written SQL cannot take the last owner away either.
#[test]
fn the_database_keeps_an_owner_when_unlocked_writers_race() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    for round in 0..10 {
        let (team, a, b) = two_owner_team(&mut conn, round);
        let results = unlocked_demotions(&db, team, [a.user_id.into(), b.user_id.into()], true);
        let refused = results
            .iter()
            .filter(|r| {
                matches!(r, Err(Error::Invalid { field, reason })
                    if field == "teams_keep_an_owner" && reason.contains(&team.to_string()))
            })
            .count();
        assert_eq!(refused, 1, "round {round}: {results:?}");
        assert_eq!(owners(&mut conn, team), 1, "round {round}");
    }
}
