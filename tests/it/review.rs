//! A hostile review of the hardening (issue 12): attacks on the fixes,
//! each replayed as hand-written SQL on the real application role (LOGIN,
//! not owner, not superuser, no BYPASSRLS), the kind RLS applies to.

use crate::support::{two_teams, Count, TwoTeams};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::Uuid as SqlUuid;
use saas_db::access::Actor;
use saas_db::ids::{TeamId, UserId};
use saas_db::users::NewUser;
use saas_db::{Database, Error, Repos};
use saas_db_testing::TestDatabase;

/// Ann owns team A alone; Bob owns team B, which has a project.
struct World {
    db: TestDatabase,
    app: Database,
    ann: UserId,
    team_a: TeamId,
    team_b: TeamId,
}

fn world() -> World {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let TwoTeams {
        ann,
        bob,
        team_a,
        team_b,
    } = two_teams(&mut conn);
    conn.projects().create(&bob, team_b, "Secret plan").unwrap();
    drop(conn);
    let app = crate::support::app_database(&db);
    World {
        db,
        app,
        ann: ann.user_id,
        team_a,
        team_b,
    }
}

/// The policies' helpers run as the owner (SECURITY DEFINER) with the
/// search_path of the migration, which did not name `pg_temp`: PostgreSQL
/// then searches the caller's temporary schema FIRST for tables. A
/// temporary `users` table that says "I am a site admin" made
/// `app_is_admin()` true, and the app role read every tenant's projects.
#[test]
fn a_temporary_table_cannot_stand_in_for_users_in_the_policies() {
    let w = world();
    let seen = w.app.as_user(w.ann, |tx| {
        diesel::sql_query(
            "CREATE TEMPORARY TABLE users (id uuid, role text, deleted_at timestamptz)",
        )
        .execute(tx)?;
        diesel::sql_query("INSERT INTO pg_temp.users VALUES (app_user_id(), 'admin', NULL)")
            .execute(tx)?;
        let n = diesel::sql_query("SELECT count(*) AS n FROM public.projects WHERE team_id = $1")
            .bind::<SqlUuid, _>(w.team_b)
            .get_result::<Count>(tx)?
            .n;
        diesel::sql_query("DROP TABLE pg_temp.users").execute(tx)?;
        Ok(n)
    });
    assert_eq!(seen.unwrap(), 0, "a temporary table made Ann a site admin");
}

/// The same hole in the deferred "a team keeps an owner" trigger: a
/// temporary `team_members` holding a fake owner row let the last owner's
/// membership be deleted, and the team committed without an owner.
#[test]
fn a_temporary_table_cannot_satisfy_the_last_owner_rule() {
    let w = world();
    let left = w.app.as_user(w.ann, |tx| {
        diesel::sql_query(
            "CREATE TEMPORARY TABLE team_members (team_id uuid, user_id uuid, role team_role)",
        )
        .execute(tx)?;
        diesel::sql_query(
            "INSERT INTO pg_temp.team_members VALUES ($1, gen_random_uuid(), 'owner')",
        )
        .bind::<SqlUuid, _>(w.team_a)
        .execute(tx)?;
        diesel::sql_query("DELETE FROM public.team_members WHERE team_id = $1")
            .bind::<SqlUuid, _>(w.team_a)
            .execute(tx)?;
        Ok(())
    });
    let mut conn = w.db.conn().unwrap();
    let owners = diesel::sql_query(
        "SELECT count(*) AS n FROM team_members WHERE team_id = $1 AND role = 'owner'",
    )
    .bind::<SqlUuid, _>(w.team_a)
    .get_result::<Count>(&mut conn)
    .unwrap()
    .n;
    assert!(
        matches!(&left, Err(Error::Invalid { field, .. }) if field == "teams_keep_an_owner"),
        "{left:?}"
    );
    assert_eq!(owners, 1);
}

#[derive(QueryableByName)]
struct Unsafe {
    #[diesel(sql_type = diesel::sql_types::Text)]
    function: String,
}

/// Every SECURITY DEFINER function names `pg_temp` last in its pinned
/// search_path, so that the caller's temporary tables never stand in for
/// the owner's (a function added later without it fails here).
#[test]
fn every_security_definer_function_searches_pg_temp_last() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let unsafe_ones: Vec<String> = diesel::sql_query(
        "SELECT p.oid::regprocedure::text AS function FROM pg_proc p
          WHERE p.prosecdef AND p.pronamespace = 'public'::regnamespace
            AND NOT EXISTS (SELECT 1 FROM unnest(p.proconfig) c
                             WHERE c ~ '^search_path=.*, pg_temp$')
          ORDER BY 1",
    )
    .load::<Unsafe>(&mut conn)
    .unwrap()
    .into_iter()
    .map(|u| u.function)
    .collect();
    assert_eq!(unsafe_ones, Vec::<String>::new());
    let definers = diesel::sql_query(
        "SELECT count(*) AS n FROM pg_proc WHERE prosecdef AND pronamespace = 'public'::regnamespace",
    )
    .get_result::<Count>(&mut conn)
    .unwrap()
    .n;
    assert!(definers >= 7, "{definers}");
}

