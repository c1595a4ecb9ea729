//! Payments: [`PaymentRepo`], from `conn.payments()`.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{self, BigInt, Bool, Integer, Jsonb, Nullable, Text};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

use super::subscription_plans::{validate_amount, validate_currency, AMOUNT_MAX_CENTS};
use crate::enums::PaymentStatus;
use crate::error::{Error, Result};
use crate::ids::{PaymentId, SubscriptionId, UserId};
use crate::pagination::{self, Keyset, Listing, Order, Page, PageRequest};
use crate::prepared::{Prepared, Statement};
use crate::schema::payments;
use crate::tx::{update_versioned, versioned_update_sql};
use crate::validate;

/// The columns of [`Payment`], the RETURNING list of its statements: named,
/// never `*`, so a column a host adds to the table does not change a
/// prepared statement's result type (see `crate::prepared`).
macro_rules! payment_columns {
    () => {
        "id, user_id, subscription_id, amount_cents, refunded_cents, currency, status,
         provider_payment_id, description, metadata, version, created_at, updated_at"
    };
}

/// [`PaymentRepo::update`]: every field of [`PaymentChanges`] in one
/// fixed shape (see [`crate::tx::update_versioned`]).
struct UpdatePayment;

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

/// [`PaymentRepo::record`]: every column explicit, so the statement's
/// shape does not depend on which optional fields are set; a known
/// provider id inserts nothing.
struct RecordPayment;

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

/// A payment.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Identifiable, Serialize, Deserialize)]
#[diesel(table_name = payments, check_for_backend(diesel::pg::Pg))]
#[derive(QueryableByName)]
pub struct Payment {
    /// Id.
    pub id: PaymentId,
    /// Payer.
    pub user_id: UserId,
    /// The subscription it pays for, if any.
    pub subscription_id: Option<SubscriptionId>,
    /// Amount in minor units.
    pub amount_cents: i64,
    /// Refunded so far, never above `amount_cents`.
    pub refunded_cents: i64,
    /// ISO 4217 code.
    pub currency: String,
    /// State.
    pub status: PaymentStatus,
    /// The provider's id: the idempotency key of `record`.
    pub provider_payment_id: Option<String>,
    /// What it was for.
    pub description: Option<String>,
    /// Extra data (a JSON object).
    pub metadata: serde_json::Value,
    /// Optimistic-lock version: [`PaymentRepo::update`] needs it; every
    /// change (`mark_*`, `refund`, `update`, `users().transfer_data`) bumps it.
    pub version: i32,
    /// Created at.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// Input for [`PaymentRepo::record`]. `Default` is a pending payment with
/// empty metadata (`{}`), no payer and no currency, so
/// `NewPayment { user_id, amount_cents: 500, currency: "USD".into(), ..Default::default() }`
/// is a complete one; a payer left unset is [`Error::Invalid`] naming
/// `user_id`.
///
/// Deserialized, `amount_cents` and `currency` are required, `status`
/// defaults to pending and `metadata` to `{}`; `user_id` is never read from
/// input: set it from the signed-in user or your provider's customer.
#[derive(Debug, Clone, PartialEq, Insertable, Deserialize)]
#[diesel(table_name = payments)]
pub struct NewPayment<'a> {
    /// Payer (not deserialized).
    #[serde(skip_deserializing)]
    pub user_id: UserId,
    /// Subscription paid for.
    pub subscription_id: Option<SubscriptionId>,
    /// Amount in minor units, 0..=[`AMOUNT_MAX_CENTS`].
    pub amount_cents: i64,
    /// ISO 4217 code.
    pub currency: Cow<'a, str>,
    /// Initial state.
    #[serde(default = "pending")]
    pub status: PaymentStatus,
    /// The provider's id (idempotency key).
    #[serde(default)]
    pub provider_payment_id: Option<Cow<'a, str>>,
    /// Description, up to 1,000 characters.
    #[serde(default)]
    pub description: Option<Cow<'a, str>>,
    /// A JSON object.
    #[serde(default = "empty_object")]
    pub metadata: serde_json::Value,
}

fn pending() -> PaymentStatus {
    PaymentStatus::Pending
}

fn empty_object() -> serde_json::Value {
    serde_json::Value::Object(serde_json::Map::new())
}

impl Default for NewPayment<'_> {
    fn default() -> Self {
        NewPayment {
            user_id: UserId::default(),
            subscription_id: None,
            amount_cents: 0,
            currency: Cow::Borrowed(""),
            status: pending(),
            provider_payment_id: None,
            description: None,
            metadata: empty_object(),
        }
    }
}

/// Changes for [`PaymentRepo::update`]: the fields a person edits (money
/// and status change only through `mark_*` and `refund`). Deserialized, a
/// missing field is `None` and an explicit `null` description is
/// `Some(None)`.
#[derive(Debug, Clone, Default, PartialEq, AsChangeset, Deserialize)]
#[diesel(table_name = payments)]
pub struct PaymentChanges<'a> {
    /// `Some(None)` clears it; up to 1,000 characters.
    #[serde(default, deserialize_with = "crate::serde_support::double_option")]
    pub description: Option<Option<Cow<'a, str>>>,
    /// Replaces the whole object.
    pub metadata: Option<serde_json::Value>,
}

/// Totals in one currency.
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName, Serialize, Deserialize)]
pub struct CurrencyTotal {
    /// ISO 4217 code.
    #[diesel(sql_type = Text)]
    pub currency: String,
    /// Succeeded (and later refunded) payments counted.
    #[diesel(sql_type = BigInt)]
    pub payments: i64,
    /// Their gross amount.
    #[diesel(sql_type = BigInt)]
    pub gross_cents: i64,
    /// Refunded from them.
    #[diesel(sql_type = BigInt)]
    pub refunded_cents: i64,
    /// Gross minus refunded.
    #[diesel(sql_type = BigInt)]
    pub net_cents: i64,
}

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
            .bind::<crate::schema::sql_types::PaymentStatus, _>(payment.status)
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
        let settled = diesel::update(
            payments::table
                .find(id)
                .filter(payments::status.eq(PaymentStatus::Pending)),
        )
        .set(payments::status.eq(to))
        .returning(Payment::as_returning())
        .get_result(self.conn)
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
        let refunded = diesel::update(
            payments::table
                .find(id)
                .filter(payments::status.eq(PaymentStatus::Succeeded))
                .filter((payments::refunded_cents + amount_cents).le(payments::amount_cents)),
        )
        .set((
            payments::refunded_cents.eq(payments::refunded_cents + amount_cents),
            payments::status.eq(diesel::dsl::case_when(
                (payments::refunded_cents + amount_cents).eq(payments::amount_cents),
                PaymentStatus::Refunded.into_sql::<crate::schema::sql_types::PaymentStatus>(),
            )
            .otherwise(payments::status)),
        ))
        .returning(Payment::as_returning())
        .get_result(self.conn)
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
