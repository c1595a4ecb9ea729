//! Row-Level Security cases that the policy matrix reaches only in part,
//! each written against a deliberate breakage (mutant) of the migrations
//! that no test caught: committed hand-written SQL on the real application
//! role (`TestDatabase::app_url()`), with the owner's connection checking
//! what actually changed.
//!
//! - `team_members_update` made `USING (true)`: a plain member promoted
//!   themself, an admin demoted the owner.
//! - `projects_create` letting any member insert: a plain member added a
//!   project.
//! - `app_is_admin()` ignoring `deleted_at`: a soft-deleted site admin kept
//!   every tenant.
//! - The slug fallback removed: a team name already used twice in other
//!   tenants, whose slugs RLS hides, failed with `teams_slug_key`.
//!
//! Each test was run under its mutant and failed. The first two mutants
//! also fail `rls_matrix.rs` (its admin and member rows); the last two
//! failed only here. Also here: the README's teams walk-through run as
//! written, and soft delete keeping memberships.

use diesel::prelude::*;
use diesel::sql_types::{Text, Uuid as SqlUuid};
use saas_db::access::Actor;
use saas_db::enums::TeamRole;
use saas_db::ids::{TeamId, UserId};
use saas_db::{Database, Error, Repos};
use saas_db_testing::TestDatabase;

use super::{actor, count, site_admin};
use crate::support::acting_as;

struct World {
    db: TestDatabase,
    app: Database,
    owner: Actor,
    admin: Actor,
    member: Actor,
    team: TeamId,
}

/// Team A: an owner, an admin, a plain member and a project.
fn world() -> World {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let owner = actor(&mut conn, "owner@example.com");
    let admin = actor(&mut conn, "admin@example.com");
    let member = actor(&mut conn, "member@example.com");
    let team = conn.teams().create(&owner, "A").unwrap().id;
    conn.teams()
        .add_member(&owner, team, admin.user_id, TeamRole::Admin)
        .unwrap();
    conn.teams()
        .add_member(&owner, team, member.user_id, TeamRole::Member)
        .unwrap();
    conn.projects().create(&owner, team, "Plan").unwrap();
    drop(conn);
    let app = crate::support::app_database(&db);
    World {
        db,
        app,
        owner,
        admin,
        member,
        team,
    }
}

/// Runs `sql` (`$1` = the team, `$2` = `target`) as `user` on the app role
/// and commits; the rows it changed.
fn attempt(
    app: &Database,
    user: UserId,
    sql: &str,
    team: TeamId,
    target: UserId,
) -> saas_db::Result<usize> {
    app.as_user(user, |tx| {
        Ok(diesel::sql_query(sql)
            .bind::<SqlUuid, _>(team)
            .bind::<SqlUuid, _>(target)
            .execute(tx)?)
    })
}

/// Nothing changed: no row matched, or the policy refused the new row.
fn refused(result: &saas_db::Result<usize>) -> bool {
    matches!(result, Ok(0))
        || matches!(result, Err(Error::Forbidden { reason }) if reason.contains("row-level security"))
}

#[derive(QueryableByName)]
struct Role {
    #[diesel(sql_type = Text)]
    role: String,
}

/// Each member's role, read on the owner's connection (no RLS).
fn roles(w: &World) -> Vec<String> {
    let mut conn = w.db.conn().unwrap();
    [w.owner, w.admin, w.member]
        .iter()
        .map(|who| {
            diesel::sql_query(
                "SELECT role::text AS role FROM team_members WHERE team_id = $1 AND user_id = $2",
            )
            .bind::<SqlUuid, _>(w.team)
            .bind::<SqlUuid, _>(who.user_id)
            .get_result::<Role>(&mut conn)
            .unwrap()
            .role
        })
        .collect()
}

const SET_ROLE: &str = "UPDATE team_members SET role = 'owner' WHERE team_id = $1 AND user_id = $2";
const DEMOTE: &str = "UPDATE team_members SET role = 'member' WHERE team_id = $1 AND user_id = $2";

