//! The payments table's writes as fixed-text statements that Diesel
//! prepares once per connection (`crate::prepared`).

use crate::prepared::Statement;
use crate::tx::versioned_update_sql;

/// The columns of [`Payment`](super::Payment), the RETURNING list of its statements: named,
/// never `*`, so a column a host adds to the table does not change a
/// prepared statement's result type (see `crate::prepared`).
macro_rules! payment_columns {
    () => {
        "id, user_id, subscription_id, amount_cents, refunded_cents, currency, status,
         provider_payment_id, description, metadata, version, created_at, updated_at"
    };
}

/// [`PaymentRepo::update`](super::PaymentRepo::update): every field of [`PaymentChanges`](super::PaymentChanges) in one
/// fixed shape (see [`crate::tx::update_versioned`]).
pub(super) struct UpdatePayment;

impl Statement for UpdatePayment {
    const SQL: &'static str = versioned_update_sql!(
        "payments",
        "description = CASE WHEN $1 THEN $2 ELSE description END,
               metadata = COALESCE($3, metadata),
               updated_at = now()",
        "id = $4 AND version = $5",
        payment_columns!(),
        "id = $6"
    );
}

/// [`PaymentRepo::record`](super::PaymentRepo::record): every column explicit, so the statement's
/// shape does not depend on which optional fields are set; a known
/// provider id inserts nothing.
pub(super) struct RecordPayment;

impl Statement for RecordPayment {
    const SQL: &'static str = concat!(
        "INSERT INTO payments (id, user_id, subscription_id, amount_cents,
            currency, status, provider_payment_id, description, metadata)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
        ON CONFLICT (provider_payment_id) DO NOTHING
        RETURNING ",
        payment_columns!()
    );
}

/// `mark_succeeded` / `mark_failed`: a pending payment to `$1`.
pub(super) struct Settle;

impl Statement for Settle {
    const SQL: &'static str = concat!(
        "UPDATE payments SET status = $1 WHERE id = $2 AND status = 'pending' RETURNING ",
        payment_columns!()
    );
}

/// [`PaymentRepo::refund`](super::PaymentRepo::refund): adds the amount
/// (`$1`, `$2` and `$4`, the same value) to a succeeded payment only if the
/// total stays within what was paid; refunded in full becomes `refunded`.
/// The right-hand sides read the row as it was, so the check and the
/// status agree.
pub(super) struct Refund;

impl Statement for Refund {
    const SQL: &'static str = concat!(
        "UPDATE payments
            SET refunded_cents = refunded_cents + $1,
                status = CASE WHEN refunded_cents + $2 = amount_cents
                              THEN 'refunded' ELSE status END
          WHERE id = $3 AND status = 'succeeded' AND refunded_cents + $4 <= amount_cents
         RETURNING ",
        payment_columns!()
    );
}
