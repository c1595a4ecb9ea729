//! `ProjectRepo::rename` and `delete`: the access rules (owner and admin
//! yes, member no), optimistic locking (Stale vs NotFound), the audit
//! entries, bad names, and another team's project under RLS as the app role.

use saas_db::enums::TeamRole;
use saas_db::{Error, Repos};
use saas_db_testing::TestDatabase;

use super::{actor, audit_count};

#[test]
fn owners_and_admins_rename_and_delete_members_may_not() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let ann = actor(&mut conn, "ann@example.com");
    let ada = actor(&mut conn, "ada@example.com");
    let meg = actor(&mut conn, "meg@example.com");
    let team = conn.teams().create(&ann, "A").unwrap().id;
    conn.teams()
        .add_member(&ann, team, ada.user_id, TeamRole::Admin)
        .unwrap();
    conn.teams()
        .add_member(&ann, team, meg.user_id, TeamRole::Member)
        .unwrap();
    let project = conn.projects().create(&ann, team, "Launch").unwrap();

    let refused = conn.projects().rename(&meg, project.id, 1, "Mine");
    assert!(
        matches!(refused, Err(Error::Forbidden { .. })),
        "{refused:?}"
    );
    let renamed = conn
        .projects()
        .rename(&ada, project.id, 1, " Liftoff ")
        .unwrap();
    assert_eq!((renamed.name.as_str(), renamed.version), ("Liftoff", 2));
    assert_eq!(audit_count(&mut conn, "updated"), 1);

    // The first rename won: one based on version 1 is stale.
    let stale = conn.projects().rename(&ann, project.id, 1, "Again");
    assert!(
        matches!(
            stale,
            Err(Error::Stale {
                expected: 1,
                actual: 2,
                ..
            })
        ),
        "{stale:?}"
    );
    let bad = conn.projects().rename(&ann, project.id, 2, "nul\0name");
    assert!(
        matches!(bad, Err(Error::Invalid { ref field, .. }) if field == "name"),
        "{bad:?}"
    );

    let refused = conn.projects().delete(&meg, project.id);
    assert!(
        matches!(refused, Err(Error::Forbidden { .. })),
        "{refused:?}"
    );
    conn.projects().delete(&ada, project.id).unwrap();
    assert_eq!(audit_count(&mut conn, "deleted"), 1);
    let gone = conn.projects().get(&ann, project.id);
    assert!(
        matches!(gone, Err(Error::NotFound { entity: "project" })),
        "{gone:?}"
    );
    let again = conn.projects().rename(&ann, project.id, 2, "Back");
    assert!(
        matches!(again, Err(Error::NotFound { entity: "project" })),
        "{again:?}"
    );
}

/// As the app role, under RLS: the owner of team B cannot rename or delete
/// team A's project (it is not even visible: NotFound). Control: team A's
/// owner can.
#[test]
fn another_teams_project_is_out_of_reach_under_rls() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let ann = actor(&mut conn, "ann@example.com");
    let bob = actor(&mut conn, "bob@example.com");
    let team_a = conn.teams().create(&ann, "A").unwrap().id;
    conn.teams().create(&bob, "B").unwrap();
    let project = conn.projects().create(&ann, team_a, "Secret").unwrap();
    drop(conn);
    let app = crate::support::app_database(&db);

    let renamed = app.as_user(bob.user_id, |tx| {
        tx.projects().rename(&bob, project.id, 1, "Stolen")
    });
    assert!(
        matches!(renamed, Err(Error::NotFound { entity: "project" })),
        "{renamed:?}"
    );
    let deleted = app.as_user(bob.user_id, |tx| tx.projects().delete(&bob, project.id));
    assert!(
        matches!(deleted, Err(Error::NotFound { entity: "project" })),
        "{deleted:?}"
    );
    let renamed = app
        .as_user(ann.user_id, |tx| {
            tx.projects().rename(&ann, project.id, 1, "Still ours")
        })
        .unwrap();
    assert_eq!(renamed.name, "Still ours");
}
