//! `conn.users().transfer_data(..)` (the seed's transferUserData): moves a
//! user's payments and profile to another user atomically. It writes across
//! domains (users, billing), so it lives on the repository of the users it
//! moves data between, in a file of its own.

use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::UserRepo;
use crate::error::{Error, Result};
use crate::ids::UserId;
use crate::schema::{payments, user_profiles, users};
use crate::tx::run_transaction;

/// What to move in [`UserRepo::transfer_data`]. The default moves
/// the payments and leaves the profile: `TransferOptions { profile: true,
/// ..Default::default() }` moves both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct TransferOptions {
    /// Move every payment (default `true`).
    pub payments: bool,
    /// Move the profile, replacing the target's (default `false`).
    pub profile: bool,
}

impl Default for TransferOptions {
    fn default() -> Self {
        TransferOptions {
            payments: true,
            profile: false,
        }
    }
}

/// What was moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferReport {
    /// Payments moved.
    pub payments_moved: usize,
    /// Whether a profile was moved.
    pub profile_moved: bool,
}

impl UserRepo<'_> {
    /// Moves payments (by default) and, if asked, the profile from one user
    /// to another in one transaction (a savepoint inside an open one). Both
    /// users are locked first, in id order so two opposite transfers cannot
    /// deadlock, and both get their version bumped, as does every moved
    /// payment. If either user is missing (or
    /// soft-deleted), nothing changes.
    ///
    /// # Errors
    /// [`Error::NotFound`] naming the missing side; [`Error::Invalid`] when
    /// both ids are the same.
    pub fn transfer_data(
        &mut self,
        from: UserId,
        to: UserId,
        what: TransferOptions,
    ) -> Result<TransferReport> {
        if from == to {
            return Err(Error::invalid("to", "must differ from the source user"));
        }
        run_transaction(self.conn, |tx| {
            let mut ids = [from, to];
            ids.sort();
            let locked: Vec<UserId> = users::table
                .filter(users::id.eq_any(ids))
                .filter(users::deleted_at.is_null())
                .order(users::id)
                .select(users::id)
                .for_update()
                .load(tx)?;
            if !locked.contains(&from) {
                return Err(Error::NotFound {
                    entity: "source user",
                });
            }
            if !locked.contains(&to) {
                return Err(Error::NotFound {
                    entity: "target user",
                });
            }
            let payments_moved = if what.payments {
                diesel::update(payments::table.filter(payments::user_id.eq(from)))
                    .set(payments::user_id.eq(to))
                    .execute(tx)?
            } else {
                0
            };
            let mut profile_moved = false;
            if what.profile {
                let has_profile =
                    diesel::select(diesel::dsl::exists(user_profiles::table.find(from)))
                        .get_result(tx)?;
                if has_profile {
                    diesel::delete(user_profiles::table.find(to)).execute(tx)?;
                    diesel::update(user_profiles::table.find(from))
                        .set(user_profiles::user_id.eq(to))
                        .execute(tx)?;
                    profile_moved = true;
                }
            }
            diesel::update(users::table.filter(users::id.eq_any(ids)))
                // A touch: the bump_version trigger moves both versions.
                .set(users::updated_at.eq(diesel::dsl::now))
                .execute(tx)?;
            Ok(TransferReport {
                payments_moved,
                profile_moved,
            })
        })
    }
}
