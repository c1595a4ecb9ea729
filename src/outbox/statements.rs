//! The worker's settling writes as fixed-text statements that Diesel
//! prepares once per connection (`crate::prepared`). Each is fenced by the
//! lease: it settles a message only while the claim's token still holds it.

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
