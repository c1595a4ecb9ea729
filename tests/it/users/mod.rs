//! The users repository: one file per concern, shared imports and helpers here.

mod accounts;
mod deletion;
mod moderation;
mod profiles;

use crate::support::acting_as;
use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use saas_db::enums::{Theme, UserRole};
use saas_db::ids::UserId;
use saas_db::users::{NewUser, UserChanges};
use saas_db::users::{ProfileChanges, User, UserProfile};
use saas_db::{Error, PageRequest, Repos};
use saas_db_testing::TestDatabase;
use uuid::Uuid;

fn ids(users: &[User]) -> Vec<UserId> {
    users.iter().map(|u| u.id).collect()
}

/// A time PostgreSQL stores exactly (microseconds).
fn micros(t: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(t.timestamp_micros()).unwrap()
}