/// No SECURITY DEFINER trigger function is executable by PUBLIC: such a
/// function runs as the owner on any table it is attached to, and EXECUTE
/// is all CREATE TRIGGER checks. The app role attached
/// `app_check_team_owner()` to a temp table of its own and fed it rows,
/// learning from the error whether a team id exists. Now CREATE TRIGGER is
/// refused (`Forbidden`); control: the same role may still attach the
/// non-definer `set_updated_at()`, and our own triggers still fire.
#[test]
fn definer_trigger_functions_cannot_be_attached_by_others() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let public: Vec<String> = diesel::sql_query(
        "SELECT p.oid::regprocedure::text AS function FROM pg_proc p
          WHERE p.prosecdef AND p.prorettype = 'trigger'::regtype
            AND p.pronamespace = 'public'::regnamespace
            AND has_function_privilege('public', p.oid, 'EXECUTE')
          ORDER BY 1",
    )
    .load::<Unsafe>(&mut conn)
    .unwrap()
    .into_iter()
    .map(|u| u.function)
    .collect();
    assert_eq!(public, Vec::<String>::new());
    drop(conn);

    let app = crate::support::app_database(&db);
    let mut conn = app.conn().unwrap();
    conn.batch_execute(
        "CREATE TEMP TABLE probe (id uuid, team_id uuid, role text, updated_at timestamptz)",
    )
    .unwrap();
    let attached = conn
        .batch_execute(
            "CREATE CONSTRAINT TRIGGER probe_owner AFTER DELETE ON probe
               DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION public.app_check_team_owner()",
        )
        .map_err(Error::from);
    assert!(
        matches!(attached, Err(Error::Forbidden { .. })),
        "{attached:?}"
    );
    conn.batch_execute(
        "CREATE TRIGGER probe_touch BEFORE UPDATE ON probe
           FOR EACH ROW EXECUTE FUNCTION public.set_updated_at()",
    )
    .unwrap();
    // Our own definer trigger still fires: a team keeps its owner.
    let mut owner = db.conn().unwrap();
    let ann = owner
        .users()
        .create(&NewUser::new("ann@example.com", "Ann"))
        .unwrap();
    let team = owner.teams().create(&Actor::from(&ann), "A").unwrap();
    let removed = diesel::sql_query("DELETE FROM team_members WHERE team_id = $1")
        .bind::<SqlUuid, _>(team.id)
        .execute(&mut owner)
        .map_err(Error::from);
    assert!(
        matches!(&removed, Err(Error::Invalid { field, .. }) if field == "teams_keep_an_owner"),
        "{removed:?}"
    );
}

/// libpq ends the user part of a URI at the first '@' or '/', so a '?' in
/// the password is legal. The redaction split at the first '?' before
/// looking for the '@', and printed such a password whole:
/// `postgres://app:hun?ter2@h/db` came out as it went in.
#[test]
fn builder_debug_hides_a_password_with_a_question_mark() {
    for (url, shown) in [
        (
            "postgres://app:hun?ter2@h/db",
            "postgres://app:<redacted>@h/db",
        ),
        (
            "postgresql://app:hunter2?x=1@h:5432/db?sslmode=require&password=hunter2",
            "postgresql://app:<redacted>@h:5432/db?sslmode=require&password=<redacted>",
        ),
        ("postgres://app:hun?ter2@h", "postgres://app:<redacted>@h"),
    ] {
        let debug = format!("{:?}", Database::builder(url));
        assert!(debug.contains(&format!("url: {shown:?}")), "{url}: {debug}");
        assert!(!debug.contains("ter2"), "{debug}");
    }
}

/// `"alice"@example.com` is the mailbox `alice@example.com` (RFC 5321: a
/// quoted local part that needs no quoting is the same address), yet it
/// was accepted as a second account next to it, and found by neither
/// spelling's lookup of the other. Quoted local parts are now refused.
#[test]
fn a_quoted_local_part_is_not_a_second_account() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    conn.users()
        .create(&NewUser::new("alice@example.com", "Alice"))
        .unwrap();
    for quoted in ["\"alice\"@example.com", "\"al\\ice\"@example.com"] {
        let second = conn.users().create(&NewUser::new(quoted, "Mallory"));
        assert!(
            matches!(&second, Err(Error::Invalid { field, .. }) if field == "email"),
            "{quoted}: {second:?}"
        );
    }
    let n = diesel::sql_query("SELECT count(*) AS n FROM users")
        .get_result::<Count>(&mut conn)
        .unwrap()
        .n;
    assert_eq!(n, 1);
}
