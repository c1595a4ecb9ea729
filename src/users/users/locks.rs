//! Row locks on users, for read-decide-write sequences inside a transaction.

use diesel::prelude::*;

use super::{User, UserRepo};
use crate::error::{Found, Result};
use crate::ids::UserId;
use crate::schema::users;

impl UserRepo<'_> {
    /// Locks the user's row (`SELECT .. FOR UPDATE`) until the end of the
    /// current transaction, waiting for other holders, and returns it fresh.
    /// Outside a transaction the lock ends with the statement, so call it
    /// inside `db.transaction(..)`.
    ///
    /// # Errors
    /// [`Error::NotFound`](crate::Error::NotFound); [`Error::Timeout`](crate::Error::Timeout) past a lock or statement timeout.
    pub fn lock(&mut self, id: UserId) -> Result<User> {
        users::table
            .filter(users::id.eq(id))
            .filter(users::deleted_at.is_null())
            .select(User::as_select())
            .for_update()
            .first(self.conn)
            .found("user")
    }

    /// Like [`UserRepo::lock`] but without waiting (`NOWAIT`).
    ///
    /// # Errors
    /// [`Error::Locked`](crate::Error::Locked) when another transaction holds the row;
    /// [`Error::NotFound`](crate::Error::NotFound). A failed `NOWAIT` aborts the transaction.
    pub fn try_lock(&mut self, id: UserId) -> Result<User> {
        users::table
            .filter(users::id.eq(id))
            .filter(users::deleted_at.is_null())
            .select(User::as_select())
            .for_update()
            .no_wait()
            .first(self.conn)
            .found("user")
    }
}
