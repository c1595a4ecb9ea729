//! Row-Level Security under a real application role (LOGIN, not owner, not
//! superuser, no BYPASSRLS): a member of team A cannot read team B's rows
//! even with hand-written SQL; with no user set, nothing; the setting never
//! outlives its transaction on a pooled connection; the repositories work
//! through the policies. The owner's connection is the control: it sees
//! every tenant's rows, which is what RLS keeps from the application role.

use diesel::prelude::*;
use diesel::sql_types::{Nullable, Text, Uuid as SqlUuid};
use saas_db::access::Actor;
use saas_db::enums::TeamRole;
use saas_db::ids::TeamId;
use saas_db::{Database, Error, Repos};
use saas_db_testing::TestDatabase;

use super::{actor, count, site_admin};

struct World {
    db: TestDatabase,
    app: Database,
    ann: Actor,
    bob: Actor,
    root: Actor,
    team_a: TeamId,
    team_b: TeamId,
}

/// Ann's team A and Bob's team B, each with a project and an invitation,
/// made through the owner's connection; `app` connects as the app role.
fn world() -> World {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    let ann = actor(&mut conn, "ann@example.com");
    let bob = actor(&mut conn, "bob@example.com");
    let root = site_admin(&mut conn, "root@example.com");
    let team_a = conn.teams().create(&ann, "A").unwrap().id;
    let team_b = conn.teams().create(&bob, "B").unwrap().id;
    for (who, team) in [(&ann, team_a), (&bob, team_b)] {
        conn.projects().create(who, team, "Secret plan").unwrap();
        conn.teams()
            .invite(
                who,
                team,
                "guest@example.com",
                TeamRole::Member,
                std::time::Duration::from_secs(60),
            )
            .unwrap();
    }
    drop(conn);
    let app = crate::support::app_database(&db);
    World {
        db,
        app,
        ann,
        bob,
        root,
        team_a,
        team_b,
    }
}

const TENANT_TABLES: [&str; 4] = ["teams", "team_members", "team_invitations", "projects"];

/// Rows of each tenant table the connection can see, by hand-written SQL.
fn visible(conn: &mut PgConnection) -> Vec<i64> {
    [
        "SELECT count(*) AS n FROM teams",
        "SELECT count(*) AS n FROM team_members",
        "SELECT count(*) AS n FROM team_invitations",
        "SELECT count(*) AS n FROM projects",
    ]
    .into_iter()
    .map(|sql| count(conn, sql))
    .collect()
}

fn rows_of_team(conn: &mut PgConnection, team: TeamId) -> i64 {
    diesel::sql_query(
        "SELECT (SELECT count(*) FROM teams WHERE id = $1)
              + (SELECT count(*) FROM team_members WHERE team_id = $1)
              + (SELECT count(*) FROM team_invitations WHERE team_id = $1)
              + (SELECT count(*) FROM projects WHERE team_id = $1) AS n",
    )
    .bind::<SqlUuid, _>(team)
    .get_result::<super::Count>(conn)
    .unwrap()
    .n
}

#[test]
fn a_member_sees_only_their_team_even_with_hand_written_sql() {
    let w = world();
    w.app
        .as_user(w.ann.user_id, |tx| {
            assert_eq!(visible(tx), vec![1, 1, 1, 1], "{TENANT_TABLES:?}");
            assert_eq!(rows_of_team(tx, w.team_b), 0, "nothing of team B");
            assert!(rows_of_team(tx, w.team_a) > 0);
            Ok(())
        })
        .unwrap();
    // The control: the owner's connection bypasses RLS and sees both teams,
    // even with the same setting. Only the policies keep B away from Ann.
    let mut owner = w.db.conn().unwrap();
    owner
        .transaction::<_, Error, _>(|tx| {
            saas_db::tenancy::set_user(tx, w.ann.user_id)?;
            assert_eq!(visible(tx), vec![2, 2, 2, 2]);
            assert!(rows_of_team(tx, w.team_b) > 0);
            Ok(())
        })
        .unwrap();
}

#[test]
fn with_no_user_set_nothing_is_visible() {
    let w = world();
    let mut conn = w.app.conn().unwrap();
    assert_eq!(visible(&mut conn), vec![0, 0, 0, 0]);
    drop(conn);
    // A user who belongs to no team sees nothing either.
    let stranger = actor(&mut w.db.conn().unwrap(), "stranger@example.com");
    w.app
        .as_user(stranger.user_id, |tx| {
            assert_eq!(visible(tx), vec![0, 0, 0, 0]);
            Ok(())
        })
        .unwrap();
    // A site admin sees every tenant.
    w.app
        .as_user(w.root.user_id, |tx| {
            assert_eq!(visible(tx), vec![2, 2, 2, 2]);
            Ok(())
        })
        .unwrap();
}

