//! Every CHECK constraint and `updated_at` trigger of the team tables, hit
//! with hand-written SQL on the owner's connection (no repository, no
//! access rule, no RLS in front): each statement must be refused with
//! `Error::Invalid` naming the constraint. The first test fails when a
//! CHECK is added to these tables without a case here.

use diesel::prelude::*;
use diesel::sql_types::{Text, Timestamptz, Uuid as SqlUuid};
use saas_db::enums::TeamRole;
use saas_db::ids::{InvitationId, TeamId};
use saas_db::{Error, Repos};
use saas_db_testing::TestDatabase;

use super::actor;

/// (constraint, statement); `$1` is a team, `$2` an open invitation of it.
const CASES: &[(&str, &str)] = &[
    ("teams_name_length", "UPDATE teams SET name = '' WHERE id = $1 AND $2 IS NOT NULL"),
    ("teams_name_length", "UPDATE teams SET name = repeat('x', 101) WHERE id = $1 AND $2 IS NOT NULL"),
    ("teams_slug_format", "UPDATE teams SET slug = 'Not A Slug' WHERE id = $1 AND $2 IS NOT NULL"),
    ("teams_slug_format", "UPDATE teams SET slug = 'trailing-' WHERE id = $1 AND $2 IS NOT NULL"),
    ("teams_slug_format", "UPDATE teams SET slug = repeat('a', 101) WHERE id = $1 AND $2 IS NOT NULL"),
    // An UPDATE can no longer break the version checks (bump_version writes
    // old + 1, migration 000021): a copy of the row is inserted at version 0.
    ("teams_version_positive", "INSERT INTO teams (name, slug, version) SELECT name, slug, 0 FROM teams WHERE id = $1 AND $2 IS NOT NULL"),
    ("projects_name_length", "INSERT INTO projects (team_id, name) SELECT $1, '' WHERE $2 IS NOT NULL"),
    ("projects_version_positive", "INSERT INTO projects (team_id, name, version) SELECT $1, 'p', 0 WHERE $2 IS NOT NULL"),
    ("team_invitations_token_hash_sha256", "UPDATE team_invitations SET token_hash = '\\x00'::bytea WHERE team_id = $1 AND id = $2"),
    ("team_invitations_email_format", "UPDATE team_invitations SET email = 'Carol@Example.com' WHERE team_id = $1 AND id = $2"),
    ("team_invitations_email_format", "UPDATE team_invitations SET email = 'no-at-sign' WHERE team_id = $1 AND id = $2"),
    ("team_invitations_role_not_owner", "UPDATE team_invitations SET role = 'owner' WHERE team_id = $1 AND id = $2"),
    ("team_invitations_role_not_owner", "INSERT INTO team_invitations (team_id, email, role, token_hash, expires_at) SELECT $1, 'x@example.com', 'owner', sha256($2::text::bytea), now() + interval '1 day'"),
    ("team_invitations_settled_once", "UPDATE team_invitations SET accepted_at = now(), revoked_at = now() WHERE team_id = $1 AND id = $2"),
];

struct Fixture {
    db: TestDatabase,
    team: TeamId,
    invitation: InvitationId,
}

fn fixture() -> Fixture {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let ann = actor(&mut conn, "ann@example.com");
    let team = conn.teams().create(&ann, "Acme").unwrap().id;
    conn.projects().create(&ann, team, "Plan").unwrap();
    let week = std::time::Duration::from_secs(7 * 86_400);
    let (invitation, _) = conn
        .teams()
        .invite(&ann, team, "carol@example.com", TeamRole::Member, week)
        .unwrap();
    drop(conn);
    Fixture {
        db,
        team,
        invitation: invitation.id,
    }
}

/// Runs `sql` in a transaction that is rolled back; the statement's result.
fn attempt(f: &Fixture, sql: &str) -> saas_db::Result<usize> {
    let mut conn = f.db.conn().unwrap();
    let mut outcome = None;
    let _rolled_back = conn.transaction::<(), Error, _>(|tx| {
        let result = diesel::sql_query(sql)
            .bind::<SqlUuid, _>(f.team)
            .bind::<SqlUuid, _>(f.invitation)
            .execute(tx);
        outcome = Some(result.map_err(Error::from));
        Err(Error::NotFound { entity: "rollback" })
    });
    outcome.unwrap()
}

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

#[test]
fn every_check_of_the_team_tables_has_a_case() {
    let f = fixture();
    let mut conn = f.db.conn().unwrap();
    let mut checks: Vec<String> = diesel::sql_query(
        "SELECT conname AS name FROM pg_constraint
          WHERE contype = 'c'
            AND conrelid::regclass::text IN ('teams', 'team_members', 'team_invitations', 'projects')",
    )
    .load::<Name>(&mut conn)
    .unwrap()
    .into_iter()
    .map(|n| n.name)
    .collect();
    checks.sort();
    let mut listed: Vec<&str> = CASES.iter().map(|c| c.0).collect();
    listed.sort();
    listed.dedup();
    assert_eq!(checks, listed);
}

#[test]
fn hand_written_sql_breaking_a_check_is_refused_by_name() {
    let f = fixture();
    let mut wrong = Vec::new();
    for (constraint, sql) in CASES {
        match attempt(&f, sql) {
            Err(Error::Invalid { ref field, .. }) if field == constraint => {}
            other => wrong.push(format!("{constraint}: {sql}: {other:?}")),
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // The control: the same fixture takes valid hand-written changes, so
    // the refusals above are the constraints, not a broken statement.
    let ok = "UPDATE team_invitations SET revoked_at = now() WHERE team_id = $1 AND id = $2";
    assert!(matches!(attempt(&f, ok), Ok(1)));
}

#[derive(QueryableByName)]
struct Stamp {
    #[diesel(sql_type = Timestamptz)]
    updated_at: chrono::DateTime<chrono::Utc>,
}

/// `updated_at` is the trigger's, whatever hand-written SQL sets: an
/// UPDATE that writes an old `updated_at` still ends at `now()`.
#[test]
fn updated_at_triggers_overwrite_hand_written_values() {
    let f = fixture();
    let mut conn = f.db.conn().unwrap();
    let statements = [
        "UPDATE teams SET name = 'Renamed', updated_at = '2000-01-01' WHERE id = $1 RETURNING updated_at",
        "UPDATE team_members SET role = 'owner', updated_at = '2000-01-01' WHERE team_id = $1 RETURNING updated_at",
        "UPDATE projects SET name = 'Renamed', updated_at = '2000-01-01' WHERE team_id = $1 RETURNING updated_at",
    ];
    let cutoff = chrono::Utc::now() - chrono::Duration::days(1);
    for sql in statements {
        let stamp = diesel::sql_query(sql)
            .bind::<SqlUuid, _>(f.team)
            .get_result::<Stamp>(&mut conn)
            .unwrap();
        assert!(stamp.updated_at > cutoff, "{sql}: {}", stamp.updated_at);
    }
}
