//! The worker's claim and settling writes as fixed-text statements that
//! Diesel prepares once per connection (`crate::prepared`). Each settling
//! write is fenced by the lease: it settles a message only while the
//! claim's token still holds it.

use crate::prepared::Statement;

/// [`Outbox::ack`](super::Outbox::ack): message `$1` under token `$2`.
pub(super) struct Ack;

impl Statement for Ack {
    const SQL: &'static str =
        "UPDATE outbox_messages SET delivered_at = now(), lease_token = NULL, leased_until = NULL
          WHERE id = $1 AND lease_token = $2";
}

/// [`Outbox::ack_all`](super::Outbox::ack_all): each (id, token) pair of
/// the arrays `$1` and `$2` settles its row only while the token still
/// holds the lease.
pub(super) struct AckAll;

impl Statement for AckAll {
    const SQL: &'static str = "UPDATE outbox_messages m
            SET delivered_at = now(), lease_token = NULL, leased_until = NULL
           FROM unnest($1::uuid[], $2::uuid[]) AS c(id, token)
          WHERE m.id = c.id AND m.lease_token = c.token
         RETURNING m.id";
}

/// [`Outbox::fail`](super::Outbox::fail): a dead letter when `$1` (and
/// `$2`, the same flag: it was the last attempt), else a retry at
/// `now() + $3`; `$4` the error; message `$5` under token `$6`.
pub(super) struct Fail;

impl Statement for Fail {
    const SQL: &'static str = "UPDATE outbox_messages
            SET dead_at = CASE WHEN $1 THEN now() ELSE NULL END,
                available_at = CASE WHEN $2 THEN available_at ELSE now() + $3 END,
                lease_token = NULL, leased_until = NULL, last_error = $4
          WHERE id = $5 AND lease_token = $6
         RETURNING available_at";
}

/// [`Outbox::claim`](super::Outbox::claim), one statement: dead-letter
/// messages that have used their attempts and hold no live lease (the last
/// attempt's lease ran out, or `max_attempts` was lowered below a waiting
/// message's count), at most 1,000 per claim so that a backlog of them (a
/// crashed fleet) cannot make every claim outlast a statement timeout, then
/// lease up to `$3` ready ones (oldest first, skipping rows other workers
/// are claiming), each with a fresh token. `$1` and `$2` are both the topic
/// (each placeholder is used once), `$4` the lease.
pub(super) struct Claim;

impl Statement for Claim {
    const SQL: &'static str = "
WITH expired AS (
    UPDATE outbox_messages
       SET dead_at = now(), lease_token = NULL, leased_until = NULL,
           last_error = CASE WHEN leased_until IS NULL THEN last_error
                             ELSE 'the lease of the last attempt ran out' END
     WHERE id IN (SELECT id FROM outbox_messages
                   WHERE topic = $1 AND delivered_at IS NULL AND dead_at IS NULL
                     AND attempts >= max_attempts
                     AND (leased_until IS NULL OR leased_until <= now())
                   LIMIT 1000
                   FOR UPDATE SKIP LOCKED)
), picked AS (
    SELECT id FROM outbox_messages
     WHERE topic = $2 AND delivered_at IS NULL AND dead_at IS NULL
       AND available_at <= now() AND attempts < max_attempts
       AND (leased_until IS NULL OR leased_until <= now())
     ORDER BY available_at, id
     LIMIT $3
     FOR UPDATE SKIP LOCKED
)
UPDATE outbox_messages m
   SET attempts = m.attempts + 1, lease_token = gen_random_uuid(),
       leased_until = now() + $4
  FROM picked
 WHERE m.id = picked.id
RETURNING m.id, m.topic, m.payload, m.dedupe_key, m.attempts, m.max_attempts,
          m.lease_token, m.leased_until, m.created_at";
}
