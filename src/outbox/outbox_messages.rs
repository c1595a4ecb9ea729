//! The `outbox_messages` table: its rows ([`Message`], [`Claimed`]) and
//! enqueueing: [`OutboxRepo`], from `conn.outbox()`.

use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::error::Result;
use crate::ids::OutboxMessageId;
use crate::schema::outbox_messages as om;
use crate::sql::{interval, now_tz};
use crate::validate;

/// Attempts a message gets unless [`NewMessage::max_attempts`] says otherwise.
pub const MAX_ATTEMPTS_DEFAULT: i32 = 8;

/// Longest topic name, in ASCII characters.
pub(crate) const TOPIC_MAX: usize = 100;
/// Longest dedupe key, in characters.
pub(crate) const DEDUPE_KEY_MAX: usize = 200;

/// A stored message, as [`Outbox::dead_letters`](super::Outbox::dead_letters)
/// lists it.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Serialize, Deserialize)]
#[diesel(table_name = om, check_for_backend(diesel::pg::Pg))]
pub struct Message {
    /// Id (UUIDv7).
    pub id: OutboxMessageId,
    /// Topic.
    pub topic: String,
    /// What the sender needs (ids, an address): never a secret.
    pub payload: Value,
    /// The key that makes re-enqueueing a no-op, if any.
    pub dedupe_key: Option<String>,
    /// Deliveries started (claims), counting ones whose lease ran out.
    pub attempts: i32,
    /// Attempts after which the message is dead-lettered.
    pub max_attempts: i32,
    /// Not claimable before this (a retry's backoff).
    pub available_at: DateTime<Utc>,
    /// The last failure's text (at most [`super::LAST_ERROR_MAX`] characters).
    pub last_error: Option<String>,
    /// When it was dead-lettered.
    pub dead_at: Option<DateTime<Utc>>,
    /// When it was acked.
    pub delivered_at: Option<DateTime<Utc>>,
    /// Enqueued at (the enqueueing transaction's start).
    pub created_at: DateTime<Utc>,
}

/// A message claimed by a worker: what to deliver, and the lease that
/// [`Outbox::ack`](super::Outbox::ack) and
/// [`Outbox::fail`](super::Outbox::fail) are fenced by.
#[derive(Debug, Clone, PartialEq, QueryableByName, Serialize, Deserialize)]
#[diesel(table_name = om, check_for_backend(diesel::pg::Pg))]
pub struct Claimed {
    /// Id; also a good idempotency key for the receiving side.
    pub id: OutboxMessageId,
    /// Topic.
    pub topic: String,
    /// What to deliver.
    pub payload: Value,
    /// The dedupe key it was enqueued with.
    pub dedupe_key: Option<String>,
    /// This delivery's number, from 1.
    pub attempts: i32,
    /// Attempts after which it is dead-lettered.
    pub max_attempts: i32,
    /// The lease: only the holder of this token can settle the message.
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub lease_token: Uuid,
    /// When the lease runs out and the message becomes claimable again.
    #[diesel(sql_type = diesel::sql_types::Timestamptz)]
    pub leased_until: DateTime<Utc>,
    /// Enqueued at.
    pub created_at: DateTime<Utc>,
}

/// What [`OutboxRepo::enqueue`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Enqueued {
    /// A new message with this id.
    New(OutboxMessageId),
    /// A message with the same topic and dedupe key is already kept
    /// (pending, leased, dead, or delivered within
    /// [`super::DELIVERED_RETENTION`]): nothing was written.
    Duplicate,
}

impl Enqueued {
    /// Whether a new message was written.
    pub fn is_new(&self) -> bool {
        matches!(self, Enqueued::New(_))
    }
}

/// A message to enqueue, with options; [`OutboxRepo::enqueue`] is the
/// shorthand without them.
#[derive(Debug, Clone)]
pub struct NewMessage<'a> {
    topic: &'a str,
    payload: &'a Value,
    dedupe_key: Option<&'a str>,
    max_attempts: i32,
    delay: Option<Duration>,
}

