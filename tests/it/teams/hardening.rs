//! The holes a hostile review found in tenant isolation, each replayed as
//! it was found: hand-written SQL as the real application role (LOGIN, not
//! owner, not superuser, no BYPASSRLS) inside `Database::as_user`, and
//! cascades through the owner's connection. Before the membership
//! hardening migration, every refused statement below was accepted.

use std::time::Duration;

use diesel::prelude::*;
use diesel::sql_types::Uuid as SqlUuid;
use saas_db::access::Actor;
use saas_db::enums::TeamRole;
use saas_db::ids::{InvitationId, TeamId, UserId};
use saas_db::{Database, Error, Repos};
use saas_db_testing::TestDatabase;
use uuid::Uuid;

use super::{actor, audit_count, Count};

struct World {
    db: TestDatabase,
    app: Database,
    ann: Actor,
    guest: Actor,
    team_a: TeamId,
    team_b: TeamId,
    invitation: InvitationId,
    token: String,
}

/// Ann owns team A, Bob owns team B (with a project); Guest is invited to
/// A as a member.
fn world() -> World {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let ann = actor(&mut conn, "ann@example.com");
    let bob = actor(&mut conn, "bob@example.com");
    let guest = actor(&mut conn, "guest@example.com");
    let team_a = conn.teams().create(&ann, "A").unwrap().id;
    let team_b = conn.teams().create(&bob, "B").unwrap().id;
    conn.projects().create(&bob, team_b, "Secret plan").unwrap();
    let (invitation, token) = conn
        .teams()
        .invite(
            &ann,
            team_a,
            "guest@example.com",
            TeamRole::Member,
            Duration::from_secs(600),
        )
        .unwrap();
    drop(conn);
    let app = crate::support::app_database(&db);
    World {
        db,
        app,
        ann,
        guest,
        team_a,
        team_b,
        invitation: invitation.id,
        token: token.as_str().to_owned(),
    }
}

/// Runs `sql` with `$1`, `$2` bound to the ids (of any table), as `user` on the app role;
/// the rows it changed.
fn attempt(
    w: &World,
    user: UserId,
    sql: &str,
    a: impl Into<Uuid>,
    b: impl Into<Uuid>,
) -> saas_db::Result<usize> {
    w.app.as_user(user, |tx| {
        Ok(diesel::sql_query(sql)
            .bind::<SqlUuid, _>(a.into())
            .bind::<SqlUuid, _>(b.into())
            .execute(tx)?)
    })
}

fn projects_seen(w: &World, user: UserId, team: TeamId) -> i64 {
    w.app
        .as_user(user, |tx| {
            Ok(
                diesel::sql_query("SELECT count(*) AS n FROM projects WHERE team_id = $1")
                    .bind::<SqlUuid, _>(team)
                    .get_result::<Count>(tx)?
                    .n,
            )
        })
        .unwrap()
}

fn owners(conn: &mut PgConnection, team: TeamId) -> i64 {
    diesel::sql_query(
        "SELECT count(*) AS n FROM team_members WHERE team_id = $1 AND role = 'owner'",
    )
    .bind::<SqlUuid, _>(team)
    .get_result::<Count>(conn)
    .unwrap()
    .n
}

fn is_rls_refusal(result: &saas_db::Result<usize>) -> bool {
    matches!(result, Err(Error::Forbidden { reason }) if reason.contains("row-level security"))
}

fn is_owner_refusal(result: &saas_db::Result<()>, team: TeamId) -> bool {
    matches!(result, Err(Error::Invalid { field, reason })
        if field == "teams_keep_an_owner" && reason.contains(&team.to_string()))
}

/// Defect 1: the invitee pointed the invitation at team B as admin, then
/// inserted the membership it "granted", then made themselves owner.
#[test]
fn an_invitee_cannot_redirect_an_invitation_or_join_by_hand() {
    let w = world();
    let guest = w.guest.user_id;
    let redirect = attempt(
        &w,
        guest,
        "UPDATE team_invitations SET team_id = $2, role = 'admin', accepted_at = now()
          WHERE id = $1",
        w.invitation,
        w.team_b,
    );
    assert_eq!(redirect.unwrap(), 0, "invitees have no UPDATE policy");
    for team in [w.team_b, w.team_a] {
        let join = attempt(
            &w,
            guest,
            "INSERT INTO team_members (team_id, user_id, role) VALUES ($1, $2, 'member')",
            team,
            guest,
        );
        assert!(is_rls_refusal(&join), "{join:?}");
    }
    assert_eq!(projects_seen(&w, guest, w.team_b), 0);

    // The real path still works, with the role the invitation was issued
    // with; a member then cannot promote themself.
    let joined = w
        .app
        .as_user(guest, |tx| tx.teams().accept(&w.guest, &w.token))
        .unwrap();
    assert_eq!((joined.team_id, joined.role), (w.team_a, TeamRole::Member));
    let promote = attempt(
        &w,
        guest,
        "UPDATE team_members SET role = 'owner' WHERE team_id = $1 AND user_id = $2",
        w.team_a,
        guest,
    );
    assert_eq!(promote.unwrap(), 0);
    // Nor move their membership into another team.
    let moved = attempt(
        &w,
        guest,
        "UPDATE team_members SET team_id = $2 WHERE team_id = $1",
        w.team_a,
        w.team_b,
    );
    assert_eq!(moved.unwrap(), 0);
    let mut owner = w.db.conn().unwrap();
    assert_eq!(owners(&mut owner, w.team_a), 1);
}

