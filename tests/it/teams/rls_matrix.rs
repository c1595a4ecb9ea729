//! The Row-Level Security policy matrix: every RLS-protected table, every
//! operation (SELECT, INSERT, DELETE, and UPDATE of each column that
//! decides access), every relation of the acting user to the row, as
//! hand-written SQL on a real application role (LOGIN, not owner, not
//! superuser, no BYPASSRLS). Each case runs in its own transaction, rolled
//! back, and the set of relations it was allowed for must be exactly the
//! expected one. Adding a table or a policy means adding rows here: the
//! first test fails until the table is listed.
//!
//! Policies only: the commit-time rule "a team keeps an owner" never runs
//! here (every case rolls back); `hardening.rs` tests it.

use diesel::prelude::*;
use diesel::sql_types::{Text, Uuid as SqlUuid};
use saas_db::enums::TeamRole;
use saas_db::ids::UserId;
use saas_db::{Database, Error, Repos};
use saas_db_testing::TestDatabase;
use uuid::Uuid;

use super::{actor, site_admin};

/// The acting user's relation to team A, by letter.
const RELATIONS: [(char, &str); 7] = [
    ('O', "owner of A"),
    ('A', "admin of A"),
    ('M', "member of A"),
    ('I', "invited to A, not a member"),
    ('X', "outsider"),
    ('N', "no user set"),
    ('S', "site admin"),
];

/// Every statement can use `p`: a = team A, b = team B (owned by someone
/// else), member / owner = A's member and owner, me = the acting user (a
/// random id when none is set), outsider, open_inv / revoked_inv = A's
/// invitations for the invitee, project = A's project.
const PARAMS: &str = "WITH p AS (SELECT $1::uuid AS a, $2::uuid AS b, $3::uuid AS member,
    $4::uuid AS owner, $5::uuid AS me, $6::uuid AS outsider, $7::uuid AS open_inv,
    $8::uuid AS revoked_inv, $9::uuid AS project) ";

