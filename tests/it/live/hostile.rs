//! A hostile review of the feed (issue 15): forged changes through the
//! capture function, writes that move a change's row id, tables filters a
//! caller computed as empty, cursors from the future, a restarted server.

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::sql_types::Uuid as SqlUuid;
use saas_db::live::{CapturedTable, ChangeCursor, ChangeOp};
use saas_db::testing::TestDatabase;
use saas_db::Error;
use uuid::Uuid;

use super::{collect, count, project, team, Id};

/// How many changes name `row_id`.
fn changes_of(conn: &mut PgConnection, row_id: Uuid) -> i64 {
    diesel::sql_query("SELECT count(*) AS n FROM changes WHERE row_id = $1")
        .bind::<SqlUuid, _>(row_id)
        .get_result::<super::Count>(conn)
        .unwrap()
        .n
}

/// The application role owns temporary tables: one named `projects`, with
/// a trigger that runs the owner's SECURITY DEFINER `changes_capture()`,
/// would let it write a change for ANY team (here B's, with a row id it
/// chose, announced as a delete). It used to work: `changes_capture()` had
/// PUBLIC's default EXECUTE, which is all CREATE TRIGGER checks. Control:
/// the same role may create the temporary table, and its writes to the
/// real tables are still captured.
#[test]
fn app_role_cannot_attach_the_capture_function_to_its_own_table() {
    let db = TestDatabase::new();
    let mut owner = db.conn().unwrap();
    let (alice, a) = team(&mut owner, "fa@example.com");
    let (_, b) = team(&mut owner, "fb@example.com");
    let mut app = PgConnection::establish(&db.app_url().unwrap()).unwrap();
    app.batch_execute("CREATE TEMP TABLE projects (id uuid, team_id uuid)")
        .expect("control: the app role may create a temporary table");
    let forged = Uuid::from_u128(0xf0_0d);
    let attack = app
        .batch_execute(
            "CREATE TRIGGER forge AFTER INSERT ON pg_temp.projects
             FOR EACH ROW EXECUTE FUNCTION changes_capture()",
        )
        .and_then(|()| {
            diesel::sql_query("INSERT INTO pg_temp.projects VALUES ($1, $2)")
                .bind::<SqlUuid, _>(forged)
                .bind::<SqlUuid, _>(b)
                .execute(&mut app)
        });
    assert_eq!(changes_of(&mut owner, forged), 0, "a forged change: {attack:?}");
    let err = attack.map(|_| ()).map_err(Error::from).unwrap_err();
    assert!(matches!(err, Error::Forbidden { .. }), "{err:?}");

    // Control: the app role's own writes are still captured.
    let app_db = crate::support::app_database(&db);
    let p = app_db
        .as_user(alice.user_id, |tx| {
            Ok(saas_db::Repos::projects(tx)
                .create(&alice, a, "real")?
                .id)
        })
        .unwrap();
    assert_eq!(changes_of(&mut owner, p), 1);
}