/// Defect 2: a revoked invitation was brought back by UPDATE, then used.
#[test]
fn a_revoked_invitation_stays_revoked() {
    let w = world();
    let mut conn = w.db.conn().unwrap();
    conn.teams().revoke(&w.ann, w.invitation).unwrap();
    let revive = attempt(
        &w,
        w.guest.user_id,
        "UPDATE team_invitations SET revoked_at = NULL, role = 'admin', accepted_at = now(),
                expires_at = now() + interval '1 year'
          WHERE id = $1 AND $2 IS NOT NULL",
        w.invitation,
        w.guest.user_id,
    );
    assert_eq!(revive.unwrap(), 0);
    let join = attempt(
        &w,
        w.guest.user_id,
        "INSERT INTO team_members (team_id, user_id, role) VALUES ($1, $2, 'admin')",
        w.team_a,
        w.guest.user_id,
    );
    assert!(is_rls_refusal(&join), "{join:?}");
    let accept = w
        .app
        .as_user(w.guest.user_id, |tx| tx.teams().accept(&w.guest, &w.token));
    assert!(matches!(accept, Err(Error::Unauthorized)), "{accept:?}");
    // Redeeming through the function directly, for someone else, is refused.
    let for_ann = w.app.as_user(w.guest.user_id, |tx| {
        Ok(
            diesel::sql_query("SELECT * FROM app_accept_invitation(sha256($1::bytea), $2)")
                .bind::<diesel::sql_types::Text, _>(&w.token)
                .bind::<SqlUuid, _>(w.ann.user_id)
                .execute(tx)?,
        )
    });
    assert!(
        matches!(for_ann, Err(Error::Forbidden { .. })),
        "{for_ann:?}"
    );
}

/// Defect 3: a team whose only member was hard-deleted stayed behind empty,
/// and anyone could insert themself as its owner. Now the team goes with
/// its last member; and a team left empty by older versions (simulated
/// with triggers off) cannot be claimed: only a team created in the same
/// transaction takes a first owner.
#[test]
fn an_empty_team_cannot_be_claimed() {
    let w = world();
    let mut conn = w.db.conn().unwrap();
    let loner = actor(&mut conn, "loner@example.com");
    let solo = conn.teams().create(&loner, "Solo").unwrap().id;
    conn.projects().create(&loner, solo, "Diary").unwrap();
    let deleted_before = audit_count(&mut conn, "deleted");
    conn.users().hard_delete(loner.user_id).unwrap();
    let left = diesel::sql_query("SELECT count(*) AS n FROM teams WHERE id = $1")
        .bind::<SqlUuid, _>(solo)
        .get_result::<Count>(&mut conn)
        .unwrap()
        .n;
    assert_eq!(left, 0, "the team went with its only member");
    assert_eq!(audit_count(&mut conn, "deleted"), deleted_before + 1);

    // An orphan from before the fix: team B with its members removed.
    conn.transaction::<_, Error, _>(|tx| {
        diesel::sql_query("SET LOCAL session_replication_role = replica").execute(tx)?;
        diesel::sql_query("DELETE FROM team_members WHERE team_id = $1")
            .bind::<SqlUuid, _>(w.team_b)
            .execute(tx)?;
        Ok(())
    })
    .unwrap();
    let claim = attempt(
        &w,
        w.guest.user_id,
        "INSERT INTO team_members (team_id, user_id, role) VALUES ($1, $2, 'owner')",
        w.team_b,
        w.guest.user_id,
    );
    assert!(is_rls_refusal(&claim), "{claim:?}");
    assert_eq!(projects_seen(&w, w.guest.user_id, w.team_b), 0);
}

