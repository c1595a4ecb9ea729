//! Users and their profiles: [`UserRepo`], reached with `conn.users()`.
//!
//! One file (or folder) per table:
//!
//! - `users/`: [`User`], [`NewUser`], [`UserChanges`] and every [`UserRepo`]
//!   call on the table (`mod.rs`: lookups, edits, listings; `moderation.rs`:
//!   role and bans, done by an [`Actor`](crate::access::Actor) and audited;
//!   `bulk.rs`: COPY import and batch updates; `deletion.rs`: soft delete,
//!   restore, hard delete; `locks.rs`: row locks; `model.rs`: the structs;
//!   `public.rs`: [`PublicUser`], what a response may show of a user).
//! - `user_profiles.rs`: [`UserProfile`], [`ProfileChanges`] and the profile
//!   calls of [`UserRepo`].
//!
//! - `transfer.rs`: [`UserRepo::transfer_data`], moving a user's data to
//!   another user across domains.
//!
//! The account page that joins billing and content is a view:
//! [`crate::views::UserOverview`].

// src/<domain>/<table>: the users table of the users domain.
mod transfer;
mod user_profiles;
#[allow(clippy::module_inception)]
mod users;

pub use transfer::{TransferOptions, TransferReport};
pub use user_profiles::{ProfileChanges, UserProfile};
pub(crate) use users::{may_sign_in, stored_email, visible};
pub use users::{
    BatchFailure, BatchReport, NewUser, PublicUser, User, UserChanges, UserRepo, DEFAULT_LOCALE,
    DEFAULT_TIMEZONE, NAME_MAX,
};
