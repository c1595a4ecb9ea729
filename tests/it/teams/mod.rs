//! Teams: members and the last-owner rule (with a race and its control),
//! invitations, and tenant isolation by Row-Level Security under a real
//! non-owner role.

mod audit_trail;
mod checks;
mod hardening;
mod invitations;
mod members;
mod projects;
mod rls;
mod rls_edges;
mod rls_matrix;
mod serializable;

use crate::support::{count, promote_to_admin};
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use saas_db::access::Actor;
use saas_db::users::NewUser;
use saas_db::Repos;

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// A new user acting for themself.
fn actor(conn: &mut PgConnection, email: &str) -> Actor {
    Actor::from(&conn.users().create(&NewUser::new(email, email)).unwrap())
}

/// A new site admin (no audit entry).
fn site_admin(conn: &mut PgConnection, email: &str) -> Actor {
    let user = conn.users().create(&NewUser::new(email, "Admin")).unwrap();
    // By hand-written SQL: a set_role call would write a role_changed entry
    // of its own into the counts below.
    Actor::from(&promote_to_admin(conn, user.id))
}

/// Entries the audit log holds for `action`.
fn audit_count(conn: &mut PgConnection, action: &str) -> i64 {
    diesel::sql_query("SELECT count(*) AS n FROM audit_logs WHERE action = $1")
        .bind::<diesel::sql_types::Text, _>(action)
        .get_result::<Count>(conn)
        .unwrap()
        .n
}
