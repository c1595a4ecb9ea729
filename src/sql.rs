//! Small SQL helpers shared by the repositories.

use std::time::Duration;

use diesel::dsl::now;
use diesel::prelude::*;
use diesel::sql_types::BigInt;

use diesel::dsl::{AsSelect, Limit, Select};
use diesel::pg::Pg;
use diesel::query_builder::QueryId;
use diesel::query_dsl::methods::{LimitDsl, SelectDsl};
use diesel::query_dsl::LoadQuery;

use crate::error::{Found, Result};
use crate::prepared::{Prepared, Statement};

/// `now()` as timestamptz, so interval arithmetic keeps the time zone type.
pub(crate) fn now_tz() -> diesel::dsl::AsExprOf<now, diesel::sql_types::Timestamptz> {
    now.into_sql::<diesel::sql_types::Timestamptz>()
}

pub(crate) fn interval(d: Duration) -> diesel::data_types::PgInterval {
    diesel::data_types::PgInterval::from_microseconds(d.as_micros().min(i64::MAX as u128) as i64)
}

diesel::define_sql_function! {
    /// `lower(text)`.
    fn lower(x: diesel::sql_types::Nullable<diesel::sql_types::Text>) -> diesel::sql_types::Nullable<diesel::sql_types::Text>;
}
diesel::define_sql_function! {
    /// `coalesce(timestamptz, timestamptz)`: keeps a time that is already set.
    fn coalesce(
        x: diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>,
        y: diesel::sql_types::Timestamptz,
    ) -> diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>;
}

/// A fixed SQL fragment of type `ST`: text written in this crate's source
/// (`&'static str`, never input). Unlike Diesel's `sql()` literal it keeps
/// the statement cacheable as a prepared statement, since the text cannot
/// change between executions.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StaticSql<ST> {
    text: &'static str,
    _type: std::marker::PhantomData<ST>,
}

impl<ST> StaticSql<ST> {
    pub(crate) const fn new(text: &'static str) -> Self {
        StaticSql {
            text,
            _type: std::marker::PhantomData,
        }
    }
}

impl<ST: diesel::sql_types::SqlType + diesel::expression::TypedExpressionType> Expression
    for StaticSql<ST>
{
    type SqlType = ST;
}

impl<ST> diesel::query_builder::QueryFragment<diesel::pg::Pg> for StaticSql<ST> {
    fn walk_ast<'b>(
        &'b self,
        mut out: diesel::query_builder::AstPass<'_, 'b, diesel::pg::Pg>,
    ) -> QueryResult<()> {
        out.push_sql(self.text);
        Ok(())
    }
}

impl<ST> diesel::query_builder::QueryId for StaticSql<ST> {
    type QueryId = ();
    // The text is not part of the type: cache by SQL string.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<ST, GB> diesel::expression::ValidGrouping<GB> for StaticSql<ST> {
    type IsAggregate = diesel::expression::is_aggregate::Never;
}

impl<ST, QS> diesel::expression::AppearsOnTable<QS> for StaticSql<ST> where Self: Expression {}

impl<ST, QS> diesel::expression::SelectableExpression<QS> for StaticSql<ST> where Self: Expression {}

#[derive(QueryableByName)]
struct Isolation {
    #[diesel(sql_type = diesel::sql_types::Text)]
    isolation: String,
}

/// Takes a transaction-scoped advisory lock on `key` (namespaced text such
/// as `saas_db.team.<id>`, hashed to 64 bits): writers of one thing take
/// turns until their transaction ends. Needs an open transaction. Returns
/// the transaction's isolation level (`read committed`, `repeatable read`,
/// `serializable`), read in the same round trip once the lock is granted,
/// for callers that must see what the previous holder committed: a
/// REPEATABLE READ snapshot may predate it.
pub(crate) fn advisory_xact_lock(conn: &mut PgConnection, key: &str) -> QueryResult<String> {
    Prepared::<AdvisoryXactLock>::new()
        .bind::<diesel::sql_types::Text, _>(key)
        .get_result::<Isolation>(conn)
        .map(|row| row.isolation)
}

/// [`advisory_xact_lock`]'s statement, cached.
struct AdvisoryXactLock;

impl Statement for AdvisoryXactLock {
    const SQL: &'static str = "SELECT current_setting('transaction_isolation') AS isolation
           FROM (SELECT pg_advisory_xact_lock(hashtextextended($1, 0))) AS locked";
}

/// Sets the setting `name` to `value` for the rest of the current
/// transaction (`set_config(name, value, true)`; outside a transaction it
/// lasts one statement). One cached statement for every setting: the name
/// is bound too.
pub(crate) fn set_local(conn: &mut PgConnection, name: &str, value: &str) -> QueryResult<()> {
    Prepared::<SetLocal>::new()
        .bind::<diesel::sql_types::Text, _>(name)
        .bind::<diesel::sql_types::Text, _>(value)
        .execute(conn)
        .map(drop)
}

/// [`set_local`]'s statement.
struct SetLocal;

impl Statement for SetLocal {
    const SQL: &'static str = "SELECT set_config($1, $2, true)";
}

/// Runs a `DELETE .. LIMIT $1` statement until it deletes nothing; the
/// total. Each statement is its own transaction outside an open one.
pub(crate) fn purge_in_batches(
    conn: &mut PgConnection,
    sql: &'static str,
    batch: i64,
) -> Result<usize> {
    repeat_batches(batch, |n| {
        diesel::sql_query(sql).bind::<BigInt, _>(n).execute(conn)
    })
}

/// Runs `delete(batch)` until it deletes fewer than `batch` rows; the
/// total. For purges that bind more than the batch size.
pub(crate) fn repeat_batches(
    batch: i64,
    mut delete: impl FnMut(i64) -> QueryResult<usize>,
) -> Result<usize> {
    let mut total = 0;
    loop {
        let n = delete(batch)?;
        total += n;
        if (n as i64) < batch {
            return Ok(total);
        }
    }
}

/// The first row of `query` as `M` (selected with `M::as_select()`), or
/// [`Error::NotFound`](crate::Error::NotFound) for `entity`: what every
/// repository's `get` is (`one(conn, posts::table.find(id), "post")`). The
/// query stays statically typed, so Diesel caches its prepared statement.
pub(crate) fn one<'q, M, Q>(conn: &mut PgConnection, query: Q, entity: &'static str) -> Result<M>
where
    M: Selectable<Pg>,
    M::SelectExpression: QueryId,
    Q: SelectDsl<AsSelect<M, Pg>>,
    Select<Q, AsSelect<M, Pg>>: LimitDsl + RunQueryDsl<PgConnection>,
    Limit<Select<Q, AsSelect<M, Pg>>>: LoadQuery<'q, PgConnection, M>,
{
    query.select(M::as_select()).first(conn).found(entity)
}
