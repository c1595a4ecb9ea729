//! Teams end to end, every `TeamRepo` and `ProjectRepo` call run and
//! printed: (1-2) a team and its owner (`create`),
//! (3) an invitation (`invite`; only the token's hash is stored) accepted
//! once (`accept`), (4) members (`add_member`, `members`), (5) an access
//! refusal, the last-owner rule (`leave`) and a promotion (`change_role`),
//! (6) a site admin's ban, (7) the audit trail they leave, (8) open
//! invitations listed and revoked (`pending_invitations`, `revoke`), a
//! member removed (`remove_member`), a user's teams (`teams_of`), a project
//! fetched, renamed and deleted (`projects().get`, `rename`, `delete`) and
//! the team deleted with it (`delete`, then
//! `get`), and (9) tenant isolation by Row-Level Security under an
//! application role (skipped, saying so, when that role cannot log in).
//!
//! ```sh
//! cargo run --example teams     # throwaway PostgreSQL unless DATABASE_URL is set
//! ```

use std::collections::HashMap;
use std::time::Duration;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Bytea, Integer, Text, Uuid as SqlUuid};
use saas_db::access::Actor;
use saas_db::audit::AuditLog;
use saas_db::enums::{TeamRole, UserRole};
use saas_db::ids::{InvitationId, UserId};
use saas_db::users::NewUser;
use saas_db::{Database, Error, PageRequest, Repos};

