//! Tenant isolation in PostgreSQL: Row-Level Security on the team tables
//! and team-scoped data, keyed by the transaction-local setting
//! `app.user_id`.
//!
//! The model: the schema's owner runs the migrations; the application
//! connects as another role, one without BYPASSRLS and not a superuser,
//! granted access with [`grant_app_access`]. Work done for a signed-in user
//! runs in [`Database::as_user`], a transaction that starts with
//! `set_config('app.user_id', <id>, true)`: every statement in it, including
//! hand-written SQL, sees only the teams that user belongs to (site admins
//! see all). Without a user set, team rows are invisible. The setting is
//! transaction-local, so it ends at COMMIT or ROLLBACK and never reaches
//! the next borrower of a pooled connection.
//!
//! Limits: the owner and superusers bypass these policies (the tables are
//! not FORCEd, because the policies' helper functions run as the owner to
//! read memberships); so does a role with BYPASSRLS. RLS filters rows, not
//! columns, and covers the team tables and projects only. Any role can set
//! `app.user_id` itself, so RLS guards against query bugs, not against SQL
//! injection running with the app role's rights.
//!
//! Memberships are created only by a team's creator in the creating
//! transaction, by redeeming an invitation (`app_accept_invitation`, a
//! SECURITY DEFINER function: invitees hold no write policy), or by a team
//! manager; every UPDATE policy has a WITH CHECK; a deferred constraint
//! trigger keeps an owner in every team at every COMMIT.

use crate::ids::UserId;
use diesel::prelude::*;
use diesel::sql_types::Text;

use crate::error::Result;
use crate::validate;
use crate::Database;

impl Database {
    /// Runs `f` in a transaction acting as `user_id` for Row-Level Security
    /// (see the module docs). Committed when `f` returns `Ok`.
    ///
    /// # Errors
    /// What `f` returns; a pool error; [`crate::Error::CommitUnknown`] when
    /// the connection was lost during COMMIT (as [`Database::transaction`]).
    pub fn as_user<T, F>(&self, user_id: UserId, f: F) -> Result<T>
    where
        F: FnOnce(&mut PgConnection) -> Result<T>,
    {
        self.transaction(|tx| {
            set_user(tx, user_id)?;
            f(tx)
        })
    }
}

/// Sets `app.user_id` for the rest of the current transaction (for callers
/// managing their own; outside a transaction it would last one statement).
///
/// # Errors
/// Database errors only.
pub fn set_user(conn: &mut PgConnection, user_id: UserId) -> Result<()> {
    Ok(crate::sql::set_local(
        conn,
        "app.user_id",
        &user_id.to_string(),
    )?)
}

/// Grants `role` what the application needs: read and write on the data
/// layer's tables (not on other tables of the schema), SELECT and INSERT
/// only on the audit log (not on its partitions; INSERT of every column but
/// `created_at`, which the server assigns), SELECT on the migrations
/// table. Run it as the schema's owner after the migrations, once per
/// deployment (and again after an upgrade that adds tables).
///
/// # Errors
/// [`crate::Error::Invalid`] for a role name outside `[a-z_][a-z0-9_]*`;
/// database errors (an unknown role, insufficient privilege).
pub fn grant_app_access(conn: &mut PgConnection, role: &str) -> Result<()> {
    validate::identifier("role", role)?;
    diesel::sql_query("SELECT app_grant_access($1)")
        .bind::<Text, _>(role)
        .execute(conn)?;
    Ok(())
}