impl<'a> NewMessage<'a> {
    /// A message on `topic` carrying `payload` (a JSON object).
    pub fn new(topic: &'a str, payload: &'a Value) -> Self {
        NewMessage {
            topic,
            payload,
            dedupe_key: None,
            max_attempts: MAX_ATTEMPTS_DEFAULT,
            delay: None,
        }
    }
    /// Re-enqueueing with the same topic and key is a no-op.
    pub fn dedupe_key(mut self, key: &'a str) -> Self {
        self.dedupe_key = Some(key);
        self
    }
    /// Attempts before dead-lettering (1 to 100; default
    /// [`MAX_ATTEMPTS_DEFAULT`]).
    pub fn max_attempts(mut self, n: i32) -> Self {
        self.max_attempts = n;
        self
    }
    /// Not claimable until `delay` after the enqueueing transaction started.
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = Some(delay);
        self
    }
}

/// Checks a topic name: 1 to 100 of ASCII letters, digits, `.`, `_`, `:`
/// and `-` (the database repeats it as a CHECK).
pub(crate) fn topic(value: &str) -> Result<&str> {
    validate::text("topic", value, 1, TOPIC_MAX)?;
    if value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
    {
        Ok(value)
    } else {
        Err(crate::Error::invalid(
            "topic",
            "may hold only ASCII letters, digits, '.', '_', ':' and '-'",
        ))
    }
}

/// Outbox repository, from `conn.outbox()`: enqueueing on the caller's
/// connection (and so in the caller's transaction).
pub struct OutboxRepo<'c> {
    conn: &'c mut PgConnection,
}

impl<'c> OutboxRepo<'c> {
    pub(crate) fn new(conn: &'c mut PgConnection) -> Self {
        OutboxRepo { conn }
    }

    /// Enqueues `payload` (a JSON object: ids and what the sender needs,
    /// never a secret) on `topic`. Call it inside the transaction of the
    /// business write: the message then exists if and only if that
    /// transaction commits. With a `dedupe_key`, a second enqueue of the
    /// same topic and key is [`Enqueued::Duplicate`] and writes nothing
    /// (also when racing: one statement, `ON CONFLICT DO NOTHING`).
    ///
    /// # Errors
    /// [`crate::Error::Invalid`] naming `topic`, `payload` (not an object,
    /// deeper than [`validate::JSON_MAX_DEPTH`], longer than
    /// [`validate::JSON_MAX_BYTES`], a NUL) or `dedupe_key` (empty, over 200
    /// characters, a NUL), before the database.
    pub fn enqueue(
        &mut self,
        topic: &str,
        payload: &Value,
        dedupe_key: Option<&str>,
    ) -> Result<Enqueued> {
        let mut message = NewMessage::new(topic, payload);
        message.dedupe_key = dedupe_key;
        self.enqueue_message(&message)
    }

    /// [`OutboxRepo::enqueue`] with options (attempts, a delay).
    ///
    /// # Errors
    /// As [`OutboxRepo::enqueue`]; also [`crate::Error::Invalid`] naming
    /// `max_attempts` outside 1..=100 or `delay` outside
    /// [`validate::duration`]'s bounds.
    pub fn enqueue_message(&mut self, message: &NewMessage<'_>) -> Result<Enqueued> {
        let topic = topic(message.topic)?;
        validate::json_object("payload", message.payload)?;
        let dedupe_key = validate::opt_text("dedupe_key", message.dedupe_key, 1, DEDUPE_KEY_MAX)?;
        let max_attempts = validate::range("max_attempts", message.max_attempts, 1..=100)?;
        let delay = message
            .delay
            .map(|d| validate::duration("delay", d, validate::DURATION_MAX))
            .transpose()?
            .unwrap_or_default();
        let id = OutboxMessageId::now_v7();
        // No RETURNING: inside a user's transaction the app role may write
        // the row but not read it back (see the migration's policies), so
        // the affected-row count says whether it was new.
        let written = diesel::insert_into(om::table)
            .values((
                om::id.eq(id),
                om::topic.eq(topic),
                om::payload.eq(message.payload),
                om::dedupe_key.eq(dedupe_key),
                om::max_attempts.eq(max_attempts),
                om::available_at.eq(now_tz() + interval(delay)),
            ))
            .on_conflict_do_nothing()
            .execute(self.conn)?;
        Ok(if written == 1 {
            Enqueued::New(id)
        } else {
            Enqueued::Duplicate
        })
    }
}
