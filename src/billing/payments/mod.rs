//! Payments: [`PaymentRepo`], from `conn.payments()`; the rows and inputs
//! in `model.rs`, the cached statements in `statements.rs`.

mod model;
mod statements;

pub use model::{CurrencyTotal, NewPayment, Payment, PaymentChanges};

use diesel::prelude::*;
use diesel::sql_types::{self, BigInt, Bool, Integer, Jsonb, Nullable, Text};

use super::subscription_plans::{validate_amount, validate_currency, AMOUNT_MAX_CENTS};
use crate::enums::PaymentStatus;
use crate::error::{Error, Result};
use crate::ids::{PaymentId, UserId};
use crate::pagination::{self, Keyset, Listing, Order, Page, PageRequest};
use crate::prepared::Prepared;
use crate::schema::payments;
use crate::schema::sql_types::PaymentStatus as PaymentStatusSql;
use crate::tx::update_versioned;
use crate::validate;
use statements::{RecordPayment, Refund, Settle, UpdatePayment};

/// Payments repository.
pub struct PaymentRepo<'c> {
    pub(super) conn: &'c mut PgConnection,
}

impl<'c> PaymentRepo<'c> {
    pub(crate) fn new(conn: &'c mut PgConnection) -> Self {
        PaymentRepo { conn }
    }

    /// Records a payment, idempotently by `provider_payment_id`: a second
    /// delivery of the same provider payment (also concurrently) returns
    /// the row recorded first, and `false` for "not newly created".
    ///
    /// # Errors
    /// [`Error::Invalid`] for bad input; [`Error::ForeignKey`] for an
    /// unknown user or subscription.
    pub fn record(&mut self, payment: &NewPayment<'_>) -> Result<(Payment, bool)> {
        validate::id_set("user_id", payment.user_id)?;
        validate_amount("amount_cents", payment.amount_cents)?;
        validate_currency(&payment.currency)?;
        let provider_payment_id = payment.provider_payment_id.as_deref();
        validate::opt_text("provider_payment_id", provider_payment_id, 1, 255)?;
        validate::opt_text("description", payment.description.as_deref(), 0, 1000)?;
        validate::json_object("metadata", &payment.metadata)?;
        let inserted = Prepared::<RecordPayment>::new()
            .bind::<sql_types::Uuid, _>(PaymentId::now_v7())
            .bind::<sql_types::Uuid, _>(payment.user_id)
            .bind::<Nullable<sql_types::Uuid>, _>(payment.subscription_id)
            .bind::<BigInt, _>(payment.amount_cents)
            .bind::<Text, _>(&payment.currency)
            .bind::<PaymentStatusSql, _>(payment.status)
            .bind::<Nullable<Text>, _>(&payment.provider_payment_id)
            .bind::<Nullable<Text>, _>(&payment.description)
            .bind::<Jsonb, _>(&payment.metadata)
            .get_result::<Payment>(self.conn)
            .optional()?;
        match (inserted, provider_payment_id) {
            (Some(row), _) => Ok((row, true)),
            (None, Some(provider_id)) => Ok((self.by_provider_id(provider_id)?, false)),
            (None, None) => Err(Error::NotFound { entity: "payment" }),
        }
    }

    fn by_provider_id(&mut self, provider_id: &str) -> Result<Payment> {
        Ok(payments::table
            .filter(payments::provider_payment_id.eq(provider_id))
            .select(Payment::as_select())
            .first(self.conn)?)
    }

    /// The payment.
    ///
    /// # Errors
    /// [`Error::NotFound`].
    pub fn get(&mut self, id: PaymentId) -> Result<Payment> {
        crate::sql::one(self.conn, payments::table.find(id), "payment")
    }

    /// Edits the description or metadata if the payment is still at
    /// `expected_version` (one `UPDATE .. WHERE id = $1 AND version = $2`).
    ///
    /// # Errors
    /// [`Error::Stale`] when someone changed it since (an edit, a refund,
    /// a settle); [`Error::NotFound`]; [`Error::Invalid`] naming
    /// `description` or `metadata` for bad input, before the database.
    pub fn update(
        &mut self,
        id: PaymentId,
        expected_version: i32,
        changes: &PaymentChanges<'_>,
    ) -> Result<Payment> {
        validate::opt_text(
            "description",
            validate::new_text(&changes.description),
            0,
            1000,
        )?;
        if let Some(metadata) = &changes.metadata {
            validate::json_object("metadata", metadata)?;
        }
        update_versioned(
            self.conn,
            Prepared::<UpdatePayment>::new()
                .bind::<Bool, _>(changes.description.is_some())
                .bind::<Nullable<Text>, _>(changes.description.as_ref().and_then(Option::as_ref))
                .bind::<Nullable<Jsonb>, _>(changes.metadata.as_ref())
                .bind::<sql_types::Uuid, _>(id)
                .bind::<Integer, _>(expected_version)
                .bind::<sql_types::Uuid, _>(id),
            ("payment", id, expected_version),
            payments::table.find(id).select(payments::version),
        )
    }

