//! The worker's side: [`Outbox`], from [`Database::outbox`].

use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::dsl::now;
use diesel::prelude::*;
use diesel::sql_types::{
    Array, BigInt, Bool, Double, Interval, Text, Timestamptz, Uuid as SqlUuid,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::outbox_messages::{topic, Claimed, Message};
use super::statements::{Ack, AckAll, Claim, Fail};
use crate::error::{Error, Found, Result};
use crate::ids::OutboxMessageId;
use crate::prepared::Prepared;
use crate::schema::outbox_messages as om;
use crate::sql::{interval, purge_in_batches};
use crate::tx::RetryPolicy;
use crate::{validate, Database};

/// Most messages one [`Outbox::claim`] takes.
pub const CLAIM_MAX: i64 = 1_000;
/// Shortest lease [`Outbox::claim`] accepts.
pub const LEASE_MIN: Duration = Duration::from_millis(1);
/// Longest lease [`Outbox::claim`] accepts: a crashed worker's messages
/// wait at most this long for redelivery.
pub const LEASE_MAX: Duration = Duration::from_secs(24 * 3600);
/// Longest error text [`Outbox::fail`] keeps (longer is cut).
pub const LAST_ERROR_MAX: usize = 2_000;
/// How long delivered messages are kept before [`Outbox::purge_delivered`]
/// deletes them: the dedupe window (a dedupe key is free again after it).
pub const DELIVERED_RETENTION: Duration = Duration::from_secs(7 * 86_400);

/// A worker's handle on one topic; cheap to clone, each call checks out a
/// pooled connection (and runs outside any user's context, which the
/// outbox's Row-Level Security requires of the application role).
#[derive(Debug, Clone)]
pub struct Outbox {
    db: Database,
    topic: String,
    backoff: RetryPolicy,
}

/// What [`Outbox::fail`] did with the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Failed {
    /// It will be claimable again from this time.
    Retry(DateTime<Utc>),
    /// It used its last attempt and is now a dead letter.
    Dead,
}

/// Counts for one topic, from [`Outbox::stats`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, QueryableByName)]
pub struct OutboxStats {
    /// Claimable now.
    #[diesel(sql_type = BigInt)]
    pub ready: i64,
    /// Waiting for a retry's backoff (or an enqueue delay).
    #[diesel(sql_type = BigInt)]
    pub scheduled: i64,
    /// Held by a worker under a live lease.
    #[diesel(sql_type = BigInt)]
    pub leased: i64,
    /// Dead letters.
    #[diesel(sql_type = BigInt)]
    pub dead: i64,
    /// Age in seconds of the oldest ready message (0 when none): how far
    /// the workers are behind.
    #[diesel(sql_type = Double)]
    pub oldest_ready_secs: f64,
}

/// The row [`Fail`] returns.
#[derive(QueryableByName)]
struct AvailableAt {
    #[diesel(sql_type = Timestamptz)]
    available_at: DateTime<Utc>,
}

#[derive(QueryableByName)]
struct AckedId {
    #[diesel(sql_type = SqlUuid)]
    id: OutboxMessageId,
}

const STATS_SQL: &str = "
SELECT count(*) FILTER (WHERE dead_at IS NULL AND live_lease IS NOT TRUE
                          AND available_at <= now()) AS ready,
       count(*) FILTER (WHERE dead_at IS NULL AND live_lease IS NOT TRUE
                          AND available_at > now()) AS scheduled,
       count(*) FILTER (WHERE dead_at IS NULL AND live_lease) AS leased,
       count(*) FILTER (WHERE dead_at IS NOT NULL) AS dead,
       coalesce(extract(epoch FROM now() - min(available_at) FILTER (
                    WHERE dead_at IS NULL AND live_lease IS NOT TRUE
                      AND available_at <= now()))::float8, 0) AS oldest_ready_secs
  FROM (SELECT dead_at, available_at, leased_until > now() AS live_lease
          FROM outbox_messages
         WHERE topic = $1 AND delivered_at IS NULL) AS unsettled";

impl Database {
    /// A worker's handle on the outbox messages of `topic`; see
    /// [`crate::outbox`]. The topic is checked by each call.
    pub fn outbox(&self, topic: &str) -> Outbox {
        Outbox {
            db: self.clone(),
            topic: topic.to_owned(),
            backoff: RetryPolicy::new().backoff(Duration::from_secs(1), Duration::from_secs(3600)),
        }
    }
}

