//! The payments table's row ([`Payment`]), inputs ([`NewPayment`],
//! [`PaymentChanges`]) and per-currency totals ([`CurrencyTotal`]).

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use serde::{Deserialize, Serialize};

use crate::enums::PaymentStatus;
use crate::ids::{PaymentId, SubscriptionId, UserId};
use crate::schema::payments;

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
    /// Optimistic-lock version: [`PaymentRepo::update`](super::PaymentRepo::update) needs it; every
    /// change (`mark_*`, `refund`, `update`, `users().transfer_data`) bumps it.
    pub version: i32,
    /// Created at.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// Input for [`PaymentRepo::record`](super::PaymentRepo::record). `Default` is a pending payment with
/// empty metadata (`{}`), no payer and no currency, so
/// `NewPayment { user_id, amount_cents: 500, currency: "USD".into(), ..Default::default() }`
/// is a complete one; a payer left unset is [`Error::Invalid`](crate::Error::Invalid) naming
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
    /// Amount in minor units, 0..=[`AMOUNT_MAX_CENTS`](crate::billing::AMOUNT_MAX_CENTS).
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

/// Changes for [`PaymentRepo::update`](super::PaymentRepo::update): the fields a person edits (money
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