/// The application role of the tenant-isolation part: a login role that is
/// neither the tables' owner nor a superuser, so Row-Level Security applies.
const APP_ROLE: &str = "teams_example_app";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (url, _server) = saas_db_testing::EmbeddedPostgres::url_or_start()?;
    let db = Database::builder(&url).schema("teams_example").build()?;
    let mut conn = db.conn()?;

    println!("1. people");
    let ann = conn
        .users()
        .create(&NewUser::new("ann@example.com", "Ann"))?;
    let bob = conn
        .users()
        .create(&NewUser::new("bob@example.com", "Bob"))?;
    let carol = conn
        .users()
        .create(&NewUser::new("carol@example.com", "Carol"))?;
    let mallory = conn
        .users()
        .create(&NewUser::new("mallory@example.com", "Mallory"))?;
    let root = conn
        .users()
        .create(&NewUser::new("admin@example.com", "Site admin"))?;
    // The first admin promotes itself (audited as its own act).
    let root = conn
        .users()
        .set_role(&Actor::from(&root), root.id, UserRole::Admin)?;
    let people = [&ann, &bob, &carol, &mallory, &root];
    for u in people {
        println!(
            "   {:<11} {:<20} site role {}",
            u.name,
            u.email,
            lower(u.role)
        );
    }
    let names: HashMap<UserId, String> = people.iter().map(|u| (u.id, u.name.clone())).collect();
    let name = |id: Option<UserId>| {
        id.and_then(|id| names.get(&id).cloned())
            .unwrap_or_else(|| "-".into())
    };
    let (ann_a, bob_a, carol_a, root_a) = (
        Actor::from(&ann),
        Actor::from(&bob),
        Actor::from(&carol),
        Actor::from(&root),
    );

    println!("\n2. Ann creates a team");
    let team = conn.teams().create(&ann_a, "Acme Rockets")?;
    println!("   {:?} (slug {}), Ann is its owner", team.name, team.slug);

    println!("\n3. Ann invites Carol");
    let (invitation, token) = conn.teams().invite(
        &ann_a,
        team.id,
        "carol@example.com",
        TeamRole::Member,
        Duration::from_secs(7 * 86_400),
    )?;
    let stored = stored_hash(&mut conn, invitation.id, token.as_str())?;
    println!(
        "   token: {} characters, returned once to send to {}",
        token.as_str().len(),
        invitation.email
    );
    println!(
        "   stored: a {}-byte hash, SHA-256 of the token: {}; the token itself is in no column",
        stored.bytes, stored.is_sha256
    );
    match conn.teams().accept(&bob_a, token.as_str()) {
        Err(e @ Error::Forbidden { .. }) => {
            println!("   Bob tries Carol's token:   {e} (it stays open)")
        }
        other => return Err(format!("expected Forbidden, got {other:?}").into()),
    }
    let joined = conn.teams().accept(&carol_a, token.as_str())?;
    println!(
        "   Carol accepts:             she is a {}",
        lower(joined.role)
    );
    match conn.teams().accept(&carol_a, token.as_str()) {
        Err(e @ Error::Unauthorized) => println!("   accepting it again:        {e}"),
        other => return Err(format!("expected Unauthorized, got {other:?}").into()),
    }

    println!("\n4. Ann adds Bob as a member");
    conn.teams()
        .add_member(&ann_a, team.id, bob.id, TeamRole::Member)?;
    for m in conn.teams().members(&ann_a, team.id)? {
        println!("   {:<6} {:<20} {}", m.name, m.email, lower(m.role));
    }

    println!("\n5. the rules");
    match conn
        .teams()
        .change_role(&bob_a, team.id, carol.id, TeamRole::Admin)
    {
        Err(Error::Forbidden { reason }) => {
            println!("   Bob (member) promotes Carol: refused, {reason}")
        }
        other => return Err(format!("expected Forbidden, got {other:?}").into()),
    }
    match conn.teams().leave(&ann_a, team.id) {
        Err(e @ Error::Invalid { .. }) => println!("   Ann (only owner) leaves:     refused, {e}"),
        other => return Err(format!("expected Invalid, got {other:?}").into()),
    }
    let promoted = conn
        .teams()
        .change_role(&ann_a, team.id, carol.id, TeamRole::Admin)?;
    println!(
        "   Ann promotes Carol:          member -> {}",
        lower(promoted.role)
    );

    println!("\n6. the site admin bans Mallory");
    let until = chrono::Utc::now() + chrono::Duration::days(7);
    let banned = conn
        .users()
        .ban(&root_a, mallory.id, Some(until), Some("spam"))?;
    println!(
        "   banned until {}, reason {:?}",
        until.date_naive(),
        banned.ban_reason.as_deref().unwrap_or("-")
    );

    println!("\n7. the audit trail");
    println!("   team {:?}, newest first:", team.name);
    let trail = conn
        .audit()
        .for_entity("team", team.id, PageRequest::first(20))?;
    print_entries(&trail.items, &name);
    println!("   (the refused attempts of step 5 left no entry)");
    println!("   user Mallory:");
    let ban = conn
        .audit()
        .for_entity("user", mallory.id, PageRequest::first(20))?;
    print_entries(&ban.items, &name);
    match diesel::sql_query("UPDATE audit_logs SET action = 'nothing' WHERE entity = 'team'")
        .execute(&mut conn)
        .map_err(Error::from)
    {
        Err(Error::Forbidden { reason }) => println!("   rewriting history: refused, {reason}"),
        other => return Err(format!("expected Forbidden, got {other:?}").into()),
    }

    housekeeping(&mut conn, [&ann_a, &bob_a])?;

    println!("\n9. tenant isolation: Row-Level Security, as the application role");
    let lab = conn.teams().create(&carol_a, "Carol's Lab")?;
    conn.projects().create(&ann_a, team.id, "Website")?;
    conn.projects().create(&carol_a, team.id, "Launch pad")?;
    conn.projects().create(&carol_a, lab.id, "Prototype")?;
    println!("   projects: Acme Rockets has Website and Launch pad; Carol's Lab has Prototype");
    println!("   Bob is in Acme Rockets only, Carol in both");
    let app = match app_database(&mut conn, &url) {
        Ok(app) => app,
        Err(e) => {
            println!("   skipped: no connection as role {APP_ROLE} ({e})");
            return Ok(());
        }
    };
    const SQL: &str = "SELECT count(*) AS n, coalesce(string_agg(name, ', ' ORDER BY name), '') \
                       AS names FROM projects";
    println!("   hand-written `SELECT count(*) FROM projects` (app role: {APP_ROLE}):");
    let row = |label: &str, seen: Seen| {
        let names = if seen.names.is_empty() {
            "(nothing)"
        } else {
            &seen.names
        };
        println!("   {label:<28} {:>2}  {names}", seen.n);
    };
    row(
        "the owner (bypasses RLS)",
        diesel::sql_query(SQL).get_result(&mut conn)?,
    );
    row(
        "app role, no user set",
        diesel::sql_query(SQL).get_result(&mut app.conn()?)?,
    );
    for (who, id) in [
        ("Bob", bob.id),
        ("Carol", carol.id),
        ("the site admin", root.id),
    ] {
        let seen = app.as_user(id, |tx| Ok(diesel::sql_query(SQL).get_result(tx)?))?;
        row(&format!("app role as {who}"), seen);
    }
    let changed = app.as_user(bob.id, |tx| {
        Ok(
            diesel::sql_query("UPDATE projects SET name = 'mine now' WHERE team_id = $1")
                .bind::<SqlUuid, _>(lab.id)
                .execute(tx)?,
        )
    })?;
    println!(
        "   {:<46} {changed} rows changed",
        "as Bob, UPDATE Carol's Lab's projects by hand:"
    );
    match app.as_user(bob.id, |tx| tx.projects().list(&bob_a, lab.id)) {
        Err(Error::Forbidden { .. }) => {
            println!(
                "   {:<46} forbidden",
                "as Bob, projects().list(Carol's Lab):"
            )
        }
        other => return Err(format!("expected Forbidden, got {other:?}").into()),
    }
    Ok(())
}