#[test]
fn the_setting_never_leaks_into_the_next_use_of_a_pooled_connection() {
    let w = world();
    let setting = |conn: &mut PgConnection| -> Option<String> {
        #[derive(QueryableByName)]
        struct Setting {
            #[diesel(sql_type = Nullable<Text>)]
            value: Option<String>,
        }
        diesel::sql_query("SELECT nullif(current_setting('app.user_id', true), '') AS value")
            .get_result::<Setting>(conn)
            .unwrap()
            .value
    };
    // The pool has one connection, so each use below gets the same one.
    let pid = |conn: &mut PgConnection| count(conn, "SELECT pg_backend_pid()::bigint AS n");
    let first_pid = pid(&mut w.app.conn().unwrap());
    w.app
        .as_user(w.ann.user_id, |tx| {
            assert_eq!(setting(tx), Some(w.ann.user_id.to_string()));
            Ok(())
        })
        .unwrap();
    let mut conn = w.app.conn().unwrap();
    assert_eq!(pid(&mut conn), first_pid, "same pooled connection");
    assert_eq!(setting(&mut conn), None);
    assert_eq!(visible(&mut conn), vec![0, 0, 0, 0]);
    drop(conn);
    // Also after a transaction that failed.
    let failed: saas_db::Result<()> = w
        .app
        .as_user(w.bob.user_id, |_| Err(Error::invalid("test", "roll back")));
    assert!(failed.is_err());
    let mut conn = w.app.conn().unwrap();
    assert_eq!(setting(&mut conn), None);
    assert_eq!(visible(&mut conn), vec![0, 0, 0, 0]);
}

#[test]
fn cross_tenant_writes_are_refused() {
    let w = world();
    w.app
        .as_user(w.ann.user_id, |tx| {
            // Insert into B: the policy's WITH CHECK refuses it.
            let insert =
                diesel::sql_query("INSERT INTO projects (team_id, name) VALUES ($1, 'mine now')")
                    .bind::<SqlUuid, _>(w.team_b)
                    .execute(tx)
                    .map_err(Error::from);
            assert!(matches!(insert, Err(Error::Forbidden { .. })), "{insert:?}");
            Ok(())
        })
        .unwrap();
    w.app
        .as_user(w.ann.user_id, |tx| {
            // Update or delete B's rows: they are not there for Ann.
            let changed =
                diesel::sql_query("UPDATE projects SET name = 'pwned' WHERE team_id = $1")
                    .bind::<SqlUuid, _>(w.team_b)
                    .execute(tx)?;
            let deleted = diesel::sql_query("DELETE FROM team_members WHERE team_id = $1")
                .bind::<SqlUuid, _>(w.team_b)
                .execute(tx)?;
            assert_eq!((changed, deleted), (0, 0));
            // Nor can she make herself a member of B.
            let join = diesel::sql_query(
                "INSERT INTO team_members (team_id, user_id, role) VALUES ($1, $2, 'owner')",
            )
            .bind::<SqlUuid, _>(w.team_b)
            .bind::<SqlUuid, _>(w.ann.user_id)
            .execute(tx)
            .map_err(Error::from);
            assert!(matches!(join, Err(Error::Forbidden { .. })), "{join:?}");
            Ok(())
        })
        .unwrap();
    let mut owner = w.db.conn().unwrap();
    assert_eq!(
        count(
            &mut owner,
            "SELECT count(*) AS n FROM projects WHERE name = 'pwned'"
        ),
        0
    );
    assert_eq!(rows_of_team(&mut owner, w.team_b), 4);
    // The audit log is append-only for the app role (no UPDATE grant).
    let mut app = w.app.conn().unwrap();
    let rewrite = diesel::sql_query("UPDATE audit_logs SET action = 'nothing'")
        .execute(&mut app)
        .map_err(Error::from);
    assert!(
        matches!(rewrite, Err(Error::Forbidden { .. })),
        "{rewrite:?}"
    );
}

