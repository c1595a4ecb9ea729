//! A host's own table joined to ours, written as a host writes it (this
//! test crate is outside `saas_db`, as a host is): `table!`, `joinable!`
//! and the two `TableNotEqual` impls that stand in for
//! `allow_tables_to_appear_in_same_query!(host_notes, users)`, which does
//! not compile across crates (E0117, diesel-rs/diesel#4858; the README's
//! "Joining your own table to ours" has it as a `compile_fail` doctest).

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use saas_db::schema::users;
use saas_db::users::NewUser;
use saas_db::{Repos, UserId};
use saas_db_testing::TestDatabase;

diesel::table! {
    host_notes (id) {
        id -> Int8,
        user_id -> Uuid,
        body -> Text,
    }
}

diesel::joinable!(host_notes -> users (user_id));

// The workaround: what the macro would generate, less the impls for
// PostgreSQL's `ONLY` wrapper that break the orphan rule.
impl diesel::query_source::TableNotEqual<host_notes::table> for users::table {}
impl diesel::query_source::TableNotEqual<users::table> for host_notes::table {}

/// Notes joined to their authors in one query, filtered on a column of
/// ours, with the typed id read back from the host's column.
#[test]
fn a_host_table_joins_ours() {
    let db = TestDatabase::new();
    let mut conn = db.conn().unwrap();
    conn.batch_execute(
        "CREATE TABLE host_notes (
             id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
             user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
             body text NOT NULL)",
    )
    .unwrap();
    let ann = conn
        .users()
        .create(&NewUser::new("ann@example.com", "Ann"))
        .unwrap();
    let bob = conn
        .users()
        .create(&NewUser::new("bob@example.com", "Bob"))
        .unwrap();
    diesel::insert_into(host_notes::table)
        .values(&vec![
            (host_notes::user_id.eq(ann.id), host_notes::body.eq("first")),
            (
                host_notes::user_id.eq(bob.id),
                host_notes::body.eq("second"),
            ),
        ])
        .execute(&mut conn)
        .unwrap();

    let rows: Vec<(String, String, UserId)> = host_notes::table
        .inner_join(users::table)
        .filter(users::email.eq("ann@example.com"))
        .select((host_notes::body, users::name, users::id))
        .load(&mut conn)
        .unwrap();
    assert_eq!(rows, [("first".to_owned(), "Ann".to_owned(), ann.id)]);

    let authors: Vec<String> = users::table
        .inner_join(host_notes::table)
        .order(host_notes::id)
        .select(users::name)
        .load(&mut conn)
        .unwrap();
    assert_eq!(authors, ["Ann", "Bob"]);
}
