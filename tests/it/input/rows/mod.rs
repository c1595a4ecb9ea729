//! The rows of the bad-input table: every public function that takes text,
//! a number, a duration, a timestamp or JSON, with the field it must name
//! when it refuses.

mod accounts;
mod numbers;
mod people;
mod things;
mod times;

use saas_db::users::NewUser;
use saas_db::{Database, Repos};

pub(crate) use numbers::number_rows;
pub(crate) use times::{duration_rows, json_rows, timestamp_rows};

use super::table::{Row, TextCall};
use super::World;

pub(crate) fn text_rows() -> Vec<Row<TextCall>> {
    let mut rows = people::text_rows();
    rows.extend(things::text_rows());
    rows.extend(accounts::text_rows());
    rows
}

pub(crate) fn fresh_user(
    c: &mut diesel::PgConnection,
    w: &World,
) -> saas_db::Result<saas_db::users::User> {
    let email = w.unique("fresh").replace(' ', "") + "@example.com";
    c.users().create(&NewUser::new(&email, "Fresh"))
}

/// A pool on the world's database built with `configure`; a connection
/// error is the right answer for a URL that cannot connect.
pub(crate) fn build(
    w: &World,
    configure: impl FnOnce(saas_db::DatabaseBuilder) -> saas_db::DatabaseBuilder,
) -> saas_db::Result<()> {
    let builder = Database::builder(w.db.url())
        .run_migrations(false)
        .min_idle(Some(0));
    configure(builder).build().map(drop)
}

pub(crate) fn sat_u32(v: i64) -> u32 {
    v.clamp(0, i64::from(u32::MAX)) as u32
}

pub(crate) fn sat_i32(v: i64) -> i32 {
    v.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32
}
