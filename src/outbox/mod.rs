//! The transactional outbox: side effects (emails, webhooks) recorded in
//! the same transaction as the business write, delivered by workers.
//!
//! - [`OutboxRepo::enqueue`] (from `conn.outbox()`) inserts a message on the
//!   caller's connection, so inside a transaction the message exists if and
//!   only if the transaction commits. A `dedupe_key` makes re-enqueueing the
//!   same effect a no-op ([`Enqueued::Duplicate`]).
//! - [`Outbox`] (from [`Database::outbox`](crate::Database::outbox)) is a
//!   worker's handle on one topic: [`Outbox::claim`] takes up to `n` ready
//!   messages in one `UPDATE .. FROM (SELECT .. FOR UPDATE SKIP LOCKED)`
//!   statement, each under a fresh lease token; [`Outbox::ack`] and
//!   [`Outbox::fail`] are fenced by that token, so a worker whose lease ran
//!   out and whose message was claimed again gets
//!   [`Error::LeaseLost`](crate::Error::LeaseLost) instead of settling
//!   someone else's delivery. Failures retry with exponential, jittered
//!   backoff; after `max_attempts` the message is a dead letter
//!   ([`Outbox::dead_letters`], [`Outbox::requeue`]).
//! - Delivery is at least once: a worker that crashes after sending but
//!   before `ack` sends again after the lease. Senders that can, pass an
//!   idempotency key downstream (the message id is one).
//! - Messages never hold a secret in plaintext: the crate's own flows
//!   ([`auth_mail`]) enqueue ids and an address, and the sender issues the
//!   token at delivery time.

pub mod auth_mail;
mod outbox_messages;
mod statements;
mod worker;

pub use outbox_messages::{
    Claimed, Enqueued, Message, NewMessage, OutboxRepo, MAX_ATTEMPTS_DEFAULT,
};
pub use worker::{
    Failed, Outbox, OutboxStats, CLAIM_MAX, DELIVERED_RETENTION, LAST_ERROR_MAX, LEASE_MAX,
    LEASE_MIN,
};
