//! The server refusing connections while a feed's connection is gone: the
//! poll says so, and the feed goes on from its cursor once it can connect.

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::Integer;
use saas_db::live::{CapturedTable, Change};
use saas_db::Error;
use saas_db_testing::TestDatabase;
use uuid::Uuid;

use super::{collect, project, team};

fn allow_connections(admin: &mut PgConnection, name: &str, allow: bool) {
    #[derive(QueryableByName)]
    struct Sql {
        #[diesel(sql_type = diesel::sql_types::Text)]
        sql: String,
    }
    // ALTER DATABASE takes no parameters: the server quotes the name.
    let sql = diesel::sql_query(
        "SELECT format('ALTER DATABASE %I WITH ALLOW_CONNECTIONS %s', $1, $2::text) AS sql",
    )
    .bind::<diesel::sql_types::Text, _>(name)
    .bind::<diesel::sql_types::Bool, _>(allow)
    .get_result::<Sql>(admin)
    .unwrap()
    .sql;
    admin.batch_execute(&sql).unwrap();
}

/// The feed's backend is killed while the database refuses new
/// connections: `poll` returns `Error::Connection` (again on a second
/// call), its cursor stays put, and writes committed meanwhile (on a
/// connection opened before) are delivered once, in order, when
/// connections are allowed again. Control: a fresh connection is refused
/// during the outage, so the feed could not have reconnected early.
#[test]
fn polls_during_an_outage_fail_typed_and_lose_nothing() {
    let db = TestDatabase::new();
    let mut conn = PgConnection::establish(db.url()).unwrap();
    let (_, team_id) = team(&mut conn, "outage@example.com");
    let mut feed = super::projects_feed(&db).team(team_id);
    let mut written: Vec<Uuid> = vec![project(&mut conn, team_id, "before")];
    let mut got: Vec<Change> = collect(&mut feed, 1, Duration::from_secs(5));

    let mut admin = PgConnection::establish(&TestDatabase::admin_url().unwrap()).unwrap();
    allow_connections(&mut admin, db.name(), false);
    let pid = feed.backend_pid().unwrap();
    diesel::sql_query("SELECT pg_terminate_backend($1, 5000)")
        .bind::<Integer, _>(pid)
        .execute(&mut admin)
        .unwrap();
    written.extend((0..3).map(|i| project(&mut conn, team_id, &format!("during {i}"))));
    let cursor = feed.cursor();
    for _ in 0..2 {
        let err = feed.poll(Duration::from_millis(50)).unwrap_err();
        assert!(matches!(err, Error::Connection(_)), "{err:?}");
        assert_eq!(feed.cursor(), cursor);
    }
    assert!(
        PgConnection::establish(db.url()).is_err(),
        "control: connections are refused"
    );

    allow_connections(&mut admin, db.name(), true);
    written.push(project(&mut conn, team_id, "after"));
    got.extend(collect(&mut feed, 4, Duration::from_secs(5)));
    assert_eq!(feed.poll(Duration::from_millis(50)).unwrap(), vec![]);
    assert_eq!(got.iter().map(|c| c.row_id).collect::<Vec<_>>(), written);
    assert!(got.iter().all(|c| c.table == CapturedTable::Projects));
}