    /// `pending` to `succeeded`.
    ///
    /// # Errors
    /// [`Error::Invalid`] from any other status; [`Error::NotFound`].
    pub fn mark_succeeded(&mut self, id: PaymentId) -> Result<Payment> {
        self.settle(id, PaymentStatus::Succeeded)
    }

    /// `pending` to `failed`.
    ///
    /// # Errors
    /// [`Error::Invalid`] from any other status; [`Error::NotFound`].
    pub fn mark_failed(&mut self, id: PaymentId) -> Result<Payment> {
        self.settle(id, PaymentStatus::Failed)
    }

    fn settle(&mut self, id: PaymentId, to: PaymentStatus) -> Result<Payment> {
        let settled = Prepared::<Settle>::new()
            .bind::<PaymentStatusSql, _>(to)
            .bind::<sql_types::Uuid, _>(id)
            .get_result::<Payment>(self.conn)
            .optional()?;
        match settled {
            Some(p) => Ok(p),
            None => {
                let current = self.get(id)?;
                Err(Error::invalid(
                    "status",
                    format!("cannot go from {:?} to {:?}", current.status, to),
                ))
            }
        }
    }

    /// Refunds part or all of a succeeded payment. One conditional UPDATE:
    /// the refund is added only if the total stays within the amount, so
    /// concurrent refunds can never refund more than was paid. A payment
    /// refunded in full becomes `refunded`.
    ///
    /// # Errors
    /// [`Error::Invalid`] for an amount outside 1..=[`AMOUNT_MAX_CENTS`], a payment that is not
    /// succeeded, or a refund above what is left; [`Error::NotFound`].
    pub fn refund(&mut self, id: PaymentId, amount_cents: i64) -> Result<Payment> {
        // Bounded, so `refunded_cents + amount` cannot leave bigint's range.
        validate::range("amount_cents", amount_cents, 1..=AMOUNT_MAX_CENTS)?;
        let refunded = Prepared::<Refund>::new()
            .bind::<BigInt, _>(amount_cents)
            .bind::<BigInt, _>(amount_cents)
            .bind::<sql_types::Uuid, _>(id)
            .bind::<BigInt, _>(amount_cents)
            .get_result::<Payment>(self.conn)
            .optional()?;
        match refunded {
            Some(p) => Ok(p),
            None => {
                let current = self.get(id)?;
                Err(if current.status != PaymentStatus::Succeeded {
                    Error::invalid(
                        "status",
                        format!("cannot refund a {:?} payment", current.status),
                    )
                } else {
                    Error::invalid(
                        "amount_cents",
                        format!(
                            "refund of {amount_cents} exceeds the {} left to refund",
                            current.amount_cents - current.refunded_cents
                        ),
                    )
                })
            }
        }
    }

    /// The user's payments, newest first, keyset-paginated.
    ///
    /// # Errors
    /// [`Error::InvalidCursor`], [`Error::Invalid`] for the limit.
    pub fn list_for_user(&mut self, user_id: UserId, page: PageRequest) -> Result<Page<Payment>> {
        let query = payments::table
            .filter(payments::user_id.eq(user_id))
            .select(Payment::as_select())
            .into_boxed();
        let keyset = Keyset {
            listing: Listing::named("payments.by_user.created_at").param(user_id.uuid()),
            sort: payments::created_at,
            id: payments::id,
            order: Order::Desc,
        };
        pagination::paginate(
            query,
            keyset,
            &page,
            |p: &Payment| (p.created_at, p.id),
            self.conn,
        )
    }

    /// Succeeded (and refunded) payments summed per currency, for one user
    /// or for everyone.
    ///
    /// # Errors
    /// Database errors only.
    pub fn totals_per_currency(&mut self, user_id: Option<UserId>) -> Result<Vec<CurrencyTotal>> {
        Ok(diesel::sql_query(
            "SELECT currency, count(*) AS payments,
                    coalesce(sum(amount_cents), 0)::bigint AS gross_cents,
                    coalesce(sum(refunded_cents), 0)::bigint AS refunded_cents,
                    coalesce(sum(amount_cents - refunded_cents), 0)::bigint AS net_cents
               FROM payments
              WHERE status IN ('succeeded', 'refunded') AND ($1::uuid IS NULL OR user_id = $1)
              GROUP BY currency ORDER BY currency",
        )
        .bind::<diesel::sql_types::Nullable<diesel::sql_types::Uuid>, _>(user_id)
        .load(self.conn)?)
    }
}
