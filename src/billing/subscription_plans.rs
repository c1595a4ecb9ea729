//! Subscription plans: [`PlanRepo`], from `conn.plans()`.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{self, Array, BigInt, Bool, Integer, Nullable, Text};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;

use crate::enums::BillingInterval;
use crate::error::{Error, Found, Result};
use crate::ids::PlanId;
use crate::prepared::{Prepared, Statement};
use crate::schema::subscription_plans as plans;
use crate::tx::{update_versioned, versioned_update_sql};
use crate::validate;

/// A plan customers subscribe to.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Identifiable, Serialize, Deserialize)]
#[diesel(table_name = plans, check_for_backend(diesel::pg::Pg))]
#[derive(QueryableByName)]
pub struct Plan {
    /// Id.
    pub id: PlanId,
    /// Unique display name.
    pub name: String,
    /// Marketing text.
    pub description: Option<String>,
    /// Price per interval, in the currency's minor unit.
    pub price_cents: i64,
    /// ISO 4217 code, e.g. `USD`.
    pub currency: String,
    /// Billing period.
    pub interval: BillingInterval,
    /// Feature list shown on the pricing page.
    pub features: Vec<String>,
    /// Offered to new subscribers.
    pub is_active: bool,
    /// Position on the pricing page.
    pub sort_order: i32,
    /// Optimistic-lock version.
    pub version: i32,
    /// Created at.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// Input for [`PlanRepo::create`]. `Default` leaves the name and currency
/// empty (so a plan that forgets them is [`Error::Invalid`]), the price 0,
/// monthly, no features:
/// `NewPlan { name: "Pro".into(), price_cents: 900, currency: "USD".into(), ..Default::default() }`.
/// Deserialized, `name`, `price_cents`, `currency` and `interval` are
/// required.
#[derive(Debug, Clone, PartialEq, Eq, Insertable, Deserialize)]
#[diesel(table_name = plans)]
pub struct NewPlan<'a> {
    /// Unique name, 1 to 100 characters.
    pub name: Cow<'a, str>,
    /// Optional description, up to 2,000 characters.
    #[serde(default)]
    pub description: Option<Cow<'a, str>>,
    /// Price in minor units, 0..=[`AMOUNT_MAX_CENTS`].
    pub price_cents: i64,
    /// ISO 4217 code (three upper-case letters).
    pub currency: Cow<'a, str>,
    /// Billing period.
    pub interval: BillingInterval,
    /// Features.
    #[serde(default)]
    pub features: Vec<Cow<'a, str>>,
    /// Position on the pricing page.
    #[serde(default)]
    pub sort_order: i32,
}

impl Default for NewPlan<'_> {
    fn default() -> Self {
        NewPlan {
            name: Cow::Borrowed(""),
            description: None,
            price_cents: 0,
            currency: Cow::Borrowed(""),
            interval: BillingInterval::Month,
            features: Vec::new(),
            sort_order: 0,
        }
    }
}

/// Changes for [`PlanRepo::update`]; `None` keeps a column. Deserialized, a
/// missing field is `None` and an explicit `null` description is
/// `Some(None)`.
#[derive(Debug, Clone, Default, PartialEq, Eq, AsChangeset, Deserialize)]
#[diesel(table_name = plans)]
pub struct PlanChanges<'a> {
    /// New name.
    #[serde(default)]
    pub name: Option<Cow<'a, str>>,
    /// New description, or `Some(None)` to clear it.
    #[serde(default, deserialize_with = "crate::serde_support::double_option")]
    pub description: Option<Option<Cow<'a, str>>>,
    /// New price (existing subscriptions keep their plan row, so the new
    /// price applies from their next renewal).
    pub price_cents: Option<i64>,
    /// New features.
    #[serde(default)]
    pub features: Option<Vec<Cow<'a, str>>>,
    /// New position.
    pub sort_order: Option<i32>,
}

/// The columns of [`Plan`], the RETURNING list of its statements: named,
/// never `*`, so a column a host adds to the table does not change a
/// prepared statement's result type (see `crate::prepared`).
macro_rules! plan_columns {
    () => {
        "id, name, description, price_cents, currency, interval, features, is_active, sort_order,
         version, created_at, updated_at"
    };
}

/// [`PlanRepo::update`]: every field of [`PlanChanges`] in one fixed
/// shape (see [`crate::tx::update_versioned`]).
struct UpdatePlan;

impl Statement for UpdatePlan {
    const SQL: &'static str = versioned_update_sql!(
        "subscription_plans",
        "name = COALESCE($1, name),
               description = CASE WHEN $2 THEN $3 ELSE description END,
               price_cents = COALESCE($4, price_cents),
               features = COALESCE($5, features),
               sort_order = COALESCE($6, sort_order),
               updated_at = now()",
        "id = $7 AND version = $8",
        plan_columns!(),
        "id = $9"
    );
}

pub(crate) fn validate_currency(currency: &str) -> Result<()> {
    if currency.len() == 3 && currency.chars().all(|c| c.is_ascii_uppercase()) {
        Ok(())
    } else {
        Err(Error::invalid(
            "currency",
            "must be a three-letter upper-case ISO 4217 code",
        ))
    }
}