/// (table, operation, SQL after PARAMS, relations allowed).
const CASES: &[(&str, &str, &str, &str)] = &[
    ("teams", "SELECT", "SELECT 1 FROM teams, p WHERE id = p.a", "OAMS"),
    ("teams", "INSERT", "INSERT INTO teams (name, slug) SELECT 'New', 'new-' || left(p.me::text, 8) FROM p", "OAMIXS"),
    ("teams", "UPDATE name", "UPDATE teams SET name = 'Renamed' FROM p WHERE id = p.a", "OAS"),
    ("teams", "DELETE", "DELETE FROM teams USING p WHERE id = p.a", "OS"),
    ("team_members", "SELECT", "SELECT 1 FROM team_members, p WHERE team_id = p.a", "OAMS"),
    ("team_members", "INSERT outsider as member", "INSERT INTO team_members (team_id, user_id, role) SELECT p.a, p.outsider, 'member' FROM p", "OAS"),
    ("team_members", "INSERT outsider as owner", "INSERT INTO team_members (team_id, user_id, role) SELECT p.a, p.outsider, 'owner' FROM p", "OS"),
    ("team_members", "INSERT self as owner", "INSERT INTO team_members (team_id, user_id, role) SELECT p.a, p.me, 'owner' FROM p", "OS"),
    ("team_members", "UPDATE role member->admin", "UPDATE team_members SET role = 'admin' FROM p WHERE team_id = p.a AND user_id = p.member", "OAS"),
    ("team_members", "UPDATE role member->owner", "UPDATE team_members SET role = 'owner' FROM p WHERE team_id = p.a AND user_id = p.member", "OS"),
    ("team_members", "UPDATE role owner->member", "UPDATE team_members SET role = 'member' FROM p WHERE team_id = p.a AND user_id = p.owner", "OS"),
    ("team_members", "UPDATE team_id A->B", "UPDATE team_members SET team_id = p.b FROM p WHERE team_id = p.a AND user_id = p.member", "S"),
    ("team_members", "UPDATE user_id member->outsider", "UPDATE team_members SET user_id = p.outsider FROM p WHERE team_id = p.a AND user_id = p.member", "OAS"),
    ("team_members", "DELETE member", "DELETE FROM team_members USING p WHERE team_id = p.a AND user_id = p.member", "OAMS"),
    ("team_members", "DELETE owner", "DELETE FROM team_members USING p WHERE team_id = p.a AND user_id = p.owner", "OS"),
    ("team_invitations", "SELECT", "SELECT 1 FROM team_invitations, p WHERE id = p.open_inv", "OAIS"),
    ("team_invitations", "INSERT", "INSERT INTO team_invitations (team_id, email, role, token_hash, expires_at) SELECT p.a, 'new@example.com', 'member', sha256(p.me::text::bytea), now() + interval '1 day' FROM p", "OAS"),
    ("team_invitations", "UPDATE team_id A->B", "UPDATE team_invitations SET team_id = p.b FROM p WHERE id = p.open_inv", "S"),
    ("team_invitations", "UPDATE role", "UPDATE team_invitations SET role = 'admin' FROM p WHERE id = p.open_inv", "OAS"),
    ("team_invitations", "UPDATE email", "UPDATE team_invitations SET email = 'other@example.com' FROM p WHERE id = p.open_inv", "OAS"),
    ("team_invitations", "UPDATE accepted_at", "UPDATE team_invitations SET accepted_at = now() FROM p WHERE id = p.open_inv", "OAS"),
    ("team_invitations", "UPDATE revoked_at (revive)", "UPDATE team_invitations SET revoked_at = NULL FROM p WHERE id = p.revoked_inv", "OAS"),
    ("team_invitations", "UPDATE revoked_at (revoke)", "UPDATE team_invitations SET revoked_at = now() FROM p WHERE id = p.open_inv", "OAS"),
    ("team_invitations", "UPDATE expires_at", "UPDATE team_invitations SET expires_at = now() + interval '1 year' FROM p WHERE id = p.open_inv", "OAS"),
    ("team_invitations", "DELETE", "DELETE FROM team_invitations USING p WHERE id = p.open_inv", ""),
    ("projects", "SELECT", "SELECT 1 FROM projects, p WHERE id = p.project", "OAMS"),
    ("projects", "INSERT", "INSERT INTO projects (team_id, name) SELECT p.a, 'Another' FROM p", "OAS"),
    ("projects", "UPDATE name", "UPDATE projects SET name = 'Renamed' FROM p WHERE id = p.project", "OAS"),
    ("projects", "UPDATE team_id A->B", "UPDATE projects SET team_id = p.b FROM p WHERE id = p.project", "S"),
    ("projects", "DELETE", "DELETE FROM projects USING p WHERE id = p.project", "OAS"),
    // The outbox: anyone enqueues fresh rows; only a context with no user
    // (a worker) reads, claims or deletes; see tests/it/outbox/rls.rs.
    ("outbox_messages", "SELECT", "SELECT 1 FROM outbox_messages, p WHERE topic = 'mail'", "N"),
    ("outbox_messages", "INSERT", "INSERT INTO outbox_messages (topic, payload) SELECT 'mail', jsonb_build_object('by', p.me) FROM p", "OAMIXNS"),
    ("outbox_messages", "INSERT delivered", "INSERT INTO outbox_messages (topic, payload, delivered_at) SELECT 'mail', '{}', now() FROM p", ""),
    ("outbox_messages", "INSERT leased", "INSERT INTO outbox_messages (topic, payload, lease_token, leased_until) SELECT 'mail', '{}', p.me, now() FROM p", ""),
    ("outbox_messages", "UPDATE (claim)", "UPDATE outbox_messages SET attempts = attempts + 1, lease_token = gen_random_uuid(), leased_until = now() + interval '1 minute' FROM p WHERE topic = 'mail'", "N"),
    ("outbox_messages", "DELETE", "DELETE FROM outbox_messages USING p WHERE topic = 'mail'", "N"),
    // The change feed's log: read by the team's members and the row's user;
    // written only by the capture trigger (no grant, no policy).
    ("changes", "SELECT team A's", "SELECT 1 FROM changes, p WHERE team_id = p.a", "OAMS"),
    ("changes", "SELECT team B's", "SELECT 1 FROM changes, p WHERE team_id = p.b", "S"),
    ("changes", "SELECT own user row's", "SELECT 1 FROM changes, p WHERE table_name = 'users' AND user_id = p.me", "OAMIXS"),
    ("changes", "SELECT the owner's user row's", "SELECT 1 FROM changes, p WHERE table_name = 'users' AND user_id = p.owner", "OS"),
    ("changes", "INSERT", "INSERT INTO changes (table_name, row_id, op, team_id) SELECT 'projects', p.project, 'delete', p.a FROM p", ""),
    ("changes", "UPDATE", "UPDATE changes SET op = 'delete' FROM p WHERE team_id = p.a", ""),
    ("changes", "DELETE", "DELETE FROM changes USING p WHERE team_id = p.a", ""),
];

struct Fixture {
    ids: [Uuid; 9],
    actors: Vec<(char, Option<UserId>)>,
}

