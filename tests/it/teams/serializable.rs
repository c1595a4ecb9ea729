//! The team owner lock under SERIALIZABLE (`members.rs` races the same
//! changes at READ COMMITTED, with the unlocked control). A SERIALIZABLE
//! transaction takes its snapshot at its first statement, so it can start
//! before the other owner's change commits; whatever happens, a team must
//! keep exactly the owners the committed changes leave, and never none. A
//! serialization failure (`Error::Retryable`) is an acceptable outcome for
//! the loser, a lost owner is not.

use saas_db::access::Actor;
use saas_db::enums::TeamRole;
use saas_db::ids::TeamId;
use saas_db::{Error, Repos};
use saas_db_testing::TestDatabase;

use super::members::{owners, two_owner_team};
use crate::support::race;

const ROUNDS: usize = 15;

/// Runs `change` for each of the two owners at once, each in its own
/// SERIALIZABLE transaction that reads the team before the race starts
/// (so both snapshots predate the other's change).
fn race_serializable(
    db: &TestDatabase,
    team: TeamId,
    owners: [Actor; 2],
    change: impl Fn(&mut diesel::PgConnection, &Actor, &Actor) -> saas_db::Result<()> + Sync,
) -> Vec<saas_db::Result<()>> {
    race(2, |i, barrier| {
        let mut conn = db.conn().unwrap();
        let (me, them) = (&owners[i], &owners[1 - i]);
        conn.build_transaction().serializable().run(|tx| {
            tx.teams().members(me, team)?;
            barrier.wait();
            change(tx, me, them)
        })
    })
}

/// Every outcome is a success, the last-owner refusal, "no longer an
/// owner", or a serialization failure; successes and remaining owners add
/// up, and at least one owner remains.
fn check_round(db: &TestDatabase, team: TeamId, round: usize, results: &[saas_db::Result<()>]) {
    let acceptable = |r: &saas_db::Result<()>| {
        r.is_ok()
            || matches!(r, Err(Error::Invalid { field, .. })
                if field == "role" || field == "teams_keep_an_owner")
            || matches!(r, Err(Error::Forbidden { .. }))
            || matches!(r, Err(Error::Retryable { .. }))
    };
    assert!(results.iter().all(acceptable), "round {round}: {results:?}");
    let won = results.iter().filter(|r| r.is_ok()).count();
    let left = owners(&mut db.conn().unwrap(), team);
    assert_eq!(
        won, 1,
        "round {round}: exactly one change commits: {results:?}"
    );
    assert_eq!(left, 1, "round {round}: {results:?}");
}

#[test]
fn serializable_owners_demoting_each_other_leave_one_owner() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    for round in 0..ROUNDS {
        let (team, a, b) = two_owner_team(&mut conn, round);
        let results = race_serializable(&db, team, [a, b], |tx, me, them| {
            tx.teams()
                .change_role(me, team, them.user_id, TeamRole::Member)
                .map(drop)
        });
        check_round(&db, team, round, &results);
    }
}

#[test]
fn serializable_owners_leaving_at_once_leave_one_owner() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    for round in 0..ROUNDS {
        let (team, a, b) = two_owner_team(&mut conn, round);
        let results = race_serializable(&db, team, [a, b], |tx, me, _| tx.teams().leave(me, team));
        check_round(&db, team, round, &results);
    }
}