/// Largest amount of money accepted anywhere (a price, a payment, a
/// refund), in minor units: 10^15, ten trillion dollars in cents. Sums in
/// SQL (`refunded_cents + $refund`, per-currency totals) then stay within
/// `bigint` for any realistic number of payments (over 9,000 payments of
/// this size in one currency before a total could overflow).
pub const AMOUNT_MAX_CENTS: i64 = 1_000_000_000_000_000;

/// An amount of money: 0..=[`AMOUNT_MAX_CENTS`].
pub(crate) fn validate_amount(field: &str, cents: i64) -> Result<i64> {
    validate::range(field, cents, 0..=AMOUNT_MAX_CENTS)
}

fn validate_features(features: &[Cow<'_, str>]) -> Result<()> {
    for (i, f) in features.iter().enumerate() {
        validate::text("feature", f, 1, 200).map_err(|e| e.in_item("features", i))?;
    }
    Ok(())
}

/// Plans repository.
pub struct PlanRepo<'c> {
    conn: &'c mut PgConnection,
}

impl<'c> PlanRepo<'c> {
    pub(crate) fn new(conn: &'c mut PgConnection) -> Self {
        PlanRepo { conn }
    }

    /// Creates a plan.
    ///
    /// # Errors
    /// [`Error::Invalid`] for bad input; [`Error::Conflict`] with
    /// `subscription_plans_name_key` for a taken name.
    pub fn create(&mut self, plan: &NewPlan<'_>) -> Result<Plan> {
        validate::text("name", &plan.name, 1, 100)?;
        validate::opt_text("description", plan.description.as_deref(), 0, 2000)?;
        validate_amount("price_cents", plan.price_cents)?;
        validate_currency(&plan.currency)?;
        validate_features(&plan.features)?;
        Ok(diesel::insert_into(plans::table)
            .values((plans::id.eq(PlanId::now_v7()), plan))
            .returning(Plan::as_returning())
            .get_result(self.conn)?)
    }

    /// The plan.
    ///
    /// # Errors
    /// [`Error::NotFound`].
    pub fn get(&mut self, id: PlanId) -> Result<Plan> {
        crate::sql::one(self.conn, plans::table.find(id), "plan")
    }

    /// Applies `changes` if the plan is still at `expected_version`.
    ///
    /// # Errors
    /// [`Error::Stale`], [`Error::NotFound`], [`Error::Invalid`], [`Error::Conflict`].
    pub fn update(
        &mut self,
        id: PlanId,
        expected_version: i32,
        changes: &PlanChanges<'_>,
    ) -> Result<Plan> {
        validate::opt_text("name", changes.name.as_deref(), 1, 100)?;
        validate::opt_text(
            "description",
            validate::new_text(&changes.description),
            0,
            2000,
        )?;
        if let Some(price) = changes.price_cents {
            validate_amount("price_cents", price)?;
        }
        if let Some(features) = &changes.features {
            validate_features(features)?;
        }
        update_versioned(
            self.conn,
            Prepared::<UpdatePlan>::new()
                .bind::<Nullable<Text>, _>(&changes.name)
                .bind::<Bool, _>(changes.description.is_some())
                .bind::<Nullable<Text>, _>(changes.description.as_ref().and_then(Option::as_ref))
                .bind::<Nullable<BigInt>, _>(changes.price_cents)
                .bind::<Nullable<Array<Text>>, _>(changes.features.as_ref())
                .bind::<Nullable<Integer>, _>(changes.sort_order)
                .bind::<sql_types::Uuid, _>(id)
                .bind::<Integer, _>(expected_version)
                .bind::<sql_types::Uuid, _>(id),
            ("plan", id, expected_version),
            plans::table.find(id).select(plans::version),
        )
    }

    /// Active plans in pricing-page order.
    ///
    /// # Errors
    /// Database errors only.
    pub fn list_active(&mut self) -> Result<Vec<Plan>> {
        Ok(plans::table
            .filter(plans::is_active.eq(true))
            .order((plans::sort_order, plans::id))
            .select(Plan::as_select())
            .load(self.conn)?)
    }

    /// Stops offering the plan; existing subscriptions keep it.
    ///
    /// # Errors
    /// [`Error::NotFound`].
    pub fn archive(&mut self, id: PlanId) -> Result<Plan> {
        diesel::update(plans::table.find(id))
            .set(plans::is_active.eq(false))
            .returning(Plan::as_returning())
            .get_result(self.conn)
            .found("plan")
    }

    /// Deletes a plan nobody ever subscribed to.
    ///
    /// # Errors
    /// [`Error::ForeignKey`] with `subscriptions_plan_id_fkey` when it has
    /// subscriptions (archive it instead); [`Error::NotFound`].
    pub fn delete(&mut self, id: PlanId) -> Result<()> {
        let n = diesel::delete(plans::table.find(id)).execute(self.conn)?;
        if n == 0 {
            return Err(Error::NotFound { entity: "plan" });
        }
        Ok(())
    }
}