/// Ann's side project: an invitation listed and revoked, Bob added and
/// removed, the teams each of them is in, and the team deleted.
fn housekeeping(
    conn: &mut PgConnection,
    [ann, bob]: [&Actor; 2],
) -> Result<(), Box<dyn std::error::Error>> {
    println!("\n8. invitations revoked, members removed, a team deleted");
    let side = conn.teams().create(ann, "Side Project")?;
    let week = Duration::from_secs(7 * 86_400);
    let (dave, _token) =
        conn.teams()
            .invite(ann, side.id, "dave@example.com", TeamRole::Admin, week)?;
    let open = |conn: &mut PgConnection| -> Result<Vec<String>, Error> {
        Ok(conn
            .teams()
            .pending_invitations(ann, side.id)?
            .into_iter()
            .map(|i| format!("{} as {}", i.email, lower(i.role)))
            .collect())
    };
    println!("   open invitations:          {:?}", open(conn)?);
    conn.teams().revoke(ann, dave.id)?;
    println!("   after revoke:              {:?}", open(conn)?);
    conn.teams()
        .add_member(ann, side.id, bob.user_id, TeamRole::Member)?;
    let teams_of = |conn: &mut PgConnection, who: &Actor| -> Result<Vec<String>, Error> {
        Ok(conn
            .teams()
            .teams_of(who, who.user_id)?
            .into_iter()
            .map(|(team, role)| format!("{} ({})", team.name, lower(role)))
            .collect())
    };
    println!("   Bob's teams:               {:?}", teams_of(conn, bob)?);
    conn.teams().remove_member(ann, side.id, bob.user_id)?;
    println!("   Ann removes Bob; his teams: {:?}", teams_of(conn, bob)?);
    let roadmap = conn.projects().create(ann, side.id, "Roadmap")?;
    let roadmap = conn.projects().get(ann, roadmap.id)?;
    println!("   its project:               {:?}", roadmap.name);
    let renamed = conn
        .projects()
        .rename(ann, roadmap.id, roadmap.version, "Roadmap 2027")?;
    println!(
        "   renamed (version {}):       {:?}",
        renamed.version, renamed.name
    );
    match conn
        .projects()
        .rename(ann, roadmap.id, roadmap.version, "Late")
    {
        Err(e @ Error::Stale { .. }) => println!("   rename from version 1:     {e}"),
        other => return Err(format!("expected Stale, got {other:?}").into()),
    }
    let scratch = conn.projects().create(ann, side.id, "Scratch")?;
    conn.projects().delete(ann, scratch.id)?;
    println!("   project deleted:           {:?}", scratch.name);
    conn.teams().delete(ann, side.id)?;
    println!("   Ann deletes the team; hers: {:?}", teams_of(conn, ann)?);
    // Ann is no longer a member of anything by that id: `get` refuses as
    // for any team she is not in, without saying whether it exists.
    match conn.teams().get(ann, side.id) {
        Err(e @ Error::Forbidden { .. }) => println!("   get(deleted team):         {e}"),
        other => return Err(format!("expected Forbidden, got {other:?}").into()),
    }
    Ok(())
}