/// Under `team_members_update USING (true)` the member's UPDATE made them
/// an owner and the admin's demoted the owner; both committed.
#[test]
fn members_cannot_raise_themselves_or_demote_owners_by_hand() {
    let w = world();
    let before = roles(&w);
    assert_eq!(before, ["owner", "admin", "member"]);
    for (who, sql, target) in [
        (w.member, SET_ROLE, w.member),
        (w.admin, SET_ROLE, w.admin),
        (w.admin, DEMOTE, w.owner),
        (w.member, DEMOTE, w.owner),
    ] {
        let result = attempt(&w.app, who.user_id, sql, w.team, target.user_id);
        assert!(refused(&result), "{sql} by {who:?}: {result:?}");
    }
    assert_eq!(roles(&w), before);
    // The control: the owner's own hand-written UPDATE goes through.
    let result = attempt(&w.app, w.owner.user_id, SET_ROLE, w.team, w.admin.user_id);
    assert!(matches!(result, Ok(1)), "{result:?}");
    assert_eq!(roles(&w), ["owner", "owner", "member"]);
}

fn projects(w: &World) -> i64 {
    count(
        &mut w.db.conn().unwrap(),
        "SELECT count(*) AS n FROM projects",
    )
}

/// Under a `projects_create` policy letting any member insert, the plain
/// member's INSERT committed a project.
#[test]
fn a_plain_member_cannot_add_a_project_by_hand() {
    let w = world();
    let insert = "INSERT INTO projects (team_id, name) SELECT $1, 'Mine' WHERE $2 IS NOT NULL";
    let result = attempt(&w.app, w.member.user_id, insert, w.team, w.member.user_id);
    assert!(
        matches!(result, Err(Error::Forbidden { ref reason }) if reason.contains("row-level security")),
        "{result:?}"
    );
    assert_eq!(projects(&w), 1);
    // The control: an admin's identical INSERT goes in.
    let result = attempt(&w.app, w.admin.user_id, insert, w.team, w.admin.user_id);
    assert!(matches!(result, Ok(1)), "{result:?}");
    assert_eq!(projects(&w), 2);
}

/// Rows of the four tenant tables `user` sees on the app role.
fn visible(w: &World, user: UserId) -> Vec<i64> {
    w.app
        .as_user(user, |tx| {
            Ok([
                "SELECT count(*) AS n FROM teams",
                "SELECT count(*) AS n FROM team_members",
                "SELECT count(*) AS n FROM team_invitations",
                "SELECT count(*) AS n FROM projects",
            ]
            .iter()
            .map(|sql| count(tx, sql))
            .collect())
        })
        .unwrap()
}

/// Under an `app_is_admin()` that ignored `deleted_at`, the soft-deleted
/// site admin still saw and changed every tenant's rows.
#[test]
fn a_soft_deleted_site_admin_loses_every_tenant() {
    let w = world();
    let root = site_admin(&mut w.db.conn().unwrap(), "root@example.com");
    let rename = "UPDATE teams SET name = 'Taken over' WHERE id = $1 AND $2 IS NOT NULL";
    let add = "INSERT INTO projects (team_id, name) SELECT $1, 'Root' WHERE $2 IS NOT NULL";
    // The control: while live, the site admin sees and writes team A.
    assert_eq!(visible(&w, root.user_id), vec![1, 3, 0, 1]);
    assert!(matches!(
        attempt(&w.app, root.user_id, rename, w.team, root.user_id),
        Ok(1)
    ));
    w.db.conn()
        .unwrap()
        .users()
        .soft_delete(&acting_as(root.user_id), root.user_id)
        .unwrap();
    assert_eq!(visible(&w, root.user_id), vec![0, 0, 0, 0]);
    let result = attempt(&w.app, root.user_id, rename, w.team, root.user_id);
    assert!(matches!(result, Ok(0)), "{result:?}");
    let result = attempt(&w.app, root.user_id, add, w.team, root.user_id);
    assert!(
        matches!(result, Err(Error::Forbidden { ref reason }) if reason.contains("row-level security")),
        "{result:?}"
    );
    let result = attempt(&w.app, root.user_id, DEMOTE, w.team, w.owner.user_id);
    assert!(matches!(result, Ok(0)), "{result:?}");
    assert_eq!(projects(&w), 1);
    assert_eq!(roles(&w), ["owner", "admin", "member"]);
}