fn fixture(conn: &mut PgConnection) -> Fixture {
    let owner = actor(conn, "owner@example.com");
    let admin = actor(conn, "admin@example.com");
    let member = actor(conn, "member@example.com");
    let invitee = actor(conn, "invitee@example.com");
    let outsider = actor(conn, "outsider@example.com");
    let root = site_admin(conn, "root@example.com");
    let other = actor(conn, "other@example.com");
    let a = conn.teams().create(&owner, "A").unwrap().id;
    let b = conn.teams().create(&other, "B").unwrap().id;
    for (who, role) in [(&admin, TeamRole::Admin), (&member, TeamRole::Member)] {
        conn.teams()
            .add_member(&owner, a, who.user_id, role)
            .unwrap();
    }
    let day = std::time::Duration::from_secs(86_400);
    let mut invite = || {
        let teams = &mut conn.teams();
        teams
            .invite(&owner, a, "invitee@example.com", TeamRole::Member, day)
            .unwrap()
            .0
            .id
    };
    let (open_inv, revoked_inv) = (invite(), invite());
    conn.teams().revoke(&owner, revoked_inv).unwrap();
    let project = conn.projects().create(&owner, a, "Plan").unwrap().id;
    let mail = serde_json::json!({ "email": "member@example.com" });
    conn.outbox().enqueue("mail", &mail, None).unwrap();
    Fixture {
        ids: [
            a.into(),
            b.into(),
            member.user_id.into(),
            owner.user_id.into(),
            Uuid::nil(),
            outsider.user_id.into(),
            open_inv.into(),
            revoked_inv.into(),
            project.into(),
        ],
        actors: vec![
            ('O', Some(owner.user_id)),
            ('A', Some(admin.user_id)),
            ('M', Some(member.user_id)),
            ('I', Some(invitee.user_id)),
            ('X', Some(outsider.user_id)),
            ('N', None),
            ('S', Some(root.user_id)),
        ],
    }
}

/// Whether the policies let `sql` through for the acting user: rows
/// touched (or seen), or a unique-key conflict after the policy check
/// passed. Rows filtered out or a policy refusal is "no"; any other error
/// fails the test.
fn allowed(app: &Database, f: &Fixture, me: Option<UserId>, sql: &str) -> bool {
    let mut conn = app.conn().unwrap();
    let mut outcome = None;
    let _rolled_back = conn.transaction::<(), Error, _>(|tx| {
        if let Some(user) = me {
            saas_db::tenancy::set_user(tx, user)?;
        }
        let mut ids = f.ids;
        ids[4] = me.map_or_else(Uuid::now_v7, Uuid::from);
        let query = ids.iter().fold(
            diesel::sql_query(format!("{PARAMS}{sql}")).into_boxed(),
            |q, id| q.bind::<SqlUuid, _>(*id),
        );
        outcome = Some(query.execute(tx).map_err(Error::from));
        Err(Error::NotFound { entity: "rollback" })
    });
    match outcome.unwrap() {
        Ok(rows) => rows > 0,
        Err(Error::Conflict { .. }) => true,
        Err(Error::Forbidden { .. }) => false,
        Err(other) => panic!("{sql} as {me:?}: {other:?}"),
    }
}

#[derive(QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

#[test]
fn every_rls_table_is_in_the_matrix() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let protected: Vec<String> = diesel::sql_query(
        "SELECT relname AS name FROM pg_class
          WHERE relrowsecurity AND relnamespace = 'public'::regnamespace ORDER BY relname",
    )
    .load::<Name>(&mut conn)
    .unwrap()
    .into_iter()
    .map(|n| n.name)
    .collect();
    let mut listed: Vec<&str> = CASES.iter().map(|c| c.0).collect();
    listed.sort();
    listed.dedup();
    assert_eq!(protected, listed);
}

#[test]
fn the_policies_allow_exactly_the_expected_relations() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let f = fixture(&mut conn);
    drop(conn);
    let app = crate::support::app_database(&db);
    let mut wrong = Vec::new();
    for (table, operation, sql, expected) in CASES {
        let got: String = f
            .actors
            .iter()
            .filter(|(_, me)| allowed(&app, &f, *me, sql))
            .map(|(letter, _)| *letter)
            .collect();
        if got != *expected {
            wrong.push(format!(
                "{table} {operation}: allowed {got:?}, expected {expected:?}"
            ));
        }
    }
    let legend: Vec<String> = RELATIONS
        .iter()
        .map(|(c, d)| format!("{c} = {d}"))
        .collect();
    assert!(
        wrong.is_empty(),
        "{}\n({})",
        wrong.join("\n"),
        legend.join(", ")
    );
}
