//! Bulk writes on users: COPY import and chunked batch updates.

use diesel::dsl::now;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::model::UserChanges;
use super::{NewUser, UserRepo};
use crate::error::{Error, Result};
use crate::ids::UserId;
use crate::schema::users;
use crate::tx::run_transaction;

/// What [`UserRepo::batch_update`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchReport {
    /// Rows updated, in committed chunks.
    pub updated: usize,
    /// Ids that matched no visible user (in committed chunks).
    pub missing: Vec<UserId>,
    /// Chunks committed.
    pub chunks_committed: usize,
    /// The chunk that failed and why; later chunks were not attempted.
    pub failed: Option<BatchFailure>,
}

/// A chunk of a batch update that was rolled back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchFailure {
    /// Index of the chunk (0-based).
    pub chunk: usize,
    /// The error, as text.
    pub error: String,
}

impl UserRepo<'_> {
    /// Inserts many users with one `COPY`: no 65,535 bind-parameter limit
    /// whatever the batch size, and about twice the rows per second of a
    /// multi-row INSERT. All or nothing. Returns how many were inserted.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming the entry (`users[i].email`) before anything
    /// is sent; [`Error::Conflict`] when an email or username is taken (also
    /// twice within the batch), and then nothing is inserted.
    pub fn import(&mut self, new_users: &[NewUser<'_>]) -> Result<usize> {
        let mut identities: Vec<_> = new_users.iter().map(|_| None).collect();
        let rows = new_users
            .iter()
            .zip(identities.iter_mut())
            .enumerate()
            .map(|(i, (new, identity))| new.to_row(identity).map_err(|e| e.in_item("users", i)))
            .collect::<Result<Vec<_>>>()?;
        if rows.is_empty() {
            return Ok(0);
        }
        Ok(diesel::copy_from(users::table)
            .from_insertable(&rows)
            .execute(self.conn)?)
    }

    /// Applies many unconditional updates in chunks of `chunk_size`, one
    /// transaction per chunk (the seed's batchUpdateUsers), bumping each
    /// row's version. Every change is validated before the first chunk runs.
    /// A failing chunk is rolled back and reported; the chunks before it stay
    /// committed, the ones after it are not attempted. Inside an outer
    /// transaction the chunks become savepoints of it.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming the entry (`updates[i].name`) or a bad
    /// `chunk_size`, before anything is written.
    pub fn batch_update(
        &mut self,
        updates: &[(UserId, UserChanges<'_>)],
        chunk_size: usize,
    ) -> Result<BatchReport> {
        if chunk_size == 0 {
            return Err(Error::invalid("chunk_size", "must be at least 1"));
        }
        let mut usernames = vec![None; updates.len()];
        let updates = updates
            .iter()
            .zip(usernames.iter_mut())
            .enumerate()
            .map(|(i, ((id, changes), username))| {
                let checked = changes.checked(username);
                checked
                    .map(|c| (*id, c))
                    .map_err(|e| e.in_item("updates", i))
            })
            .collect::<Result<Vec<_>>>()?;
        let mut report = BatchReport {
            updated: 0,
            missing: Vec::new(),
            chunks_committed: 0,
            failed: None,
        };
        for (index, chunk) in updates.chunks(chunk_size).enumerate() {
            let outcome = run_transaction(self.conn, |tx| {
                let mut missing = Vec::new();
                for (id, changes) in chunk {
                    let n = diesel::update(
                        users::table
                            .filter(users::id.eq(id))
                            .filter(users::deleted_at.is_null()),
                    )
                    .set((changes, users::updated_at.eq(now)))
                    .execute(tx)?;
                    if n == 0 {
                        missing.push(*id);
                    }
                }
                Ok::<_, Error>(missing)
            });
            match outcome {
                Ok(missing) => {
                    report.updated += chunk.len() - missing.len();
                    report.missing.extend(missing);
                    report.chunks_committed += 1;
                }
                Err(e) => {
                    report.failed = Some(BatchFailure {
                        chunk: index,
                        error: e.to_string(),
                    });
                    break;
                }
            }
        }
        Ok(report)
    }
}