#[test]
fn the_repositories_work_through_the_policies() {
    let w = world();
    let carol = actor(&mut w.db.conn().unwrap(), "guest@example.com");
    // Ann creates a team, adds Bob, invites Carol, all as the app role.
    let (team, token) = w
        .app
        .as_user(w.ann.user_id, |tx| {
            let team = tx.teams().create(&w.ann, "Joint venture")?;
            tx.teams()
                .add_member(&w.ann, team.id, w.bob.user_id, TeamRole::Member)?;
            tx.projects().create(&w.ann, team.id, "Launch")?;
            let (_, token) = tx.teams().invite(
                &w.ann,
                team.id,
                "guest@example.com",
                TeamRole::Admin,
                std::time::Duration::from_secs(600),
            )?;
            Ok((team, token))
        })
        .unwrap();
    // Carol can see the invitation addressed to her, and accept it.
    w.app
        .as_user(carol.user_id, |tx| {
            assert_eq!(
                count(tx, "SELECT count(*) AS n FROM team_invitations"),
                3,
                "all three are hers"
            );
            assert_eq!(count(tx, "SELECT count(*) AS n FROM teams"), 0);
            let joined = tx.teams().accept(&carol, token.as_str())?;
            assert_eq!(joined.role, TeamRole::Admin);
            assert_eq!(tx.teams().members(&carol, team.id)?.len(), 3);
            assert_eq!(tx.projects().list(&carol, team.id)?.len(), 1);
            Ok(())
        })
        .unwrap();
    // Bob sees the joint team and his own, not Ann's team A.
    w.app
        .as_user(w.bob.user_id, |tx| {
            let mut names: Vec<String> = tx
                .teams()
                .teams_of(&w.bob, w.bob.user_id)?
                .into_iter()
                .map(|(t, _)| t.name)
                .collect();
            names.sort();
            assert_eq!(names, ["B", "Joint venture"]);
            assert!(matches!(
                tx.teams().get(&w.bob, w.team_a),
                Err(Error::Forbidden { .. })
            ));
            // Bob may leave; the team keeps its owner.
            tx.teams().leave(&w.bob, team.id)?;
            Ok(())
        })
        .unwrap();
    let _ = w.team_b;
}

#[test]
fn the_app_role_gets_the_data_layer_and_no_more() {
    let w = world();
    let mut owner = w.db.conn().unwrap();
    let mut app = w.app.conn().unwrap();
    #[derive(QueryableByName)]
    struct Name {
        #[diesel(sql_type = Text)]
        name: String,
    }
    let role = diesel::sql_query("SELECT current_user::text AS name")
        .get_result::<Name>(&mut app)
        .unwrap()
        .name;
    // A table of the host's own is none of our business.
    diesel::sql_query("CREATE TABLE host_private (secret text)")
        .execute(&mut owner)
        .unwrap();
    // Every table of the schema but the audit log, its partitions, the
    // migrations table and the host's table must be fully granted: a new
    // table without a grant fails here.
    let missing: Vec<String> = diesel::sql_query(
        "SELECT c.relname AS name FROM pg_class c
           JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')
            AND NOT c.relispartition
            AND c.relname NOT IN ('audit_logs', '__diesel_schema_migrations', 'host_private')
            AND NOT has_table_privilege($1, c.oid, 'SELECT, INSERT, UPDATE, DELETE')",
    )
    .bind::<Text, _>(&role)
    .load::<Name>(&mut owner)
    .unwrap()
    .into_iter()
    .map(|t| t.name)
    .collect();
    assert!(
        missing.is_empty(),
        "not granted to the app role: {missing:?}"
    );
    let refused = [
        "SELECT count(*) FROM host_private",
        "DELETE FROM __diesel_schema_migrations",
        "UPDATE audit_logs SET action = 'x'",
        "DELETE FROM audit_logs",
        "TRUNCATE audit_logs",
        "DELETE FROM audit_logs_default",
    ];
    for sql in refused {
        let result = diesel::sql_query(sql)
            .execute(&mut app)
            .map_err(Error::from);
        match result {
            Err(Error::Forbidden { reason }) => {
                assert!(reason.starts_with("permission denied"), "{sql}: {reason}")
            }
            other => panic!("{sql}: {other:?}"),
        }
    }
    assert!(
        count(
            &mut app,
            "SELECT count(*) AS n FROM __diesel_schema_migrations"
        ) > 0
    );
    assert_eq!(count(&mut app, "SELECT count(*) AS n FROM users"), 3);
}