/// What a hand-written count over `projects` saw.
#[derive(QueryableByName)]
struct Seen {
    #[diesel(sql_type = BigInt)]
    n: i64,
    #[diesel(sql_type = Text)]
    names: String,
}

#[derive(QueryableByName)]
struct StoredHash {
    #[diesel(sql_type = Integer)]
    bytes: i32,
    #[diesel(sql_type = Bool)]
    is_sha256: bool,
}

/// What the invitations table holds for the token: its length and whether
/// it is the token's SHA-256.
fn stored_hash(
    conn: &mut PgConnection,
    invitation: InvitationId,
    token: &str,
) -> Result<StoredHash, Error> {
    Ok(diesel::sql_query(
        "SELECT octet_length(token_hash) AS bytes, token_hash = sha256($2) AS is_sha256
           FROM team_invitations WHERE id = $1",
    )
    .bind::<SqlUuid, _>(invitation)
    .bind::<Bytea, _>(token.as_bytes())
    .get_result(conn)?)
}

fn print_entries(entries: &[AuditLog], name: &impl Fn(Option<UserId>) -> String) {
    for e in entries {
        let subject = e
            .metadata
            .get("user_id")
            .and_then(|v| v.as_str())
            .and_then(|s| s.parse().ok());
        println!(
            "   {}  {:<10} {:<14} {:<6} {}",
            e.created_at.format("%H:%M:%S%.3f"),
            name(e.actor_id),
            e.action,
            subject.map_or(String::new(), |id| name(Some(id))),
            e.changes
        );
    }
}

/// A `Database` connected as [`APP_ROLE`]: created if missing (a login role
/// without superuser or BYPASSRLS), granted the application's access, and
/// reached with the same connection string plus `user=`.
fn app_database(conn: &mut PgConnection, url: &str) -> Result<Database, Error> {
    diesel::sql_query(
        "DO $$ BEGIN
             IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'teams_example_app') THEN
                 CREATE ROLE teams_example_app LOGIN NOSUPERUSER NOBYPASSRLS;
             END IF;
         END $$",
    )
    .execute(conn)?;
    saas_db::tenancy::grant_app_access(conn, APP_ROLE)?;
    // libpq takes the last `user`: a query parameter overrides the user
    // part of a URI, and a later keyword wins in a key/value string.
    let app_url = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let separator = if url.contains('?') { '&' } else { '?' };
        format!("{url}{separator}user={APP_ROLE}")
    } else {
        format!("{url} user={APP_ROLE}")
    };
    Database::builder(&app_url)
        .schema("teams_example")
        .run_migrations(false)
        .max_size(2)
        .build()
}

/// An enum value as the database spells it.
fn lower(value: impl std::fmt::Debug) -> String {
    format!("{value:?}").to_lowercase()
}