/// `acme` and `acme-2` belong to other tenants, hidden by RLS: the next
/// visible suffix is always `acme-2`, so without the random fallback every
/// attempt collided and `create` failed with `Conflict { teams_slug_key }`.
#[test]
fn a_team_name_used_twice_in_hidden_tenants_still_gets_a_slug() {
    let w = world();
    let mut conn = w.db.conn().unwrap();
    let ann = actor(&mut conn, "ann@example.com");
    let bob = actor(&mut conn, "bob@example.com");
    let carol = actor(&mut conn, "carol@example.com");
    let dan = actor(&mut conn, "dan@example.com");
    let taken = [
        conn.teams().create(&ann, "Acme").unwrap().slug,
        conn.teams().create(&bob, "Acme").unwrap().slug,
        // The control: the owner's connection sees every slug and counts on.
        conn.teams().create(&dan, "Acme").unwrap().slug,
    ];
    assert_eq!(taken, ["acme", "acme-2", "acme-3"]);
    let team = w
        .app
        .as_user(carol.user_id, |tx| tx.teams().create(&carol, "Acme"))
        .unwrap();
    assert!(team.slug.starts_with("acme-"), "{}", team.slug);
    assert!(!taken.contains(&team.slug), "{}", team.slug);
}

/// The README's teams walk-through, as written there: every team call on
/// the app role inside `as_user`, through the policies.
#[test]
fn the_readme_teams_walk_through_runs_on_the_app_role() {
    let w = world();
    let mut conn = w.db.conn().unwrap();
    let ann = conn
        .users()
        .create(&saas_db::users::NewUser::new("ann@example.com", "Ann"))
        .unwrap();
    let carol = conn
        .users()
        .create(&saas_db::users::NewUser::new("carol@example.com", "Carol"))
        .unwrap();
    let db = &w.app;
    let owner = Actor::from(&ann);
    let (team, token) = db
        .as_user(ann.id, |tx| {
            let team = tx.teams().create(&owner, "Acme")?;
            let (_, token) = tx.teams().invite(
                &owner,
                team.id,
                "carol@example.com",
                TeamRole::Member,
                std::time::Duration::from_secs(7 * 86_400),
            )?;
            Ok((team, token))
        })
        .unwrap();
    db.as_user(carol.id, |tx| {
        tx.teams().accept(&Actor::from(&carol), token.as_str())
    })
    .unwrap();
    db.as_user(ann.id, |tx| {
        tx.teams()
            .change_role(&owner, team.id, carol.id, TeamRole::Admin)?;
        let last = tx.teams().leave(&owner, team.id);
        assert!(
            matches!(last, Err(Error::Invalid { ref field, .. }) if field == "role"),
            "{last:?}"
        );
        tx.projects().create(&owner, team.id, "Website")
    })
    .unwrap();
    let trail = db
        .conn()
        .unwrap()
        .audit()
        .for_entity("team", team.id, saas_db::PageRequest::first(20))
        .unwrap();
    let actions: Vec<&str> = trail.items.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        ["role_changed", "member_joined", "member_invited", "created"]
    );
    let projects = db
        .as_user(carol.id, |tx| {
            tx.projects().list(&Actor::from(&carol), team.id)
        })
        .unwrap();
    assert_eq!(projects.len(), 1);
    // Carol sees her team only, not team A, by hand-written SQL too.
    let seen = db
        .as_user(carol.id, |tx| {
            Ok(count(tx, "SELECT count(*) AS n FROM teams"))
        })
        .unwrap();
    assert_eq!(seen, 1);
}

/// Soft delete keeps memberships (the README says so; hard delete is in
/// `hardening.rs`): the row stays, with its role, on the owner's connection.
#[test]
fn soft_delete_keeps_memberships() {
    let w = world();
    w.db.conn()
        .unwrap()
        .users()
        .soft_delete(&acting_as(w.admin.user_id), w.admin.user_id)
        .unwrap();
    assert_eq!(roles(&w), ["owner", "admin", "member"]);
}