impl Outbox {
    /// Retries wait about `base`, `2 * base`, `4 * base`, ... (at most
    /// `max`), each drawn at random from its upper half (default 1 s
    /// doubling up to 1 h); see [`RetryPolicy::delay`]. Both are capped at
    /// [`validate::DURATION_MAX`], so a huge backoff schedules a retry far
    /// off instead of overflowing the database's timestamps.
    pub fn backoff(mut self, base: Duration, max: Duration) -> Self {
        let cap = |d: Duration| d.min(validate::DURATION_MAX);
        self.backoff = self.backoff.backoff(cap(base), cap(max));
        self
    }

    /// The topic.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Claims up to `n` ready messages, oldest first, each under a new
    /// lease of `lease`: no other claim sees them until the lease runs out
    /// (then they are claimable again, the attempt counted). One statement;
    /// concurrent workers skip each other's rows instead of waiting. A
    /// message whose last attempt's lease ran out is dead-lettered here.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming `topic`, `n` (outside 1..=[`CLAIM_MAX`]) or
    /// `lease` (outside [`LEASE_MIN`]..=[`LEASE_MAX`]); pool and database
    /// errors.
    pub fn claim(&self, n: i64, lease: Duration) -> Result<Vec<Claimed>> {
        let topic = topic(&self.topic)?;
        let n = validate::range("n", n, 1..=CLAIM_MAX)?;
        if lease < LEASE_MIN {
            return Err(Error::invalid("lease", "must be at least 1 millisecond"));
        }
        let lease = validate::duration("lease", lease, LEASE_MAX)?;
        let mut conn = self.db.conn()?;
        Ok(Prepared::<Claim>::new()
            .bind::<Text, _>(topic)
            .bind::<Text, _>(topic)
            .bind::<BigInt, _>(n)
            .bind::<Interval, _>(interval(lease))
            .load(&mut conn)?)
    }

    /// Marks a claimed message delivered. Fenced by the lease: it works
    /// while the message is still this claim's (also after the lease ran
    /// out, if nobody claimed it since).
    ///
    /// # Errors
    /// [`Error::LeaseLost`] when the message was claimed again, settled, or
    /// dead-lettered since (the caller's delivery may then be a duplicate);
    /// pool and database errors.
    pub fn ack(&self, claimed: &Claimed) -> Result<()> {
        let mut conn = self.db.conn()?;
        let settled = Prepared::<Ack>::new()
            .bind::<SqlUuid, _>(claimed.id)
            .bind::<SqlUuid, _>(claimed.lease_token)
            .execute(&mut conn)?;
        lease_held(settled, claimed)
    }

    /// [`Outbox::ack`] for a batch in one statement, each message fenced
    /// by its own lease token. Returns the ids whose lease was lost (not
    /// acked; empty when all were), in the order given.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming `claimed` for more than [`CLAIM_MAX`]
    /// messages; pool and database errors.
    pub fn ack_all(&self, claimed: &[Claimed]) -> Result<Vec<OutboxMessageId>> {
        validate::range("claimed", claimed.len() as i64, 0..=CLAIM_MAX)?;
        if claimed.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<OutboxMessageId> = claimed.iter().map(|c| c.id).collect();
        let tokens: Vec<Uuid> = claimed.iter().map(|c| c.lease_token).collect();
        let mut conn = self.db.conn()?;
        let acked: Vec<AckedId> = Prepared::<AckAll>::new()
            .bind::<Array<SqlUuid>, _>(&ids)
            .bind::<Array<SqlUuid>, _>(&tokens)
            .load(&mut conn)?;
        let acked: std::collections::HashSet<OutboxMessageId> =
            acked.into_iter().map(|a| a.id).collect();
        Ok(ids.into_iter().filter(|id| !acked.contains(id)).collect())
    }

