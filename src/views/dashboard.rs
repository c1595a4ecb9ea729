//! [`AnalyticsRepo::user_dashboard`]: one user's profile, live plan and money paid, with
//! the money kept per currency.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Jsonb, Nullable, Text};
use serde::{Deserialize, Serialize};

use super::AnalyticsRepo;
use crate::enums::{SubscriptionStatus, Theme, UserRole};
use crate::error::Result;
use crate::ids::UserId;
use crate::schema::sql_types;

/// Money paid in one currency, net of refunds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrencyNet {
    /// ISO 4217 code.
    pub currency: String,
    /// Succeeded (and later refunded) payments minus refunds, in minor units.
    pub net_cents: i64,
}

/// The per-currency totals as the statement returns them (a JSON array),
/// turned into [`CurrencyNet`]s while the row is read.
struct NetsJson(Vec<CurrencyNet>);

impl diesel::deserialize::FromSql<Jsonb, diesel::pg::Pg> for NetsJson {
    fn from_sql(bytes: diesel::pg::PgValue<'_>) -> diesel::deserialize::Result<Self> {
        let json =
            <serde_json::Value as diesel::deserialize::FromSql<Jsonb, diesel::pg::Pg>>::from_sql(
                bytes,
            )?;
        Ok(NetsJson(serde_json::from_value(json)?))
    }
}

impl From<NetsJson> for Vec<CurrencyNet> {
    fn from(json: NetsJson) -> Self {
        json.0
    }
}

/// One user's dashboard row.
#[derive(Debug, Clone, PartialEq, QueryableByName, Serialize, Deserialize)]
pub struct UserDashboard {
    /// User id.
    #[diesel(sql_type = diesel::sql_types::Uuid)]
    pub user_id: UserId,
    /// Name.
    #[diesel(sql_type = Text)]
    pub name: String,
    /// Email.
    #[diesel(sql_type = Text)]
    pub email: String,
    /// Role.
    #[diesel(sql_type = sql_types::UserRole)]
    pub role: UserRole,
    /// Profile theme (no profile: `None`).
    #[diesel(sql_type = Nullable<sql_types::Theme>)]
    pub theme: Option<Theme>,
    /// Profile notification flag.
    #[diesel(sql_type = Nullable<Bool>)]
    pub email_notifications: Option<bool>,
    /// Live subscription status.
    #[diesel(sql_type = Nullable<sql_types::SubscriptionStatus>)]
    pub subscription_status: Option<SubscriptionStatus>,
    /// Live subscription's plan.
    #[diesel(sql_type = Nullable<Text>)]
    pub plan_name: Option<String>,
    /// Payments of any status.
    #[diesel(sql_type = BigInt)]
    pub payment_count: i64,
    /// Net amount of succeeded payments, one entry per currency paid in
    /// (ordered by currency code; empty when nothing was paid). Never one
    /// sum across currencies.
    #[diesel(sql_type = Jsonb, deserialize_as = NetsJson)]
    pub net_paid: Vec<CurrencyNet>,
}

impl AnalyticsRepo<'_> {
    /// The dashboard of one user (seed: getUserDashboardData).
    ///
    /// Shape: **joins with correlated aggregates**: `users` LEFT JOIN
    /// `user_profiles`, the live subscription and its plan; the payment count
    /// and the per-currency net (`sum(..) GROUP BY currency`, as a JSON array)
    /// are scalar subqueries over the user's payments.
    ///
    /// # Errors
    /// Database errors only; an unknown or deleted user is `Ok(None)`.
    pub fn user_dashboard(&mut self, user_id: UserId) -> Result<Option<UserDashboard>> {
        Ok(diesel::sql_query(
            "SELECT u.id AS user_id, u.name, u.email, u.role,
                    pr.theme, pr.email_notifications,
                    s.status AS subscription_status, pl.name AS plan_name,
                    (SELECT count(*) FROM payments pay WHERE pay.user_id = u.id) AS payment_count,
                    (SELECT coalesce(jsonb_agg(jsonb_build_object('currency', t.currency,
                                                                  'net_cents', t.net)
                                               ORDER BY t.currency), '[]')
                       FROM (SELECT pay.currency, sum(pay.amount_cents - pay.refunded_cents) AS net
                               FROM payments pay
                              WHERE pay.user_id = u.id AND pay.status IN ('succeeded', 'refunded')
                              GROUP BY pay.currency) t) AS net_paid
               FROM users u
               LEFT JOIN user_profiles pr ON pr.user_id = u.id
               LEFT JOIN subscriptions s
                      ON s.user_id = u.id AND s.status IN ('trialing', 'active', 'past_due')
               LEFT JOIN subscription_plans pl ON pl.id = s.plan_id
              WHERE u.id = $1 AND u.deleted_at IS NULL",
        )
        .bind::<diesel::sql_types::Uuid, _>(user_id)
        .get_result(self.conn)
        .optional()?)
    }
}