/// Defect 4: hard-deleting a team's only owner, with other members left,
/// returned Ok and left the team without an owner.
#[test]
fn a_team_never_loses_its_last_owner() {
    let w = world();
    let mut conn = w.db.conn().unwrap();
    let carl = actor(&mut conn, "carl@example.com");
    conn.teams()
        .add_member(&w.ann, w.team_a, carl.user_id, TeamRole::Admin)
        .unwrap();

    let refused = conn.users().hard_delete(w.ann.user_id);
    assert!(
        matches!(&refused, Err(Error::Invalid { field, reason })
            if field == "user_id" && reason.contains(&w.team_a.to_string())),
        "{refused:?}"
    );
    assert!(conn.users().get(w.ann.user_id).is_ok(), "nothing deleted");

    // Hand-written SQL and cascades through the owner's connection meet the
    // database's check at COMMIT.
    for sql in [
        "DELETE FROM users WHERE id = (SELECT user_id FROM team_members
                                        WHERE team_id = $1 AND role = 'owner')",
        "DELETE FROM team_members WHERE team_id = $1 AND role = 'owner'",
        "UPDATE team_members SET role = 'member' WHERE team_id = $1",
    ] {
        let result = conn.transaction::<_, Error, _>(|tx| {
            diesel::sql_query(sql)
                .bind::<SqlUuid, _>(w.team_a)
                .execute(tx)?;
            Ok(())
        });
        assert!(is_owner_refusal(&result, w.team_a), "{sql}: {result:?}");
    }
    // Handing ownership over in either order within one transaction is fine.
    conn.transaction::<_, Error, _>(|tx| {
        diesel::sql_query("UPDATE team_members SET role = 'admin' WHERE team_id = $1")
            .bind::<SqlUuid, _>(w.team_a)
            .execute(tx)?;
        diesel::sql_query(
            "UPDATE team_members SET role = 'owner' WHERE team_id = $1 AND user_id = $2",
        )
        .bind::<SqlUuid, _>(w.team_a)
        .bind::<SqlUuid, _>(carl.user_id)
        .execute(tx)?;
        Ok(())
    })
    .unwrap();
    conn.users().hard_delete(w.ann.user_id).unwrap();
    assert_eq!(owners(&mut conn, w.team_a), 1, "Carl owns A now");

    // A team committed without any owner is refused too.
    let ownerless = conn.transaction::<_, Error, _>(|tx| {
        diesel::sql_query("INSERT INTO teams (id, name, slug) VALUES ($1, 'Nobody', 'nobody')")
            .bind::<SqlUuid, _>(Uuid::now_v7())
            .execute(tx)?;
        Ok(())
    });
    assert!(
        matches!(&ownerless, Err(Error::Invalid { field, .. }) if field == "teams_keep_an_owner"),
        "{ownerless:?}"
    );
}

/// A REPEATABLE READ snapshot cannot see a concurrent removal, so it may
/// not take an owner away (READ COMMITTED and SERIALIZABLE may).
#[test]
fn repeatable_read_cannot_remove_an_owner() {
    let w = world();
    let mut conn = w.db.conn().unwrap();
    let carl = actor(&mut conn, "carl@example.com");
    conn.teams()
        .add_member(&w.ann, w.team_a, carl.user_id, TeamRole::Owner)
        .unwrap();
    let demote = |tx: &mut PgConnection| -> saas_db::Result<()> {
        diesel::sql_query(
            "UPDATE team_members SET role = 'member' WHERE team_id = $1 AND user_id = $2",
        )
        .bind::<SqlUuid, _>(w.team_a)
        .bind::<SqlUuid, _>(carl.user_id)
        .execute(tx)?;
        Ok(())
    };
    let rr = conn.build_transaction().repeatable_read().run(demote);
    assert!(is_owner_refusal(&rr, w.team_a), "{rr:?}");
    conn.build_transaction().serializable().run(demote).unwrap();
    assert_eq!(owners(&mut conn, w.team_a), 1);
}

/// Redeeming an invitation while its team is being deleted: the delete
/// holds the team's lock and then locks the invitation rows (cascade); the
/// redeeming function used to lock the invitation row first and then wait
/// for the team's lock, a deadlock (one side failed with `Retryable`). It
/// now takes the team's lock first, so it waits, then finds the invitation
/// gone.
#[test]
fn redeeming_while_the_team_is_deleted_does_not_deadlock() {
    use diesel::connection::SimpleConnection;
    let w = world();
    let mut deleter = w.db.conn().unwrap();
    deleter.batch_execute("BEGIN").unwrap();
    diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended('saas_db.team.' || $1, 0))")
        .bind::<SqlUuid, _>(w.team_a)
        .execute(&mut deleter)
        .unwrap();
    let (deleted, redeemed) = std::thread::scope(|s| {
        let redeeming = s.spawn(|| w.db.conn().unwrap().teams().accept(&w.guest, &w.token));
        let mut watcher = w.db.conn().unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while super::count(
            &mut watcher,
            "SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted",
        ) == 0
        {
            assert!(std::time::Instant::now() < deadline, "accept never waited");
            std::thread::sleep(Duration::from_millis(5));
        }
        let deleted = diesel::sql_query("DELETE FROM teams WHERE id = $1")
            .bind::<SqlUuid, _>(w.team_a)
            .execute(&mut deleter)
            .map_err(Error::from)
            .and_then(|n| Ok((n, deleter.batch_execute("COMMIT")?)));
        (deleted, redeeming.join().unwrap())
    });
    assert!(matches!(deleted, Ok((1, ()))), "{deleted:?}");
    assert!(matches!(redeemed, Err(Error::Unauthorized)), "{redeemed:?}");
}
