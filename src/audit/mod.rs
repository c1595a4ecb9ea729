//! The append-only audit log: [`AuditRepo`], reached with `conn.audit()`.
//!
//! Entries are written in the caller's transaction, so an entry commits or
//! rolls back with the change it describes. Every entry a repository writes
//! about its own changes goes through one crate-internal function
//! (`audited`, or `audited_in` inside a repository's own transaction, in
//! `audited.rs`): it locks the row, applies the change and
//! records the fields that differ, so no repository builds audit JSON by hand.

mod audit_logs;
mod audited;
mod diff;

pub use audit_logs::{AuditEntry, AuditLog, AuditRepo};
pub(crate) use audited::{audited, audited_in};
pub use diff::{change, diff};