    /// Records a failed delivery: the message is retried after the backoff
    /// for its attempt number, or, when that was its last attempt, becomes
    /// a dead letter. `error` is kept as `last_error`, NUL bytes removed and
    /// cut to [`LAST_ERROR_MAX`] characters; it must not hold a secret.
    ///
    /// # Errors
    /// [`Error::LeaseLost`] as for [`Outbox::ack`]; pool and database errors.
    pub fn fail(&self, claimed: &Claimed, error: &str) -> Result<Failed> {
        let error: String = error
            .chars()
            .filter(|&c| c != '\0')
            .take(LAST_ERROR_MAX)
            .collect();
        let last = claimed.attempts >= claimed.max_attempts;
        let retry_in = self.backoff.delay(claimed.attempts.max(1) as u32);
        let mut conn = self.db.conn()?;
        // One statement either way: the last attempt makes a dead letter
        // (its `available_at` kept), any other schedules the retry.
        let settled: Option<AvailableAt> = Prepared::<Fail>::new()
            .bind::<Bool, _>(last)
            .bind::<Bool, _>(last)
            .bind::<Interval, _>(interval(retry_in))
            .bind::<Text, _>(&error)
            .bind::<SqlUuid, _>(claimed.id)
            .bind::<SqlUuid, _>(claimed.lease_token)
            .get_result(&mut conn)
            .optional()?;
        let settled = settled.map(|s| s.available_at);
        match settled {
            None => Err(Error::LeaseLost {
                id: claimed.id.into(),
            }),
            Some(_) if last => Ok(Failed::Dead),
            Some(at) => Ok(Failed::Retry(at)),
        }
    }

    /// The topic's dead letters, oldest first, at most `limit` (1..=1000).
    ///
    /// # Errors
    /// [`Error::Invalid`] naming `topic` or `limit`; pool and database errors.
    pub fn dead_letters(&self, limit: i64) -> Result<Vec<Message>> {
        let topic = topic(&self.topic)?;
        let limit = validate::range("limit", limit, 1..=CLAIM_MAX)?;
        let mut conn = self.db.conn()?;
        Ok(om::table
            .filter(om::topic.eq(topic))
            .filter(om::dead_at.is_not_null())
            .order((om::dead_at, om::id))
            .limit(limit)
            .select(Message::as_select())
            .load(&mut conn)?)
    }

    /// Makes a dead letter of this topic claimable again now, with its
    /// attempts reset to 0 (its `last_error` is kept until the next one).
    ///
    /// # Errors
    /// [`Error::NotFound`] (entity `dead letter`) when `id` is not a dead
    /// letter of this topic; pool and database errors.
    pub fn requeue(&self, id: OutboxMessageId) -> Result<Message> {
        let topic = topic(&self.topic)?;
        let mut conn = self.db.conn()?;
        diesel::update(
            om::table
                .find(id)
                .filter(om::topic.eq(topic))
                .filter(om::dead_at.is_not_null()),
        )
        .set((
            om::dead_at.eq(None::<DateTime<Utc>>),
            om::attempts.eq(0),
            om::available_at.eq(now),
        ))
        .returning(Message::as_returning())
        .get_result(&mut conn)
        .found("dead letter")
    }

    /// Counts of the topic's ready, scheduled, leased and dead messages,
    /// and the age of the oldest ready one. One statement.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming `topic`; pool and database errors.
    pub fn stats(&self) -> Result<OutboxStats> {
        let topic = topic(&self.topic)?;
        let mut conn = self.db.conn()?;
        Ok(diesel::sql_query(STATS_SQL)
            .bind::<Text, _>(topic)
            .get_result(&mut conn)?)
    }

    /// Deletes messages (of every topic) delivered more than
    /// [`DELIVERED_RETENTION`] ago, `batch` rows per statement; returns how
    /// many. Their dedupe keys are free again afterwards. Dead letters are
    /// kept until requeued or deleted by the host.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming `batch` outside 1..=100,000; pool and
    /// database errors.
    pub fn purge_delivered(&self, batch: i64) -> Result<usize> {
        let batch = validate::range("batch", batch, 1..=100_000)?;
        let mut conn = self.db.conn()?;
        purge_in_batches(
            &mut conn,
            "DELETE FROM outbox_messages WHERE id IN (
                 SELECT id FROM outbox_messages
                  WHERE delivered_at < now() - interval '7 days'
                  LIMIT $1 FOR UPDATE SKIP LOCKED)",
            batch,
        )
    }
}

fn lease_held(settled: usize, claimed: &Claimed) -> Result<()> {
    if settled == 1 {
        Ok(())
    } else {
        Err(Error::LeaseLost {
            id: claimed.id.into(),
        })
    }
}
